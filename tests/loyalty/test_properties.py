"""Property tests of the ledger: random purchases, refunds, adjustments and time (hypothesis).

After every step: balance == sum of the ledger == what is left of the lots, never below zero; pending
points == what waits in pending accruals; the purchase sum for the level == payable net of refunds, and
the level matches it. And a full refund restores the balance of a twin card that never made the
purchase (points that burnt meanwhile stay burnt).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.db.models import F, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.cards.models import Card, CardTemplate
from kopilka.loyalty import rules, selectors, services
from kopilka.loyalty.errors import InsufficientPoints, RefundExceedsPurchase
from kopilka.loyalty.models import PendingAccrual, Purchase
from tests.loyalty.conftest import THREE_LEVELS, make_mechanic

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
PHONES = itertools.count(1)
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

cents = st.integers(min_value=1, max_value=800_000).map(lambda c: D(c) / 100)
op = st.one_of(
    st.tuples(st.just("buy"), cents, st.sampled_from([None, "max", "half"])),
    st.tuples(st.just("refund"), st.integers(0, 20), st.sampled_from(["all", "part"])),
    st.tuples(st.just("adjust"), st.integers(-50_000, 50_000).map(lambda c: D(c) / 100), st.none()),
    st.tuples(st.just("wait"), st.integers(1, 24 * 45), st.none()),
    st.tuples(st.just("jobs"), st.none(), st.none()),
)


def _phone() -> str:
    return f"+7999{next(PHONES):07d}"


def check_invariants(card: Card) -> None:
    card.refresh_from_db()
    assert card.balance >= 0
    assert card.balance == selectors.ledger_sum(card) == selectors.lots_sum(card)
    waiting = PendingAccrual.objects.filter(card=card, entry__isnull=True).aggregate(
        s=Sum(F("amount") - F("taken_back"))
    )["s"] or D("0")
    assert card.pending_points == waiting
    net = Purchase.objects.filter(card=card).aggregate(s=Sum("payable"))["s"] or D("0")
    refunded = sum((r.payable_refunded for p in Purchase.objects.filter(card=card) for r in p.refunds.all()), D("0"))
    assert card.purchase_total == net - refunded
    levels = [(lvl.threshold, lvl.pk) for lvl in card.template.mechanic.levels.all()]
    assert card.level_id == rules.level_for(card.purchase_total, levels)


@pytest.fixture
def templates(business):
    out = {}
    for delay, lifetime in [(0, None), (0, 30), (24, 30)]:
        mechanic = make_mechanic(business, name=f"m{delay}-{lifetime}", levels=THREE_LEVELS,
                                 accrual_delay_hours=delay, points_lifetime_days=lifetime)  # fmt: skip
        out[(delay, lifetime)] = CardTemplate.objects.create(business=business, name="t", mechanic=mechanic)
    return out


@SETTINGS
@given(ops=st.lists(op, max_size=20), kind=st.sampled_from([(0, None), (0, 30), (24, 30)]))
def test_random_histories_keep_the_ledger_exact(business, pos, templates, ops, kind):
    now = T0
    with time_machine.travel(now, tick=False) as traveller:
        card = services.issue_card(business=business, template=templates[kind], phone=_phone())
        purchases: list[Purchase] = []
        for i, (name, a, b) in enumerate(ops):
            card.refresh_from_db()
            if name == "buy":
                redeem = None if b is None else ("max" if b == "max" else rules.q(card.balance / 2))
                try:
                    p = services.confirm_purchase(business=business, card=card, amount=a, redeem_points=redeem,
                                                  point_of_sale=pos, receipt_id=f"r{card.pk}-{i}")  # fmt: skip
                except InsufficientPoints:
                    continue  # "half" of a balance that has pending expiries may be above the fresh balance
                except Exception as exc:
                    if getattr(exc, "field", None) == "redeem_points":
                        continue
                    raise
                purchases.append(p)
            elif name == "refund" and purchases:
                p = purchases[a % len(purchases)]
                p.refresh_from_db()
                left = p.amount - p.refunded_amount
                if left <= 0:
                    with pytest.raises(RefundExceedsPurchase):
                        services.refund_purchase(business=business, purchase=p, amount="0.01")
                    continue
                part = left if b == "all" else max(rules.q(left / 3), D("0.01"))
                services.refund_purchase(business=business, purchase=p, amount=part)
            elif name == "adjust" and a != 0:
                # The service first activates due pending points and burns expired ones, so the oracle is
                # the balance after that settlement, not the stored one.
                spendable, _level = services.effective_state(card, business, now)
                if a < 0 and -a > spendable:
                    with pytest.raises(InsufficientPoints):
                        services.adjust_points(business=business, card=card, amount=a, reason="r")
                else:
                    services.adjust_points(business=business, card=card, amount=a, reason="r")
            elif name == "wait":
                now += timedelta(hours=a)
                traveller.move_to(now)
            elif name == "jobs":
                services.activate_due_points()
                services.expire_due_points()
            check_invariants(card)


twin_op = st.one_of(
    st.tuples(st.just("gift"), st.integers(1, 50_000).map(lambda c: D(c) / 100), st.sampled_from([None, 5, 40])),
    st.tuples(st.just("wait"), st.integers(1, 24 * 20), st.none()),
    st.tuples(st.just("jobs"), st.none(), st.none()),
)


@SETTINGS
@given(
    before=st.lists(twin_op, max_size=8),
    between=st.lists(twin_op, max_size=8),
    amount=cents,
    redeem=st.sampled_from([None, "max"]),
    kind=st.sampled_from([(0, None), (0, 30), (24, 30)]),
    parts=st.integers(1, 3),
)
def test_a_full_refund_restores_the_balance_of_a_twin_that_never_bought(
    business, pos, templates, before, between, amount, redeem, kind, parts
):
    now = T0
    with time_machine.travel(now, tick=False) as traveller:
        buyer = services.issue_card(business=business, template=templates[kind], phone=_phone())
        twin = services.issue_card(business=business, template=templates[kind], phone=_phone())

        def run(steps):
            nonlocal now
            for name, a, b in steps:
                if name == "gift":
                    for c in (buyer, twin):
                        services.adjust_points(business=business, card=c, amount=a, reason="g", kind="gift",
                                               lifetime_days=b)  # fmt: skip
                elif name == "wait":
                    now += timedelta(hours=a)
                    traveller.move_to(now)
                else:
                    services.activate_due_points()
                    services.expire_due_points()

        run(before)
        buyer.refresh_from_db()
        p = services.confirm_purchase(business=business, card=buyer, amount=amount, redeem_points=redeem,
                                      point_of_sale=pos, receipt_id=f"r{buyer.pk}")  # fmt: skip
        run(between)
        for k in range(parts):
            p.refresh_from_db()
            left = p.amount - p.refunded_amount
            # half of what is left (at least a cent, at most what is left); the last part takes the rest
            part = left if k == parts - 1 else min(left, max(rules.q(left / 2), D("0.01")))
            if part > 0:
                r = services.refund_purchase(business=business, purchase=p, amount=part)
                assert r.points_shortfall == 0
        services.activate_due_points()
        services.expire_due_points()
        buyer.refresh_from_db()
        twin.refresh_from_db()
        assert buyer.balance == twin.balance
        assert buyer.pending_points == twin.pending_points
        assert buyer.purchase_total == twin.purchase_total == 0
        check_invariants(buyer)
