"""Read queries of the loyalty engine, always scoped by business."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet, Sum

from kopilka.accounts.models import Business
from kopilka.cards.models import Card
from kopilka.core import fastsql
from kopilka.loyalty.errors import CardNotFound, PurchaseNotFound, ValidationFailed
from kopilka.loyalty.models import LedgerEntry, Purchase
from kopilka.loyalty.rules import cents

ZERO = Decimal("0.00")
_CARD_RELATED = ("template", "template__mechanic", "customer", "level")


def card_by_code(*, business: Business, code: str) -> Card:
    """A card by its number or the payload of its barcode."""
    code = (code or "").strip()
    # Every till request starts here, so it is hand-compiled (kopilka/core/fastsql.py). Both columns are
    # unique per business: at most one row each.
    for column in ("number", "barcode_payload"):
        found = fastsql.select_related(
            Card, _CARD_RELATED, f'"cards_card"."business_id" = %s AND "cards_card"."{column}" = %s',
            [business.pk, code], limit=1,
        )  # fmt: skip
        if found:
            return found[0]
    raise CardNotFound("No such card.", field="card")


def purchase_by_receipt(*, business: Business, point_of_sale_id: int | None, receipt_id: str) -> Purchase | None:
    """The purchase of this receipt at this point of sale, if any (at most one: unique per point of sale)."""
    if point_of_sale_id is None:
        where = '"business_id" = %s AND "point_of_sale_id" IS NULL AND "receipt_id" = %s'
        params = [business.pk, receipt_id]
    else:
        where = '"business_id" = %s AND "point_of_sale_id" = %s AND "receipt_id" = %s'
        params = [business.pk, point_of_sale_id, receipt_id]
    found = fastsql.select(Purchase, where, params, limit=1)
    return found[0] if found else None


def card_by_phone(*, business: Business, phone: str) -> Card:
    """The one live card of the customer with this phone; several cards → a validation error."""
    from kopilka.loyalty.services import normalise_phone

    cards = list(
        Card.objects.for_business(business)
        .filter(customer__phone=normalise_phone(phone))
        .exclude(status=Card.Status.DELETED)
        .select_related("template__mechanic", "customer", "level")[:2]
    )
    if not cards:
        raise CardNotFound("No such card.", field="phone")
    if len(cards) > 1:
        raise ValidationFailed("The phone has several cards; give the card number.", field="phone")
    return cards[0]


def purchase_by_public_id(*, business: Business, public_id: str) -> Purchase:
    purchase = Purchase.objects.for_business(business).filter(public_id=public_id).select_related("card").first()
    if purchase is None:
        raise PurchaseNotFound("No such purchase.", field="id")
    return purchase


def ledger_sum(card: Card) -> Decimal:
    return cents(LedgerEntry.objects.filter(card=card).aggregate(s=Sum("amount"))["s"])


def lots_sum(card: Card) -> Decimal:
    return cents(LedgerEntry.objects.filter(card=card, remaining__gt=0).aggregate(s=Sum("remaining"))["s"])


def card_ledger(*, business: Business, card: Card) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.for_business(business).filter(card=card).order_by("-created_at", "-id")
