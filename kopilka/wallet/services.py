"""Wallet verbs: store certificates, give each card its pass, register devices, build the pass."""

from __future__ import annotations

import base64
import secrets
import time
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from cryptography import x509
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from kopilka.accounts.models import Business, PointOfSale
from kopilka.cards.models import Card, CardTemplate
from kopilka.core import audit
from kopilka.core.links import absolute
from kopilka.core.models import OutboxEvent
from kopilka.wallet import certificates, pkpass, png, vault
from kopilka.wallet.models import HEX_COLOUR, DeviceRegistration, PassState, TemplateDesign, WalletSettings

TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"  # noqa: S105 - an alphabet, not a secret


def _random(length: int) -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(length))


# --- Settings (G4) ---------------------------------------------------------------------------------


def wallet_settings_for(business: Business | int) -> WalletSettings | None:
    business_id = business if isinstance(business, int) else business.pk
    return WalletSettings.objects.filter(business_id=business_id).first()


def _settings_row(business: Business) -> WalletSettings:
    row, _ = WalletSettings.objects.get_or_create(business=business, defaults={"organization_name": business.name})
    return row


@transaction.atomic
def save_apple_certificate(
    *,
    business: Business,
    certificate: certificates.PassCertificate,
    intermediate: x509.Certificate | None,
    actor: Any = None,
) -> WalletSettings:
    """Store a checked pass certificate, its (encrypted) key and the WWDR certificate that issued it."""
    if intermediate is not None:
        certificates.check_issuer(certificate.certificate, intermediate)
    row = _settings_row(business)
    before = audit.snapshot(row, ["apple_pass_type_id", "apple_team_id", "apple_expires_at"])
    row.apple_pass_type_id = certificate.pass_type_id
    row.apple_team_id = certificate.team_id
    row.apple_certificate_pem = certificate.certificate_pem().decode()
    row.apple_key_encrypted = vault.encrypt(certificate.key_pem())
    if intermediate is not None:
        row.apple_wwdr_pem = intermediate.public_bytes(certificates.serialization.Encoding.PEM).decode()
    row.apple_expires_at = certificate.expires_at
    if not row.organization_name:
        row.organization_name = certificate.organization or business.name
    row.save()
    audit.record(business=business, actor=actor, action="wallet.apple_certificate", obj=row, before=before,
                 after=audit.snapshot(row, ["apple_pass_type_id", "apple_team_id", "apple_expires_at"]))  # fmt: skip
    return row


@transaction.atomic
def save_google_settings(
    *, business: Business, issuer_id: str, service_account_json: bytes | None = None, actor: Any = None
) -> WalletSettings:
    row = _settings_row(business)
    before = audit.snapshot(row, ["google_issuer_id", "google_service_account_email"])
    row.google_issuer_id = issuer_id.strip()
    if service_account_json:
        account = certificates.service_account(service_account_json)
        row.google_service_account_email = account.client_email
        row.google_key_encrypted = vault.encrypt(service_account_json)
    row.save()
    audit.record(business=business, actor=actor, action="wallet.google_settings", obj=row, before=before,
                 after=audit.snapshot(row, ["google_issuer_id", "google_service_account_email"]))  # fmt: skip
    return row


@transaction.atomic
def save_organization_name(*, business: Business, name: str, actor: Any = None) -> WalletSettings:
    row = _settings_row(business)
    before = {"organization_name": row.organization_name}
    row.organization_name = name.strip()
    row.save(update_fields=["organization_name", "updated_at"])
    audit.record(business=business, actor=actor, action="wallet.organization_name", obj=row, before=before,
                 after={"organization_name": row.organization_name})  # fmt: skip
    OutboxEvent.objects.create(business=business, name="wallet.design_changed", payload={})
    return row


@lru_cache(maxsize=256)
def _signer(settings_id: int, updated_at: datetime, cert_pem: str, key_token: str, wwdr_pem: str) -> pkpass.Signer:
    """Parsing and decrypting once per settings version: keys are costly to load."""
    certificate = certificates.load_certificate(cert_pem.encode())
    key = certificates.load_private_key(vault.decrypt(key_token))
    intermediate = certificates.load_certificate(wwdr_pem.encode()) if wwdr_pem else None
    return pkpass.Signer(certificate=certificate, key=key, intermediate=intermediate)


