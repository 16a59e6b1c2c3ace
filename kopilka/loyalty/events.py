"""Outbox writers: one small function per event, called inside the service's transaction.

Consumers (triggers, webhooks, wallet updates) read ``OutboxEvent`` rows in id order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kopilka.cards.models import Card
from kopilka.core import fastsql
from kopilka.core.models import OutboxEvent
from kopilka.loyalty.models import LedgerEntry, Purchase, Refund


def _s(value: Decimal) -> str:
    return f"{value:.2f}"


def emit(*, business: Any, name: str, payload: dict[str, Any], save: bool = True) -> OutboxEvent:
    """``business`` is a Business or its id. ``save=False`` builds the row for ``emit_all``."""
    business_id = business if isinstance(business, int) else business.pk
    event = OutboxEvent(business_id=business_id, name=name, payload=payload)
    if save:
        event.save(force_insert=True)
    return event


def emit_all(events: list[OutboxEvent], *, batch: fastsql.Batch | None = None) -> list[OutboxEvent]:
    """Write several events built with ``save=False`` in one INSERT, ids in the order given (with ``batch``,
    when it is sent; the ids are not read back then)."""
    fastsql.insert(events, batch=batch)
    return events


def card_issued(card: Card) -> OutboxEvent:
    return emit(
        business=card.business_id,
        name="card.issued",
        payload={"card_id": card.pk, "number": card.number, "template_id": card.template_id,
                 "customer_id": card.customer_id},
    )  # fmt: skip


def points_changed(card: Card, entry: LedgerEntry | None = None, *, reason: str = "", save: bool = True) -> OutboxEvent:
    payload: dict[str, Any] = {
        "card_id": card.pk,
        "number": card.number,
        "balance": _s(card.balance),
        "pending_points": _s(card.pending_points),
    }
    if entry is not None:
        payload.update({"entry_id": entry.pk, "kind": entry.kind, "amount": _s(entry.amount)})
    if reason:
        payload["reason"] = reason
    return emit(business=card.business_id, name="points.changed", payload=payload, save=save)


def level_changed(card: Card, *, before: Any, after: Any, manual: bool, reason: str = "") -> OutboxEvent:
    return emit(
        business=card.business_id,
        name="level.changed",
        payload={"card_id": card.pk, "number": card.number,
                 "from_level_id": getattr(before, "pk", None), "to_level_id": getattr(after, "pk", None),
                 "manual": manual, "reason": reason},
    )  # fmt: skip


def purchase_confirmed(purchase: Purchase, *, save: bool = True) -> OutboxEvent:
    return emit(
        business=purchase.business_id,
        save=save,
        name="purchase.confirmed",
        payload={"purchase_id": purchase.public_id, "card_id": purchase.card_id, "receipt_id": purchase.receipt_id,
                 "point_of_sale_id": purchase.point_of_sale_id, "amount": _s(purchase.amount),
                 "discount": _s(purchase.discount), "points_redeemed": _s(purchase.points_redeemed),
                 "points_accrued": _s(purchase.points_accrued), "payable": _s(purchase.payable)},
    )  # fmt: skip


def purchase_refunded(refund: Refund) -> OutboxEvent:
    return emit(
        business=refund.business_id,
        name="purchase.refunded",
        payload={"purchase_id": refund.purchase.public_id, "refund_id": refund.public_id,
                 "card_id": refund.purchase.card_id, "amount": _s(refund.amount),
                 "points_returned": _s(refund.points_returned), "points_taken_back": _s(refund.points_taken_back),
                 "points_shortfall": _s(refund.points_shortfall)},
    )  # fmt: skip


def coupon_redeemed(*, business: Any, code: str, card: Card, purchase: Purchase | None) -> OutboxEvent:
    return emit(
        business=business,
        name="coupon.redeemed",
        payload={"code": code, "card_id": card.pk, "purchase_id": purchase.public_id if purchase else None},
    )


def stamps_reward_earned(card: Card, *, reward_id: int, title: str) -> OutboxEvent:
    return emit(
        business=card.business_id,
        name="stamps.reward_earned",
        payload={"card_id": card.pk, "reward_id": reward_id, "title": title, "stamps": card.stamps},
    )


def ticket_checked_in(card: Card, *, point_of_sale_id: int | None) -> OutboxEvent:
    return emit(
        business=card.business_id,
        name="ticket.checked_in",
        payload={"card_id": card.pk, "number": card.number, "point_of_sale_id": point_of_sale_id},
    )


def certificate_changed(*, business: Any, certificate_id: int, code: str, balance: Decimal, name: str) -> OutboxEvent:
    return emit(
        business=business,
        name=name,
        payload={"certificate_id": certificate_id, "code": code, "balance": _s(balance)},
    )
