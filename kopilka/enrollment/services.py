"""Writes of enrollment: cabinet setup (variables, forms, designs, UTM, blacklist), the public journey
(phone verification → card), card delete/restore/share. Keyword-only, business first, actor last.

Codes: 4 digits, kept hashed, valid 10 minutes, 5 tries, a new one at most every 60 s; the cache counts
codes per phone and per IP address per hour.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kopilka.accounts.models import Business
from kopilka.cards.models import Card, CardTemplate
from kopilka.core import audit
from kopilka.customers.models import Customer
from kopilka.enrollment import selectors, variables
from kopilka.enrollment.models import (
    BlacklistEntry,
    CardOrigin,
    Consent,
    CustomerValue,
    PageDesign,
    PhoneVerification,
    RegistrationForm,
    TemplateJourney,
    UtmLink,
    Variable,
)
from kopilka.loyalty import services as loyalty
from kopilka.loyalty.errors import LoyaltyError
from kopilka.messaging.services import send_sms

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
CODES_PER_PHONE_PER_HOUR = 5
CODES_PER_IP_PER_HOUR = 20
LIMIT_WINDOW = 3600


class JourneyError(Exception):
    """A refusal the customer sees as is (blacklist, limits, wrong or expired code)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- Variables ------------------------------------------------------------------------------------------


def save_variable(
    *, business: Business, data: dict[str, Any], variable: Variable | None = None, actor: Any
) -> Variable:
    key = (data.get("key") or "").strip()
    if not variables.KEY_RE.match(key):
        raise ValidationError({"key": _("Use lowercase Latin letters, digits and “_”, starting with a letter.")})
    if key in variables.SYSTEM_KEYS:
        raise ValidationError({"key": _("“%(key)s” is a system variable.") % {"key": key}})
    clash = Variable.objects.filter(business=business, key=key)
    if variable is not None:
        clash = clash.exclude(pk=variable.pk)
    if clash.exists():
        raise ValidationError({"key": _("A variable with this key already exists.")})
    choices = [c.strip() for c in data.get("choices") or [] if c.strip()]
    if data.get("type") == Variable.Type.CHOICE and not choices:
        raise ValidationError({"choices": _("List the choices, one per line.")})
    fields = ["key", "label", "type", "choices"]
    with transaction.atomic():
        before = audit.snapshot(variable, fields) if variable is not None else None
        variable = variable or Variable(business=business)
        if before is not None and before["key"] != key and _key_in_use(business, before["key"]):
            raise ValidationError({"key": _("The variable is used in a form or text; its key cannot change.")})
        variable.key, variable.label, variable.type = key, data["label"], data["type"]
        variable.choices = choices if data["type"] == Variable.Type.CHOICE else []
        variable.save()
        audit.record(business=business, actor=actor, action="variable.saved", obj=variable, before=before,
                     after=audit.snapshot(variable, fields))  # fmt: skip
    return variable


def _key_in_use(business: Business, key: str) -> bool:
    for form in RegistrationForm.objects.filter(business=business):
        if any(f.get("key") == key for f in form.fields) or key in _form_keys_in_texts(form):
            return True
    return False


def _form_keys_in_texts(form: RegistrationForm) -> set[str]:
    keys: set[str] = set()
    for text in (form.title, form.description, form.terms_text, form.marketing_text):
        keys.update(variables.used_keys(text))
    return keys


def delete_variable(*, business: Business, variable: Variable, actor: Any) -> None:
    if _key_in_use(business, variable.key):
        raise ValidationError(_("The variable is used in a registration form; remove it there first."))
    with transaction.atomic():
        audit.record(business=business, actor=actor, action="variable.deleted", obj=variable,
                     before=audit.snapshot(variable, ["key", "label", "type"]))  # fmt: skip
        variable.delete()


# --- Registration forms and designs ------------------------------------------------------------------------


def form_field_choices(business: Business) -> list[tuple[str, str]]:
    """Variables a registration form may ask for: system ones marked ``in_forms`` and every custom one."""
    system = [(v.key, str(v.label)) for v in variables.SYSTEM if v.in_forms]
    custom = [(v.key, v.label) for v in selectors.variables(business)]
    return system + custom


