"""confirm_purchase / quote_purchase: levels, caps, product rules, coupons, idempotency, bad input (B2, B5, B7)."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from kopilka.cards.models import Card, CardTemplate
from kopilka.core.models import OutboxEvent
from kopilka.loyalty import services
from kopilka.loyalty.errors import (
    CardBlocked,
    CardNotFound,
    IdempotencyConflict,
    InsufficientPoints,
    ValidationFailed,
)
from kopilka.loyalty.models import Coupon, CouponGroup, LedgerEntry, Product, ProductCategory, Purchase
from tests.loyalty.conftest import assert_consistent, fresh, make_mechanic


def confirm(business, card, pos, receipt, **kw):
    return services.confirm_purchase(business=business, card=card, point_of_sale=pos, receipt_id=receipt, **kw)


def test_quote_changes_nothing(business, card, pos):
    services.adjust_points(business=business, card=card, amount="200", reason="x")
    before = (LedgerEntry.objects.count(), OutboxEvent.objects.count(), Purchase.objects.count())
    quote = services.quote_purchase(business=business, card=card, amount="1000.00", redeem_points="max")
    assert (quote.points_redeemed, quote.payable, quote.points_to_accrue) == (D("200.00"), D("800.00"), D("40.00"))
    assert (LedgerEntry.objects.count(), OutboxEvent.objects.count(), Purchase.objects.count()) == before


def test_level_up_changes_the_percentages_of_the_next_purchase(business, card, pos):
    p1 = confirm(business, card, pos, "r1", amount="9999.99")
    assert p1.points_accrued == D("500.00")  # 5 % of 9999.99 = 499.9995 → 500.00
    assert fresh(card).level.name == "Bronze"
    p2 = confirm(business, card, pos, "r2", amount="0.01")
    assert p2.points_accrued == D("0.00")  # 5 % of 0.01 = 0.0005 → 0.00
    card = fresh(card)
    assert card.purchase_total == D("10000.00")
    assert card.level.name == "Silver"
    p3 = confirm(business, card, pos, "r3", amount="1000.00", redeem_points="max")
    assert p3.points_redeemed == D("400.00")  # Silver: 40 % cap
    assert p3.points_accrued == D("42.00")  # Silver: 7 % of 600.00
    assert OutboxEvent.objects.filter(name="level.changed").count() == 2  # none → Bronze at issue, → Silver
    assert_consistent(card)


def test_redeeming_above_the_balance_is_insufficient_points_and_writes_nothing(business, card, pos):
    services.adjust_points(business=business, card=card, amount="50", reason="x")
    n = LedgerEntry.objects.count()
    with pytest.raises(InsufficientPoints):
        confirm(business, card, pos, "r1", amount="1000.00", redeem_points="50.01")
    with pytest.raises(ValidationFailed) as err:
        confirm(business, card, pos, "r1", amount="100.00", redeem_points="40")  # cap 30.00
    assert err.value.field == "redeem_points"
    assert LedgerEntry.objects.count() == n
    assert not Purchase.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": "-10"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "10.001"}, "amount"),
        ({"amount": "100", "redeem_points": "-1"}, "redeem_points"),
        ({"items": [{"sku": "NOPE", "quantity": "1", "price": "10"}]}, "items[0].sku"),
        ({"items": [{"name": "x", "quantity": "0", "price": "10"}]}, "items[0].quantity"),
        ({"amount": "100", "coupons": ["NOPE"]}, "coupons[0]"),
        ({}, "amount"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(business, card, pos, kwargs, field):
    n = (LedgerEntry.objects.count(), OutboxEvent.objects.count())
    with pytest.raises(ValidationFailed) as err:
        confirm(business, card, pos, "r1", **kwargs)
    assert err.value.field == field
    assert err.value.code == "validation_error"
    assert (LedgerEntry.objects.count(), OutboxEvent.objects.count()) == n
    assert not Purchase.objects.exists()


def test_same_receipt_same_body_returns_the_first_purchase(business, card, pos):
    p1 = confirm(business, card, pos, "r1", amount="100.00", idempotency_key="k1")
    p2 = confirm(business, card, pos, "r1", amount="100.00", idempotency_key="k1")
    assert p1.pk == p2.pk
    assert fresh(card).balance == D("5.00")
    with pytest.raises(IdempotencyConflict):
        confirm(business, card, pos, "r1", amount="100.01", idempotency_key="k1")
    with pytest.raises(IdempotencyConflict):
        confirm(business, card, pos, "r1", amount="100.00", idempotency_key="k2")
    assert Purchase.objects.count() == 1
    assert fresh(card).balance == D("5.00")


def test_a_retry_that_could_no_longer_be_priced_still_gets_its_purchase(business, card, pos):
    """The receipt is looked up only when the new purchase cannot be written; a retry after its points
    were spent (or its card blocked) must still get the first answer, and a wrong one must not."""
    services.adjust_points(business=business, card=card, amount="30", reason="x")
    first = confirm(business, fresh(card), pos, "r1", amount="100.00", redeem_points="30.00")
    assert first.points_redeemed == D("30.00")
    again = confirm(business, fresh(card), pos, "r1", amount="100.00", redeem_points="30.00")  # 5 points left
    assert again.pk == first.pk
    with pytest.raises(IdempotencyConflict):
        confirm(business, fresh(card), pos, "r1", amount="100.00", redeem_points="31.00")
    with pytest.raises(InsufficientPoints):  # a new receipt asking for too much is still refused as such
        confirm(business, fresh(card), pos, "r2", amount="100.00", redeem_points="31.00")
    Card.objects.filter(pk=card.pk).update(status=Card.Status.BLOCKED)
    assert confirm(business, fresh(card), pos, "r1", amount="100.00", redeem_points="30.00").pk == first.pk
    assert Purchase.objects.count() == 1
    assert_consistent(card)


def test_a_receipt_without_a_point_of_sale_is_idempotent_too(business, card):
    p1 = services.confirm_purchase(business=business, card=card, receipt_id="r1", amount="100.00")
    p2 = services.confirm_purchase(business=business, card=fresh(card), receipt_id="r1", amount="100.00")
    assert p1.pk == p2.pk
    with pytest.raises(IdempotencyConflict):
        services.confirm_purchase(business=business, card=fresh(card), receipt_id="r1", amount="99.00")
    assert Purchase.objects.count() == 1
    assert fresh(card).balance == D("5.00")


def test_the_same_receipt_at_another_point_of_sale_is_another_purchase(business, card, pos):
    from kopilka.accounts.models import PointOfSale

    other = PointOfSale.objects.create(business=business, code="other", name="Other")
    confirm(business, card, pos, "r1", amount="100.00")
    confirm(business, card, other, "r1", amount="100.00")
    assert fresh(card).balance == D("10.00")


def test_blocked_or_foreign_or_unverified_cards_are_refused(business, other_business, template, make_card, pos):
    card = make_card(template)
    Card.objects.filter(pk=card.pk).update(status=Card.Status.BLOCKED)
    with pytest.raises(CardBlocked):
        confirm(business, fresh(card), pos, "r1", amount="100")
    unverified = make_card(template, verified=False)
    with pytest.raises(CardBlocked):
        confirm(business, unverified, pos, "r2", amount="100")
    with pytest.raises(CardNotFound):
        confirm(other_business, make_card(template), None, "r3", amount="100")


def test_discount_mechanic_takes_the_level_discount(business, make_card, pos):
    mechanic = make_mechanic(business, name="Скидка", kind="discount", levels=[
        ("5%", "0", "0", "0", "5"), ("10%", "20000", "0", "0", "10"),
    ])  # fmt: skip
    template = CardTemplate.objects.create(business=business, name="Скидочная", type="discount", mechanic=mechanic)
    card = make_card(template)
    p = confirm(business, card, pos, "r1", amount="19999.99")
    assert (p.discount, p.payable, p.points_accrued) == (D("1000.00"), D("18999.99"), D("0.00"))
    # level progress counts what was paid: 18999.99 < 20000 → still 5 %
    p = confirm(business, card, pos, "r2", amount="1052.64")
    assert (p.discount, p.payable) == (D("52.63"), D("1000.01"))  # 52.632 → 52.63; sum paid 20000.00
    assert fresh(card).level.name == "10%"
    p = confirm(business, card, pos, "r3", amount="333.33")
    assert (p.discount, p.payable) == (D("33.33"), D("300.00"))


def test_products_and_categories_drive_accrual_and_redemption(business, card, pos):
    services.adjust_points(business=business, card=card, amount="1000", reason="x")
    coffee = ProductCategory.objects.create(business=business, name="Кофе", accrual_rule="percent", accrual_value=D("10"))
    tobacco = ProductCategory.objects.create(
        business=business, name="Табак", accrual_rule="excluded", excluded_from_redemption=True
    )
    Product.objects.create(business=business, sku="LATTE", name="Латте", price=D("250.00"), category=coffee)
    Product.objects.create(business=business, sku="CIG", name="Сигареты", price=D("300.00"), category=tobacco)
    Product.objects.create(business=business, sku="CAKE", name="Торт", price=D("150.00"), accrual_rule="fixed",
                           accrual_value=D("20"))  # fmt: skip
    items = [{"sku": "LATTE", "quantity": "2"}, {"sku": "CIG", "quantity": "1"}, {"sku": "CAKE", "quantity": "1"}]
    quote = services.quote_purchase(business=business, card=card, items=items, redeem_points="max")
    assert quote.amount == D("950.00")
    assert quote.max_redeemable == D("195.00")  # 30 % of 650.00 (no points for tobacco)
    # LATTE: 500 − 150.00 points (500/650 of 195) = 350 × 10 % = 35.00; CIG: none; CAKE: 20 fixed
    assert [line.points for line in quote.lines] == [D("35.00"), D("0.00"), D("20.00")]
    assert quote.points_to_accrue == D("55.00")
    p = confirm(business, card, pos, "r1", items=items, redeem_points="max")
    assert (p.points_redeemed, p.points_accrued, p.payable) == (D("195.00"), D("55.00"), D("755.00"))
    assert [line.sku for line in p.lines.all()] == ["LATTE", "CIG", "CAKE"]


def _group(business, **kw):
    kw.setdefault("name", "g")
    return CouponGroup.objects.create(business=business, **kw)


def test_coupons_percent_fixed_free_item_points_each_once(business, card, pos):
    Product.objects.create(business=business, sku="LATTE", name="Латте", price=D("250.00"))
    pct = Coupon.objects.create(business=business, group=_group(business, reward="percent", value=D("10")), code="P10")
    fix = Coupon.objects.create(business=business, group=_group(business, reward="fixed", value=D("100")), code="F100")
    free = Coupon.objects.create(
        business=business, group=_group(business, reward="free_item", item_sku="LATTE"), code="FREE"
    )
    pts = Coupon.objects.create(business=business, group=_group(business, reward="points", value=D("50")), code="PTS")
    items = [{"sku": "LATTE", "quantity": "4"}]
    p = confirm(business, card, pos, "r1", items=items, coupons=["p10", "F100", "FREE", "PTS"])
    # 1000.00 − 100.00 (10 %) − 100.00 − 250.00 = 550.00; 5 % = 27.50 + 50 coupon points
    assert (p.discount, p.payable, p.points_accrued) == (D("450.00"), D("550.00"), D("77.50"))
    for c in (pct, fix, free, pts):
        c.refresh_from_db()
        assert c.redeemed_at is not None
        assert c.purchase == p
    with pytest.raises(ValidationFailed) as err:
        confirm(business, card, pos, "r2", amount="100", coupons=["P10"])
    assert err.value.field == "coupons[0]"
    assert "already been used" in err.value.message
    assert OutboxEvent.objects.filter(name="coupon.redeemed").count() == 4


def test_expired_not_yet_valid_and_foreign_coupons_are_refused(business, card, template, make_card, pos):
    now = timezone.now()
    Coupon.objects.create(business=business, group=_group(business, valid_until=now - timedelta(seconds=1)), code="OLD")
    Coupon.objects.create(business=business, group=_group(business, valid_from=now + timedelta(days=1)), code="NEW")
    Coupon.objects.create(business=business, group=_group(business), code="MINE", card=make_card(template))
    for code, text in [("OLD", "expired"), ("NEW", "not valid yet"), ("MINE", "another card")]:
        with pytest.raises(ValidationFailed, match=text):
            confirm(business, card, pos, "r", amount="100", coupons=[code])
    with pytest.raises(ValidationFailed, match="twice"):
        confirm(business, card, pos, "r", amount="100", coupons=["OLD", "old"])


def test_every_purchase_writes_its_events_in_the_same_transaction(business, card, pos):
    p = confirm(business, card, pos, "r1", amount="100")
    names = list(OutboxEvent.objects.filter(business=business).values_list("name", flat=True))
    assert "purchase.confirmed" in names
    assert "points.changed" in names
    event = OutboxEvent.objects.get(name="purchase.confirmed")
    assert event.payload["purchase_id"] == p.public_id
    assert event.payload["points_accrued"] == "5.00"


def test_levels_saved_in_the_cabinet_apply_to_the_next_purchase(business, card, pos, mechanic):
    """Each process keeps the levels it read; saving the mechanic changes its stamp, so they are read again."""
    from kopilka.loyalty import selectors, setup_services

    confirm(business, selectors.card_by_code(business=business, code=card.number), pos, "r1", amount="1000.00")
    assert fresh(card).level.name == "Bronze"  # Silver starts at 10,000
    bronze, silver, gold = mechanic.levels.order_by("threshold")
    levels = [
        {"id": lv.pk, "name": lv.name, "threshold": threshold, "accrual_percent": lv.accrual_percent,
         "redeem_max_percent": lv.redeem_max_percent, "discount_percent": lv.discount_percent}
        for lv, threshold in ((bronze, D("0")), (silver, D("1500")), (gold, D("30000")))
    ]  # fmt: skip
    setup_services.save_mechanic(business=business, data={"name": mechanic.name, "kind": mechanic.kind},
                                 levels=levels, mechanic=mechanic, actor=None)  # fmt: skip
    confirm(business, selectors.card_by_code(business=business, code=card.number), pos, "r2", amount="1000.00")
    assert fresh(card).level.name == "Silver"  # 2,000 ≥ the new 1,500
