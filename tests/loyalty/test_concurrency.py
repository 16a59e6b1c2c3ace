"""On PostgreSQL: concurrent tills never take more than the balance, and a receipt applies once."""

from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest
from django.db import connection, connections

from kopilka.accounts.models import PointOfSale
from kopilka.cards.models import Card, CardTemplate
from kopilka.loyalty import selectors, services
from kopilka.loyalty.errors import IdempotencyConflict, InsufficientPoints, LoyaltyError
from kopilka.loyalty.models import LedgerEntry, Purchase
from tests.loyalty.conftest import THREE_LEVELS, make_mechanic

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are tested on PostgreSQL"),
]
THREADS = 20


def run_in_threads(fn, n=THREADS):
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def worker(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def setup(business):
    mechanic = make_mechanic(business, levels=THREE_LEVELS)
    template = CardTemplate.objects.create(business=business, name="Бонусная", type="bonus", mechanic=mechanic)
    card = services.issue_card(business=business, template=template, phone="+79990000001")
    pos = PointOfSale.objects.filter(business=business).first()
    return business, card, pos


def test_twenty_tills_redeeming_at_once_never_take_more_than_the_balance(setup):
    business, card, pos = setup
    services.adjust_points(business=business, card=card, amount="1000.00", reason="start")

    def redeem(i):
        return services.confirm_purchase(business=business, card=card, amount="300.00", redeem_points="90.00",
                                         point_of_sale=pos, receipt_id=f"r{i}")  # fmt: skip

    results = run_in_threads(redeem)
    ok = [r for r in results if isinstance(r, Purchase)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(ok) + len(refused) == THREADS, [r for r in results if isinstance(r, Exception)]
    card = Card.objects.get(pk=card.pk)
    # each purchase: −90.00 + 5 % of 210.00 = +10.50 → the balance goes 1000 → …; never below zero
    redeemed = sum((p.points_redeemed for p in ok), D("0"))
    assert redeemed <= D("1000.00") + D("10.50") * len(ok)
    assert card.balance >= 0
    assert card.balance == selectors.ledger_sum(card) == selectors.lots_sum(card)
    assert card.balance == D("1000.00") - redeemed + D("10.50") * len(ok)
    # each success nets −79.50; the (k+1)-th needs 1000 − 79.50 k ≥ 90, so exactly 12 succeed, 46.00 stay
    assert len(ok) == 12
    assert card.balance == D("46.00")


def test_twenty_tills_confirming_one_receipt_apply_it_once(setup):
    business, card, pos = setup

    def confirm(i):
        return services.confirm_purchase(business=business, card=card, amount="1000.00", point_of_sale=pos,
                                         receipt_id="same", idempotency_key="k")  # fmt: skip

    results = run_in_threads(confirm)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert len({r.pk for r in results}) == 1
    assert Purchase.objects.count() == 1
    card = Card.objects.get(pk=card.pk)
    assert card.balance == D("50.00")
    assert LedgerEntry.objects.filter(card=card, kind="accrual").count() == 1


def test_different_bodies_for_one_receipt_apply_one_and_refuse_the_rest(setup):
    business, card, pos = setup

    def confirm(i):
        return services.confirm_purchase(business=business, card=card, amount=f"{100 + i}.00", point_of_sale=pos,
                                         receipt_id="same")  # fmt: skip

    results = run_in_threads(confirm)
    assert sum(isinstance(r, Purchase) for r in results) == 1
    assert sum(isinstance(r, IdempotencyConflict) for r in results) == THREADS - 1
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, LoyaltyError)]
