"""The ledger's primitives: credit a lot, debit from lots, give points back to lots, settle time.

Only services call these, inside their transaction and with the card row locked. Each primitive
moves ``card.balance`` (the caller saves the card) together with the rows it writes, so that
``card.balance == sum(ledger.amount) == sum(lot.remaining)`` holds after every transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from kopilka.cards.models import Card
from kopilka.core import fastsql
from kopilka.loyalty.actors import actor_label, actor_user
from kopilka.loyalty.models import LedgerEntry, LotConsumption, PendingAccrual, Purchase, Refund

ZERO = Decimal("0.00")
Kind = LedgerEntry.Kind


def _entry(
    *,
    card: Card,
    kind: str,
    amount: Decimal,
    now: datetime,
    remaining: Decimal = ZERO,
    expires_at: datetime | None = None,
    available_at: datetime | None = None,
    purchase: Purchase | None = None,
    refund: Refund | None = None,
    point_of_sale_id: int | None = None,
    actor: Any = None,
    reason: str = "",
    save: bool = True,
) -> LedgerEntry:
    entry = LedgerEntry(
        business_id=card.business_id,
        card=card,
        kind=kind,
        amount=amount,
        balance_after=card.balance,
        available_at=available_at,
        expires_at=expires_at,
        remaining=remaining,
        purchase=purchase,
        refund=refund,
        point_of_sale_id=point_of_sale_id,
        actor=actor_user(actor),
        actor_label=actor_label(actor),
        reason=reason,
        created_at=now,
    )
    if save:
        entry.save(force_insert=True)
    return entry


def credit(
    *,
    card: Card,
    kind: str,
    amount: Decimal,
    now: datetime,
    expires_at: datetime | None = None,
    available_at: datetime | None = None,
    purchase: Purchase | None = None,
    refund: Refund | None = None,
    point_of_sale_id: int | None = None,
    actor: Any = None,
    reason: str = "",
    save: bool = True,
) -> LedgerEntry:
    """A new lot of ``amount`` points, spendable now, burning at ``expires_at``.

    ``save=False`` returns the row unsaved (the balance has moved): the caller inserts it, e.g. with
    ``write_entries`` together with a planned debit.
    """
    assert amount > 0, amount
    card.balance += amount
    return _entry(
        card=card, kind=kind, amount=amount, now=now, remaining=amount, expires_at=expires_at,
        available_at=available_at or now, purchase=purchase, refund=refund, point_of_sale_id=point_of_sale_id,
        actor=actor, reason=reason, save=save,
    )  # fmt: skip


# where, options: the unspent lots of a card in spending order (``open_lots``, ``lock_objects``)
OPEN_LOTS: tuple[str, dict[str, Any]] = (
    '"card_id" = %s AND "remaining" > 0', {"order_by": '"expires_at" ASC NULLS LAST, "created_at" ASC, "id" ASC'}
)


def open_lots(card: Card) -> list[LedgerEntry]:
    """Unspent lots, the soonest-expiring first (never-expiring last), oldest first among equals."""
    where, options = OPEN_LOTS
    return fastsql.select(LedgerEntry, where, [card.pk], **options)


@dataclass
class PlannedDebit:
    """A debit worked out in memory (the balance and the lots' ``remaining`` have moved), not yet written."""

    entry: LedgerEntry
    consumed: list[LotConsumption]
    touched: list[LedgerEntry]


def write_entries(
    entries: Sequence[LedgerEntry], debits: Sequence[PlannedDebit] = (), *, batch: fastsql.Batch | None = None
) -> None:
    """Insert unsaved entries (in one statement, ids in the order given), then the planned debits' lot rows
    (with ``batch``: added to it)."""
    fastsql.insert(entries)
    for planned in debits:
        _write_lots(planned, batch)


def _write_lots(planned: PlannedDebit, batch: fastsql.Batch | None = None) -> None:
    fastsql.insert(planned.consumed, batch=batch)
    if len(planned.touched) == 1:  # the usual case: a plain UPDATE, no CASE over ids
        fastsql.update(planned.touched[0], ["remaining"], batch=batch)
    else:
        LedgerEntry.objects.bulk_update(planned.touched, ["remaining"])


def debit(
    *,
    card: Card,
    kind: str,
    amount: Decimal,
    now: datetime,
    prefer_lot_ids: Sequence[int] = (),
    lots: list[LedgerEntry] | None = None,
    purchase: Purchase | None = None,
    refund: Refund | None = None,
    point_of_sale_id: int | None = None,
    actor: Any = None,
    reason: str = "",
) -> LedgerEntry:
    """Spend ``amount`` from the card's lots (``prefer_lot_ids`` first, then soonest-expiring)."""
    planned = plan_debit(
        card=card, kind=kind, amount=amount, now=now, prefer_lot_ids=prefer_lot_ids, lots=lots, purchase=purchase,
        refund=refund, point_of_sale_id=point_of_sale_id, actor=actor, reason=reason,
    )  # fmt: skip
    planned.entry.save(force_insert=True)
    _write_lots(planned)
    return planned.entry


def plan_debit(
    *,
    card: Card,
    kind: str,
    amount: Decimal,
    now: datetime,
    prefer_lot_ids: Sequence[int] = (),
    lots: list[LedgerEntry] | None = None,
    purchase: Purchase | None = None,
    refund: Refund | None = None,
    point_of_sale_id: int | None = None,
    actor: Any = None,
    reason: str = "",
) -> PlannedDebit:
    """``debit`` without the writes: ``write_entries([planned.entry, ...], [planned])`` writes it."""
    assert 0 < amount <= card.balance, (amount, card.balance)
    candidates = lots if lots is not None else open_lots(card)
    if prefer_lot_ids:
        rank = {lot_id: i for i, lot_id in enumerate(prefer_lot_ids)}
        candidates = sorted(candidates, key=lambda lot: rank.get(lot.pk, len(rank)))
    card.balance -= amount
    entry = _entry(
        card=card, kind=kind, amount=-amount, now=now, purchase=purchase, refund=refund,
        point_of_sale_id=point_of_sale_id, actor=actor, reason=reason, save=False,
    )  # fmt: skip
    need = amount
    consumed: list[LotConsumption] = []
    touched: list[LedgerEntry] = []
    for lot in candidates:
        if need <= 0:
            break
        take = min(need, lot.remaining)
        if take <= 0:
            continue
        lot.remaining -= take
        need -= take
        consumed.append(LotConsumption(entry=entry, lot=lot, amount=take))
        touched.append(lot)
    if need > 0:
        raise AssertionError(f"lots of card {card.pk} do not cover its balance")
    return PlannedDebit(entry=entry, consumed=consumed, touched=touched)


def give_back(
    *,
    card: Card,
    parts: Iterable[tuple[LedgerEntry, Decimal]],
    now: datetime,
    purchase: Purchase | None,
    refund: Refund | None,
    point_of_sale_id: int | None = None,
    actor: Any = None,
    reason: str = "",
) -> LedgerEntry | None:
    """Return points to the very lots they were spent from (their expiry stays the lot's)."""
    parts = [(lot, amount) for lot, amount in parts if amount > 0]
    total = sum((amount for _lot, amount in parts), ZERO)
    if total <= 0:
        return None
    card.balance += total
    entry = _entry(
        card=card, kind=Kind.REFUND, amount=total, now=now, purchase=purchase, refund=refund,
        point_of_sale_id=point_of_sale_id, actor=actor, reason=reason,
    )  # fmt: skip
    rows = []
    for lot, amount in parts:
        lot.remaining += amount
        assert lot.remaining <= lot.amount
        rows.append(LotConsumption(entry=entry, lot=lot, amount=-amount))
    LotConsumption.objects.bulk_create(rows)
    LedgerEntry.objects.bulk_update([lot for lot, _a in parts], ["remaining"])
    return entry


def add_pending(
    *,
    card: Card,
    amount: Decimal,
    now: datetime,
    available_at: datetime,
    lifetime_days: int | None,
    purchase: Purchase | None = None,
    kind: str = Kind.ACCRUAL,
    point_of_sale_id: int | None = None,
    reason: str = "",
) -> PendingAccrual:
    card.pending_points += amount
    return PendingAccrual.objects.create(
        business_id=card.business_id, card=card, purchase=purchase, kind=kind, amount=amount,
        available_at=available_at, lifetime_days=lifetime_days, point_of_sale_id=point_of_sale_id,
        reason=reason, created_at=now,
    )  # fmt: skip


def expiry_for(start: datetime, lifetime_days: int | None) -> datetime | None:
    return start + timedelta(days=lifetime_days) if lifetime_days else None


def activate(card: Card, now: datetime) -> list[LedgerEntry]:
    """Pending points whose time has come become lots (their lifetime counts from ``available_at``)."""
    entries: list[LedgerEntry] = []
    if card.pending_points <= 0:
        return entries  # the cached sum says nothing waits: skip the query
    due = PendingAccrual.objects.filter(card=card, entry__isnull=True, available_at__lte=now).order_by(
        "available_at", "id"
    )
    for pending in due:
        left = pending.left
        if left <= 0:
            continue
        card.pending_points -= left
        entry = credit(
            card=card, kind=pending.kind, amount=left, now=now, available_at=pending.available_at,
            expires_at=expiry_for(pending.available_at, pending.lifetime_days), purchase=pending.purchase,
            point_of_sale_id=pending.point_of_sale_id, reason=pending.reason,
        )  # fmt: skip
        pending.entry = entry
        pending.save(update_fields=["entry"])
        entries.append(entry)
    return entries


def expire(card: Card, now: datetime) -> list[LedgerEntry]:
    """What is left of every lot past its ``expires_at`` burns, one expiry entry per lot."""
    entries = []
    due = list(
        LedgerEntry.objects.filter(card=card, remaining__gt=0, expires_at__lte=now).order_by("expires_at", "id")
    )
    for lot in due:
        entries.append(
            debit(card=card, kind=Kind.EXPIRY, amount=lot.remaining, now=now, lots=[lot],
                  reason=f"lot #{lot.pk}")  # fmt: skip
        )
    return entries


def settle(card: Card, now: datetime) -> list[LedgerEntry]:
    """Bring the card up to ``now``: activate due pending points, then burn expired lots."""
    return activate(card, now) + expire(card, now)


def settle_with_lots(
    card: Card, now: datetime, lots: list[LedgerEntry] | None = None
) -> tuple[list[LedgerEntry], list[LedgerEntry]]:
    """``settle``, reading the card's open lots once: (entries written, the lots still open, in spending order).

    For a caller that is about to spend (``debit(lots=...)``): one query instead of the expiry query
    plus ``open_lots``. The expired lots are a prefix of the spending order; they burn in the order
    ``expire`` uses (expiry time, then id), and what is left is exactly what ``open_lots`` would return.
    """
    entries = activate(card, now)
    if lots is None or entries:  # ``lots``: read under the card's lock by the caller, still valid if nothing activated
        lots = open_lots(card)
    due = sorted(
        (lot for lot in lots if lot.expires_at is not None and lot.expires_at <= now),
        key=lambda lot: (lot.expires_at, lot.pk),
    )
    for lot in due:
        entries.append(
            debit(card=card, kind=Kind.EXPIRY, amount=lot.remaining, now=now, lots=[lot],
                  reason=f"lot #{lot.pk}")  # fmt: skip
        )
    return entries, [lot for lot in lots if lot.remaining > 0]
