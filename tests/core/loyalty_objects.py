"""Loyalty objects of business A for the tenant-isolation walk (made once per victim, before the fingerprint)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from kopilka.cards.models import Card, CardTemplate
from kopilka.customers.models import Customer
from kopilka.loyalty.models import Coupon, CouponGroup, Level, Mechanic


def loyalty_of(a: Any) -> SimpleNamespace:
    made = getattr(a, "_loyalty", None)
    if made is not None:
        return made
    business = a.business
    mechanic = Mechanic.objects.create(business=business, name="Alphasecret Mechanic", kind="bonus")
    level = Level.objects.create(mechanic=mechanic, name="Alphasecret Level", threshold=Decimal("0"))
    template = CardTemplate.objects.create(
        business=business, name="Alphasecret Template", type="bonus", mechanic=mechanic
    )
    customer = Customer.objects.create(business=business, phone="+79990001122", first_name="Alphasecret")
    card = Card.objects.create(
        business=business, template=template, customer=customer, number="77700011", barcode_payload="77700011",
        referral_code="ALPHA001", level=level, balance=Decimal("0"),
    )  # fmt: skip
    group = CouponGroup.objects.create(business=business, name="Alphasecret Coupons", reward="percent", value=10)
    Coupon.objects.create(business=business, group=group, code="ALPHASECRET1")
    made = SimpleNamespace(mechanic=mechanic, template=template, customer=customer, card=card, group=group)
    a._loyalty = made
    return made