def clean_form_fields(business: Business, fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    allowed = dict(form_field_choices(business))
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in fields:
        key = str(item.get("key") or "").strip()
        if not key:
            continue
        if key not in allowed:
            raise ValidationError({"fields": _("Unknown variable: %(names)s. See the list on the Variables page.")
                                   % {"names": "{{" + key + "}}"}})  # fmt: skip
        if key in seen:
            continue
        seen.add(key)
        cleaned.append({"key": key, "required": bool(item.get("required"))})
    return cleaned


def validate_form_texts(business: Business, data: dict[str, Any]) -> None:
    errors: dict[str, list[ValidationError]] = {}
    known = variables.known_keys(business)
    for name in ("title", "description", "terms_text", "marketing_text"):
        try:
            variables.validate_text(data.get(name) or "", known=known)
        except ValidationError as exc:
            errors.setdefault(name, []).append(exc)
    if errors:
        raise ValidationError(errors)


FORM_FIELDS = ["name", "title", "description", "template", "fields", "terms_text", "marketing_text"]


def save_registration_form(
    *, business: Business, data: dict[str, Any], form: RegistrationForm | None = None, actor: Any
) -> RegistrationForm:
    template = data.get("template")
    if template is not None and template.business_id != business.pk:
        raise ValidationError({"template": _("Unknown card template.")})
    fields = clean_form_fields(business, data.get("fields") or [])
    validate_form_texts(business, data)
    with transaction.atomic():
        if template is not None:
            taken = RegistrationForm.objects.filter(business=business, template=template)
            if form is not None:
                taken = taken.exclude(pk=form.pk)
            if taken.exists():
                raise ValidationError({"template": _("This template already has a registration form.")})
        before = audit.snapshot(form, FORM_FIELDS) if form is not None else None
        form = form or RegistrationForm(business=business)
        for name in ("name", "title", "description", "terms_text", "marketing_text"):
            setattr(form, name, data.get(name) or "")
        form.template = template
        form.fields = fields
        if data.get("logo") is not None:
            form.logo = data["logo"]
        if data.get("remove_logo"):
            form.logo = ""
        form.save()
        audit.record(business=business, actor=actor, action="registration_form.saved", obj=form, before=before,
                     after=audit.snapshot(form, FORM_FIELDS))  # fmt: skip
    return form


DESIGN_FIELDS = ["name", "background_color", "accent_color", "text_color", "title", "text", "thanks_text"]


def save_design(
    *, business: Business, kind: str, data: dict[str, Any], design: PageDesign | None = None, actor: Any
) -> PageDesign:
    errors: dict[str, list[ValidationError]] = {}
    known = variables.known_keys(business)
    for name in ("title", "text", "thanks_text"):
        try:
            variables.validate_text(data.get(name) or "", known=known)
        except ValidationError as exc:
            errors.setdefault(name, []).append(exc)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = audit.snapshot(design, DESIGN_FIELDS) if design is not None else None
        design = design or PageDesign(business=business, kind=kind)
        for name in DESIGN_FIELDS:
            setattr(design, name, data.get(name) or "")
        if data.get("logo") is not None:
            design.logo = data["logo"]
        if data.get("remove_logo"):
            design.logo = ""
        design.save()
        audit.record(business=business, actor=actor, action=f"{kind}_design.saved", obj=design, before=before,
                     after=audit.snapshot(design, DESIGN_FIELDS))  # fmt: skip
    return design


JOURNEY_FIELDS = ["show_apple", "show_google", "verification_design", "review_design"]


def save_journey(*, business: Business, template: CardTemplate, data: dict[str, Any], actor: Any) -> TemplateJourney:
    for name in ("verification_design", "review_design"):
        design = data.get(name)
        if design is not None and design.business_id != business.pk:
            raise ValidationError({name: _("Unknown design.")})
    with transaction.atomic():
        journey = selectors.journey_of(template)
        before = audit.snapshot(journey, JOURNEY_FIELDS)
        for name in JOURNEY_FIELDS:
            setattr(journey, name, data.get(name))
        journey.save()
        audit.record(business=business, actor=actor, action="template_link.saved", obj=journey,
                     object_repr=template.name, before=before, after=audit.snapshot(journey, JOURNEY_FIELDS))  # fmt: skip
    return journey


# --- UTM ------------------------------------------------------------------------------------------------


def create_utm_link(*, business: Business, template: CardTemplate, name: str, source: str, medium: str = "",
                    campaign: str = "", actor: Any) -> UtmLink:  # fmt: skip
    if template.business_id != business.pk:
        raise ValidationError({"template": _("Unknown card template.")})
    with transaction.atomic():
        link = UtmLink.objects.create(business=business, template=template, name=name, source=source, medium=medium,
                                      campaign=campaign)  # fmt: skip
        audit.record(business=business, actor=actor, action="utm_link.created", obj=link,
                     after=audit.snapshot(link, ["template", "source", "medium", "campaign"]))  # fmt: skip
    return link


def delete_utm_link(*, business: Business, link: UtmLink, actor: Any) -> None:
    with transaction.atomic():
        audit.record(business=business, actor=actor, action="utm_link.deleted", obj=link,
                     before=audit.snapshot(link, ["template", "source", "medium", "campaign", "visits"]))  # fmt: skip
        link.delete()


def count_utm_visit(*, link: UtmLink) -> None:
    UtmLink.objects.filter(pk=link.pk).update(visits=F("visits") + 1)


def match_utm_link(*, template: CardTemplate, source: str, medium: str, campaign: str) -> UtmLink | None:
    if not source:
        return None
    return (
        UtmLink.objects.filter(business_id=template.business_id, template=template, source=source, medium=medium,
                               campaign=campaign).order_by("id").first()
    )  # fmt: skip


# --- Blacklist --------------------------------------------------------------------------------------------


def add_to_blacklist(*, business: Business, phone: str, template: CardTemplate | None, comment: str = "",
                     actor: Any) -> BlacklistEntry:  # fmt: skip
    try:
        e164 = loyalty.normalise_phone(phone)
    except LoyaltyError as exc:
        raise ValidationError({"phone": exc.message}) from None
    if template is not None and template.business_id != business.pk:
        raise ValidationError({"template": _("Unknown card template.")})
    if BlacklistEntry.objects.filter(business=business, phone=e164, template=template).exists():
        raise ValidationError({"phone": _("This number is already in the blacklist.")})
    with transaction.atomic():
        entry = BlacklistEntry.objects.create(business=business, phone=e164, template=template, comment=comment,
                                              created_by=actor if getattr(actor, "pk", None) else None)  # fmt: skip
        audit.record(business=business, actor=actor, action="blacklist.added", obj=entry,
                     after=audit.snapshot(entry, ["phone", "template", "comment"]))  # fmt: skip
    return entry


def remove_from_blacklist(*, business: Business, entry: BlacklistEntry, actor: Any) -> None:
    with transaction.atomic():
        audit.record(business=business, actor=actor, action="blacklist.removed", obj=entry,
                     before=audit.snapshot(entry, ["phone", "template", "comment"]))  # fmt: skip
        entry.delete()


# --- Deleted cards, restore, share ---------------------------------------------------------------------------


def delete_card(*, business: Business, card: Card, reason: str = "", actor: Any) -> Card:
    """Удалить карту: it goes to "Удаленные карты" with its number, balance and history intact (D11)."""
    with transaction.atomic():
        card = Card.objects.select_for_update(of=("self",)).get(pk=card.pk, business=business)
        if card.status == Card.Status.DELETED:
            return card
        before = audit.snapshot(card, ["status"])
        card.status = Card.Status.DELETED
        card.deleted_at = timezone.now()
        card.save(update_fields=["status", "deleted_at"])
        audit.record(business=business, actor=actor, action="card.deleted", obj=card, before=before,
                     after=audit.snapshot(card, ["status", "deleted_at"]), reason=reason)  # fmt: skip
    return card


def restore_card(*, business: Business, card: Card, actor: Any) -> Card:
    """Restore a deleted card: same number, same balance; refused when the customer got a new card since."""
    with transaction.atomic():
        card = Card.objects.select_for_update(of=("self",)).get(pk=card.pk, business=business)
        if card.status != Card.Status.DELETED:
            raise ValidationError(_("The card is not deleted."))
        twin = (
            Card.objects.filter(business=business, customer_id=card.customer_id, template_id=card.template_id)
            .exclude(pk=card.pk).exclude(status=Card.Status.DELETED).first()
        )  # fmt: skip
        if twin is not None:
            raise ValidationError(
                _("The customer already has card %(number)s of this template; restore is not possible.")
                % {"number": twin.number}
            )
        before = audit.snapshot(card, ["status", "deleted_at"])
        card.status = Card.Status.ACTIVE if card.verified_at else Card.Status.ISSUED
        card.deleted_at = None
        card.save(update_fields=["status", "deleted_at"])
        audit.record(business=business, actor=actor, action="card.restored", obj=card, before=before,
                     after=audit.snapshot(card, ["status", "deleted_at", "balance"]))  # fmt: skip
    return card


def share_card(*, business: Business, card: Card, actor: Any) -> str:
    """Поделиться (D6): send the customer an SMS with the link of the card's page; returns the link."""
    if card.business_id != business.pk:
        raise ValidationError(_("Unknown card."))
    if card.status == Card.Status.DELETED:
        raise ValidationError(_("Restore the card before sharing it."))
    url = selectors.card_page_url(card)
    text = _("%(business)s: your card %(number)s — %(url)s") % {
        "business": business.name, "number": card.number, "url": url,
    }  # fmt: skip
    send_sms(business=business, phone=card.customer.phone, text=text, purpose="card_restore")
    audit.record(business=business, actor=actor, action="card.shared", obj=card)
    return url


# --- Phone verification ----------------------------------------------------------------------------------


def _hash(code: str, verification_salt: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{verification_salt}:{code}".encode(), hashlib.sha256).hexdigest()


def _hit(key: str, limit: int) -> bool:
    """Count one use of ``key`` in the current window; False when the limit is already reached."""
    cache.add(key, 0, LIMIT_WINDOW)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, LIMIT_WINDOW)
        used = 1
    return used <= limit


def _check_limits(*, phone: str, ip: str | None) -> None:
    if not _hit(f"enroll:phone:{phone}", CODES_PER_PHONE_PER_HOUR):
        raise JourneyError(_("Too many codes were sent to this number. Try again in an hour."), code="phone_limit")
    if ip and not _hit(f"enroll:ip:{ip}", CODES_PER_IP_PER_HOUR):
        raise JourneyError(_("Too many requests from your network. Try again in an hour."), code="ip_limit")


def _send_code(verification: PhoneVerification, business: Business) -> None:
    code = f"{secrets.randbelow(10_000):04d}"
    now = timezone.now()
    verification.code_hash = _hash(code, str(verification.pk))
    verification.sent_at = now
    verification.expires_at = now + CODE_TTL
    verification.attempts = 0
    verification.save(update_fields=["code_hash", "sent_at", "expires_at", "attempts"])
    text = _("%(business)s: your code %(code)s") % {"business": business.name, "code": code}
    send_sms(business=business, phone=verification.phone, text=text, purpose="verification")


def start_verification(
    *, business: Business, purpose: str, phone: str, template: CardTemplate | None = None,
    data: dict[str, Any] | None = None, ip: str | None = None,
) -> PhoneVerification:  # fmt: skip
    """Check the blacklist and the limits, then text a fresh code to ``phone`` (already E.164)."""
    if template is not None and selectors.is_blacklisted(business=business, template=template, phone=phone):
        raise JourneyError(
            _("Sorry, we cannot issue a card to this phone number. Please contact the staff."), code="blacklisted"
        )
    last = PhoneVerification.objects.filter(
        business=business, phone=phone, purpose=purpose, verified_at__isnull=True
    ).first()
    if last is not None and timezone.now() - last.sent_at < RESEND_AFTER:
        raise JourneyError(_("A code was sent less than a minute ago. Please wait."), code="too_early")
    _check_limits(phone=phone, ip=ip)
    now = timezone.now()
    with transaction.atomic():
        verification = PhoneVerification.objects.create(
            business=business, purpose=purpose, phone=phone, template=template, code_hash="", data=data or {}, ip=ip,
            sent_at=now, expires_at=now + CODE_TTL,
        )  # fmt: skip
        _send_code(verification, business)
    return verification


def resend_code(*, verification: PhoneVerification, ip: str | None = None) -> PhoneVerification:
    if verification.verified_at is not None:
        raise JourneyError(_("The code was already entered."), code="used")
    wait = verification.sent_at + RESEND_AFTER - timezone.now()
    if wait.total_seconds() > 0:
        raise JourneyError(
            _("A new code can be sent in %(seconds)s s.") % {"seconds": int(wait.total_seconds()) + 1}, code="too_early"
        )
    _check_limits(phone=verification.phone, ip=ip)
    _send_code(verification, verification.business)
    return verification


def check_code(*, verification: PhoneVerification, code: str) -> PhoneVerification:
    """Accept the code or count a failed try; 5 failed tries or 10 minutes make the code useless."""
    refusal: JourneyError | None = None
    with transaction.atomic():  # the failed try is counted even though the caller gets an error
        verification = PhoneVerification.objects.select_for_update().get(pk=verification.pk)
        if verification.verified_at is not None:
            return verification
        if verification.attempts >= MAX_ATTEMPTS:
            refusal = JourneyError(_("Too many wrong codes. Request a new code."), code="locked")
        elif timezone.now() > verification.expires_at:
            refusal = JourneyError(_("The code has expired. Request a new code."), code="expired")
        elif not hmac.compare_digest(verification.code_hash, _hash((code or "").strip(), str(verification.pk))):
            verification.attempts += 1
            verification.save(update_fields=["attempts"])
            if verification.attempts >= MAX_ATTEMPTS:
                refusal = JourneyError(_("Too many wrong codes. Request a new code."), code="locked")
            else:
                refusal = JourneyError(
                    _("Wrong code. Tries left: %(left)s.") % {"left": MAX_ATTEMPTS - verification.attempts},
                    code="wrong",
                )
        else:
            verification.verified_at = timezone.now()
            verification.save(update_fields=["verified_at"])
    if refusal is not None:
        raise refusal
    return verification


@dataclass
class Registration:
    card: Card
    created: bool


def complete_registration(*, verification: PhoneVerification, utm_link: UtmLink | None = None) -> Registration:
    """After the code: the phone's existing card of the template, or a new verified card (``issue_card``).

    The form data, consents (with their texts and time) and UTM origin are stored with the new card.
    """
    if verification.verified_at is None or verification.template is None:
        raise JourneyError(_("Confirm the phone number first."), code="unverified")
    business = verification.business
    template = verification.template
    data = verification.data or {}
    with transaction.atomic():
        existing = (
            Card.objects.filter(business=business, template=template, customer__phone=verification.phone)
            .exclude(status=Card.Status.DELETED).select_related("customer").first()
        )  # fmt: skip
        if existing is not None:
            if existing.status == Card.Status.ISSUED:
                existing = loyalty.verify_card(business=business, card=existing)
            _record_consents(existing.customer, template, data, verification)
            return Registration(existing, created=False)
        values = data.get("values") or {}
        birth = values.get("birth_date")
        try:
            card = loyalty.issue_card(
                business=business, template=template, phone=verification.phone,
                first_name=values.get("first_name", ""), last_name=values.get("last_name", ""),
                email=values.get("email", ""), birth_date=date.fromisoformat(birth) if birth else None,
                verified=True,
            )  # fmt: skip
        except LoyaltyError as exc:
            # Two tabs finishing at once: the other one issued the card a moment ago — give that one back.
            existing = (
                Card.objects.filter(business=business, template=template, customer__phone=verification.phone)
                .exclude(status=Card.Status.DELETED)
                .first()
            )
            if existing is not None:
                return Registration(existing, created=False)
            raise JourneyError(exc.message, code="refused") from None
        customer = card.customer
        changed = []
        if values.get("gender") and not customer.gender:
            customer.gender = values["gender"]
            changed.append("gender")
        if utm_link is not None and not customer.utm_source:
            customer.utm_source, customer.utm_medium, customer.utm_campaign = (
                utm_link.source[:100],
                utm_link.medium[:100],
                utm_link.campaign[:100],
            )
            changed += ["utm_source", "utm_medium", "utm_campaign"]
        if changed:
            customer.save(update_fields=changed)
        for variable in Variable.objects.filter(business=business, key__in=list(values)):
            CustomerValue.objects.update_or_create(
                business=business, customer=customer, variable=variable,
                defaults={"value": str(values[variable.key])[:500]},
            )  # fmt: skip
        CardOrigin.objects.create(
            business=business, card=card, utm_link=utm_link,
            utm_source=utm_link.source if utm_link else "", utm_medium=utm_link.medium if utm_link else "",
            utm_campaign=utm_link.campaign if utm_link else "",
        )  # fmt: skip
        _record_consents(customer, template, data, verification)
    return Registration(card, created=True)


def _record_consents(
    customer: Customer, template: CardTemplate, data: dict[str, Any], verification: PhoneVerification
) -> None:
    """The consents ticked in the form, with the time the form was sent (``accepted_at``) and the address."""
    try:
        accepted_at = datetime.fromisoformat(data["accepted_at"])
    except (KeyError, TypeError, ValueError):
        accepted_at = verification.verified_at or timezone.now()
    for kind, text in (data.get("consents") or {}).items():
        if kind in Consent.Kind.values and text:
            Consent.objects.create(
                business_id=customer.business_id, customer=customer, template=template, kind=kind, text=text,
                accepted_at=accepted_at, ip=verification.ip,
            )  # fmt: skip
