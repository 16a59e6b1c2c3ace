"""Касса, steps 1–2: find a card, price the check, confirm it — over the test client.

Mechanic of the fixtures: 5 % accrual on what is paid with money, points pay up to 30 % of the check.
The card starts with 500.00 points.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from kopilka.cards.models import Card
from kopilka.customers.models import Customer
from kopilka.loyalty import services
from kopilka.loyalty.models import LedgerEntry, Purchase
from tests.cashier.conftest import PHONE
from tests.conftest import owner_of

pytestmark = pytest.mark.django_db
D = Decimal


def _find(client, q):  # type: ignore[no-untyped-def]
    return client.get(reverse("cashier:find_card"), {"q": q})


def _check(card, **data):  # type: ignore[no-untyped-def]
    return {"receipt_id": "R-1", "idempotency_key": "k-1", "amount": "", "redeem_points": "", "coupons": "", **data}


def _written(card: Card) -> tuple[int, int]:
    return LedgerEntry.objects.filter(card=card).count(), Purchase.objects.filter(card=card).count()


# --- 1. Find a card -----------------------------------------------------------------------------


def test_the_page_opens_for_the_cashier_and_shows_in_the_sidebar(cashier_client) -> None:  # type: ignore[no-untyped-def]
    response = cashier_client.get(reverse("cashier:page"))

    assert response.status_code == 200
    assert 'data-testid="cashier"' in response.content.decode()
    assert 'data-testid="nav-cashier:page"' in response.content.decode()


@pytest.mark.parametrize("query", ["number", "barcode", "phone", "phone-formatted"])
def test_a_card_is_found_by_number_barcode_payload_or_phone(cashier_client, card, query) -> None:  # type: ignore[no-untyped-def]
    Card.objects.filter(pk=card.pk).update(barcode_payload="QR:" + card.number)
    q = {"number": card.number, "barcode": "QR:" + card.number, "phone": PHONE, "phone-formatted": "8 (999) 555-01-01"}[
        query
    ]

    response = _find(cashier_client, q)

    assert response.status_code == 200
    assert response.context["card"].pk == card.pk
    body = response.content.decode()
    assert f'data-card="{card.number}"' in body
    assert 'data-value="500.00"' in body  # the balance


def test_the_cashier_sees_the_customer_masked(cashier_client, card) -> None:  # type: ignore[no-untyped-def]
    body = _find(cashier_client, card.number).content.decode()

    assert "+7999***0101" in body
    assert "А***" in body
    assert PHONE not in body
    assert "Анна" not in body


def test_the_owner_sees_the_customer_in_full(owner_client, card) -> None:  # type: ignore[no-untyped-def]
    body = _find(owner_client, card.number).content.decode()

    assert PHONE in body
    assert "Анна" in body


def test_level_terms_stamps_and_coupons_are_shown(cashier_client, card) -> None:  # type: ignore[no-untyped-def]
    from kopilka.loyalty.models import Coupon, CouponGroup

    group = CouponGroup.objects.create(
        business=card.business, name="Welcome", title="Кофе в подарок", reward="percent", value=D("10")
    )
    Coupon.objects.create(business=card.business, group=group, code="WELCOME-5F2K", card=card)

    response = _find(cashier_client, card.number)

    body = response.content.decode()
    assert "WELCOME-5F2K" in body
    assert "Кофе в подарок" in body
    terms = response.context["terms"]
    assert (terms.accrual_percent, terms.redeem_max_percent, terms.discount_percent) == (D("5"), D("30"), D("0"))


def test_an_unknown_card_is_not_found_with_the_api_message(cashier_client, card) -> None:  # type: ignore[no-untyped-def]
    response = _find(cashier_client, "00000000")

    assert response.status_code == 404
    assert 'data-code="card_not_found"' in response.content.decode()


def test_another_business_card_number_is_not_found(cashier_client, card, other_business) -> None:  # type: ignore[no-untyped-def]
    other_template = card.template.__class__.objects.create(business=other_business, name="Чужая", type="bonus")
    foreign = services.issue_card(business=other_business, template=other_template, phone="+79995559999")

    by_number = _find(cashier_client, foreign.number)
    by_phone = _find(cashier_client, "+79995559999")
    panel = cashier_client.get(reverse("cashier:card", args=[foreign.pk]))
    quote = cashier_client.post(reverse("cashier:quote", args=[foreign.pk]), _check(foreign, amount="100"))

    assert by_number.status_code == 404
    assert 'data-code="card_not_found"' in by_number.content.decode()
    assert by_phone.status_code == 404
    assert panel.status_code == 404
    assert quote.status_code == 404


def test_an_empty_query_asks_for_the_number(cashier_client) -> None:  # type: ignore[no-untyped-def]
    response = _find(cashier_client, "  ")

    assert response.status_code == 200
    assert 'data-testid="cashier-hint"' in response.content.decode()


# --- 2. The check -------------------------------------------------------------------------------


def test_quote_shows_discount_max_redeemable_accrual_and_payable_and_writes_nothing(cashier_client, card) -> None:  # type: ignore[no-untyped-def]
    before = _written(card)

    response = cashier_client.post(
        reverse("cashier:quote", args=[card.pk]), _check(card, amount="1000", redeem_points="max")
    )

    assert response.status_code == 200
    quote = response.context["quote"]
    # 30 % of 1000 = 300 ≤ 500 points; payable 700; 5 % of 700 = 35.
    assert (quote.amount, quote.discount, quote.max_redeemable) == (D("1000.00"), D("0.00"), D("300.00"))
    assert (quote.points_redeemed, quote.payable, quote.points_to_accrue) == (D("300.00"), D("700.00"), D("35.00"))
    assert 'data-testid="quote-payable" data-value="700.00"' in response.content.decode()
    assert _written(card) == before


def test_quote_of_items_from_the_catalogue(cashier_client, card, products) -> None:  # type: ignore[no-untyped-def]
    response = cashier_client.post(
        reverse("cashier:quote", args=[card.pk]),
        {**_check(card), "item_sku": ["LATTE", "CROISSANT"], "item_quantity": ["2", "1"], "redeem_points": "100"},
    )

    quote = response.context["quote"]
    # 2 × 250 + 180 = 680; 100 points; payable 580; 5 % = 29.
    assert (quote.amount, quote.points_redeemed, quote.payable, quote.points_to_accrue) == (
        D("680.00"), D("100.00"), D("580.00"), D("29.00"),
    )  # fmt: skip


def test_products_are_found_by_name_sku_and_barcode(cashier_client, products) -> None:  # type: ignore[no-untyped-def]
    def skus(q: str) -> list[str]:
        return [p["sku"] for p in cashier_client.get(reverse("cashier:products"), {"q": q}).json()["products"]]

    assert skus("4600000000028") == ["CROISSANT"]
    assert skus("latte") == ["LATTE"]
    assert skus("Круа") == ["CROISSANT"]
    assert skus("nothing") == []


def test_confirm_with_redemption_leaves_the_exact_balance_and_records_the_point_of_sale(  # type: ignore[no-untyped-def]
    cashier_client, cashier, card, pos
) -> None:
    response = cashier_client.post(
        reverse("cashier:confirm", args=[card.pk]), _check(card, amount="1000", redeem_points="300")
    )

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#cashier-card"
    purchase = Purchase.objects.get(card=card)
    assert (purchase.points_redeemed, purchase.points_accrued, purchase.payable) == (
        D("300.00"),
        D("35.00"),
        D("700.00"),
    )
    assert purchase.point_of_sale == pos
    assert purchase.actor == cashier.user
    assert purchase.receipt_id == "R-1"
    card.refresh_from_db()
    assert card.balance == D("235.00")  # 500 − 300 + 35
    assert 'data-testid="card-balance" data-value="235.00"' in response.content.decode()


def test_a_double_click_does_not_charge_twice(cashier_client, card) -> None:  # type: ignore[no-untyped-def]
    url = reverse("cashier:confirm", args=[card.pk])
    data = _check(card, amount="1000", redeem_points="max")

    first = cashier_client.post(url, data)
    second = cashier_client.post(url, data)

    assert first.status_code == second.status_code == 200
    assert Purchase.objects.filter(card=card).count() == 1
    card.refresh_from_db()
    assert card.balance == D("235.00")


def test_each_check_gets_a_fresh_receipt_id_and_key(cashier_client, card) -> None:  # type: ignore[no-untyped-def]
    one = _find(cashier_client, card.number).context
    two = cashier_client.get(reverse("cashier:card", args=[card.pk])).context

    assert one["receipt_id"] != two["receipt_id"]
    assert one["idempotency_key"] != two["idempotency_key"]


def test_a_cashier_bound_to_a_point_of_sale_cannot_record_another(cashier_client, card, pos) -> None:  # type: ignore[no-untyped-def]
    from kopilka.accounts.models import PointOfSale

    other = PointOfSale.objects.create(business=card.business, code="other", name="Other")

    cashier_client.post(reverse("cashier:confirm", args=[card.pk]), _check(card, amount="100", point_of_sale=other.pk))

    assert Purchase.objects.get(card=card).point_of_sale == pos


def test_an_unbound_member_picks_the_point_of_sale(owner_client, card, pos) -> None:  # type: ignore[no-untyped-def]
    url = reverse("cashier:confirm", args=[card.pk])

    missing = owner_client.post(url, _check(card, amount="100"))
    picked = owner_client.post(url, _check(card, amount="100", point_of_sale=pos.pk))

    assert missing.status_code == 422
    assert 'data-code="validation_error"' in missing.content.decode()
    assert picked.status_code == 200
    assert Purchase.objects.get(card=card).point_of_sale == pos
    assert Purchase.objects.get(card=card).actor == owner_of(card.business)


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"amount": "1000", "redeem_points": "600"}, 409, "insufficient_points"),
        ({"amount": "1000", "redeem_points": "400"}, 422, "validation_error"),  # above the 30 % cap
        ({"amount": "abc"}, 422, "validation_error"),
        ({"amount": "-5"}, 422, "validation_error"),
        ({"amount": "1e400"}, 422, "validation_error"),
        ({"amount": ""}, 422, "validation_error"),
        ({"amount": "100", "coupons": "NOPE"}, 422, "validation_error"),
        ({"item_sku": "LATTE", "item_quantity": "-1"}, 422, "validation_error"),
        ({"item_sku": "UNKNOWN", "item_quantity": "1"}, 422, "validation_error"),
        ({"amount": "100", "receipt_id": ""}, 422, "validation_error"),
    ],
)
def test_bad_checks_get_the_api_error_and_write_nothing(cashier_client, card, products, data, status, code) -> None:  # type: ignore[no-untyped-def]
    before = _written(card)

    response = cashier_client.post(reverse("cashier:confirm", args=[card.pk]), _check(card, **data))

    assert response.status_code == status
    assert f'data-code="{code}"' in response.content.decode()
    assert response["HX-Retarget"] == "#confirm-result"
    assert _written(card) == before
    card.refresh_from_db()
    assert card.balance == D("500.00")


def test_the_insufficient_points_message_is_the_api_message(cashier_client, card) -> None:  # type: ignore[no-untyped-def]
    response = cashier_client.post(
        reverse("cashier:confirm", args=[card.pk]), _check(card, amount="1000", redeem_points="600")
    )

    assert "500.00" in response.content.decode()  # "The card has 500.00 points available."


def test_a_blocked_card_cannot_buy(cashier_client, card) -> None:  # type: ignore[no-untyped-def]
    Card.objects.filter(pk=card.pk).update(status=Card.Status.BLOCKED)
    before = _written(card)

    panel = _find(cashier_client, card.number)
    response = cashier_client.post(reverse("cashier:confirm", args=[card.pk]), _check(card, amount="100"))

    assert 'data-testid="card-unusable"' in panel.content.decode()
    assert response.status_code == 409
    assert 'data-code="card_blocked"' in response.content.decode()
    assert _written(card) == before


def test_a_receipt_id_reused_with_other_data_is_a_conflict(cashier_client, card) -> None:  # type: ignore[no-untyped-def]
    url = reverse("cashier:confirm", args=[card.pk])
    cashier_client.post(url, _check(card, amount="100"))

    response = cashier_client.post(url, _check(card, amount="200"))

    assert response.status_code == 409
    assert 'data-code="idempotency_conflict"' in response.content.decode()
    assert Purchase.objects.filter(card=card).count() == 1


def test_nul_characters_and_huge_input_are_refused_cleanly(cashier_client, card) -> None:  # type: ignore[no-untyped-def]
    url = reverse("cashier:confirm", args=[card.pk])
    cashier_client.raise_request_exception = False

    responses = [
        _find(cashier_client, "\x00"),
        cashier_client.get(reverse("cashier:products"), {"q": "\x00"}),
        cashier_client.get(reverse("cashier:purchases"), {"q": "\x00"}),
        cashier_client.post(url, _check(card, amount="1\x00", receipt_id="\x00", coupons="\x00")),
        cashier_client.post(url, {**_check(card), "item_sku": ["LATTE"] * 500, "item_quantity": ["1"] * 500}),
    ]

    assert [r.status_code < 500 for r in responses] == [True] * 5
    assert Customer.objects.filter(business=card.business).count() == 1
