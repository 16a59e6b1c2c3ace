"""refund_purchase: proportional, pending first, shortfall, exact restore, expiry in between (pos-api.md)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from kopilka.core.models import OutboxEvent
from kopilka.loyalty import services
from kopilka.loyalty.errors import IdempotencyConflict, RefundExceedsPurchase, ValidationFailed
from kopilka.loyalty.models import LedgerEntry, Mechanic, Product, Purchase
from tests.loyalty.conftest import assert_consistent, fresh

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def buy(business, card, pos, receipt, **kw):
    return services.confirm_purchase(business=business, card=card, point_of_sale=pos, receipt_id=receipt, **kw)


def test_partial_refunds_are_proportional_and_the_last_one_closes_exactly(business, card, pos):
    services.adjust_points(business=business, card=card, amount="300", reason="x")
    p = buy(business, card, pos, "r1", amount="1000.00", redeem_points="300.00")
    assert (p.payable, p.points_accrued) == (D("700.00"), D("35.00"))
    assert fresh(card).balance == D("35.00")
    r1 = services.refund_purchase(business=business, purchase=p, amount="333.33")
    # 300 × 333.33/1000 = 99.999 → 100.00 returned; 35 × 0.33333 = 11.66655 → 11.67 taken back
    assert (r1.points_returned, r1.points_taken_back, r1.points_shortfall) == (D("100.00"), D("11.67"), D("0.00"))
    assert fresh(card).balance == D("123.33")
    r2 = services.refund_purchase(business=business, purchase=p, amount="666.67")
    assert (r2.points_returned, r2.points_taken_back) == (D("200.00"), D("23.33"))
    assert fresh(card).balance == D("300.00")  # exactly as before the purchase
    p.refresh_from_db()
    assert p.status == Purchase.Status.REFUNDED
    assert fresh(card).purchase_total == D("0.00")
    assert_consistent(card)


def test_refund_above_what_is_left_is_refused_and_writes_nothing(business, card, pos):
    p = buy(business, card, pos, "r1", amount="100.00")
    services.refund_purchase(business=business, purchase=p, amount="60.00")
    n = (LedgerEntry.objects.count(), OutboxEvent.objects.count())
    with pytest.raises(RefundExceedsPurchase) as err:
        services.refund_purchase(business=business, purchase=p, amount="40.01")
    assert err.value.code == "refund_exceeds_purchase"
    assert err.value.field == "amount"
    with pytest.raises(ValidationFailed):
        services.refund_purchase(business=business, purchase=p, amount="0")
    assert (LedgerEntry.objects.count(), OutboxEvent.objects.count()) == n


def test_spent_accrual_is_a_shortfall_and_the_balance_stops_at_zero(business, card, pos):
    p = buy(business, card, pos, "r1", amount="1000.00")  # +50.00
    buy(business, card, pos, "r2", amount="200.00", redeem_points="50.00")  # spends them; +7.50
    assert fresh(card).balance == D("7.50")
    r = services.refund_purchase(business=business, purchase=p, amount="1000.00")
    assert (r.points_taken_back, r.points_shortfall) == (D("7.50"), D("42.50"))
    assert fresh(card).balance == D("0.00")
    assert_consistent(card)


def test_returned_points_net_against_taken_back_points(business, card, pos):
    p = buy(business, card, pos, "r1", amount="1000.00")  # +50
    p2 = buy(business, card, pos, "r2", amount="200.00", redeem_points="50.00")  # −50 +7.50
    r = services.refund_purchase(business=business, purchase=p2, amount="200.00")
    assert (r.points_returned, r.points_taken_back, r.points_shortfall) == (D("50.00"), D("7.50"), D("0.00"))
    assert fresh(card).balance == D("50.00")
    # the returned points went back into the very lot they came from
    lot = LedgerEntry.objects.get(purchase=p, kind="accrual")
    assert lot.remaining == D("50.00")


def test_pending_points_are_taken_back_first(business, card, pos, time_machine):
    Mechanic.objects.filter(pk=card.template.mechanic_id).update(accrual_delay_hours=24)
    time_machine.move_to(T0, tick=False)
    services.adjust_points(business=business, card=card, amount="10", reason="x")
    p = buy(business, fresh(card), pos, "r1", amount="1000.00")
    card = fresh(card)
    assert (card.balance, card.pending_points) == (D("10.00"), D("50.00"))
    r = services.refund_purchase(business=business, purchase=p, amount="500.00")
    assert (r.points_taken_back, r.points_shortfall) == (D("25.00"), D("0.00"))
    card = fresh(card)
    assert (card.balance, card.pending_points) == (D("10.00"), D("25.00"))
    time_machine.move_to(T0 + timedelta(hours=24), tick=False)
    assert services.activate_due_points() == 1
    card = fresh(card)
    assert (card.balance, card.pending_points) == (D("35.00"), D("0.00"))
    assert_consistent(card)


def test_full_refund_after_expiry_restores_all_but_the_expired(business, card, pos, time_machine):
    Mechanic.objects.filter(pk=card.template.mechanic_id).update(points_lifetime_days=30)
    time_machine.move_to(T0, tick=False)
    services.adjust_points(business=business, card=card, amount="100", reason="old lot")  # burns T0+30d
    time_machine.move_to(T0 + timedelta(days=20), tick=False)
    services.adjust_points(business=business, card=card, amount="100", reason="new lot")  # burns T0+50d
    p = buy(business, fresh(card), pos, "r1", amount="1000.00", redeem_points="150.00")
    # the soonest-expiring lot is spent first: 100 old + 50 new; +42.50 accrued (burns T0+50d)
    time_machine.move_to(T0 + timedelta(days=35), tick=False)
    assert services.expire_due_points() == 0  # the old lot is empty: nothing left to burn
    r = services.refund_purchase(business=business, purchase=p, amount="1000.00")
    # 50 go back to the new lot; the 100 of the old lot would have burnt on day 30: not returned
    assert (r.points_returned, r.points_not_returned_expired, r.points_taken_back) == (
        D("50.00"), D("100.00"), D("42.50"),
    )  # fmt: skip
    assert fresh(card).balance == D("100.00")
    assert_consistent(card)


def test_accrual_that_burnt_is_not_taken_back_twice(business, card, pos, time_machine):
    Mechanic.objects.filter(pk=card.template.mechanic_id).update(points_lifetime_days=10)
    time_machine.move_to(T0, tick=False)
    p = buy(business, card, pos, "r1", amount="1000.00")  # +50, burns T0+10d
    time_machine.move_to(T0 + timedelta(days=5), tick=False)
    services.adjust_points(business=business, card=card, amount="30", reason="later")  # burns T0+15d
    time_machine.move_to(T0 + timedelta(days=11), tick=False)
    services.expire_due_points()
    assert fresh(card).balance == D("30.00")
    r = services.refund_purchase(business=business, purchase=p, amount="1000.00")
    assert (r.points_taken_back, r.points_forgiven_expired, r.points_shortfall) == (D("0.00"), D("50.00"), D("0.00"))
    assert fresh(card).balance == D("30.00")


def test_refund_by_items(business, card, pos):
    Product.objects.create(business=business, sku="LATTE", name="Латте", price=D("250.00"))
    Product.objects.create(business=business, sku="CAKE", name="Торт", price=D("150.00"))
    p = buy(business, card, pos, "r1", items=[{"sku": "LATTE", "quantity": "2"}, {"sku": "CAKE", "quantity": "1"}])
    assert p.points_accrued == D("32.50")
    r = services.refund_purchase(business=business, purchase=p, items=[{"sku": "LATTE", "quantity": "1"}])
    assert (r.amount, r.points_taken_back) == (D("250.00"), D("12.50"))
    with pytest.raises(RefundExceedsPurchase):
        services.refund_purchase(business=business, purchase=p, items=[{"sku": "LATTE", "quantity": "2"}])
    with pytest.raises(ValidationFailed) as err:
        services.refund_purchase(business=business, purchase=p, items=[{"sku": "TEA", "quantity": "1"}])
    assert err.value.field == "items[0].sku"
    r = services.refund_purchase(business=business, purchase=p, items=[{"sku": "LATTE"}, {"sku": "CAKE"}])
    assert (r.amount, r.points_taken_back) == (D("400.00"), D("20.00"))
    assert fresh(card).balance == D("0.00")


def test_refund_idempotency_key(business, card, pos):
    p = buy(business, card, pos, "r1", amount="100.00")
    r1 = services.refund_purchase(business=business, purchase=p, amount="10", idempotency_key="k")
    r2 = services.refund_purchase(business=business, purchase=p, amount="10", idempotency_key="k")
    assert r1.pk == r2.pk
    with pytest.raises(IdempotencyConflict):
        services.refund_purchase(business=business, purchase=p, amount="11", idempotency_key="k")
    p.refresh_from_db()
    assert p.refunded_amount == D("10.00")


def test_refund_moves_the_level_back(business, card, pos):
    p = buy(business, card, pos, "r1", amount="10000.00")
    assert fresh(card).level.name == "Silver"
    services.refund_purchase(business=business, purchase=p, amount="0.01")
    card = fresh(card)
    assert card.purchase_total == D("9999.99")
    assert card.level.name == "Bronze"
