"""Касса, step 3: find a past purchase and refund it (by amount or by items).

The card starts with 500.00; a check of 1000.00 redeems 300.00 (the 30 % cap) and accrues 35.00
(5 % of the 700.00 paid) → 235.00.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from kopilka.loyalty import services
from kopilka.loyalty.models import LedgerEntry, Purchase, Refund

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def purchase(business, card, pos) -> Purchase:  # type: ignore[no-untyped-def]
    made = services.confirm_purchase(
        business=business, card=card, amount="1000.00", redeem_points="300", point_of_sale=pos, receipt_id="R-100"
    )
    card.refresh_from_db()
    assert card.balance == D("235.00")
    return made


def _refund(client, purchase, **data):  # type: ignore[no-untyped-def]
    return client.post(reverse("cashier:refund", args=[purchase.pk]), {"idempotency_key": "rk-1", **data})


@pytest.mark.parametrize("how", ["receipt", "public_id", "card", "phone", "recent"])
def test_a_purchase_is_found_by_receipt_card_phone_or_in_the_recent_list(cashier_client, purchase, card, how) -> None:  # type: ignore[no-untyped-def]
    q = {
        "receipt": "R-100",
        "public_id": purchase.public_id,
        "card": card.number,
        "phone": "+79995550101",
        "recent": "",
    }[how]

    response = cashier_client.get(reverse("cashier:purchases"), {"q": q})

    assert response.status_code == 200
    assert [p.pk for p in response.context["purchases"]] == [purchase.pk]


def test_nothing_found_says_so(cashier_client, purchase) -> None:  # type: ignore[no-untyped-def]
    response = cashier_client.get(reverse("cashier:purchases"), {"q": "NO-SUCH-RECEIPT"})

    assert list(response.context["purchases"]) == []
    assert 'data-testid="purchase-none"' in response.content.decode()


def test_the_purchase_shows_what_is_left_to_refund(cashier_client, purchase) -> None:  # type: ignore[no-untyped-def]
    response = cashier_client.get(reverse("cashier:purchase", args=[purchase.pk]))

    assert response.status_code == 200
    assert 'data-testid="purchase-left" data-value="1000.00"' in response.content.decode()


def test_refunding_half_returns_and_takes_back_points_in_proportion(cashier_client, purchase, card) -> None:  # type: ignore[no-untyped-def]
    response = _refund(cashier_client, purchase, amount="500")

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#refund-panel"
    refund = Refund.objects.get(purchase=purchase)
    # Half the check: half of 300 redeemed comes back, half of 35 accrued is taken back.
    assert (refund.points_returned, refund.points_taken_back, refund.points_shortfall) == (
        D("150.00"),
        D("17.50"),
        D("0.00"),
    )
    card.refresh_from_db()
    assert card.balance == D("367.50")  # 235 + 150 − 17.50
    body = response.content.decode()
    assert 'data-testid="card-balance" data-value="367.50"' in body
    assert 'data-testid="refund-returned" data-value="150.00"' in body
    assert 'data-testid="refund-taken" data-value="17.50"' in body


def test_refunding_the_rest_restores_the_balance_before_the_purchase(cashier_client, purchase, card) -> None:  # type: ignore[no-untyped-def]
    _refund(cashier_client, purchase, amount="500")
    _refund(cashier_client, purchase, amount="500", idempotency_key="rk-2")

    card.refresh_from_db()
    purchase.refresh_from_db()
    assert card.balance == D("500.00")
    assert purchase.status == Purchase.Status.REFUNDED


def test_a_double_click_on_refund_refunds_once(cashier_client, purchase, card) -> None:  # type: ignore[no-untyped-def]
    _refund(cashier_client, purchase, amount="500")
    _refund(cashier_client, purchase, amount="500")

    assert Refund.objects.filter(purchase=purchase).count() == 1
    card.refresh_from_db()
    assert card.balance == D("367.50")


def test_spent_points_are_reported_as_a_shortfall(cashier_client, business, card, pos) -> None:  # type: ignore[no-untyped-def]
    bought = services.confirm_purchase(
        business=business, card=card, amount="1000.00", point_of_sale=pos, receipt_id="R-300"
    )
    card.refresh_from_db()
    assert card.balance == D("550.00")  # 500 + 5 % of 1000
    services.adjust_points(business=business, card=card, amount="-540.00", reason="spent elsewhere")

    response = _refund(cashier_client, bought, amount="1000")

    refund = Refund.objects.get(purchase=bought)
    # 50 accrued points are to be taken back; only 10 are left on the card.
    assert (refund.points_returned, refund.points_taken_back, refund.points_shortfall) == (
        D("0.00"),
        D("10.00"),
        D("40.00"),
    )
    card.refresh_from_db()
    assert card.balance == D("0.00")
    assert 'data-testid="refund-shortfall" data-value="40.00"' in response.content.decode()


def test_a_refund_by_items(cashier_client, business, card, pos, products) -> None:  # type: ignore[no-untyped-def]
    bought = services.confirm_purchase(
        business=business, card=card, items=[{"sku": "LATTE", "quantity": "2"}, {"sku": "CROISSANT", "quantity": "1"}],
        point_of_sale=pos, receipt_id="R-200",
    )  # fmt: skip
    card.refresh_from_db()
    assert card.balance == D("534.00")  # 500 + 5 % of 680

    response = cashier_client.post(
        reverse("cashier:refund", args=[bought.pk]),
        {"idempotency_key": "rk-9", "amount": "", "refund_sku": ["LATTE", "CROISSANT"], "refund_quantity": ["1", "0"]},
    )

    assert response.status_code == 200
    refund = Refund.objects.get(purchase=bought)
    assert refund.amount == D("250.00")
    assert refund.points_taken_back == D("12.50")  # 34 × 250 / 680
    card.refresh_from_db()
    assert card.balance == D("521.50")


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"amount": "1000.01"}, 409, "refund_exceeds_purchase"),
        ({"amount": "abc"}, 422, "validation_error"),
        ({"amount": "-1"}, 422, "validation_error"),
        ({"amount": "1e5"}, 422, "validation_error"),
        ({"amount": ""}, 422, "validation_error"),
        ({"refund_sku": "NOPE", "refund_quantity": "1"}, 422, "validation_error"),
    ],
)
def test_bad_refunds_get_the_api_error_and_write_nothing(cashier_client, purchase, card, data, status, code) -> None:  # type: ignore[no-untyped-def]
    entries = LedgerEntry.objects.filter(card=card).count()

    response = _refund(cashier_client, purchase, **data)

    assert response.status_code == status
    assert f'data-code="{code}"' in response.content.decode()
    assert response["HX-Retarget"] == "#refund-result"
    assert not Refund.objects.filter(purchase=purchase).exists()
    assert LedgerEntry.objects.filter(card=card).count() == entries
    card.refresh_from_db()
    assert card.balance == D("235.00")


def test_another_business_purchase_is_not_found(cashier_client, purchase, other_business) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import client_for, owner_of

    intruder = client_for(owner_of(other_business))

    assert intruder.get(reverse("cashier:purchase", args=[purchase.pk])).status_code == 404
    assert _refund(intruder, purchase, amount="500").status_code == 404
    assert list(intruder.get(reverse("cashier:purchases"), {"q": "R-100"}).context["purchases"]) == []
    assert not Refund.objects.exists()
