"""The home page's figures come from the business's own cards and purchases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from kopilka.cards.models import CardTemplate
from kopilka.loyalty import services
from kopilka.loyalty.models import Level, Mechanic
from tests.conftest import client_for, owner_of

pytestmark = pytest.mark.django_db


def _bonus_card(business, phone):  # type: ignore[no-untyped-def]
    mechanic, _ = Mechanic.objects.get_or_create(business=business, name="Bonus", kind="bonus")
    Level.objects.get_or_create(
        mechanic=mechanic, threshold=Decimal("0"),
        defaults={"name": "Base", "accrual_percent": Decimal("5"), "redeem_max_percent": Decimal("30")},
    )  # fmt: skip
    template, _ = CardTemplate.objects.get_or_create(business=business, name="Bonus", type="bonus", mechanic=mechanic)
    return services.issue_card(business=business, template=template, phone=phone)


def test_home_counts_own_cards_and_purchases_only(business, other_business):  # type: ignore[no-untyped-def]
    card = _bonus_card(business, "+79990000001")
    _bonus_card(business, "+79990000002")
    services.confirm_purchase(business=business, card=card, amount="1000.00", receipt_id="r1")
    services.confirm_purchase(business=business, card=card, amount="500.00", receipt_id="r2")
    foreign = _bonus_card(other_business, "+79990000003")
    services.confirm_purchase(business=other_business, card=foreign, amount="9999.00", receipt_id="x")

    stats = client_for(owner_of(business)).get(reverse("core:home")).context["stats"]

    assert stats["cards"] == 2
    assert stats["purchases_30d"] == 2
    assert stats["active_clients_30d"] == 1
    assert stats["revenue_30d"] == Decimal("1500.00")
    assert stats["average_check_30d"] == Decimal("750.00")
    assert stats["points_outstanding"] == Decimal("75.00")  # 5 % of 1000 + 5 % of 500
