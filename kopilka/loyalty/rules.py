"""Pure loyalty math: rounding, levels, pricing a check, refund shares. No ORM here.

Money and points are Decimals quantised to 0.01, half-up. Where an amount is split over lines, the
split is done in cents by the largest-remainder method, so the parts always add up to the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeVar

from django.utils.translation import gettext as _

from kopilka.loyalty.errors import FieldError, InsufficientPoints, ValidationFailed

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
MAX_MONEY = Decimal("999999999999.99")

K = TypeVar("K")


def q(value: Decimal) -> Decimal:
    """Quantise to 0.01, half-up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cents(value: object) -> Decimal:
    """An aggregate from the database as exact cents (SQLite sums decimals as floats; NULL → 0.00)."""
    if value is None:
        return ZERO
    return q(Decimal(str(value)))


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    return q(amount * percent / HUNDRED)


def share(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``total * part / whole`` rounded half-up; ``total`` when ``part == whole``."""
    if whole == 0:
        return ZERO
    if part == whole:
        return total
    return q(total * part / whole)


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` (0.01 steps) over ``weights`` proportionally; the parts add up to ``total``."""
    if not weights:
        return []
    whole = sum(weights, ZERO)
    if whole <= 0:
        return [ZERO for _w in weights]
    cents = int((total / CENT).to_integral_value())
    exact = [Decimal(cents) * w / whole for w in weights]
    floors = [int(e.to_integral_value(rounding=ROUND_DOWN)) for e in exact]
    left = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(c) * CENT for c in floors]


