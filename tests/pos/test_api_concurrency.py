"""On PostgreSQL, over HTTP: concurrent redemptions never overdraw; concurrent retries apply once."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test import Client

from kopilka.cards.models import Card, CardTemplate
from kopilka.loyalty import selectors as loyalty_selectors
from kopilka.loyalty import services as loyalty
from kopilka.loyalty.models import Level, Mechanic, Purchase
from tests.pos.conftest import bearer

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrency"),
    pytest.mark.django_db(transaction=True),
]
D = Decimal


@pytest.fixture
def card(business) -> Card:  # type: ignore[no-untyped-def]
    mechanic = Mechanic.objects.create(
        business=business, name="M", kind=Mechanic.Kind.BONUS, accrual_percent=D("0"), redeem_max_percent=D("100")
    )
    Level.objects.create(mechanic=mechanic, name="Base", threshold=D("0"), accrual_percent=D("0"),
                         redeem_max_percent=D("100"), discount_percent=D("0"))  # fmt: skip
    template = CardTemplate.objects.create(business=business, name="T", type="bonus", mechanic=mechanic)
    made = loyalty.issue_card(business=business, template=template, phone="+79991234567")
    loyalty.adjust_points(business=business, card=made, amount="350.00", reason="opening")
    return made


def _hammer(count: int, send) -> list[tuple[int, bytes]]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(count)
    results: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            barrier.wait()
            response = send(i)
            with lock:
                results.append((response.status_code, response.content))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_50_tills_redeeming_take_exactly_the_balance(business, card, make_key, settings) -> None:  # type: ignore[no-untyped-def]
    settings.KOPILKA_API_RATE_LIMIT = 10_000
    key = make_key(business).key

    def send(i: int):  # type: ignore[no-untyped-def]
        body = {"card": card.number, "amount": "100.00", "redeem_points": "10.00", "receipt_id": f"R-{i}"}
        return Client().post("/api/v1/purchases", json.dumps(body), content_type="application/json", **bearer(key))

    results = _hammer(50, send)

    statuses = sorted(status for status, _ in results)
    assert len(results) == 50
    assert set(statuses) <= {201, 409}
    card.refresh_from_db()
    redeemed = sum((p.points_redeemed for p in Purchase.objects.filter(card=card)), D("0"))
    assert redeemed == D("350.00")  # 50 × 10 asked for, 350 there: all of it and not a cent more
    assert card.balance == D("0.00")
    assert card.balance == loyalty_selectors.ledger_sum(card)
    assert card.balance >= 0


def test_50_retries_with_one_key_apply_once(business, card, make_key, settings) -> None:  # type: ignore[no-untyped-def]
    settings.KOPILKA_API_RATE_LIMIT = 10_000
    key = make_key(business).key
    body = json.dumps({"card": card.number, "amount": "100.00", "redeem_points": "10.00", "receipt_id": "R-1"})

    def send(i: int):  # type: ignore[no-untyped-def]
        return Client().post(
            "/api/v1/purchases", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="retry-1", **bearer(key)
        )

    results = _hammer(50, send)

    assert {status for status, _ in results} == {201}
    assert len({content for _, content in results}) == 1
    assert Purchase.objects.count() == 1
    card.refresh_from_db()
    assert card.balance == D("340.00") == loyalty_selectors.ledger_sum(card)
