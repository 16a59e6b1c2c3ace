"""Reads for the cabinet pages (Клиенты, История → Транзакции, Лояльность, Тип механики).

Every query takes the business; ``access_*`` fetch one object of the business or raise Http404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from kopilka.accounts.models import Business
from kopilka.cards.models import Card, CardTemplate
from kopilka.core.models import AuditEntry
from kopilka.customers.models import Customer
from kopilka.loyalty.models import (
    Coupon,
    CouponGroup,
    GiftCertificate,
    LedgerEntry,
    Level,
    Mechanic,
    Product,
    Purchase,
)

# --- Тип механики, Лояльность --------------------------------------------------------------------


def mechanics(business: Business) -> QuerySet[Mechanic]:
    return Mechanic.objects.filter(business=business).annotate(level_count=Count("levels")).order_by("name", "id")


def access_mechanic(*, business: Business, mechanic_id: int) -> Mechanic:
    return get_object_or_404(Mechanic, business=business, pk=mechanic_id)


def levels_of_business(business: Business) -> QuerySet[Level]:
    return Level.objects.filter(mechanic__business=business).select_related("mechanic").order_by("mechanic__name", "threshold")


def card_templates(business: Business) -> QuerySet[CardTemplate]:
    return (
        CardTemplate.objects.filter(business=business)
        .select_related("mechanic")
        .annotate(card_count=Count("cards"))
        .order_by("name", "id")
    )


def access_card_template(*, business: Business, template_id: int) -> CardTemplate:
    return get_object_or_404(CardTemplate, business=business, pk=template_id)


def products(business: Business, *, search: str = "") -> QuerySet[Product]:
    qs = Product.objects.filter(business=business).select_related("category")
    if search:
        qs = qs.filter(Q(sku__icontains=search) | Q(name__icontains=search) | Q(barcode=search))
    return qs.order_by("name", "id")


def coupon_groups(business: Business) -> QuerySet[CouponGroup]:
    return (
        CouponGroup.objects.filter(business=business)
        .annotate(
            code_count=Count("coupons"),
            redeemed_count=Count("coupons", filter=Q(coupons__redeemed_at__isnull=False)),
        )
        .order_by("-id")
    )


def access_coupon_group(*, business: Business, group_id: int) -> CouponGroup:
    return get_object_or_404(CouponGroup, business=business, pk=group_id)


def coupons(business: Business, group: CouponGroup) -> QuerySet[Coupon]:
    return (
        Coupon.objects.filter(business=business, group=group)
        .select_related("card", "redeemed_card")
        .order_by("id")
    )


def gift_certificates(business: Business) -> QuerySet[GiftCertificate]:
    return GiftCertificate.objects.filter(business=business).select_related("card").order_by("-id")


# --- Клиенты --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientFilters:
    search: str = ""
    template_id: int | None = None
    level_id: int | None = None
    status: str = ""


def clients(business: Business, filters: ClientFilters) -> QuerySet[Card]:
    """The client list: one row per card (as in Loona, where a client is opened by the card number)."""
    qs = Card.objects.filter(business=business).select_related("customer", "template", "level")
    if filters.search:
        term = filters.search.strip()
        digits = "".join(ch for ch in term if ch.isdigit())
        q = Q(number=term)
        # SQLite folds case of ASCII only: try the usual spellings of a Cyrillic name too.
        for variant in {term, term.lower(), term.capitalize(), term.title()}:
            q |= Q(customer__first_name__icontains=variant) | Q(customer__last_name__icontains=variant)
            parts = variant.split()
            if len(parts) == 2:
                q |= Q(customer__first_name__icontains=parts[0], customer__last_name__icontains=parts[1])
        if len(digits) >= 4:
            q |= Q(customer__phone__contains=digits) | Q(number__startswith=digits)
            if digits.startswith("8") and len(digits) == 11:  # 8 999 … is how Russians often type +7 999 …
                q |= Q(customer__phone__contains="7" + digits[1:])
        qs = qs.filter(q)
    if filters.template_id:
        qs = qs.filter(template_id=filters.template_id)
    if filters.level_id:
        qs = qs.filter(level_id=filters.level_id)
    qs = qs.filter(status=filters.status) if filters.status else qs.exclude(status=Card.Status.DELETED)
    return qs.order_by("-created_at", "-id")


def access_customer(*, business: Business, customer_id: int) -> Customer:
    return get_object_or_404(Customer, business=business, pk=customer_id)


def access_card(*, business: Business, card_id: int) -> Card:
    return get_object_or_404(
        Card.objects.select_related("customer", "template", "template__mechanic", "level"), business=business, pk=card_id
    )


def customer_cards(business: Business, customer: Customer) -> QuerySet[Card]:
    return (
        Card.objects.filter(business=business, customer=customer)
        .select_related("template", "template__mechanic", "level")
        .order_by("-created_at", "-id")
    )


def customer_ledger(business: Business, customer: Customer) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(business=business, card__customer=customer)
        .select_related("card", "purchase", "point_of_sale")
        .order_by("-created_at", "-id")
    )


def customer_purchases(business: Business, customer: Customer) -> QuerySet[Purchase]:
    return (
        Purchase.objects.filter(business=business, card__customer=customer)
        .select_related("card", "point_of_sale")
        .order_by("-created_at", "-id")
    )


def customer_audit(business: Business, customer: Customer) -> QuerySet[AuditEntry]:
    """Admin actions on the client: entries about the customer or any of their cards."""
    card_ids = [str(pk) for pk in Card.objects.filter(business=business, customer=customer).values_list("pk", flat=True)]
    return (
        AuditEntry.objects.filter(business=business)
        .filter(Q(object_type="card", object_id__in=card_ids) | Q(object_type="customer", object_id=str(customer.pk)))
        .order_by("-created_at", "-id")
    )


# --- История → Транзакции ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TransactionFilters:
    date_from: date | None = None
    date_to: date | None = None
    template_id: int | None = None
    point_of_sale_id: int | None = None
    kind: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def transactions(business: Business, filters: TransactionFilters) -> QuerySet[LedgerEntry]:
    """Ledger entries of the business (newest first), with their card, customer and check."""
    qs = LedgerEntry.objects.filter(business=business)
    if filters.date_from:
        qs = qs.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    if filters.template_id:
        qs = qs.filter(card__template_id=filters.template_id)
    if filters.point_of_sale_id:
        qs = qs.filter(point_of_sale_id=filters.point_of_sale_id)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.amount_min is not None:
        qs = qs.filter(amount__gte=filters.amount_min)
    if filters.amount_max is not None:
        qs = qs.filter(amount__lte=filters.amount_max)
    return qs.select_related("card", "card__customer", "card__template", "point_of_sale", "purchase").order_by(
        "-created_at", "-id"
    )


def export_rows(qs: QuerySet[LedgerEntry], *, chunk_size: int = 2000) -> Any:
    """The rows of ``transactions`` for a streaming export, fetched in chunks (server-side cursor on PG)."""
    return qs.iterator(chunk_size=chunk_size)
