"""Row locks, always taken in primary-key order so two transactions never deadlock.

Lock order across services: cards (by pk) → purchase → coupons (by pk) → gift certificate.
On SQLite ``select_for_update`` is a no-op; the IMMEDIATE transaction mode serialises writers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from kopilka.cards.models import Card
from kopilka.core import fastsql
from kopilka.loyalty import ledger
from kopilka.loyalty.models import Coupon, GiftCertificate, LedgerEntry, Purchase


def cards_for_update(card_ids: Iterable[int], *, known: Card | None = None) -> dict[int, Card]:
    """Lock the cards, with their template, mechanic and level.

    ``known``: the caller's copy of one of them, read in this request with its template and mechanic
    (e.g. by ``selectors.card_by_code``). When it is the only card, the lock reads just the card's row
    and takes the template, mechanic and level from it if the row still points at the same ones; these
    rows are not under the card's lock either way, so this reads nothing older than a join would.
    """
    ids = sorted({i for i in card_ids if i is not None})
    if known is not None and ids == [known.pk] and _relations_loaded(known):
        found = fastsql.select(Card, '"id" = %s', [known.pk], for_update=True)
        if not found:
            raise Card.DoesNotExist
        return {known.pk: _with_relations_of(found[0], known)}
    rows = Card.objects.select_for_update(of=("self",)).filter(pk__in=ids).select_related("template__mechanic", "level").order_by("pk")
    return {card.pk: card for card in rows}


@dataclass
class PurchaseIds:
    """Primary keys reserved for the rows a purchase inserts: its own and up to two ledger entries."""

    purchase: int
    entries: list[int]

    @classmethod
    def reserve(cls) -> PurchaseIds:
        purchase_ids, entry_ids = fastsql.select_together([fastsql.Ids(Purchase, 1), fastsql.Ids(LedgerEntry, 2)])
        return cls(purchase=purchase_ids[0], entries=entry_ids)


def card_for_purchase(
    known: Card, *, lots: bool, need: Decimal | None = None, at: datetime | None = None
) -> tuple[Card, list[LedgerEntry] | None, PurchaseIds] | None:
    """Lock the card (as ``cards_for_update`` with ``known``), read its open lots after the lock (if
    ``lots``; with ``need``, only those a spend of that much at ``at`` needs: ``ledger.LOTS_TO_SPEND``)
    and reserve the purchase's ids, in one round trip; ``None`` if ``known`` lacks its template and
    mechanic."""
    if not _relations_loaded(known):
        return None
    queries: list[fastsql.Query] = [
        (Card, '"id" = %s', [known.pk], {"for_update": True}),
        fastsql.Ids(Purchase, 1),
        fastsql.Ids(LedgerEntry, 2),
    ]
    if lots and need is None:
        where, options = ledger.OPEN_LOTS
        queries.append((LedgerEntry, where, [known.pk], options))
    elif lots:
        where, options = ledger.LOTS_TO_SPEND
        at = at or timezone.now()
        queries.append((LedgerEntry, where, [at, known.pk, at, need], options))
    cards, purchase_ids, entry_ids, *found_lots = fastsql.select_together(queries)
    if not cards:
        raise Card.DoesNotExist
    return _with_relations_of(cards[0], known), found_lots[0] if lots else None, PurchaseIds(purchase_ids[0], entry_ids)


def _with_relations_of(card: Card, known: Card) -> Card:
    if card.template_id == known.template_id:
        card.template = known.template
    if card.level_id is not None and card.level_id == known.level_id and Card.level.is_cached(known):
        card.level = known.level
    return card


def _relations_loaded(card: Card) -> bool:
    if not Card.template.is_cached(card):
        return False
    template = card.template
    return template.mechanic_id is None or type(template).mechanic.is_cached(template)


def card_for_update(card_id: int) -> Card:
    return Card.objects.select_for_update(of=("self",)).select_related("template__mechanic", "level").get(pk=card_id)


def purchase_for_update(purchase_id: int) -> Purchase:
    return Purchase.objects.select_for_update().get(pk=purchase_id)


def coupons_for_update(coupon_ids: Iterable[int]) -> QuerySet[Coupon]:
    return Coupon.objects.select_for_update(of=("self",)).filter(pk__in=sorted(set(coupon_ids))).select_related("group").order_by("pk")


def certificate_for_update(certificate_id: int) -> GiftCertificate:
    return GiftCertificate.objects.select_for_update().get(pk=certificate_id)
