"""Reads of the web cashier, always scoped by the business of the request."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from kopilka.accounts.models import Business, Membership, PointOfSale
from kopilka.cards.models import Card, CardTemplate
from kopilka.loyalty import selectors as loyalty
from kopilka.loyalty.errors import CardNotFound, ValidationFailed
from kopilka.loyalty.models import Coupon, Product, Purchase

RECENT = 20


def find_card(*, business: Business, query: str) -> Card:
    """A card by its number, the payload of its barcode (QR), or the customer's phone."""
    query = (query or "").strip()
    if not query:
        raise ValidationFailed(_("Enter the card number or the phone."), field="card")
    try:
        return loyalty.card_by_code(business=business, code=query)
    except CardNotFound:
        pass
    digits = "".join(ch for ch in query if ch.isdigit())
    if query.startswith("+") or len(digits) in (10, 11):
        try:
            return loyalty.card_by_phone(business=business, phone=query)
        except CardNotFound:
            pass
        except ValidationFailed as exc:
            if exc.field == "phone" and "several" in exc.message:
                raise ValidationFailed(_("The phone has several cards; give the card number."), field="card") from None
    raise CardNotFound(_("No such card."), field="card")


def access_card(*, business: Business, card_id: int) -> Card:
    card = (
        Card.objects.for_business(business)
        .select_related("template__mechanic", "customer", "level")
        .filter(pk=card_id)
        .first()
    )
    if card is None:
        raise Http404
    return card


def access_purchase(*, business: Business, purchase_id: int) -> Purchase:
    purchase = (
        Purchase.objects.for_business(business)
        .select_related("card__customer", "card__template", "point_of_sale")
        .filter(pk=purchase_id)
        .first()
    )
    if purchase is None:
        raise Http404
    return purchase


def card_coupons(card: Card) -> list[Coupon]:
    """Unused coupons issued to the card (codes the cashier can apply)."""
    return list(
        Coupon.objects.filter(business_id=card.business_id, card=card, redeemed_at__isnull=True, group__is_active=True)
        .select_related("group")
        .order_by("id")[:20]
    )


def search_products(*, business: Business, query: str, limit: int = 10) -> list[Product]:
    """Active products by exact barcode or SKU first, then by part of the name or SKU."""
    query = (query or "").strip()
    if not query:
        return []
    qs = Product.objects.for_business(business).filter(is_active=True)
    exact = list(qs.filter(Q(barcode=query) | Q(sku__iexact=query))[:limit])
    if exact:
        return exact
    return list(qs.filter(Q(name__icontains=query) | Q(sku__icontains=query)).order_by("name", "id")[:limit])


def find_purchases(*, business: Business, query: str, point_of_sale: PointOfSale | None) -> QuerySet[Purchase]:
    """Purchases by receipt id, purchase id, card number/barcode or phone; recent ones when empty."""
    qs = Purchase.objects.for_business(business).select_related("card__customer", "point_of_sale")
    query = (query or "").strip()
    if not query:
        if point_of_sale is not None:
            qs = qs.filter(point_of_sale=point_of_sale)
        return qs.order_by("-created_at", "-id")[:RECENT]
    by_receipt = qs.filter(Q(receipt_id=query) | Q(public_id=query))
    if by_receipt.exists():
        return by_receipt.order_by("-created_at", "-id")[:RECENT]
    try:
        card = find_card(business=business, query=query)
    except (CardNotFound, ValidationFailed):
        return qs.none()
    return qs.filter(card=card).order_by("-created_at", "-id")[:RECENT]


def points_of_sale(business: Business) -> QuerySet[PointOfSale]:
    return PointOfSale.objects.for_business(business).filter(is_active=True).order_by("name", "id")


def bound_point_of_sale(membership: Membership) -> PointOfSale | None:
    """The point of sale a cashier is bound to: every operation of theirs is recorded against it."""
    pos = membership.point_of_sale
    return pos if pos is not None and pos.business_id == membership.business_id else None


def issuable_templates(business: Business) -> QuerySet[CardTemplate]:
    return CardTemplate.objects.for_business(business).filter(is_active=True).order_by("name", "id")
