"""Verbs of the loyalty engine (PRODUCT.md B2–B10; semantics of shared/spec/pos-api.md).

Every service: keyword-only arguments, ``business`` first and ``actor`` last; one transaction; the
card row locked (``lock_objects``) before its balance or lots are read for a change; validation before
any write, so an error leaves nothing behind; an outbox event in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kopilka.accounts.models import Business, PointOfSale
from kopilka.cards.models import Card, CardTemplate
from kopilka.core import audit, fastsql
from kopilka.customers.models import Customer
from kopilka.loyalty import events, ledger, lock_objects, rules, selectors
from kopilka.loyalty.actors import actor_label, actor_user
from kopilka.loyalty.errors import (
    CardBlocked,
    CardNotFound,
    IdempotencyConflict,
    InsufficientPoints,
    LoyaltyError,
    PurchaseNotFound,
    RefundExceedsPurchase,
    ValidationFailed,
)
from kopilka.loyalty.models import (
    CertificateSpending,
    Coupon,
    GiftCertificate,
    LedgerEntry,
    Level,
    LotConsumption,
    Mechanic,
    PendingAccrual,
    Product,
    Purchase,
    PurchaseLine,
    Refund,
    RewardCatalogItem,
    StampReward,
    Ticket,
)

ZERO = Decimal("0.00")
Kind = LedgerEntry.Kind
MANUAL_KINDS = {Kind.MANUAL, Kind.GIFT, Kind.PURCHASED, Kind.IMPORT}


# --- Helpers ------------------------------------------------------------------------------------


def _public_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _today(business: Business, now: datetime) -> date:
    return timezone.localtime(now, zoneinfo.ZoneInfo(business.time_zone)).date()


def _when(now: datetime | None) -> datetime:
    current = timezone.now()
    if now is None:
        return current
    if now > current:
        raise ValidationFailed(_("The time of an operation cannot be in the future."), field="now")
    return now


def _check_card(business: Business, card: Card, *, for_points: bool = True) -> None:
    if card.business_id != business.pk:
        raise CardNotFound(_("No such card."), field="card")
    if card.status in (Card.Status.BLOCKED, Card.Status.DELETED):
        raise CardBlocked(_("The card is blocked or deleted."), field="card")
    if for_points and card.status != Card.Status.ACTIVE:
        raise CardBlocked(_("The card is not verified yet."), field="card")


def _lock_card(business: Business, card: Card, *, for_points: bool = True) -> Card:
    if card.business_id != business.pk:
        raise CardNotFound(_("No such card."), field="card")
    locked = lock_objects.card_for_update(card.pk)
    _check_card(business, locked, for_points=for_points)
    return locked


_LEVELS: dict[tuple[int, str], list[tuple[Decimal, Level]]] = {}  # (mechanic, its levels_stamp) → levels


def _levels(mechanic: Mechanic | None) -> list[tuple[Decimal, Level]]:
    """The mechanic's levels by threshold, read once per process and version of them.

    The stamp comes with the mechanic's row (read with the card), and ``save_mechanic`` changes it
    with the levels, so a purchase never prices with levels older than the mechanic it read.
    """
    if mechanic is None:
        return []
    key = (mechanic.pk, mechanic.levels_stamp)
    cached = _LEVELS.get(key)
    if cached is None:
        rows = fastsql.select(Level, '"mechanic_id" = %s', [mechanic.pk], order_by='"threshold", "order", "id"')
        cached = [(lvl.threshold, lvl) for lvl in rows]
        if len(_LEVELS) >= 1000:
            _LEVELS.clear()
        _LEVELS[key] = cached
    return cached


def terms_for(card: Card, level: Level | None = None) -> rules.Terms:
    """What the card gets now: its level's percentages, or the mechanic's when it has no level."""
    mechanic = card.template.mechanic
    if mechanic is None:
        return rules.Terms(kind="none")
    source: Level | Mechanic = level or card.level or mechanic
    return rules.Terms(
        kind=mechanic.kind,
        accrual_percent=source.accrual_percent,
        redeem_max_percent=source.redeem_max_percent,
        discount_percent=source.discount_percent,
    )


def _roll_period(card: Card, business: Business, now: datetime) -> None:
    """A mechanic that resets monthly starts the purchase sum from zero on the 1st (business time)."""
    mechanic = card.template.mechanic
    start = rules.period_start(_today(business, now), bool(mechanic and mechanic.reset_monthly))
    if start != card.purchase_period_start:
        if start is not None:
            card.purchase_total = ZERO
        card.purchase_period_start = start


def _update_level(card: Card) -> None:
    """Automatic level up or down by the purchase sum, unless the level was set by hand."""
    if card.level_locked:
        return
    new = rules.level_for(card.purchase_total, _levels(card.template.mechanic))
    if (new.pk if new else None) != card.level_id:
        before = card.level
        card.level = new
        events.level_changed(card, before=before, after=new, manual=False)


_CARD_STATE = (
    "balance", "pending_points", "level", "level_locked", "purchase_total", "purchase_period_start",
    "purchase_count", "stamps", "referral_rewarded_at", "status", "verified_at",
)  # fmt: skip


def _save_card(card: Card, batch: fastsql.Batch | None = None) -> None:
    fastsql.update(card, _CARD_STATE, batch=batch)


def _canonical_hash(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


# --- Input parsing (pure, before any write) ------------------------------------------------------


@dataclass(frozen=True)
class _ItemIn:
    sku: str
    name: str
    quantity: Decimal
    price: Decimal | None


def _parse_items(items: Sequence[Mapping[str, Any]] | None) -> list[_ItemIn]:
    parsed = []
    for i, item in enumerate(items or ()):
        if not isinstance(item, Mapping):
            raise ValidationFailed(_("Each item must be an object."), field=f"items[{i}]")
        quantity = rules.parse_amount(item.get("quantity", "1"), field=f"items[{i}].quantity", places=3)
        price = item.get("price")
        parsed.append(
            _ItemIn(
                sku=str(item.get("sku") or "").strip(),
                name=str(item.get("name") or "").strip()[:200],
                quantity=quantity,
                price=None if price in (None, "") else rules.parse_amount(
                    price, field=f"items[{i}].price", allow_zero=True
                ),
            )
        )  # fmt: skip
    return parsed


def _parse_redeem(value: Any) -> Decimal | str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() == "max":
        return "max"
    return rules.parse_amount(value, field="redeem_points", allow_zero=True)


def _lines(business: Business, items: list[_ItemIn]) -> list[rules.LineIn]:
    skus = {it.sku for it in items if it.sku}
    products = (
        {p.sku: p for p in Product.objects.filter(business=business, sku__in=skus).select_related("category")}
        if skus
        else {}
    )
    lines = []
    for i, it in enumerate(items):
        product = products.get(it.sku) if it.sku else None
        if it.sku and product is None:
            raise ValidationFailed(
                _("Unknown product %(sku)s: add it to the catalogue first.") % {"sku": it.sku}, field=f"items[{i}].sku"
            )
        price = it.price if it.price is not None else (product.price if product else None)
        if price is None:
            raise ValidationFailed(_("This field is required."), field=f"items[{i}].price")
        rule, value, excluded = "default", ZERO, False
        if product is not None:
            rule, value = product.accrual_rule, product.accrual_value
            excluded = product.excluded_from_redemption
            category = product.category
            if category is not None:
                if rule == "default":
                    rule, value = category.accrual_rule, category.accrual_value
                excluded = excluded or category.excluded_from_redemption
        lines.append(
            rules.LineIn(
                quantity=it.quantity, price=price, sku=it.sku, name=it.name or (product.name if product else ""),
                product_id=product.pk if product else None, accrual_rule=rule, accrual_value=value,
                excluded_from_redemption=excluded,
            )
        )  # fmt: skip
    return lines


def _valid_coupons(business: Business, card: Card, codes: Sequence[str], now: datetime, *, lock: bool) -> list[Coupon]:
    cleaned = [str(c).strip().upper() for c in codes or ()]
    if not cleaned:
        return []
    if len(set(cleaned)) != len(cleaned):
        raise ValidationFailed(_("The same coupon is given twice."), field="coupons")
    qs = Coupon.objects.filter(business=business, code__in=cleaned).select_related("group")
    rows = lock_objects.coupons_for_update(qs.values_list("pk", flat=True)) if lock else qs
    found = {c.code: c for c in rows}
    result = []
    for i, code in enumerate(cleaned):
        coupon = found.get(code)
        name = f"coupons[{i}]"
        if coupon is None:
            raise ValidationFailed(_("Unknown coupon code."), field=name)
        if coupon.redeemed_at is not None:
            raise ValidationFailed(_("This coupon has already been used."), field=name)
        group = coupon.group
        if not group.is_active or (group.valid_until and group.valid_until <= now):
            raise ValidationFailed(_("This coupon has expired."), field=name)
        if group.valid_from and group.valid_from > now:
            raise ValidationFailed(_("This coupon is not valid yet."), field=name)
        if coupon.card_id is not None and coupon.card_id != card.pk:
            raise ValidationFailed(_("This coupon belongs to another card."), field=name)
        result.append(coupon)
    return result


def _coupon_inputs(coupons: Sequence[Coupon]) -> list[rules.CouponIn]:
    return [
        rules.CouponIn(code=c.code, reward=c.group.reward, value=c.group.value, item_sku=c.group.item_sku)
        for c in coupons
    ]


def stamps_for(template: CardTemplate, lines: Sequence[rules.LineIn]) -> int:
    if template.type != CardTemplate.Type.STAMP:
        return 0
    if template.stamp_sku:
        return int(sum((ln.quantity for ln in lines if ln.sku == template.stamp_sku), Decimal(0)))
    return template.stamps_per_purchase


# --- Quote ----------------------------------------------------------------------------------------


@dataclass
class QuoteLine:
    sku: str
    name: str
    quantity: Decimal
    price: Decimal
    total: Decimal
    discount: Decimal
    points_redeemed: Decimal
    payable: Decimal
    points: Decimal


@dataclass
class Quote:
    amount: Decimal
    discount: Decimal
    points_redeemed: Decimal
    points_to_accrue: Decimal
    payable: Decimal
    max_redeemable: Decimal
    coupons_applied: list[str] = field(default_factory=list)
    stamps_to_add: int = 0
    lines: list[QuoteLine] = field(default_factory=list)


def _quote_from(pricing: rules.Pricing, stamps: int) -> Quote:
    return Quote(
        amount=pricing.amount,
        discount=pricing.discount,
        points_redeemed=pricing.points_redeemed,
        points_to_accrue=pricing.points_to_accrue,
        payable=pricing.payable,
        max_redeemable=pricing.max_redeemable,
        coupons_applied=pricing.coupons_applied,
        stamps_to_add=stamps,
        lines=[
            QuoteLine(sku=o.line.sku, name=o.line.name, quantity=o.line.quantity, price=o.line.price, total=o.total,
                      discount=o.discount, points_redeemed=o.points_redeemed, payable=o.payable, points=o.points)
            for o in pricing.lines
        ],
    )  # fmt: skip


def effective_state(card: Card, business: Business, now: datetime) -> tuple[Decimal, Level | None]:
    """The balance and level the card would have after ``settle`` and the monthly roll — without writing."""
    due_pending = ZERO
    if card.pending_points > 0:  # the cached sum says something waits
        due_pending = rules.cents(
            PendingAccrual.objects.filter(card=card, entry__isnull=True, available_at__lte=now).aggregate(
                s=Sum(F("amount") - F("taken_back"))
            )["s"]
        )
    # usually no row: a plain indexed read of the due lots is cheaper than an ORM aggregate
    due_lots = fastsql.select(LedgerEntry, '"card_id" = %s AND "remaining" > 0 AND "expires_at" <= %s', [card.pk, now])
    due_expiry = sum((lot.remaining for lot in due_lots), ZERO)
    balance = card.balance + due_pending - due_expiry
    level = card.level
    if not card.level_locked and card.template.mechanic is not None:
        total = card.purchase_total
        start = rules.period_start(_today(business, now), card.template.mechanic.reset_monthly)
        if start is not None and start != card.purchase_period_start:
            total = ZERO
        level = rules.level_for(total, _levels(card.template.mechanic))
    return balance, level


def quote_purchase(
    *,
    business: Business,
    card: Card,
    amount: Decimal | str | None = None,
    items: Sequence[Mapping[str, Any]] | None = None,
    redeem_points: Decimal | str | None = None,
    coupons: Sequence[str] = (),
    point_of_sale: PointOfSale | None = None,
) -> Quote:
    """Price a check for the card; changes nothing."""
    _check_card(business, card)
    # the card as it is now (the caller's copy may be older), with what pricing needs
    card = fastsql.select_related(Card, ("template", "template__mechanic", "level"), '"cards_card"."id" = %s', [card.pk])[0]
    parsed_amount = None if amount in (None, "") else rules.parse_amount(amount, field="amount")
    parsed_items = _parse_items(items)
    redeem = _parse_redeem(redeem_points)
    now = timezone.now()
    lines = _lines(business, parsed_items)
    found = _valid_coupons(business, card, coupons, now, lock=False)
    balance, level = effective_state(card, business, now)
    pricing = rules.price_check(
        amount=parsed_amount, lines=lines, terms=terms_for(card, level), balance=balance, redeem=redeem,
        coupons=_coupon_inputs(found),
    )  # fmt: skip
    return _quote_from(pricing, stamps_for(card.template, lines))


# --- Confirm ----------------------------------------------------------------------------------


class _ReceiptTaken(Exception):
    """The receipt has a purchase already (raised to roll the new one's transaction back)."""


def _grant_referral(card: Card, referrer: Card | None, purchase: Purchase, now: datetime) -> None:
    mechanic = card.template.mechanic
    card.referral_rewarded_at = now
    if mechanic is None:
        return
    if mechanic.newcomer_points > 0:
        entry = ledger.credit(
            card=card, kind=Kind.REFERRAL, amount=mechanic.newcomer_points, now=now, purchase=purchase,
            expires_at=ledger.expiry_for(now, mechanic.points_lifetime_days), reason="referral: newcomer",
        )  # fmt: skip
        events.points_changed(card, entry)
    if referrer is not None and referrer.is_usable:
        ref_mechanic = referrer.template.mechanic
        points = ref_mechanic.referrer_points if ref_mechanic else ZERO
        if points > 0:
            entry = ledger.credit(
                card=referrer, kind=Kind.REFERRAL, amount=points, now=now, purchase=purchase,
                expires_at=ledger.expiry_for(now, ref_mechanic.points_lifetime_days if ref_mechanic else None),
                reason=f"referral: {card.number}",
            )  # fmt: skip
            _save_card(referrer)
            events.points_changed(referrer, entry)


def confirm_purchase(
    *,
    business: Business,
    card: Card,
    amount: Decimal | str | None = None,
    items: Sequence[Mapping[str, Any]] | None = None,
    redeem_points: Decimal | str | None = None,
    coupons: Sequence[str] = (),
    point_of_sale: PointOfSale | None = None,
    receipt_id: str,
    idempotency_key: str = "",
    now: datetime | None = None,
    actor: Any = None,
) -> Purchase:
    """Apply the discount, redeem and accrue points, redeem coupons, add stamps — in one transaction.

    Idempotent by ``receipt_id`` per point of sale: the same receipt with the same body (and the same
    idempotency key) returns the purchase made the first time; anything else is IdempotencyConflict.
    ``now`` backdates the purchase (imports of history, the demo); it must not be in the future.
    """
    receipt_id = (receipt_id or "").strip()
    if not receipt_id or len(receipt_id) > 128:
        raise ValidationFailed(_("Give the receipt id (1–128 characters)."), field="receipt_id")
    if point_of_sale is not None and point_of_sale.business_id != business.pk:
        raise ValidationFailed(_("Unknown point of sale."), field="point_of_sale")
    if card.business_id != business.pk:
        raise CardNotFound(_("No such card."), field="card")
    parsed_amount = None if amount in (None, "") else rules.parse_amount(amount, field="amount")
    parsed_items = _parse_items(items)
    redeem = _parse_redeem(redeem_points)
    request_hash = _canonical_hash(
        {"card": card.pk, "amount": parsed_amount, "pos": point_of_sale.pk if point_of_sale else None,
         "items": [[i.sku, i.name, i.quantity, i.price] for i in parsed_items], "redeem": redeem,
         "coupons": sorted(str(c).strip().upper() for c in coupons or ())}
    )  # fmt: skip
    pos_id = point_of_sale.pk if point_of_sale else None

    try:
        with transaction.atomic():
            referrer_id = card.referred_by_id if card.referral_rewarded_at is None else None
            spending = redeem is not None and redeem != 0
            read_lots: list[LedgerEntry] | None = None
            with_lots = lock_objects.card_and_lots_for_update(card) if spending and not referrer_id else None
            if with_lots is not None:  # the usual redemption: lock and lots in one round trip
                card, read_lots = with_lots
                locked = {card.pk: card}
            else:
                locked = lock_objects.cards_for_update([card.pk, *([referrer_id] if referrer_id else [])], known=card)
                card = locked[card.pk]
            _check_card(business, card)
            now = _when(now)
            _roll_period(card, business, now)
            _update_level(card)
            lots: list[LedgerEntry] | None = None
            if spending and (card.balance > 0 or card.pending_points > 0):
                # about to spend: read the open lots once for the expiry and the redemption
                settled, lots = ledger.settle_with_lots(card, now, read_lots)
            else:
                settled = ledger.settle(card, now)
            lines = _lines(business, parsed_items)
            found = _valid_coupons(business, card, coupons, now, lock=True)
            pricing = rules.price_check(
                amount=parsed_amount, lines=lines, terms=terms_for(card), balance=card.balance, redeem=redeem,
                coupons=_coupon_inputs(found),
            )  # fmt: skip
            mechanic = card.template.mechanic

            delay = mechanic.accrual_delay_hours if mechanic else 0
            stamps = stamps_for(card.template, lines)
            # What the purchase row will say at the end in the usual case (no referral reward), so that it
            # is written once; if the end state differs, it is updated below.
            expected_balance = card.balance - pricing.points_redeemed
            if pricing.points_to_accrue > 0 and not delay:
                expected_balance += pricing.points_to_accrue

            # Writes start here; everything above only read (or settled time, which is rolled back with the
            # rest if the receipt turns out to be taken).
            purchase = Purchase(
                business=business, public_id=_public_id("pur"), card=card, point_of_sale=point_of_sale,
                receipt_id=receipt_id, amount=pricing.amount, discount=pricing.discount,
                points_redeemed=pricing.points_redeemed, points_accrued=pricing.points_to_accrue,
                payable=pricing.payable, balance_after=expected_balance, stamps_added=stamps,
                counts_for_level_since=card.purchase_period_start, idempotency_key=idempotency_key or "",
                request_hash=request_hash, actor=actor_user(actor), actor_label=actor_label(actor), created_at=now,
            )  # fmt: skip
            if not fastsql.insert([purchase], skip_conflict=True):
                raise _ReceiptTaken  # confirmed before: out of this transaction, then answered below
            batch = fastsql.Batch()  # the writes nothing reads back go together at the end: one round trip
            fastsql.insert(
                [PurchaseLine(
                    purchase=purchase, position=i, sku=o.line.sku, name=o.line.name, product_id=o.line.product_id,
                    quantity=o.line.quantity, price=o.line.price, total=o.total, discount=o.discount,
                    points_redeemed=o.points_redeemed, payable=o.payable, points=o.points,
                )
                for i, o in enumerate(pricing.lines)],
                batch=batch,
            )  # fmt: skip
            changed: list[LedgerEntry] = list(settled)
            # The redemption and the accrual are worked out in memory and inserted in one statement.
            new_entries: list[LedgerEntry] = []
            debits: list[ledger.PlannedDebit] = []
            if pricing.points_redeemed > 0:
                planned = ledger.plan_debit(
                    card=card, kind=Kind.REDEMPTION, amount=pricing.points_redeemed, now=now, lots=lots,
                    purchase=purchase, point_of_sale_id=pos_id, actor=actor, reason=receipt_id,
                )  # fmt: skip
                debits.append(planned)
                new_entries.append(planned.entry)
            if pricing.points_to_accrue > 0:
                lifetime = mechanic.points_lifetime_days if mechanic else None
                if delay:
                    ledger.add_pending(
                        card=card, amount=pricing.points_to_accrue, now=now, available_at=now + timedelta(hours=delay),
                        lifetime_days=lifetime, purchase=purchase, point_of_sale_id=pos_id, reason=receipt_id,
                    )  # fmt: skip
                else:
                    new_entries.append(
                        ledger.credit(card=card, kind=Kind.ACCRUAL, amount=pricing.points_to_accrue, now=now,
                                      expires_at=ledger.expiry_for(now, lifetime), purchase=purchase,
                                      point_of_sale_id=pos_id, actor=actor, reason=receipt_id, save=False)
                    )  # fmt: skip
            ledger.write_entries(new_entries, debits, batch=batch)
            changed += new_entries
            for coupon in found:
                coupon.redeemed_at = now
                coupon.purchase = purchase
                coupon.redeemed_card = card
                coupon.save(update_fields=["redeemed_at", "purchase", "redeemed_card"])
                events.coupon_redeemed(business=business, code=coupon.code, card=card, purchase=purchase)
            if stamps:
                _add_stamps(card, stamps, purchase, now)
            if referrer_id and card.referral_rewarded_at is None and card.purchase_count == 0:
                _grant_referral(card, locked.get(referrer_id), purchase, now)
            card.purchase_count += 1
            card.purchase_total += pricing.payable
            _update_level(card)
            _save_card(card, batch)
            if purchase.balance_after != card.balance:
                purchase.balance_after = card.balance
                fastsql.update(purchase, ["balance_after"], batch=batch)
            outbox = [events.purchase_confirmed(purchase, save=False)]
            if changed or pricing.points_to_accrue:
                outbox.append(events.points_changed(card, changed[-1] if changed else None, reason="purchase", save=False))
            events.emit_all(outbox, batch=batch)
            batch.send()
            purchase._kopilka_created = True  # type: ignore[attr-defined]  # callers know it has no refunds yet
            return purchase
    except (LoyaltyError, _ReceiptTaken) as error:
        # A receipt confirmed before is answered here, after the rollback: no query for it on the way in,
        # and a retry that could no longer be priced (points spent, coupon used) still gets its purchase.
        existing = selectors.purchase_by_receipt(business=business, point_of_sale_id=pos_id, receipt_id=receipt_id)
        if existing is None and isinstance(error, LoyaltyError):
            raise
        if existing is not None and existing.request_hash == request_hash and existing.idempotency_key == (idempotency_key or ""):
            return existing
        raise IdempotencyConflict(
            _("Receipt %(receipt)s was already confirmed with other data.") % {"receipt": receipt_id},
            field="receipt_id",
        ) from error


def _add_stamps(card: Card, stamps: int, purchase: Purchase | None, now: datetime) -> list[StampReward]:
    template = card.template
    card.stamps += stamps
    rewards = []
    while template.stamps_required and card.stamps >= template.stamps_required:
        card.stamps -= template.stamps_required
        reward = StampReward.objects.create(
            business_id=card.business_id, card=card, purchase=purchase, title=template.stamp_reward, created_at=now
        )
        events.stamps_reward_earned(card, reward_id=reward.pk, title=reward.title)
        rewards.append(reward)
    return rewards


# --- Refund -----------------------------------------------------------------------------------


def _refund_amount_for_items(purchase: Purchase, items: Sequence[Mapping[str, Any]]) -> tuple[Decimal, list[PurchaseLine]]:
    lines = list(purchase.lines.all())
    amount = ZERO
    touched: list[PurchaseLine] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ValidationFailed(_("Each item must be an object."), field=f"items[{i}]")
        sku = str(item.get("sku") or "").strip()
        quantity = rules.parse_amount(item.get("quantity", "1"), field=f"items[{i}].quantity", places=3)
        line = next((ln for ln in lines if sku and ln.sku == sku and ln.refunded_quantity < ln.quantity), None)
        if line is None:
            if any(ln.sku == sku for ln in lines if sku):
                raise RefundExceedsPurchase(_("This item has already been refunded."), field=f"items[{i}].quantity")
            raise ValidationFailed(_("The purchase has no such item."), field=f"items[{i}].sku")
        before = line.refunded_quantity
        after = before + quantity
        if after > line.quantity:
            raise RefundExceedsPurchase(
                _("Only %(left)s of this item are left to refund.") % {"left": line.quantity - before},
                field=f"items[{i}].quantity",
            )
        amount += rules.share(line.total, after, line.quantity) - rules.share(line.total, before, line.quantity)
        line.refunded_quantity = after
        touched.append(line)
    if amount <= 0:
        raise ValidationFailed(_("Nothing to refund."), field="items")
    return amount, touched


def refund_purchase(
    *,
    business: Business,
    purchase: Purchase,
    amount: Decimal | str | None = None,
    items: Sequence[Mapping[str, Any]] | None = None,
    idempotency_key: str = "",
    now: datetime | None = None,
    actor: Any = None,
) -> Refund:
    """Return redeemed points and take back accrued points in proportion to the share of the check.

    Pending points of the purchase are taken back first, then its own lot, then other lots; what was
    spent already is the refund's ``points_shortfall`` (the balance never goes below zero). Points the
    purchase accrued that burnt meanwhile are not taken back; points it spent from lots that burnt
    meanwhile are not returned.
    """
    if purchase.business_id != business.pk:
        raise PurchaseNotFound(_("No such purchase."), field="purchase")
    if (amount in (None, "")) == (not items):
        raise ValidationFailed(_("Give either the amount or the items to refund."), field="amount")
    parsed_amount = None if amount in (None, "") else rules.parse_amount(amount, field="amount")
    request_hash = _canonical_hash({"amount": parsed_amount, "items": [dict(i) for i in items or ()]})

    with transaction.atomic():
        card = lock_objects.card_for_update(purchase.card_id)
        purchase = lock_objects.purchase_for_update(purchase.pk)
        if idempotency_key:
            existing = Refund.objects.filter(purchase=purchase, idempotency_key=idempotency_key).first()
            if existing is not None:
                if existing.request_hash == request_hash:
                    return existing
                raise IdempotencyConflict(_("This idempotency key was used with other data."), field="idempotency_key")
        touched_lines: list[PurchaseLine] = []
        if parsed_amount is None:
            parsed_amount, touched_lines = _refund_amount_for_items(purchase, items or ())
        left = purchase.amount - purchase.refunded_amount
        if parsed_amount > left:
            raise RefundExceedsPurchase(
                _("Only %(left)s of this purchase is left to refund.") % {"left": left}, field="amount"
            )
        now = _when(now)
        settled = ledger.settle(card, now)
        _roll_period(card, business, now)
        _update_level(card)
        before = purchase.refunds.aggregate(
            returned=Sum(F("points_returned") + F("points_not_returned_expired")),
            taken=Sum(F("points_taken_back") + F("points_shortfall") + F("points_forgiven_expired")),
            payable=Sum("payable_refunded"),
        )
        shares = rules.refund_shares(
            purchase_amount=purchase.amount, points_redeemed=purchase.points_redeemed,
            points_accrued=purchase.points_accrued, payable=purchase.payable,
            refunded_before=purchase.refunded_amount, refund_amount=parsed_amount,
            returned_before=rules.cents(before["returned"]), taken_back_before=rules.cents(before["taken"]),
            payable_before=rules.cents(before["payable"]),
        )  # fmt: skip
        refund = Refund.objects.create(
            business=business, public_id=_public_id("ref"), purchase=purchase, amount=parsed_amount,
            payable_refunded=shares.payable, idempotency_key=idempotency_key or "", request_hash=request_hash,
            actor=actor_user(actor), actor_label=actor_label(actor), created_at=now,
        )  # fmt: skip
        pos_id = purchase.point_of_sale_id
        changed: list[LedgerEntry] = list(settled)

        # 1. Give redeemed points back to the lots they came from (latest-expiring first).
        need = shares.points_to_return
        if need > 0:
            spent = (
                LotConsumption.objects.filter(entry__purchase=purchase, entry__kind=Kind.REDEMPTION)
                .values("lot_id").annotate(total=Sum("amount"))
            )  # fmt: skip
            returned = dict(
                LotConsumption.objects.filter(entry__purchase=purchase, entry__kind=Kind.REFUND, amount__lt=0)
                .values_list("lot_id").annotate(total=Sum("amount"))
            )  # fmt: skip
            lots = {lot.pk: lot for lot in LedgerEntry.objects.filter(pk__in=[s["lot_id"] for s in spent])}
            order = sorted(
                lots.values(),
                key=lambda lot: (lot.expires_at is not None, -(lot.expires_at.timestamp() if lot.expires_at else 0),
                                 -lot.pk),
            )  # fmt: skip
            spent_by_lot = {s["lot_id"]: rules.cents(s["total"]) for s in spent}
            parts: list[tuple[LedgerEntry, Decimal]] = []
            for lot in order:
                if need <= 0:
                    break
                open_amount = spent_by_lot[lot.pk] + rules.cents(returned.get(lot.pk))
                take = min(need, open_amount)
                if take <= 0:
                    continue
                need -= take
                if lot.expires_at is not None and lot.expires_at <= now:
                    refund.points_not_returned_expired += take
                else:
                    parts.append((lot, take))
                    refund.points_returned += take
            entry = ledger.give_back(
                card=card, parts=parts, now=now, purchase=purchase, refund=refund, point_of_sale_id=pos_id,
                actor=actor, reason=purchase.receipt_id,
            )  # fmt: skip
            if entry is not None:
                changed.append(entry)

        # 2. Take back accrued points: pending first, then the purchase's own lot, then other lots.
        need = shares.points_to_take_back
        if need > 0:
            for pending in PendingAccrual.objects.filter(purchase=purchase, entry__isnull=True):
                take = min(need, pending.left)
                if take > 0:
                    pending.taken_back += take
                    pending.save(update_fields=["taken_back"])
                    card.pending_points -= take
                    refund.points_taken_back += take
                    need -= take
        if need > 0:
            own = list(LedgerEntry.objects.filter(purchase=purchase, kind=Kind.ACCRUAL, card=card))
            burnt = LotConsumption.objects.filter(lot__in=own, entry__kind=Kind.EXPIRY).aggregate(s=Sum("amount"))["s"]
            forgiven_before = purchase.refunds.exclude(pk=refund.pk).aggregate(s=Sum("points_forgiven_expired"))["s"]
            own_left = sum((lot.remaining for lot in own), ZERO)
            from_own = min(need, own_left)
            forgive = min(need - from_own, rules.cents(burnt) - rules.cents(forgiven_before))
            refund.points_forgiven_expired = max(forgive, ZERO)
            from_balance = min(need - refund.points_forgiven_expired, card.balance)
            if from_balance > 0:
                changed.append(
                    ledger.debit(card=card, kind=Kind.REFUND, amount=from_balance, now=now,
                                 prefer_lot_ids=[lot.pk for lot in own], purchase=purchase, refund=refund,
                                 point_of_sale_id=pos_id, actor=actor, reason=purchase.receipt_id)
                )  # fmt: skip
            refund.points_taken_back += from_balance
            refund.points_shortfall = need - refund.points_forgiven_expired - from_balance

        # 3. Level progress goes back by the refunded share of ``payable`` (if it counted this period).
        if purchase.counts_for_level_since == card.purchase_period_start:
            card.purchase_total = max(card.purchase_total - shares.payable, ZERO)
        _update_level(card)
        _save_card(card)
        for line in touched_lines:
            line.save(update_fields=["refunded_quantity"])
        purchase.refunded_amount += parsed_amount
        purchase.status = (
            Purchase.Status.REFUNDED if purchase.refunded_amount == purchase.amount else Purchase.Status.PARTIALLY_REFUNDED
        )
        purchase.save(update_fields=["refunded_amount", "status"])
        refund.save()
        refund.purchase = purchase
        events.purchase_refunded(refund)
        if changed or refund.points_taken_back:
            events.points_changed(card, changed[-1] if changed else None, reason="refund")
        return refund


# --- Manual operations (B11) -------------------------------------------------------------------


def adjust_points(
    *,
    business: Business,
    card: Card,
    amount: Decimal | str,
    reason: str,
    kind: str = Kind.MANUAL,
    lifetime_days: int | None = None,
    point_of_sale: PointOfSale | None = None,
    actor: Any = None,
) -> LedgerEntry:
    """Add (positive) or remove (negative) points by hand; a reason is required; never below zero."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for the change."), field="reason")
    if kind not in MANUAL_KINDS:
        raise ValidationFailed(_("Unknown kind of change."), field="kind")
    text = str(amount).strip()
    negative = text.startswith("-")
    value = rules.parse_amount(text.lstrip("-+") if not isinstance(amount, float) else amount, field="amount")
    if lifetime_days is not None and lifetime_days <= 0:
        raise ValidationFailed(_("Must be greater than zero."), field="lifetime_days")
    with transaction.atomic():
        card = _lock_card(business, card, for_points=False)
        now = timezone.now()
        ledger.settle(card, now)
        before = card.balance
        if negative and value > card.balance:
            raise InsufficientPoints(
                _("The card has %(balance)s points; the balance cannot go below zero.") % {"balance": card.balance},
                field="amount",
            )
        pos_id = point_of_sale.pk if point_of_sale else None
        if negative:
            entry = ledger.debit(card=card, kind=kind, amount=value, now=now, point_of_sale_id=pos_id, actor=actor,
                                 reason=reason)  # fmt: skip
        else:
            mechanic = card.template.mechanic
            lifetime = lifetime_days or (mechanic.points_lifetime_days if mechanic else None)
            entry = ledger.credit(card=card, kind=kind, amount=value, now=now, point_of_sale_id=pos_id,
                                  expires_at=ledger.expiry_for(now, lifetime), actor=actor, reason=reason)  # fmt: skip
        _save_card(card)
        audit.record(
            business=business, actor=actor, action="card.balance_changed", obj=card,
            before={"balance": before}, after={"balance": card.balance}, reason=reason,
        )  # fmt: skip
        events.points_changed(card, entry, reason=reason)
        return entry


def change_level(
    *,
    business: Business,
    card: Card,
    level: Level | None,
    reason: str,
    actor: Any = None,
) -> Card:
    """Set the card's level by hand (it stays until changed again); ``None`` returns it to automatic."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for the change."), field="reason")
    with transaction.atomic():
        card = _lock_card(business, card, for_points=False)
        mechanic = card.template.mechanic
        if level is not None and (mechanic is None or level.mechanic_id != mechanic.pk):
            raise ValidationFailed(_("This level belongs to another mechanic."), field="level")
        before = card.level
        if level is None:
            card.level_locked = False
            _roll_period(card, business, timezone.now())
            card.level = rules.level_for(card.purchase_total, _levels(mechanic))
        else:
            card.level = level
            card.level_locked = True
        _save_card(card)
        audit.record(
            business=business, actor=actor, action="card.level_changed", obj=card,
            before={"level": str(before or "—")}, after={"level": str(card.level or "—"), "manual": card.level_locked},
            reason=reason,
        )  # fmt: skip
        if before != card.level:
            events.level_changed(card, before=before, after=card.level, manual=True, reason=reason)
        return card


# --- Issuing cards ------------------------------------------------------------------------------


def normalise_phone(phone: str, *, region: str = "RU") -> str:
    try:
        parsed = phonenumbers.parse((phone or "").strip(), region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed(_("Enter a valid phone number."), field="phone") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationFailed(_("Enter a valid phone number."), field="phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _new_number(business: Business) -> str:
    while True:
        number = str(secrets.randbelow(90_000_000) + 10_000_000)
        if not Card.objects.filter(business=business, number=number).exists():
            return number


def _new_referral_code(business: Business) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        code = "".join(secrets.choice(alphabet) for _i in range(8))
        if not Card.objects.filter(business=business, referral_code=code).exists():
            return code


def issue_card(
    *,
    business: Business,
    template: CardTemplate,
    phone: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    birth_date: date | None = None,
    referral_code: str = "",
    verified: bool = True,
    opening_balance: Decimal | str | None = None,
    event_name: str = "",
    event_at: datetime | None = None,
    actor: Any = None,
) -> Card:
    """Issue a card of ``template`` to the customer with ``phone`` (created when new).

    A verified card is active at once; welcome points and an opening balance (an ``import`` entry, as a
    migrated card would have) land in the ledger. One card per customer and template.
    """
    if template.business_id != business.pk:
        raise ValidationFailed(_("Unknown card template."), field="template")
    if not template.is_active:
        raise ValidationFailed(_("This card template is switched off."), field="template")
    e164 = normalise_phone(phone)
    opening = None if opening_balance in (None, "") else rules.parse_amount(
        opening_balance, field="opening_balance", allow_zero=True
    )  # fmt: skip
    with transaction.atomic():
        referrer = None
        if referral_code:
            referrer = Card.objects.filter(business=business, referral_code=referral_code.strip().upper()).first()
            if referrer is None:
                raise ValidationFailed(_("Unknown referral code."), field="referral_code")
        customer, created = Customer.objects.get_or_create(
            business=business, phone=e164,
            defaults={"first_name": first_name, "last_name": last_name, "email": email, "birth_date": birth_date},
        )  # fmt: skip
        if not created:
            updates = {"first_name": first_name, "last_name": last_name, "email": email, "birth_date": birth_date}
            changed = [k for k, v in updates.items() if v and not getattr(customer, k)]
            for k in changed:
                setattr(customer, k, updates[k])
            if changed:
                customer.save(update_fields=changed)
        if Card.objects.filter(customer=customer, template=template).exclude(status=Card.Status.DELETED).exists():
            raise ValidationFailed(_("This customer already has a card of this template."), field="phone")
        if referrer is not None and referrer.customer_id == customer.pk:
            raise ValidationFailed(_("A customer cannot refer themselves."), field="referral_code")
        now = timezone.now()
        number = _new_number(business)
        card = Card.objects.create(
            business=business, template=template, customer=customer, number=number, barcode_payload=number,
            status=Card.Status.ACTIVE if verified else Card.Status.ISSUED, verified_at=now if verified else None,
            referral_code=_new_referral_code(business), referred_by=referrer,
        )  # fmt: skip
        card = lock_objects.card_for_update(card.pk)
        mechanic = template.mechanic
        _roll_period(card, business, now)
        _update_level(card)
        if opening:
            ledger.credit(card=card, kind=Kind.IMPORT, amount=opening, now=now, actor=actor,
                          reason=str(_("Opening balance")))  # fmt: skip
        if mechanic is not None and mechanic.welcome_points > 0:
            ledger.credit(
                card=card, kind=Kind.WELCOME, amount=mechanic.welcome_points, now=now, actor=actor,
                expires_at=ledger.expiry_for(now, mechanic.welcome_points_lifetime_days or mechanic.points_lifetime_days),
                reason=str(_("Welcome points")),
            )  # fmt: skip
        if template.type == CardTemplate.Type.TICKET:
            Ticket.objects.create(business=business, card=card, event_name=event_name or template.name, event_at=event_at)
        _save_card(card)
        events.card_issued(card)
        if card.balance:
            events.points_changed(card, reason="issued")
        return card


def verify_card(*, business: Business, card: Card, actor: Any = None) -> Card:
    """The customer confirmed the phone: the card becomes active."""
    with transaction.atomic():
        card = _lock_card(business, card, for_points=False)
        if card.status == Card.Status.ISSUED:
            card.status = Card.Status.ACTIVE
            card.verified_at = timezone.now()
            _save_card(card)
        return card


# --- Coupons, tickets, certificates -----------------------------------------------------------


def redeem_coupon(*, business: Business, card: Card, code: str, point_of_sale: PointOfSale | None = None,
                  actor: Any = None) -> Coupon:  # fmt: skip
    """Redeem a coupon outside a check (a points coupon grants its points; others are just used up)."""
    with transaction.atomic():
        card = _lock_card(business, card)
        now = timezone.now()
        coupon = _valid_coupons(business, card, [code], now, lock=True)[0]
        if coupon.group.reward == "points" and coupon.group.value > 0:
            mechanic = card.template.mechanic
            entry = ledger.credit(
                card=card, kind=Kind.GIFT, amount=coupon.group.value, now=now, actor=actor,
                point_of_sale_id=point_of_sale.pk if point_of_sale else None,
                expires_at=ledger.expiry_for(now, mechanic.points_lifetime_days if mechanic else None),
                reason=f"coupon {coupon.code}",
            )  # fmt: skip
            _save_card(card)
            events.points_changed(card, entry)
        coupon.redeemed_at = now
        coupon.redeemed_card = card
        coupon.save(update_fields=["redeemed_at", "redeemed_card"])
        events.coupon_redeemed(business=business, code=coupon.code, card=card, purchase=None)
        return coupon


def generate_coupons(*, business: Business, group_id: int, count: int, actor: Any = None) -> list[Coupon]:
    if not 1 <= count <= 100_000:
        raise ValidationFailed(_("From 1 to 100000 codes at a time."), field="count")
    from kopilka.loyalty.models import CouponGroup

    group = CouponGroup.objects.filter(business=business, pk=group_id).first()
    if group is None:
        raise ValidationFailed(_("Unknown coupon group."), field="group")
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    prefix = (group.prefix or "").strip().upper()
    with transaction.atomic():
        made: dict[str, Coupon] = {}
        while len(made) < count:
            code = (f"{prefix}-" if prefix else "") + "".join(secrets.choice(alphabet) for _i in range(8))
            made.setdefault(code, Coupon(business=business, group=group, code=code))
        existing = set(Coupon.objects.filter(business=business, code__in=list(made)).values_list("code", flat=True))
        rows = [c for code, c in made.items() if code not in existing]
        Coupon.objects.bulk_create(rows)
        audit.record(business=business, actor=actor, action="coupons.generated", obj=group, after={"count": len(rows)})
        return rows


def check_in_ticket(*, business: Business, card: Card, point_of_sale: PointOfSale | None = None,
                    actor: Any = None) -> Ticket:  # fmt: skip
    """A ticket is let in exactly once."""
    with transaction.atomic():
        card = _lock_card(business, card, for_points=False)
        ticket = Ticket.objects.filter(card=card).first()
        if ticket is None:
            raise ValidationFailed(_("This card is not a ticket."), field="card")
        if ticket.checked_in_at is not None:
            raise ValidationFailed(
                _("The ticket was already checked in at %(time)s.") % {"time": ticket.checked_in_at.isoformat()},
                field="card",
            )
        ticket.checked_in_at = timezone.now()
        ticket.checked_in_point_of_sale = point_of_sale
        ticket.checked_in_by = actor_label(actor)
        ticket.save(update_fields=["checked_in_at", "checked_in_point_of_sale", "checked_in_by"])
        events.ticket_checked_in(card, point_of_sale_id=point_of_sale.pk if point_of_sale else None)
        return ticket


def _certificate_code(business: Business) -> str:
    while True:
        code = "GC-" + "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _i in range(10))
        if not GiftCertificate.objects.filter(business=business, code=code).exists():
            return code


def issue_certificate(*, business: Business, amount: Decimal | str, expires_at: datetime | None = None,
                      card: Card | None = None, actor: Any = None) -> GiftCertificate:  # fmt: skip
    value = rules.parse_amount(amount, field="amount")
    if card is not None and card.business_id != business.pk:
        raise CardNotFound(_("No such card."), field="card")
    with transaction.atomic():
        certificate = GiftCertificate.objects.create(
            business=business, code=_certificate_code(business), initial_amount=value, balance=value,
            expires_at=expires_at, card=card,
        )  # fmt: skip
        events.certificate_changed(business=business, certificate_id=certificate.pk, code=certificate.code,
                                   balance=certificate.balance, name="certificate.issued")  # fmt: skip
        return certificate


def spend_certificate(*, business: Business, code: str, amount: Decimal | str, purchase: Purchase | None = None,
                      point_of_sale: PointOfSale | None = None, actor: Any = None) -> CertificateSpending:  # fmt: skip
    """Spend part of a gift certificate (B8); never more than its balance, never after it expires."""
    value = rules.parse_amount(amount, field="amount")
    with transaction.atomic():
        found = GiftCertificate.objects.filter(business=business, code=(code or "").strip().upper()).first()
        if found is None:
            raise ValidationFailed(_("Unknown certificate code."), field="code")
        certificate = lock_objects.certificate_for_update(found.pk)
        now = timezone.now()
        if certificate.expires_at is not None and certificate.expires_at <= now:
            raise ValidationFailed(_("This certificate has expired."), field="code")
        if value > certificate.balance:
            raise ValidationFailed(
                _("The certificate has %(balance)s left.") % {"balance": certificate.balance}, field="amount"
            )
        certificate.balance -= value
        certificate.save(update_fields=["balance"])
        spending = CertificateSpending.objects.create(
            certificate=certificate, amount=value, balance_after=certificate.balance, purchase=purchase,
            point_of_sale=point_of_sale, actor_label=actor_label(actor), created_at=now,
        )  # fmt: skip
        events.certificate_changed(business=business, certificate_id=certificate.pk, code=certificate.code,
                                   balance=certificate.balance, name="certificate.spent")  # fmt: skip
        return spending


def exchange_points_for_certificate(*, business: Business, card: Card, item: RewardCatalogItem,
                                    actor: Any = None) -> GiftCertificate:  # fmt: skip
    """Buy a gift certificate from the reward catalogue with points."""
    if item.business_id != business.pk or not item.is_active:
        raise ValidationFailed(_("Unknown reward."), field="item")
    with transaction.atomic():
        card = _lock_card(business, card)
        now = timezone.now()
        ledger.settle(card, now)
        if item.points_cost > card.balance:
            raise InsufficientPoints(
                _("The card has %(balance)s points available.") % {"balance": card.balance}, field="item"
            )
        entry = ledger.debit(card=card, kind=Kind.REWARD, amount=item.points_cost, now=now, actor=actor,
                             reason=item.name)  # fmt: skip
        _save_card(card)
        certificate = GiftCertificate.objects.create(
            business=business, code=_certificate_code(business), initial_amount=item.certificate_amount,
            balance=item.certificate_amount, card=card,
            expires_at=ledger.expiry_for(now, item.certificate_lifetime_days),
        )  # fmt: skip
        events.points_changed(card, entry, reason=item.name)
        events.certificate_changed(business=business, certificate_id=certificate.pk, code=certificate.code,
                                   balance=certificate.balance, name="certificate.issued")  # fmt: skip
        return certificate


# --- Time passes (the scheduler) ----------------------------------------------------------------


def _settle_cards(card_ids: Sequence[int], now: datetime) -> int:
    done = 0
    for card_id in card_ids:
        with transaction.atomic():
            card = lock_objects.card_for_update(card_id)
            entries = ledger.settle(card, now)
            if entries:
                _save_card(card)
                events.points_changed(card, entries[-1], reason="scheduler")
                done += len(entries)
    return done


def activate_due_points(*, now: datetime | None = None, limit: int = 10_000) -> int:
    """Delayed accruals whose time has come become spendable. Returns the number of entries written."""
    now = now or timezone.now()
    ids = list(
        PendingAccrual.objects.filter(entry__isnull=True, available_at__lte=now, amount__gt=F("taken_back"))
        .values_list("card_id", flat=True).distinct()[:limit]
    )  # fmt: skip
    return _settle_cards(sorted(set(ids)), now)


def expire_due_points(*, now: datetime | None = None, limit: int = 10_000) -> int:
    """What is left of lots past their lifetime burns. Returns the number of entries written."""
    now = now or timezone.now()
    ids = list(
        LedgerEntry.objects.filter(remaining__gt=0, expires_at__lte=now)
        .values_list("card_id", flat=True).distinct()[:limit]
    )  # fmt: skip
    return _settle_cards(sorted(set(ids)), now)


def recalculate_levels(*, business: Business | None = None, now: datetime | None = None) -> int:
    """Start the new month's purchase sum where the mechanic resets monthly, and move levels to match
    (down as well as up). Returns the number of cards whose level changed."""
    now = now or timezone.now()
    qs = Card.objects.filter(template__mechanic__reset_monthly=True).exclude(status=Card.Status.DELETED)
    if business is not None:
        qs = qs.filter(business=business)
    changed = 0
    businesses: dict[int, Business] = {}
    for card_id, business_id in qs.values_list("pk", "business_id").order_by("pk"):
        if business_id not in businesses:
            businesses[business_id] = Business.objects.get(pk=business_id)
        with transaction.atomic():
            card = lock_objects.card_for_update(card_id)
            level_before, period_before = card.level_id, card.purchase_period_start
            _roll_period(card, businesses[business_id], now)
            _update_level(card)
            if card.level_id != level_before or card.purchase_period_start != period_before:
                _save_card(card)
            if card.level_id != level_before:
                changed += 1
    return changed
