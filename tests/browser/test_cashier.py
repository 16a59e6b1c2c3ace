"""Касса in a real browser on a phone: the demo cashier logs in, finds a card by its number, confirms
a purchase with redemption, refunds half of it; the balance on screen is right at every step.

The expected figures are worked out here from the mechanic's rules (pos-api.md "Money rules"):
points pay up to ``redeem_max_percent`` of the check and never more than the balance; points accrue
at ``accrual_percent`` of what is paid with money, half-up to 0.01; a partial refund returns redeemed
points and takes back accrued points in proportion to the share of the check returned.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import override
from playwright.sync_api import BrowserContext, Page, expect

from kopilka.cards.models import CardTemplate
from kopilka.core import demo
from kopilka.loyalty import services
from kopilka.loyalty.models import Mechanic, Purchase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CENT = Decimal("0.01")
OPENING = Decimal("500.00")
CHECK = Decimal("1000.00")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _shown(value: Decimal) -> str:
    """How the page prints the amount in Russian (decimal comma)."""
    with override("ru"):
        return number_format(value.quantize(CENT, rounding=ROUND_HALF_UP), decimal_pos=2)


def _expect_balance(page: Page, scope: str, value: Decimal) -> None:
    balance = page.get_by_test_id(scope).get_by_test_id("card-balance")
    expect(balance).to_have_attribute("data-value", _money(value))
    expect(balance).to_have_text(_shown(value))


@pytest.fixture
def demo_card():  # type: ignore[no-untyped-def]
    seeded = demo.seed_accounts()
    business = seeded.business
    mechanic = Mechanic.objects.create(
        business=business, name="Бонусы 5 %", kind=Mechanic.Kind.BONUS, accrual_percent=Decimal("5"),
        redeem_max_percent=Decimal("30"),
    )  # fmt: skip
    template = CardTemplate.objects.create(business=business, name="Бонусная", type="bonus", mechanic=mechanic)
    card = services.issue_card(
        business=business, template=template, phone="+79991230001", first_name="Анна", opening_balance=str(OPENING)
    )
    return seeded, mechanic, card


def test_cashier_sells_with_points_and_refunds_half_on_a_phone(
    new_context: Callable[..., BrowserContext], demo_card, screenshot_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    seeded, mechanic, card = demo_card
    # What the rules give for this check.
    cap = (CHECK * mechanic.redeem_max_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    redeemed = min(cap, OPENING)
    payable = CHECK - redeemed
    accrued = (payable * mechanic.accrual_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    after_purchase = OPENING - redeemed + accrued
    half = CHECK / 2
    returned = (redeemed * half / CHECK).quantize(CENT, rounding=ROUND_HALF_UP)
    taken_back = (accrued * half / CHECK).quantize(CENT, rounding=ROUND_HALF_UP)
    after_refund = after_purchase + returned - taken_back
    assert (redeemed, accrued, after_purchase, after_refund) == (
        Decimal("300.00"), Decimal("35.00"), Decimal("235.00"), Decimal("367.50")
    )  # fmt: skip

    page = new_context(mobile=True).new_page()
    page.goto(reverse("accounts:login"))
    page.locator("[name=username]").fill(demo.CASHIER_EMAIL)
    page.locator("[name=password]").fill(demo.CASHIER_PASSWORD)
    page.get_by_test_id("submit").click()
    page.goto(reverse("cashier:page"))
    expect(page.get_by_test_id("cashier-pos")).to_contain_text(seeded.points_of_sale[0].name)

    # 1. Find the card by its number.
    page.locator("#find-q").fill(card.number)
    page.get_by_test_id("find-submit").click()
    expect(page.get_by_test_id("card-number")).to_have_text(card.number)
    _expect_balance(page, "card-area", OPENING)
    expect(page.get_by_test_id("card-customer")).to_contain_text("+7999***0001")

    # 2. The check: the amount, the most points allowed, the quote.
    page.get_by_test_id("check-amount").fill("1000")
    page.get_by_test_id("redeem-max").click()
    expect(page.get_by_test_id("quote-max")).to_have_attribute("data-value", _money(redeemed))
    expect(page.get_by_test_id("quote-redeemed")).to_have_attribute("data-value", _money(redeemed))
    expect(page.get_by_test_id("quote-accrue")).to_have_attribute("data-value", _money(accrued))
    expect(page.get_by_test_id("quote-payable")).to_have_attribute("data-value", _money(payable))
    page.screenshot(path=str(screenshot_dir / "cashier-quote.png"), full_page=True)

    # Confirm — twice, as an impatient finger would: one purchase only.
    confirm = page.get_by_test_id("confirm")
    confirm.dblclick()
    expect(page.get_by_test_id("receipt")).to_be_visible()
    expect(page.get_by_test_id("receipt-redeemed")).to_have_attribute("data-value", _money(redeemed))
    expect(page.get_by_test_id("receipt-accrued")).to_have_attribute("data-value", _money(accrued))
    _expect_balance(page, "receipt", after_purchase)
    purchase = Purchase.objects.get(card=card)
    assert purchase.point_of_sale == seeded.points_of_sale[0]
    page.screenshot(path=str(screenshot_dir / "cashier-receipt.png"), full_page=True)

    # 3. Refund half of the check.
    page.get_by_test_id("refund-this").click()
    expect(page.get_by_test_id("refund")).to_be_visible()
    expect(page.get_by_test_id("purchase-left")).to_have_attribute("data-value", _money(CHECK))
    page.get_by_test_id("refund-amount").fill("500")
    page.get_by_test_id("refund-submit").click()
    expect(page.get_by_test_id("refunded")).to_be_visible()
    expect(page.get_by_test_id("refund-returned")).to_have_attribute("data-value", _money(returned))
    expect(page.get_by_test_id("refund-taken")).to_have_attribute("data-value", _money(taken_back))
    _expect_balance(page, "refunded", after_refund)
    page.screenshot(path=str(screenshot_dir / "cashier-refund.png"), full_page=True)

    # Back at the sale tab, the card shows the same balance.
    page.get_by_test_id("tab-sale").click()
    page.locator("#find-q").fill(card.number)
    page.get_by_test_id("find-submit").click()
    _expect_balance(page, "card-area", after_refund)
    card.refresh_from_db()
    assert card.balance == after_refund
    assert Purchase.objects.filter(card=card).count() == 1
