"""A purchase of business A for the tenant-isolation walk (the cashier's ``purchase_id`` URLs)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from kopilka.loyalty.models import Purchase
from tests.core.loyalty_objects import loyalty_of


def purchase_of(a: Any) -> Purchase:
    made = getattr(a, "_purchase", None)
    if made is None:
        made = Purchase.objects.create(
            business=a.business, public_id="pur_alphasecret", card=loyalty_of(a).card, receipt_id="alphasecret-1",
            amount=Decimal("100.00"), payable=Decimal("100.00"), request_hash="-", created_at=timezone.now(),
        )  # fmt: skip
        a._purchase = made
    return made
