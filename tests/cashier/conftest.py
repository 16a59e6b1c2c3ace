"""Fixtures of the web cashier: a bonus mechanic (5 % accrual, points pay up to 30 %), a card with
500 points, a cashier bound to the business's point of sale, a product catalogue."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from kopilka.accounts.models import Business, Membership, PointOfSale
from kopilka.cards.models import Card, CardTemplate
from kopilka.loyalty import services
from kopilka.loyalty.models import Mechanic, Product
from tests.conftest import client_for

D = Decimal
PHONE = "+79995550101"


@pytest.fixture
def pos(business: Business) -> PointOfSale:
    return PointOfSale.objects.get(business=business)


@pytest.fixture
def mechanic(business: Business) -> Mechanic:
    return Mechanic.objects.create(
        business=business, name="Бонусная", kind=Mechanic.Kind.BONUS, accrual_percent=D("5"),
        redeem_max_percent=D("30"),
    )  # fmt: skip


@pytest.fixture
def template(business: Business, mechanic: Mechanic) -> CardTemplate:
    return CardTemplate.objects.create(business=business, name="Бонусная карта", type="bonus", mechanic=mechanic)


@pytest.fixture
def card(business: Business, template: CardTemplate) -> Card:
    card = services.issue_card(
        business=business, template=template, phone=PHONE, first_name="Анна", opening_balance="500.00"
    )
    card.refresh_from_db()
    assert card.balance == D("500.00")
    return card


@pytest.fixture
def products(business: Business) -> list[Product]:
    return [
        Product.objects.create(business=business, sku="LATTE", name="Латте", price=D("250.00"), barcode="4600000000011"),
        Product.objects.create(business=business, sku="CROISSANT", name="Круассан", price=D("180.00"), barcode="4600000000028"),
    ]  # fmt: skip


@pytest.fixture
def cashier(business: Business, pos: PointOfSale, make_member) -> Membership:  # type: ignore[no-untyped-def]
    member = make_member(business, "cashier")
    member.point_of_sale = pos
    member.save()
    return member


@pytest.fixture
def cashier_client(cashier: Membership) -> Client:
    return client_for(cashier.user)
