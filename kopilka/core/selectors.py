from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from kopilka.core.models import AuditEntry


def audit_entries(business: Any, *, action: str = "") -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.for_business(business).select_related("actor")  # type: ignore[attr-defined]
    if action:
        qs = qs.filter(action__startswith=action)
    return qs  # type: ignore[no-any-return]


def home_stats(business: Any) -> dict[str, int]:
    from kopilka.accounts.models import Membership, PointOfSale

    return {
        "points_of_sale": PointOfSale.objects.filter(business=business).count(),
        "members": Membership.objects.filter(business=business, is_active=True).count(),
    }