def signer_for(row: WalletSettings) -> pkpass.Signer:
    return _signer(row.pk, row.updated_at, row.apple_certificate_pem, row.apple_key_encrypted, row.apple_wwdr_pem)


@lru_cache(maxsize=256)
def _account(settings_id: int, updated_at: datetime, key_token: str) -> certificates.ServiceAccount:
    return certificates.service_account(vault.decrypt(key_token))


def service_account_for(row: WalletSettings) -> certificates.ServiceAccount:
    return _account(row.pk, row.updated_at, row.google_key_encrypted)


def expiry_warning(row: WalletSettings | None, now: datetime | None = None) -> bool:
    """Warn from two weeks before the Apple certificate expires (and after)."""
    if row is None or row.apple_expires_at is None:
        return False
    now = now or timezone.now()
    return (row.apple_expires_at - now).days < 14


# --- The pass of a card -------------------------------------------------------------------------------


def new_tag(previous: int = 0) -> int:
    """Microseconds since the epoch, strictly above ``previous``: a tag that only grows."""
    return max(time.time_ns() // 1000, previous + 1)


def ensure_pass_state(card: Card) -> PassState:
    state = PassState.objects.filter(card=card).first()
    if state is not None:
        return state
    now = timezone.now()
    try:
        with transaction.atomic():
            return PassState.objects.create(
                business_id=card.business_id,
                card=card,
                serial_number=_random(24),
                authentication_token=_random(32),
                download_token=_random(40),
                tag=new_tag(),
                updated_at=now,
            )
    except IntegrityError:  # created concurrently
        return PassState.objects.get(card=card)


def apple_pass_url(card: Card) -> str | None:
    """The public download link of the card's signed pass; None while the business has no certificate."""
    row = wallet_settings_for(card.business_id)
    if row is None or not row.has_apple:
        return None
    state = ensure_pass_state(card)
    return absolute(reverse("wallet:pass_download", kwargs={"pass_token": state.download_token}))


def google_save_url(card: Card) -> str | None:
    """``https://pay.google.com/gp/v/save/<jwt>``; None while the business has no Google settings."""
    from kopilka.wallet import google

    row = wallet_settings_for(card.business_id)
    if row is None or not row.has_google:
        return None
    return google.save_url(card, row)


def web_service_url() -> str:
    return absolute("/wallet/")


def _locations(business_id: int) -> tuple[pkpass.Location, ...]:
    points = PointOfSale.objects.filter(
        business_id=business_id, is_active=True, latitude__isnull=False, longitude__isnull=False
    ).order_by("id")[: pkpass.MAX_LOCATIONS]
    return tuple(pkpass.Location(float(p.latitude), float(p.longitude), p.name) for p in points)  # type: ignore[arg-type]


# --- Template design (D1) -----------------------------------------------------------------------------

COLOUR_KEYS = ("background", "foreground", "label")
DESIGN_FIELDS = ("background", "foreground", "label", "logo_text", "barcode_format", "barcode_content",
                 "front_fields", "back_fields", "description", "level_themes")  # fmt: skip
IMAGE_FIELDS = ("logo_image", "strip_image")  # absent or None in the data: the stored image stays
IMAGE_MAX_BYTES = 256 * 1024
PNG_DATA_URL = "data:image/png;base64,"


def png_data_url(content: bytes) -> str:
    """Wallet takes PNG only: check the signature and IHDR, the size, and keep it as a ``data:`` URL."""
    if len(content) > IMAGE_MAX_BYTES:
        raise ValidationError(gettext("The image must be at most 256 KB."))
    try:
        png.dimensions(content)
    except ValueError as exc:
        raise ValidationError(gettext("Upload a PNG image.")) from exc
    return PNG_DATA_URL + base64.b64encode(content).decode()


def png_bytes(value: str | None) -> bytes:
    """The PNG in a stored ``data:`` URL; b"" for none (or anything that is not one)."""
    if not value or not value.startswith(PNG_DATA_URL):
        return b""
    try:
        return base64.b64decode(value.removeprefix(PNG_DATA_URL), validate=True)
    except ValueError:
        return b""


def _clean_image(value: Any) -> str:
    if not value:
        return ""
    if not isinstance(value, str) or not value.startswith(PNG_DATA_URL):
        raise ValidationError(gettext("Upload a PNG image."))
    try:
        content = base64.b64decode(value.removeprefix(PNG_DATA_URL), validate=True)
    except ValueError as exc:
        raise ValidationError(gettext("Upload a PNG image.")) from exc
    return png_data_url(content)


def _audit_view(values: dict[str, Any]) -> dict[str, Any]:
    """Images are too big for the audit log: a short note with their size instead."""

    def short(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("data:"):
            return f"<image, {len(value)} chars>"
        if isinstance(value, dict):
            return {k: short(v) for k, v in value.items()}
        return value

    return {k: short(v) for k, v in values.items()}


def design_lines(text: str) -> list[tuple[str, str]]:
    """``Label: text`` a line; a line without a colon is a field without a label."""
    lines = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        label, sep, value = line.partition(":")
        lines.append((label.strip(), value.strip()) if sep else ("", line.strip()))
    return lines


def design_colours(design: TemplateDesign, level_id: int | None) -> dict[str, str]:
    colours = {key: getattr(design, key) for key in COLOUR_KEYS}
    theme = (design.level_themes or {}).get(str(level_id)) if level_id else None
    if isinstance(theme, dict):
        colours.update({k: v for k, v in theme.items() if k in COLOUR_KEYS and v})
    return colours


def design_strip(design: TemplateDesign, level_id: int | None) -> str:
    """The strip of the card's level theme wins over the main strip."""
    theme = (design.level_themes or {}).get(str(level_id)) if level_id else None
    if isinstance(theme, dict) and theme.get("strip"):
        return str(theme["strip"])
    return design.strip_image


def template_levels(template: CardTemplate) -> list[Any]:
    from kopilka.loyalty.models import Level

    if template.mechanic_id is None:
        return []
    return list(Level.objects.filter(mechanic_id=template.mechanic_id).order_by("threshold", "id"))


def copied_themes(template: CardTemplate, data: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The "copy theme" action: the main colours for every level of the template's mechanic (strips stay)."""
    current = data.get("level_themes") or {}
    themes: dict[str, dict[str, str]] = {}
    for level in template_levels(template):
        theme = {key: data.get(key, "") for key in COLOUR_KEYS}
        strip = (current.get(str(level.pk)) or {}).get("strip")
        if strip:
            theme["strip"] = strip
        themes[str(level.pk)] = theme
    return themes


def _clean_design(business: Business, template: CardTemplate, data: dict[str, Any]) -> dict[str, Any]:
    from kopilka.enrollment.variables import known_keys, validate_text

    errors: dict[str, list[Any]] = {}
    cleaned: dict[str, Any] = {}
    defaults = TemplateDesign()
    for name in DESIGN_FIELDS:
        value = data.get(name, getattr(defaults, name))
        cleaned[name] = value if name == "level_themes" else ("" if value is None else str(value).strip())
    for key in COLOUR_KEYS:
        cleaned[key] = cleaned[key].upper()
        try:
            HEX_COLOUR(cleaned[key])
        except ValidationError as e:
            errors.setdefault(key, []).extend(e.error_list)
    if cleaned["barcode_format"] not in TemplateDesign.BarcodeFormat.values:
        errors["barcode_format"] = [ValidationError(gettext("Choose a barcode format."))]
    if cleaned["barcode_content"] not in TemplateDesign.BarcodeContent.values:
        errors["barcode_content"] = [ValidationError(gettext("Choose the barcode content."))]
    if len(cleaned["logo_text"]) > 40:
        errors["logo_text"] = [ValidationError(gettext("At most 40 characters."))]
    known = known_keys(business)
    for name in ("front_fields", "back_fields", "description"):
        try:
            validate_text(cleaned[name], known=known)
        except ValidationError as e:
            errors.setdefault(name, []).extend(e.error_list)
    themes = cleaned["level_themes"] or {}
    level_ids = {str(level.pk) for level in template_levels(template)}
    clean_themes: dict[str, dict[str, str]] = {}
    if not isinstance(themes, dict):
        errors["level_themes"] = [ValidationError(gettext("Level themes are invalid."))]
    else:
        for level_id, theme in themes.items():
            if str(level_id) not in level_ids or not isinstance(theme, dict):
                errors["level_themes"] = [ValidationError(gettext("Level themes are invalid."))]
                break
            colours = {k: str(theme.get(k) or "").strip().upper() for k in COLOUR_KEYS}
            colours = {k: v for k, v in colours.items() if v}
            for v in colours.values():
                try:
                    HEX_COLOUR(v)
                except ValidationError as e:
                    errors.setdefault("level_themes", []).extend(e.error_list)
            try:
                strip = _clean_image(theme.get("strip"))
            except ValidationError as e:
                errors.setdefault("level_themes", []).extend(e.error_list)
            else:
                if strip:
                    colours["strip"] = strip
            if colours:
                clean_themes[str(level_id)] = colours
    cleaned["level_themes"] = clean_themes
    for name in IMAGE_FIELDS:
        if data.get(name) is None:
            continue
        try:
            cleaned[name] = _clean_image(data[name])
        except ValidationError as e:
            errors.setdefault(name, []).extend(e.error_list)
    if errors:
        raise ValidationError(errors)
    return cleaned


def save_template_design(*, business: Business, template: CardTemplate, data: dict[str, Any],
                         actor: Any = None) -> TemplateDesign:  # fmt: skip
    """Validate and store the design of ``template``; passes of its cards refresh (template.updated)."""
    from kopilka.loyalty.events import emit

    if template.business_id != business.pk:
        raise ValidationError(gettext("The template belongs to another business."))
    cleaned = _clean_design(business, template, data)
    with transaction.atomic():
        design = TemplateDesign.objects.select_for_update().filter(business=business, template=template).first()
        before = ({name: getattr(design, name) for name in DESIGN_FIELDS + IMAGE_FIELDS}
                  if design is not None else None)  # fmt: skip
        if design is None:
            design = TemplateDesign(business=business, template=template)
        for name, value in cleaned.items():
            setattr(design, name, value)
        design.save()
        audit.record(business=business, actor=actor, action="wallet.template_design", obj=template,
                     before=_audit_view(before) if before else None, after=_audit_view(cleaned))  # fmt: skip
        emit(business=business, name="template.updated", payload={"template_id": template.pk})
    return design


def pass_data(card: Card, state: PassState, row: WalletSettings) -> pkpass.PassData:
    template = card.template
    business = card.business
    customer = card.customer
    stored = TemplateDesign.objects.filter(template_id=template.pk).first()
    design: dict[str, Any] = getattr(template, "design", None) or {}
    front: tuple[tuple[str, str], ...] = ()
    back: tuple[tuple[str, str], ...] = ()
    extra: dict[str, Any] = {}
    if stored is not None:
        design = design_colours(stored, card.level_id)
        values: dict[str, Any] | None = None
        if stored.front_fields or stored.back_fields or stored.description:
            from kopilka.enrollment.variables import card_values, render

            values = card_values(card)
            front = tuple((label, render(text, values)) for label, text in design_lines(stored.front_fields))
            back = tuple((label, render(text, values)) for label, text in design_lines(stored.back_fields))
            if stored.description:
                back += (("", render(stored.description, values)),)
        extra = {"barcode_format": stored.barcode_format, "front_fields": front, "back_fields": back,
                 "logo_text": stored.logo_text, "logo_png": png_bytes(stored.logo_image),
                 "strip_png": png_bytes(design_strip(stored, card.level_id)),
                 "barcode_message": card.number if stored.barcode_content == TemplateDesign.BarcodeContent.NUMBER
                 else card.barcode_payload}  # fmt: skip
    return pkpass.PassData(
        serial_number=state.serial_number,
        authentication_token=state.authentication_token,
        web_service_url=web_service_url(),
        pass_type_id=row.apple_pass_type_id,
        team_id=row.apple_team_id,
        organization_name=row.organization_name or business.name,
        description=template.name,
        template_type=template.type,
        card_number=card.number,
        barcode_payload=extra.pop("barcode_message", card.barcode_payload),
        customer_name=f"{customer.first_name} {customer.last_name}".strip(),
        balance=card.balance or Decimal(0),
        level_name=card.level.name if card.level_id else "",  # type: ignore[union-attr]
        stamps=card.stamps,
        stamps_required=template.stamps_required,
        stamp_reward=template.stamp_reward,
        referral_code=card.referral_code,
        business_phone=business.phone,
        business_address=business.address,
        background=pkpass.parse_hex(design.get("background"), (32, 33, 36)),
        foreground=pkpass.parse_hex(design.get("foreground"), (255, 255, 255)),
        label=pkpass.parse_hex(design.get("label"), (255, 196, 0)),
        locations=_locations(card.business_id),
        voided=card.status in (Card.Status.BLOCKED, Card.Status.DELETED),
        **extra,
    )


def build_card_pass(card: Card, state: PassState | None = None, row: WalletSettings | None = None) -> bytes:
    row = row or wallet_settings_for(card.business_id)
    if row is None or not row.has_apple:
        raise LookupError("the business has no Apple pass certificate")
    state = state or ensure_pass_state(card)
    return pkpass.build(pass_data(card, state, row), signer_for(row))


# --- Apple web service --------------------------------------------------------------------------------


def register_device(*, state: PassState, device_library_identifier: str, push_token: str) -> bool:
    """True when the device is new for this pass (201), False when it was registered already (200)."""
    with transaction.atomic():
        registration, created = DeviceRegistration.objects.get_or_create(
            pass_state=state,
            device_library_identifier=device_library_identifier,
            defaults={"business_id": state.business_id, "push_token": push_token},
        )
        if not created and registration.push_token != push_token:
            registration.push_token = push_token
            registration.save(update_fields=["push_token"])
        if created:
            OutboxEvent.objects.create(
                business_id=state.business_id,
                name="card.installed",
                payload={"card_id": state.card_id, "serial_number": state.serial_number, "wallet": "apple"},
            )
    return created


def unregister_device(*, state: PassState, device_library_identifier: str) -> bool:
    with transaction.atomic():
        deleted, _ = DeviceRegistration.objects.filter(
            pass_state=state, device_library_identifier=device_library_identifier
        ).delete()
        if deleted:
            _removed_if_last(state)
    return bool(deleted)


def _removed_if_last(state: PassState) -> None:
    if not DeviceRegistration.objects.filter(pass_state=state).exists():
        OutboxEvent.objects.create(
            business_id=state.business_id,
            name="card.removed",
            payload={"card_id": state.card_id, "serial_number": state.serial_number, "wallet": "apple"},
        )


def drop_push_token(*, registration_id: int) -> None:
    """APNs said the token is gone (410): forget the registration as if the device unregistered."""
    with transaction.atomic():
        registration = DeviceRegistration.objects.filter(pk=registration_id).select_related("pass_state").first()
        if registration is None:
            return
        registration.delete()
        _removed_if_last(registration.pass_state)


def drop_push_tokens(registration_ids: list[int]) -> int:
    """``drop_push_token`` for many registrations at once: one transaction, a handful of queries.

    A pass whose last registration goes emits one "card removed", as when the devices unregister.
    """
    if not registration_ids:
        return 0
    with transaction.atomic():
        ids = sorted(set(registration_ids))
        state_ids = set(DeviceRegistration.objects.filter(pk__in=ids).values_list("pass_state_id", flat=True))
        deleted, _ = DeviceRegistration.objects.filter(pk__in=ids).delete()
        if not state_ids:
            return deleted
        still = set(
            DeviceRegistration.objects.filter(pass_state_id__in=state_ids).values_list("pass_state_id", flat=True)
        )
        gone = PassState.objects.filter(pk__in=sorted(state_ids - still)).order_by("pk")
        OutboxEvent.objects.bulk_create([
            OutboxEvent(business_id=business_id, name="card.removed",
                        payload={"card_id": card_id, "serial_number": serial, "wallet": "apple"})
            for business_id, card_id, serial in gone.values_list("business_id", "card_id", "serial_number")
        ])  # fmt: skip
    return deleted


def updated_serials(*, device_library_identifier: str, pass_type_id: str, since: int | None) -> tuple[list[str], int]:
    states = PassState.objects.filter(
        registrations__device_library_identifier=device_library_identifier,
        business__in=WalletSettings.objects.filter(apple_pass_type_id=pass_type_id).values("business"),
    ).distinct()
    if since is not None:
        states = states.filter(tag__gt=since)
    rows = list(states.values_list("serial_number", "tag"))
    return [serial for serial, _ in rows], max((tag for _, tag in rows), default=0)


def mark_updated(state_ids: list[int]) -> None:
    """Bump the tag and the modification time of these passes (one UPDATE per pass, in id order)."""
    if not state_ids:
        return
    now = timezone.now()
    stamp = new_tag()
    # Last-Modified has whole seconds: a second change within the same second must still move it,
    # or a device that fetched in between would get 304 for a pass that did change.
    PassState.objects.filter(pk__in=sorted(set(state_ids))).update(
        updated_at=Greatest(Value(now), F("updated_at") + timedelta(seconds=1)),
        tag=Greatest(F("tag") + 1, Value(stamp)),
    )
