"""Row locks, always taken in primary-key order so two transactions never deadlock.

Lock order across services: cards (by pk) → purchase → coupons (by pk) → gift certificate.
On SQLite ``select_for_update`` is a no-op; the IMMEDIATE transaction mode serialises writers.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

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


def card_and_lots_for_update(known: Card) -> tuple[Card, list[LedgerEntry]] | None:
    """Lock the card (as ``cards_for_update`` with ``known``) and read its open lots after the lock, in
    one round trip; ``None`` if ``known`` lacks its template and mechanic."""
    if not _relations_loaded(known):
        return None
    where, options = ledger.OPEN_LOTS
    cards, lots = fastsql.select_together([
        (Card, '"id" = %s', [known.pk], {"for_update": True}),
        (LedgerEntry, where, [known.pk], options),
    ])  # fmt: skip
    if not cards:
        raise Card.DoesNotExist
    return _with_relations_of(cards[0], known), lots


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
