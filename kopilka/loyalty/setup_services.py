"""Configuration verbs of the cabinet (Тип механики, Лояльность, products, coupon groups, certificates).

The money verbs (purchases, refunds, balance and level changes, issuing cards, generating coupons) live
in ``services.py``; these set up what those verbs read. Same conventions: keyword-only, typed,
``business`` first and ``actor`` last, one transaction, an audit entry for every change, validation
before any write (a ``ValidationError`` keyed by field means nothing was written).

Product import is all-or-nothing: the whole file is validated first; a single bad row rejects the file
and the report names every bad row and field. A file of good rows creates new products and updates
existing ones (matched by SKU).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kopilka.accounts.models import Business
from kopilka.cards.models import Card, CardTemplate
from kopilka.core import audit
from kopilka.loyalty import events, services
from kopilka.loyalty.errors import LoyaltyError
from kopilka.loyalty.models import (
    CouponGroup,
    GiftCertificate,
    Level,
    Mechanic,
    Product,
    ProductCategory,
    new_levels_stamp,
)  # fmt: skip

ZERO = Decimal("0.00")
HUNDRED = Decimal("100")

MECHANIC_FIELDS = [
    "name", "kind", "reset_monthly", "welcome_points", "welcome_points_lifetime_days", "points_lifetime_days",
    "accrual_delay_hours", "referrer_points", "newcomer_points",
]  # fmt: skip
LEVEL_FIELDS = ["name", "threshold", "accrual_percent", "redeem_max_percent", "discount_percent"]
PERCENT_FIELDS = ["accrual_percent", "redeem_max_percent", "discount_percent"]
TEMPLATE_FIELDS = ["name", "type", "mechanic", "is_active", "stamps_required", "stamps_per_purchase", "stamp_sku",
                   "stamp_reward"]  # fmt: skip
COUPON_GROUP_FIELDS = ["name", "title", "reward", "value", "item_sku", "valid_from", "valid_until", "prefix", "is_active"]
MAX_IMPORT_ROWS = 20_000


def loyalty_error_to_validation(exc: LoyaltyError) -> ValidationError:
    """An engine error as a Django ValidationError keyed by field (for forms)."""
    if exc.errors:
        return ValidationError({e.field: [e.message] for e in exc.errors})
    return ValidationError(exc.message)


# --- Тип механики ---------------------------------------------------------------------------------


def _check_levels(levels: list[dict[str, Any]]) -> None:
    errors: dict[str, list[str]] = {}
    if not levels:
        raise ValidationError({"levels": [_("Add at least one level; the first one starts at 0.")]})
    thresholds: set[Decimal] = set()
    for n, level in enumerate(levels, start=1):
        if not str(level.get("name") or "").strip():
            errors.setdefault("levels", []).append(_("Level %(n)d: enter a name.") % {"n": n})
        threshold = level.get("threshold")
        if threshold is None or threshold < 0:
            errors.setdefault("levels", []).append(_("Level %(n)d: the threshold cannot be negative.") % {"n": n})
        elif threshold in thresholds:
            errors.setdefault("levels", []).append(
                _("Level %(n)d: another level has the same threshold %(t)s.") % {"n": n, "t": threshold}
            )
        else:
            thresholds.add(threshold)
        for name in PERCENT_FIELDS:
            value = level.get(name)
            if value is None or not ZERO <= value <= HUNDRED:
                errors.setdefault("levels", []).append(
                    _("Level %(n)d: a percentage must be from 0 to 100.") % {"n": n}
                )
                break
    if ZERO not in thresholds and not errors:
        errors["levels"] = [_("One level must start at 0, so every card has a level.")]
    if errors:
        raise ValidationError(errors)


def _mechanic_snapshot(mechanic: Mechanic) -> dict[str, Any]:
    data = audit.snapshot(mechanic, MECHANIC_FIELDS)
    data["levels"] = [audit.snapshot(level, LEVEL_FIELDS) for level in mechanic.levels.order_by("threshold", "id")]
    return data


def save_mechanic(
    *,
    business: Business,
    data: dict[str, Any],
    levels: list[dict[str, Any]],
    mechanic: Mechanic | None = None,
    actor: Any,
) -> Mechanic:
    """Create or update a mechanic with its levels (B2).

    ``levels``: dicts with ``name``, ``threshold`` and the three percentages, plus ``id`` for an existing
    level; existing levels not listed are deleted (cards on them fall back to automatic levels). The
    mechanic's own percentages follow its base level (threshold 0): they apply to a card without a level.
    """
    if mechanic is not None and mechanic.business_id != business.pk:
        raise ValidationError(_("Unknown mechanic."))
    if not str(data.get("name") or "").strip():
        raise ValidationError({"name": [_("Enter a name.")]})
    if data.get("kind") not in Mechanic.Kind.values:
        raise ValidationError({"kind": [_("Choose a kind of mechanic.")]})
    _check_levels(levels)
    with transaction.atomic():
        before = _mechanic_snapshot(mechanic) if mechanic is not None else None
        if mechanic is None:
            mechanic = Mechanic(business=business)
        for name in MECHANIC_FIELDS:
            if name in data:
                setattr(mechanic, name, data[name])
        base = min(levels, key=lambda lv: lv["threshold"])
        for name in PERCENT_FIELDS:
            setattr(mechanic, name, base[name])
        mechanic.levels_stamp = new_levels_stamp()  # purchases stop using their cached copy of the levels
        mechanic.save()

        existing = {lv.pk: lv for lv in mechanic.levels.all()}
        keep_ids = {int(lv["id"]) for lv in levels if lv.get("id") and int(lv["id"]) in existing}
        Level.objects.filter(mechanic=mechanic).exclude(pk__in=keep_ids).delete()
        # Park kept levels on distinct negative thresholds first, so swapping two thresholds never
        # trips the unique (mechanic, threshold) constraint half-way.
        for pk in keep_ids:
            Level.objects.filter(pk=pk).update(threshold=-Decimal(pk))
        for order, values in enumerate(sorted(levels, key=lambda lv: lv["threshold"])):
            fields = {name: values[name] for name in LEVEL_FIELDS}
            fields["name"] = str(fields["name"]).strip()
            level_id = int(values["id"]) if values.get("id") else None
            if level_id in keep_ids:
                Level.objects.filter(pk=level_id).update(order=order, **fields)
            else:
                Level.objects.create(mechanic=mechanic, order=order, **fields)

        after = _mechanic_snapshot(mechanic)
        audit.record(
            business=business, actor=actor, action="mechanic.updated" if before else "mechanic.created",
            obj=mechanic, before=before, after=after,
        )  # fmt: skip
        return mechanic


# --- Лояльность: card templates -------------------------------------------------------------------


TYPES_WITH_MECHANIC = {
    CardTemplate.Type.BONUS: Mechanic.Kind.BONUS,
    CardTemplate.Type.DISCOUNT: Mechanic.Kind.DISCOUNT,
}


def save_card_template(
    *,
    business: Business,
    data: dict[str, Any],
    template: CardTemplate | None = None,
    actor: Any,
) -> CardTemplate:
    """Create or update a card template's type, mechanic and loyalty settings (B1, B6)."""
    if template is not None and template.business_id != business.pk:
        raise ValidationError(_("Unknown card template."))
    errors: dict[str, list[str]] = {}
    if not str(data.get("name") or "").strip():
        errors["name"] = [_("Enter a name.")]
    kind = data.get("type")
    if kind not in CardTemplate.Type.values:
        errors["type"] = [_("Choose a type of card.")]
    mechanic = data.get("mechanic")
    if mechanic is not None and mechanic.business_id != business.pk:
        errors["mechanic"] = [_("Unknown mechanic.")]
    elif kind in TYPES_WITH_MECHANIC:
        if mechanic is None:
            errors["mechanic"] = [_("A card of this type needs a mechanic.")]
        elif mechanic.kind != TYPES_WITH_MECHANIC[kind]:
            errors["mechanic"] = [_("Choose a mechanic of kind “%(kind)s”.") % {"kind": TYPES_WITH_MECHANIC[kind].label}]
    if kind == CardTemplate.Type.STAMP:
        if not data.get("stamps_required") or data["stamps_required"] < 1:
            errors["stamps_required"] = [_("A stamp card needs at least one stamp for a reward.")]
        if not data.get("stamps_per_purchase") or data["stamps_per_purchase"] < 1:
            errors["stamps_per_purchase"] = [_("At least one stamp per purchase.")]
        if not str(data.get("stamp_reward") or "").strip():
            errors["stamp_reward"] = [_("Describe the reward.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = audit.snapshot(template, TEMPLATE_FIELDS) if template is not None else None
        if template is None:
            template = CardTemplate(business=business)
        for name in TEMPLATE_FIELDS:
            if name in data:
                setattr(template, name, data[name])
        if template.type != CardTemplate.Type.STAMP:
            template.stamps_required = 0
        template.save()
        audit.record(
            business=business, actor=actor, action="template.updated" if before else "template.created",
            obj=template, before=before, after=audit.snapshot(template, TEMPLATE_FIELDS),
        )  # fmt: skip
        if before is not None:  # cards of the template show its name: wallet passes are refreshed
            events.emit(business=business, name="template.updated", payload={"template_id": template.pk})
        return template


# --- Клиенты: a card by hand ------------------------------------------------------------------------


def create_card_by_hand(
    *,
    business: Business,
    template: CardTemplate,
    phone: str,
    first_name: str = "",
    actor: Any,
) -> Card:
    """Issue a card from the cabinet (``services.issue_card``), recorded in the audit log."""
    try:
        with transaction.atomic():
            card = services.issue_card(
                business=business, template=template, phone=phone, first_name=first_name, verified=True, actor=actor
            )
            audit.record(
                business=business, actor=actor, action="card.created", obj=card,
                after={"template": template.name, "number": card.number},
            )  # fmt: skip
    except LoyaltyError as exc:
        raise loyalty_error_to_validation(exc) from None
    return card


# --- Products: CSV import (C4) ----------------------------------------------------------------------


@dataclass
class RowError:
    row: int  # the line of the file, the header being line 1
    field: str
    message: str


@dataclass
class ImportReport:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


REQUIRED_COLUMNS = ["sku", "name", "category", "price"]
OPTIONAL_COLUMNS = ["barcode"]


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content.lstrip("\ufeff")
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError({"file": [_("The file is not UTF-8 or Windows-1251 text.")]})


def parse_products_csv(content: bytes | str) -> ImportReport:
    """Validate a product file without writing anything: accepted rows and per-row errors."""
    text = _decode(content)
    report = ImportReport()
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        report.errors.append(RowError(1, "file", _("The file is empty.")))
        return report
    except csv.Error as exc:
        report.errors.append(RowError(1, "file", _("The file is not valid CSV: %(error)s") % {"error": exc}))
        return report
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        report.errors.append(RowError(1, "header", _("Missing columns: %(cols)s.") % {"cols": ", ".join(missing)}))
        return report
    index = {name: header.index(name) for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if name in header}
    seen: dict[str, int] = {}
    try:
        for line_no, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if line_no - 1 > MAX_IMPORT_ROWS:
                report.errors.append(RowError(line_no, "file", _("At most %(n)d rows per file.") % {"n": MAX_IMPORT_ROWS}))
                break
            if len(row) > len(header):
                report.errors.append(RowError(line_no, "row", _("More cells than columns in the header.")))
                continue
            cells = {name: (row[i].strip() if i < len(row) else "") for name, i in index.items()}
            row_errors: list[RowError] = []
            sku = cells["sku"]
            if not sku:
                row_errors.append(RowError(line_no, "sku", _("Required.")))
            elif len(sku) > 64:
                row_errors.append(RowError(line_no, "sku", _("At most 64 characters.")))
            elif sku in seen:
                row_errors.append(RowError(line_no, "sku", _("The same SKU is on line %(n)d.") % {"n": seen[sku]}))
            else:
                seen[sku] = line_no
            if not cells["name"]:
                row_errors.append(RowError(line_no, "name", _("Required.")))
            elif len(cells["name"]) > 200:
                row_errors.append(RowError(line_no, "name", _("At most 200 characters.")))
            if len(cells["category"]) > 200:
                row_errors.append(RowError(line_no, "category", _("At most 200 characters.")))
            price: Decimal | None = None
            try:
                price = Decimal(cells["price"].replace(",", ".").replace(" ", "").replace("\u00a0", ""))
                if not price.is_finite() or price < 0 or price != price.quantize(Decimal("0.01")) or price >= 10**12:
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                row_errors.append(RowError(
                    line_no, "price", _("Enter a non-negative amount with at most 2 decimals, e.g. 149.90.")
                ))  # fmt: skip
            barcode = cells.get("barcode", "")
            if len(barcode) > 64:
                row_errors.append(RowError(line_no, "barcode", _("At most 64 characters.")))
            if row_errors:
                report.errors.extend(row_errors)
            else:
                report.accepted.append({
                    "row": line_no, "sku": sku, "name": cells["name"], "category": cells["category"],
                    "price": price, "barcode": barcode,
                })  # fmt: skip
    except csv.Error as exc:
        report.errors.append(RowError(reader.line_num, "file", _("The file is not valid CSV: %(error)s") % {"error": exc}))
    if not report.accepted and not report.errors:
        report.errors.append(RowError(1, "file", _("The file has no products.")))
    return report


def import_products(*, business: Business, content: bytes | str, actor: Any) -> ImportReport:
    """Import a product CSV (columns sku,name,category,price[,barcode]); all rows or none."""
    report = parse_products_csv(content)
    if not report.ok:
        return report
    with transaction.atomic():
        categories = {c.name: c for c in ProductCategory.objects.filter(business=business)}
        products = {p.sku: p for p in Product.objects.filter(business=business, sku__in=[r["sku"] for r in report.accepted])}
        for row in report.accepted:
            category = None
            if row["category"]:
                category = categories.get(row["category"])
                if category is None:
                    category = ProductCategory.objects.create(business=business, name=row["category"])
                    categories[category.name] = category
            product = products.get(row["sku"])
            if product is None:
                Product.objects.create(
                    business=business, sku=row["sku"], name=row["name"], category=category, price=row["price"],
                    barcode=row["barcode"],
                )  # fmt: skip
                report.created += 1
            else:
                product.name, product.category, product.price, product.barcode = (
                    row["name"], category, row["price"], row["barcode"]
                )  # fmt: skip
                product.save(update_fields=["name", "category", "price", "barcode"])
                report.updated += 1
        audit.record(
            business=business, actor=actor, action="products.imported", object_type="product",
            object_repr=_("Product import"), after={"created": report.created, "updated": report.updated},
        )  # fmt: skip
    report.written = True
    return report


# --- Coupon groups (B7) and gift certificates (B8) ---------------------------------------------------


def save_coupon_group(
    *,
    business: Business,
    data: dict[str, Any],
    group: CouponGroup | None = None,
    actor: Any,
) -> CouponGroup:
    if group is not None and group.business_id != business.pk:
        raise ValidationError(_("Unknown coupon group."))
    errors: dict[str, list[str]] = {}
    if not str(data.get("name") or "").strip():
        errors["name"] = [_("Enter a name.")]
    reward = data.get("reward")
    if reward not in CouponGroup.Reward.values:
        errors["reward"] = [_("Choose a reward.")]
    value = data.get("value") or ZERO
    if value < 0:
        errors["value"] = [_("Cannot be negative.")]
    elif reward == CouponGroup.Reward.PERCENT and not ZERO < value <= HUNDRED:
        errors["value"] = [_("A percentage must be above 0 and at most 100.")]
    elif reward in (CouponGroup.Reward.FIXED, CouponGroup.Reward.POINTS) and value <= 0:
        errors["value"] = [_("Must be greater than zero.")]
    if reward == CouponGroup.Reward.FREE_ITEM and not str(data.get("item_sku") or "").strip():
        errors["item_sku"] = [_("Enter the SKU of the free item.")]
    valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
    if valid_from and valid_until and valid_until <= valid_from:
        errors["valid_until"] = [_("Must be after the start of validity.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = audit.snapshot(group, COUPON_GROUP_FIELDS) if group is not None else None
        if group is None:
            group = CouponGroup(business=business)
        for name in COUPON_GROUP_FIELDS:
            if name in data:
                setattr(group, name, data[name])
        group.prefix = (group.prefix or "").strip().upper()
        group.save()
        audit.record(
            business=business, actor=actor, action="coupon_group.updated" if before else "coupon_group.created",
            obj=group, before=before, after=audit.snapshot(group, COUPON_GROUP_FIELDS),
        )  # fmt: skip
        return group


def generate_coupon_codes(*, business: Business, group: CouponGroup, count: int, actor: Any) -> int:
    """N new one-time codes in the group (``services.generate_coupons``); returns how many were made."""
    if group.business_id != business.pk:
        raise ValidationError(_("Unknown coupon group."))
    try:
        made = services.generate_coupons(business=business, group_id=group.pk, count=count, actor=actor)
    except LoyaltyError as exc:
        raise loyalty_error_to_validation(exc) from None
    return len(made)


def create_gift_certificate(
    *,
    business: Business,
    amount: Decimal,
    expires_at: datetime | None = None,
    actor: Any,
) -> GiftCertificate:
    """A gift certificate with a generated code (``services.issue_certificate``), audited."""
    try:
        with transaction.atomic():
            certificate = services.issue_certificate(business=business, amount=amount, expires_at=expires_at, actor=actor)
            audit.record(
                business=business, actor=actor, action="certificate.created", obj=certificate,
                after={"amount": certificate.initial_amount, "expires_at": certificate.expires_at},
            )  # fmt: skip
    except LoyaltyError as exc:
        raise loyalty_error_to_validation(exc) from None
    return certificate
