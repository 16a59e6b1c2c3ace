"""Fixtures of the loyalty engine: a bonus mechanic with three levels, templates, cards."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from kopilka.accounts.models import Business, PointOfSale
from kopilka.cards.models import Card, CardTemplate
from kopilka.loyalty import selectors, services
from kopilka.loyalty.models import Level, Mechanic

D = Decimal


def make_mechanic(business: Business, **fields: Any) -> Mechanic:
    levels = fields.pop("levels", None)
    fields.setdefault("name", "Бонусная")
    fields.setdefault("kind", Mechanic.Kind.BONUS)
    fields.setdefault("accrual_percent", D("5"))
    fields.setdefault("redeem_max_percent", D("30"))
    mechanic = Mechanic.objects.create(business=business, **fields)
    for i, (name, threshold, accrual, cap, discount) in enumerate(levels or []):
        Level.objects.create(
            mechanic=mechanic, name=name, threshold=D(threshold), accrual_percent=D(accrual),
            redeem_max_percent=D(cap), discount_percent=D(discount), order=i,
        )  # fmt: skip
    return mechanic


THREE_LEVELS = [("Bronze", "0", "5", "30", "0"), ("Silver", "10000", "7", "40", "0"), ("Gold", "30000", "10", "50", "0")]


@pytest.fixture
def pos(business: Business) -> PointOfSale:
    return PointOfSale.objects.filter(business=business).first()  # type: ignore[return-value]


@pytest.fixture
def mechanic(business: Business) -> Mechanic:
    return make_mechanic(business, levels=THREE_LEVELS)


@pytest.fixture
def template(business: Business, mechanic: Mechanic) -> CardTemplate:
    return CardTemplate.objects.create(business=business, name="Бонусная", type="bonus", mechanic=mechanic)


@pytest.fixture
def make_card(business: Business) -> Callable[..., Card]:
    counter = {"n": 0}

    def make(template: CardTemplate, *, balance: str | None = None, **kwargs: Any) -> Card:
        counter["n"] += 1
        card = services.issue_card(
            business=template.business, template=template, phone=f"+7999100{counter['n']:04d}", **kwargs
        )
        if balance:
            services.adjust_points(business=template.business, card=card, amount=balance, reason="test")
        card.refresh_from_db()
        return card

    return make


@pytest.fixture
def card(template: CardTemplate, make_card: Callable[..., Card]) -> Card:
    return make_card(template)


def fresh(card: Card) -> Card:
    card.refresh_from_db()
    return card


def assert_consistent(card: Card) -> None:
    card.refresh_from_db()
    assert card.balance == selectors.ledger_sum(card) == selectors.lots_sum(card)
    assert card.balance >= 0