def parse_amount(value: object, *, field: str, allow_zero: bool = False, places: int = 2) -> Decimal:
    """A positive decimal with at most ``places`` decimal places, or a ValidationFailed naming ``field``."""
    if isinstance(value, float):
        raise ValidationFailed(_("Send amounts as decimal strings, not floats."), field=field)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Enter a number."), field=field) from None
    if not amount.is_finite():
        raise ValidationFailed(_("Enter a number."), field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed(_("Must be greater than zero."), field=field)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValidationFailed(_("At most %(places)d decimal places.") % {"places": places}, field=field)
    if amount > MAX_MONEY:
        raise ValidationFailed(_("The number is too large."), field=field)
    return amount.quantize(Decimal(1).scaleb(-places))


# --- Levels ---------------------------------------------------------------------------------------


def level_for(total: Decimal, levels: Sequence[tuple[Decimal, K]]) -> K | None:
    """The level with the highest threshold not above ``total`` (levels: ``(threshold, key)``)."""
    best: K | None = None
    best_threshold: Decimal | None = None
    for threshold, key in levels:
        if threshold <= total and (best_threshold is None or threshold > best_threshold):
            best, best_threshold = key, threshold
    return best


def period_start(today: date, reset_monthly: bool) -> date | None:
    """Start of the purchase-sum period: the 1st of the month when the mechanic resets monthly."""
    return today.replace(day=1) if reset_monthly else None


# --- Pricing a check --------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """What the card's level (or its mechanic) gives."""

    kind: str = "bonus"  # bonus | discount | gift | none
    accrual_percent: Decimal = ZERO
    redeem_max_percent: Decimal = ZERO
    discount_percent: Decimal = ZERO

    @property
    def uses_points(self) -> bool:
        return self.kind in ("bonus", "gift")


@dataclass(frozen=True)
class LineIn:
    quantity: Decimal
    price: Decimal
    sku: str = ""
    name: str = ""
    product_id: int | None = None
    accrual_rule: str = "default"  # default | fixed | percent | excluded
    accrual_value: Decimal = ZERO
    excluded_from_redemption: bool = False

    @property
    def total(self) -> Decimal:
        return q(self.quantity * self.price)


@dataclass(frozen=True)
class CouponIn:
    code: str
    reward: str  # percent | fixed | free_item | points
    value: Decimal = ZERO
    item_sku: str = ""


@dataclass
class LineOut:
    line: LineIn
    total: Decimal
    discount: Decimal = ZERO
    points_redeemed: Decimal = ZERO
    payable: Decimal = ZERO
    points: Decimal = ZERO


@dataclass
class Pricing:
    amount: Decimal
    discount: Decimal
    max_redeemable: Decimal
    points_redeemed: Decimal
    points_to_accrue: Decimal
    payable: Decimal
    coupon_points: Decimal
    coupons_applied: list[str] = field(default_factory=list)
    lines: list[LineOut] = field(default_factory=list)


def _exact_accrual(line: LineIn, payable: Decimal, terms: Terms) -> Decimal:
    if line.accrual_rule == "excluded":
        return ZERO
    if line.accrual_rule == "fixed":
        return line.quantity * line.accrual_value
    percent = line.accrual_value if line.accrual_rule == "percent" else terms.accrual_percent
    return payable * percent / HUNDRED


def price_check(
    *,
    amount: Decimal | None,
    lines: Sequence[LineIn],
    terms: Terms,
    balance: Decimal,
    redeem: Decimal | str | None,
    coupons: Sequence[CouponIn] = (),
) -> Pricing:
    """Discount first, then points from what is left (up to the cap and the balance), then accrual on
    ``payable`` by the level's % or the product rules. Raises ValidationFailed / InsufficientPoints."""
    lines_total = sum((ln.total for ln in lines), ZERO)
    all_lines = list(lines)
    if amount is None:
        if not lines:
            raise ValidationFailed(_("Give the amount or the items of the check."), field="amount")
        amount = lines_total
    elif amount < lines_total:
        raise ValidationFailed(
            _("The amount is less than the sum of the items (%(sum)s).") % {"sum": lines_total}, field="amount"
        )
    elif amount > lines_total:
        all_lines.append(LineIn(quantity=Decimal(1), price=amount - lines_total))
    if amount <= 0:
        raise ValidationFailed(_("Must be greater than zero."), field="amount")
    outs = [LineOut(line=ln, total=ln.total) for ln in all_lines]

    # 1. Discount: the level's percent, then the coupons, never more than the check.
    discount = percent_of(amount, terms.discount_percent) if terms.kind in ("discount", "bonus") else ZERO
    coupon_points = ZERO
    applied: list[str] = []
    for i, coupon in enumerate(coupons):
        if coupon.reward == "percent":
            discount += percent_of(amount, coupon.value)
        elif coupon.reward == "fixed":
            discount += coupon.value
        elif coupon.reward == "free_item":
            match = next((o for o in outs if o.line.sku and o.line.sku == coupon.item_sku), None)
            if match is None:
                raise ValidationFailed(
                    _("The check has no item %(sku)s for this coupon.") % {"sku": coupon.item_sku},
                    field=f"coupons[{i}]",
                )
            discount += match.line.price
        elif coupon.reward == "points":
            coupon_points += coupon.value
        applied.append(coupon.code)
    discount = min(q(discount), amount)
    for out, part in zip(outs, allocate(discount, [o.total for o in outs]), strict=True):
        out.discount = part

    # 2. Points: up to the cap of what is left on lines points may pay for, never above the balance.
    redeemable_outs = [o for o in outs if not o.line.excluded_from_redemption]
    base = sum((o.total - o.discount for o in redeemable_outs), ZERO)
    cap = min(percent_of(base, terms.redeem_max_percent), base) if terms.uses_points else ZERO
    max_redeemable = max(min(cap, balance), ZERO)
    if redeem is None or redeem == ZERO:
        points = ZERO
    elif redeem == "max":
        points = max_redeemable
    else:
        assert isinstance(redeem, Decimal)
        if redeem > balance:
            raise InsufficientPoints(
                _("The card has %(balance)s points available.") % {"balance": balance}, field="redeem_points"
            )
        if redeem > cap:
            raise ValidationFailed(
                _("At most %(max)s points can pay for this check.") % {"max": max_redeemable}, field="redeem_points"
            )
        points = redeem
    for out, part in zip(redeemable_outs, allocate(points, [o.total - o.discount for o in redeemable_outs]), strict=True):
        out.points_redeemed = part
    for out in outs:
        out.payable = out.total - out.discount - out.points_redeemed
    payable = amount - discount - points

    # 3. Accrual on what is paid with money, by line rules.
    if terms.kind == "bonus":
        exact = [_exact_accrual(o.line, o.payable, terms) for o in outs]
        accrued = q(sum(exact, Decimal(0)))
        for out, part in zip(outs, allocate(accrued, exact), strict=True):
            out.points = part
    else:
        accrued = ZERO
    return Pricing(
        amount=amount,
        discount=discount,
        max_redeemable=max_redeemable,
        points_redeemed=points,
        points_to_accrue=accrued + q(coupon_points),
        payable=payable,
        coupon_points=q(coupon_points),
        coupons_applied=applied,
        lines=outs,
    )


# --- Refund shares ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundShares:
    """What this refund returns, computed from cumulative targets so that refunding everything, in
    any number of parts, adds up exactly to the purchase's figures."""

    points_to_return: Decimal
    points_to_take_back: Decimal
    payable: Decimal


def refund_shares(
    *,
    purchase_amount: Decimal,
    points_redeemed: Decimal,
    points_accrued: Decimal,
    payable: Decimal,
    refunded_before: Decimal,
    refund_amount: Decimal,
    returned_before: Decimal,
    taken_back_before: Decimal,
    payable_before: Decimal,
) -> RefundShares:
    after = refunded_before + refund_amount
    return RefundShares(
        points_to_return=share(points_redeemed, after, purchase_amount) - returned_before,
        points_to_take_back=share(points_accrued, after, purchase_amount) - taken_back_before,
        payable=share(payable, after, purchase_amount) - payable_before,
    )


def field_errors(errors: list[FieldError]) -> ValidationFailed:
    return ValidationFailed(errors[0].message, field=errors[0].field, errors=errors)
