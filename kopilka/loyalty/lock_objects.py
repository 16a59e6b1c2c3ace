"""Row locks, always taken in primary-key order so two transactions never deadlock.

Lock order across services: cards (by pk) → purchase → coupons (by pk) → gift certificate.
On SQLite ``select_for_update`` is a no-op; the IMMEDIATE transaction mode serialises writers.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from kopilka.cards.models import Card
from kopilka.loyalty.models import Coupon, GiftCertificate, Purchase


def cards_for_update(card_ids: Iterable[int]) -> dict[int, Card]:
    ids = sorted({i for i in card_ids if i is not None})
    rows = Card.objects.select_for_update(of=("self",)).filter(pk__in=ids).select_related("template__mechanic", "level").order_by("pk")
    return {card.pk: card for card in rows}


def card_for_update(card_id: int) -> Card:
    return Card.objects.select_for_update(of=("self",)).select_related("template__mechanic", "level").get(pk=card_id)


def purchase_for_update(purchase_id: int) -> Purchase:
    return Purchase.objects.select_for_update().get(pk=purchase_id)


def coupons_for_update(coupon_ids: Iterable[int]) -> QuerySet[Coupon]:
    return Coupon.objects.select_for_update(of=("self",)).filter(pk__in=sorted(set(coupon_ids))).select_related("group").order_by("pk")


def certificate_for_update(certificate_id: int) -> GiftCertificate:
    return GiftCertificate.objects.select_for_update().get(pk=certificate_id)
