from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from kopilka.core.models import AuditEntry


def audit_entries(business: Any, *, action: str = "") -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.for_business(business).select_related("actor")  # type: ignore[attr-defined]
    if action:
        qs = qs.filter(action__startswith=action)
    return qs  # type: ignore[no-any-return]


def home_stats(business: Any) -> dict[str, Any]:
    """The few figures of the home page: cards, clients, the last 30 days of purchases."""
    from kopilka.accounts.models import Membership, PointOfSale
    from kopilka.cards.models import Card
    from kopilka.loyalty.models import Purchase
    from kopilka.loyalty.rules import cents

    since = timezone.now() - timedelta(days=30)
    cards = Card.objects.filter(business=business).exclude(status=Card.Status.DELETED)
    recent = Purchase.objects.filter(business=business, created_at__gte=since).aggregate(
        count=Count("id"), total=Sum("payable"), clients=Count("card", distinct=True)
    )
    count = recent["count"] or 0
    total = cents(recent["total"] or Decimal("0"))
    return {
        "cards": cards.count(),
        "points_outstanding": cents(cards.aggregate(s=Sum("balance"))["s"] or Decimal("0")),
        "purchases_30d": count,
        "revenue_30d": total,
        "average_check_30d": cents(total / count) if count else Decimal("0.00"),
        "active_clients_30d": recent["clients"] or 0,
        "points_of_sale": PointOfSale.objects.filter(business=business).count(),
        "members": Membership.objects.filter(business=business, is_active=True).count(),
    }
