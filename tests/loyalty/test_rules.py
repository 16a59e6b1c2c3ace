"""Pure math of rules.py, without the database."""

from decimal import Decimal as D

import pytest

from kopilka.loyalty import rules
from kopilka.loyalty.errors import InsufficientPoints, ValidationFailed

BONUS = rules.Terms(kind="bonus", accrual_percent=D("5"), redeem_max_percent=D("30"))


def test_rounding_is_half_up_to_cents():
    assert rules.q(D("0.005")) == D("0.01")
    assert rules.q(D("2.675")) == D("2.68")
    assert rules.q(D("2.665")) == D("2.67")
    assert rules.q(D("-0.005")) == D("-0.01")
    assert rules.percent_of(D("33.30"), D("5")) == D("1.67")  # 1.665 → 1.67


def test_allocate_adds_up_and_gives_the_remainder_to_the_largest_fractions():
    assert rules.allocate(D("1.00"), [D(1), D(1), D(1)]) == [D("0.34"), D("0.33"), D("0.33")]
    assert rules.allocate(D("10.00"), [D("100"), D("0")]) == [D("10.00"), D("0.00")]
    assert rules.allocate(D("0.00"), [D("5")]) == [D("0.00")]


def test_level_for_picks_the_highest_threshold_reached():
    levels = [(D("0"), "bronze"), (D("10000"), "silver"), (D("30000"), "gold")]
    assert rules.level_for(D("0"), levels) == "bronze"
    assert rules.level_for(D("9999.99"), levels) == "bronze"
    assert rules.level_for(D("10000.00"), levels) == "silver"
    assert rules.level_for(D("45000"), levels) == "gold"
    assert rules.level_for(D("5"), []) is None


def test_the_spec_example():
    p = rules.price_check(amount=D("1250.00"), lines=[], terms=BONUS, balance=D("500"), redeem=D("100.00"))
    assert (p.discount, p.points_redeemed, p.payable, p.points_to_accrue, p.max_redeemable) == (
        D("0.00"), D("100.00"), D("1150.00"), D("57.50"), D("375.00"),
    )  # fmt: skip


def test_max_is_capped_by_the_balance_and_by_the_percent():
    p = rules.price_check(amount=D("1000.00"), lines=[], terms=BONUS, balance=D("120.40"), redeem="max")
    assert p.points_redeemed == D("120.40")
    assert p.payable == D("879.60")
    assert p.points_to_accrue == D("43.98")
    p = rules.price_check(amount=D("1000.00"), lines=[], terms=BONUS, balance=D("9000"), redeem="max")
    assert p.points_redeemed == D("300.00")


def test_redeeming_above_the_cap_or_the_balance_is_refused():
    with pytest.raises(ValidationFailed) as err:
        rules.price_check(amount=D("1000.00"), lines=[], terms=BONUS, balance=D("900"), redeem=D("300.01"))
    assert err.value.field == "redeem_points"
    with pytest.raises(InsufficientPoints):
        rules.price_check(amount=D("1000.00"), lines=[], terms=BONUS, balance=D("10"), redeem=D("10.01"))


def test_discount_first_then_points_from_what_is_left():
    terms = rules.Terms(kind="bonus", accrual_percent=D("5"), redeem_max_percent=D("50"), discount_percent=D("10"))
    p = rules.price_check(amount=D("999.99"), lines=[], terms=terms, balance=D("1000"), redeem="max")
    assert p.discount == D("100.00")  # 99.999 → 100.00
    assert p.max_redeemable == D("450.00")  # 50 % of 899.99 = 449.995 → 450.00
    assert p.payable == D("449.99")
    assert p.points_to_accrue == D("22.50")  # 22.4995 → 22.50


def test_a_discount_mechanic_gives_no_points():
    terms = rules.Terms(kind="discount", accrual_percent=D("5"), redeem_max_percent=D("30"), discount_percent=D("7"))
    p = rules.price_check(amount=D("1234.56"), lines=[], terms=terms, balance=D("1000"), redeem="max")
    assert (p.discount, p.points_redeemed, p.points_to_accrue, p.payable) == (
        D("86.42"), D("0.00"), D("0.00"), D("1148.14"),
    )  # fmt: skip


def test_product_rules_fixed_own_percent_excluded():
    lines = [
        rules.LineIn(sku="LATTE", quantity=D("2"), price=D("250.00")),  # level 5 %
        rules.LineIn(sku="BEANS", quantity=D("1"), price=D("1000.00"), accrual_rule="percent", accrual_value=D("10")),
        rules.LineIn(sku="CAKE", quantity=D("3"), price=D("100.00"), accrual_rule="fixed", accrual_value=D("7.5")),
        rules.LineIn(sku="TOBACCO", quantity=D("1"), price=D("200.00"), accrual_rule="excluded",
                     excluded_from_redemption=True),
    ]  # fmt: skip
    p = rules.price_check(amount=None, lines=lines, terms=BONUS, balance=D("0"), redeem=None)
    assert p.amount == D("2000.00")
    assert [o.points for o in p.lines] == [D("25.00"), D("100.00"), D("22.50"), D("0.00")]
    assert p.points_to_accrue == D("147.50")
    # points may pay only for the lines not excluded: 30 % of 1800.00
    p = rules.price_check(amount=None, lines=lines, terms=BONUS, balance=D("1000"), redeem="max")
    assert p.max_redeemable == D("540.00")
    assert p.lines[3].points_redeemed == D("0.00")
    assert sum(o.points_redeemed for o in p.lines) == D("540.00")


def test_amount_below_the_items_is_refused_and_above_is_an_extra_line():
    line = rules.LineIn(sku="A", quantity=D("1"), price=D("100.00"))
    with pytest.raises(ValidationFailed) as err:
        rules.price_check(amount=D("99.99"), lines=[line], terms=BONUS, balance=D("0"), redeem=None)
    assert err.value.field == "amount"
    p = rules.price_check(amount=D("150.00"), lines=[line], terms=BONUS, balance=D("0"), redeem=None)
    assert [o.total for o in p.lines] == [D("100.00"), D("50.00")]


@pytest.mark.parametrize("bad", ["-1", "0", "abc", "1.001", "NaN", "Infinity", 1.5])
def test_parse_amount_refuses_bad_input(bad):
    with pytest.raises(ValidationFailed) as err:
        rules.parse_amount(bad, field="amount")
    assert err.value.field == "amount"


def test_refund_shares_add_up_to_the_whole_in_any_parts():
    kw = {"purchase_amount": D("1000.00"), "points_redeemed": D("100.00"), "points_accrued": D("45.01"),
          "payable": D("900.00")}  # fmt: skip
    returned = taken = pay = refunded = D("0")
    for part in [D("333.33"), D("333.33"), D("333.34")]:
        s = rules.refund_shares(**kw, refunded_before=refunded, refund_amount=part, returned_before=returned,
                                taken_back_before=taken, payable_before=pay)  # fmt: skip
        returned += s.points_to_return
        taken += s.points_to_take_back
        pay += s.payable
        refunded += part
    assert (returned, taken, pay) == (D("100.00"), D("45.01"), D("900.00"))


def test_a_gift_mechanic_spends_its_value_and_accrues_nothing():
    terms = rules.Terms(kind="gift", redeem_max_percent=D("100"), accrual_percent=D("5"))
    p = rules.price_check(amount=D("1500.00"), lines=[], terms=terms, balance=D("1000.00"), redeem="max")
    assert (p.points_redeemed, p.payable, p.points_to_accrue) == (D("1000.00"), D("500.00"), D("0.00"))
