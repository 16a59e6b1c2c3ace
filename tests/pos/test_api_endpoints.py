"""Black-box tests of shared/spec/pos-api.md over HTTP: every endpoint and its error codes."""

from __future__ import annotations

import importlib.util
import json
import re
from decimal import Decimal

import pytest
from django.test import Client

from kopilka.accounts.models import PointOfSale
from kopilka.cards.models import Card, CardTemplate
from kopilka.core.models import OutboxEvent
from kopilka.loyalty import selectors as loyalty_selectors
from kopilka.loyalty import services as loyalty
from kopilka.loyalty.models import LedgerEntry, Level, Mechanic, Product, Purchase
from tests.pos.conftest import bearer

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def template(business) -> CardTemplate:  # type: ignore[no-untyped-def]
    mechanic = Mechanic.objects.create(
        business=business, name="Бонусная", kind=Mechanic.Kind.BONUS, accrual_percent=D("5"), redeem_max_percent=D("30")
    )
    Level.objects.create(mechanic=mechanic, name="Bronze", threshold=D("0"), accrual_percent=D("5"),
                         redeem_max_percent=D("30"), discount_percent=D("0"))  # fmt: skip
    return CardTemplate.objects.create(business=business, name="Бонусная", type="bonus", mechanic=mechanic)


@pytest.fixture
def card(business, template) -> Card:  # type: ignore[no-untyped-def]
    made = loyalty.issue_card(business=business, template=template, phone="+79991234567", first_name="Анна")
    loyalty.adjust_points(business=business, card=made, amount="350.00", reason="opening")
    made.refresh_from_db()
    return made


@pytest.fixture
def key(business, make_key) -> str:  # type: ignore[no-untyped-def]
    return make_key(business, permissions=["purchases", "refunds", "cards_issue", "points_adjust", "events"]).key


class Api:
    def __init__(self, key: str) -> None:
        self.client = Client()
        self.key = key

    def get(self, path: str):  # type: ignore[no-untyped-def]
        return self.client.get(f"/api/v1{path}", **bearer(self.key))

    def post(self, path: str, body: object, idem: str | None = None):  # type: ignore[no-untyped-def]
        extra = {"HTTP_IDEMPOTENCY_KEY": idem} if idem else {}
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.post(f"/api/v1{path}", data, content_type="application/json", **bearer(self.key), **extra)


@pytest.fixture
def api(key) -> Api:  # type: ignore[no-untyped-def]
    return Api(key)


def code_of(response) -> str:  # type: ignore[no-untyped-def]
    assert response["Content-Type"].startswith("application/problem+json"), response.content
    return json.loads(response.content)["code"]


def fields_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["field"] for e in json.loads(response.content)["errors"]]


# --- Reading ----------------------------------------------------------------------------------


def test_templates(api, template) -> None:  # type: ignore[no-untyped-def]
    response = api.get("/templates")

    assert response.status_code == 200
    assert response.json() == [{"id": template.pk, "name": "Бонусная", "type": "bonus"}]


def test_card_by_number(api, card, template) -> None:  # type: ignore[no-untyped-def]
    response = api.get(f"/cards/{card.number}")

    assert response.status_code == 200
    body = response.json()
    links = body.pop("links")
    assert body == {
        "number": card.number,
        "template": {"id": template.pk, "name": "Бонусная", "type": "bonus"},
        "status": "active",
        "customer": {"id": card.customer_id, "first_name": "Анна", "phone": "+7999***4567"},
        "balance": "350.00",
        "pending_points": "0.00",
        "level": {"name": "Bronze", "discount_percent": "0", "accrual_percent": "5", "redeem_max_percent": "30"},
        "stamps": None,
        "coupons": [],
    }
    assert set(links) == {"card_page", "apple_pass", "google_save"}
    assert links["apple_pass"] is None or links["apple_pass"].startswith("http")


def test_card_of_another_business_is_not_found(api, other_business) -> None:  # type: ignore[no-untyped-def]
    mechanic = Mechanic.objects.create(business=other_business, name="M", kind=Mechanic.Kind.BONUS)
    theirs_template = CardTemplate.objects.create(business=other_business, name="T", type="bonus", mechanic=mechanic)
    theirs = loyalty.issue_card(business=other_business, template=theirs_template, phone="+79990000001")

    response = api.get(f"/cards/{theirs.number}")

    assert response.status_code == 404
    assert code_of(response) == "card_not_found"
    assert code_of(api.get("/cards/000")) == "card_not_found"
    assert code_of(api.post("/cards/identify", {"card": theirs.number})) == "card_not_found"
    assert code_of(api.post("/cards/identify", {"phone": "+79990000001"})) == "card_not_found"


def test_identify_by_number_barcode_and_phone(api, card) -> None:  # type: ignore[no-untyped-def]
    Card.objects.filter(pk=card.pk).update(barcode_payload="BAR-CODE-1")

    by_number = api.post("/cards/identify", {"card": card.number})
    by_barcode = api.post("/cards/identify", {"card": "BAR-CODE-1"})
    by_phone = api.post("/cards/identify", {"phone": "+79991234567"})
    neither = api.post("/cards/identify", {})

    assert [r.status_code for r in (by_number, by_barcode, by_phone)] == [200, 200, 200]
    assert {r.json()["number"] for r in (by_number, by_barcode, by_phone)} == {card.number}
    assert neither.status_code == 422
    assert fields_of(neither) == ["card"]


# --- Calculate and confirm -----------------------------------------------------------------


def test_calculate_changes_nothing(api, card) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/purchases/calculate", {"card": card.number, "amount": "1250.00", "redeem_points": "100.00"})

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("amount", "discount", "points_redeemed", "points_to_accrue", "payable")} == {
        "amount": "1250.00", "discount": "0.00", "points_redeemed": "100.00", "points_to_accrue": "57.50",
        "payable": "1150.00",
    }  # fmt: skip
    assert body["max_redeemable"] == "350.00"  # 30 % of the check is 375, the balance is 350
    assert (body["coupons_applied"], body["stamps_to_add"]) == ([], 0)
    assert [(ln["price"], ln["payable"], ln["points"]) for ln in body["lines"]] == [("1250.00", "1150.00", "57.50")]
    assert not Purchase.objects.exists()


def test_calculate_by_phone_object_and_items(api, card) -> None:  # type: ignore[no-untyped-def]
    Product.objects.create(business=card.business, sku="LATTE", name="Латте", price=D("250.00"))

    response = api.post("/purchases/calculate", {
        "card": {"phone": "+79991234567"},
        "items": [{"sku": "LATTE", "name": "Латте", "quantity": "2", "price": "250.00"}],
        "redeem_points": "max",
    })  # fmt: skip

    assert response.status_code == 200
    body = response.json()
    assert (body["amount"], body["points_redeemed"], body["payable"]) == ("500.00", "150.00", "350.00")
    assert body["lines"][0]["sku"] == "LATTE"
    assert body["lines"][0]["quantity"] == "2"


def test_confirm_then_read_then_refund(api, card, business) -> None:  # type: ignore[no-untyped-def]
    pos = PointOfSale.objects.get(business=business)

    confirmed = api.post("/purchases", {
        "card": card.number, "point_of_sale": pos.code, "amount": "1250.00", "redeem_points": "100.00",
        "receipt_id": "R-1",
    }, idem="idem-1")  # fmt: skip

    assert confirmed.status_code == 201
    body = confirmed.json()
    assert re.fullmatch(r"pur_\w+", body["id"])
    assert {k: v for k, v in body.items() if k not in {"id", "created_at"}} == {
        "receipt_id": "R-1", "card": card.number, "point_of_sale": pos.code, "amount": "1250.00",
        "discount": "0.00", "points_redeemed": "100.00", "points_accrued": "57.50", "payable": "1150.00",
        "balance_after": "307.50", "stamps_added": 0, "status": "confirmed", "refunds": [],
    }  # fmt: skip
    purchase = Purchase.objects.get()
    assert purchase.point_of_sale == pos
    assert purchase.actor_label.startswith("api:Till 1 (kpk_")
    assert api.get(f"/purchases/{body['id']}").json() == body

    half = api.post(f"/purchases/{body['id']}/refunds", {"amount": "625.00"}, idem="refund-1")

    assert half.status_code == 201
    refund = half.json()
    assert (refund["purchase"], refund["amount"], refund["points_returned"], refund["points_taken_back"]) == (
        body["id"], "625.00", "50.00", "28.75"
    )  # fmt: skip
    card.refresh_from_db()
    assert card.balance == D("328.75")
    assert loyalty_selectors.ledger_sum(card) == card.balance
    assert [r["id"] for r in api.get(f"/purchases/{body['id']}").json()["refunds"]] == [refund["id"]]

    rest = api.post(f"/purchases/{body['id']}/refunds", {"amount": "625.00"})
    card.refresh_from_db()
    assert rest.status_code == 201
    assert card.balance == D("350.00")
    too_much = api.post(f"/purchases/{body['id']}/refunds", {"amount": "0.01"})
    assert too_much.status_code == 409
    assert code_of(too_much) == "refund_exceeds_purchase"


def test_confirm_idempotency(api, card) -> None:  # type: ignore[no-untyped-def]
    order = {"card": card.number, "amount": "100.00", "receipt_id": "R-7"}

    first = api.post("/purchases", order, idem="k-7")
    replay = api.post("/purchases", order, idem="k-7")
    other_body = api.post("/purchases", {**order, "amount": "200.00"}, idem="k-7")
    same_receipt = api.post("/purchases", {**order, "amount": "300.00"}, idem="k-8")

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.content == first.content
    assert (other_body.status_code, code_of(other_body)) == (409, "idempotency_conflict")
    assert (same_receipt.status_code, code_of(same_receipt)) == (409, "idempotency_conflict")
    assert Purchase.objects.count() == 1
    assert LedgerEntry.objects.filter(card=card, kind="accrual").count() == 1


def test_unknown_purchase_and_another_business_purchase(api, other_business, make_key) -> None:  # type: ignore[no-untyped-def]
    mechanic = Mechanic.objects.create(business=other_business, name="M", kind=Mechanic.Kind.BONUS)
    tpl = CardTemplate.objects.create(business=other_business, name="T", type="bonus", mechanic=mechanic)
    theirs = loyalty.issue_card(business=other_business, template=tpl, phone="+79990000002")
    their_purchase = loyalty.confirm_purchase(business=other_business, card=theirs, amount="10", receipt_id="X")

    for path in (f"/purchases/{their_purchase.public_id}", "/purchases/pur_nothing"):
        response = api.get(path)
        assert (response.status_code, code_of(response)) == (404, "purchase_not_found")
    refund = api.post(f"/purchases/{their_purchase.public_id}/refunds", {"amount": "1.00"})
    assert (refund.status_code, code_of(refund)) == (404, "purchase_not_found")


def test_blocked_card(api, card) -> None:  # type: ignore[no-untyped-def]
    Card.objects.filter(pk=card.pk).update(status=Card.Status.BLOCKED)

    response = api.post("/purchases", {"card": card.number, "amount": "100.00", "receipt_id": "R-1"})

    assert (response.status_code, code_of(response)) == (409, "card_blocked")
    assert not Purchase.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "abc", "receipt_id": "R"}, "amount"),
        ({"amount": 12.5, "receipt_id": "R"}, "amount"),
        ({"amount": "-5.00", "receipt_id": "R"}, "amount"),
        ({"amount": "10.00", "receipt_id": "R", "tip": "5"}, "tip"),
        ({"amount": "10.00"}, "receipt_id"),
        ({"items": [{"sku": "A", "quantity": "-1", "price": "10.00"}], "receipt_id": "R"}, "items"),
        ({"items": [{"sku": "A", "quantity": "1", "price": "ten"}], "receipt_id": "R"}, "items.0.price"),
        ({"amount": "1e400", "receipt_id": "R"}, "amount"),
        ({"amount": "10.00", "receipt_id": "R", "point_of_sale": "nowhere"}, "point_of_sale"),
    ],
)
def test_bad_purchases_are_422_and_write_nothing(api, card, body, field) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/purchases", {"card": card.number, **body})

    assert response.status_code == 422, response.content
    assert code_of(response) == "validation_error"
    assert any(f == field or f.startswith(field) for f in fields_of(response)), fields_of(response)
    assert not Purchase.objects.exists()


def test_bound_key_uses_its_point_of_sale(business, card, make_key) -> None:  # type: ignore[no-untyped-def]
    bound_pos = PointOfSale.objects.get(business=business)
    other_pos = PointOfSale.objects.create(business=business, code="second", name="Second")
    api = Api(make_key(business, point_of_sale=bound_pos).key)

    ok = api.post("/purchases", {"card": card.number, "amount": "10.00", "receipt_id": "R-1"})
    elsewhere = api.post("/purchases", {"card": card.number, "amount": "10.00", "receipt_id": "R-2",
                                        "point_of_sale": other_pos.code})  # fmt: skip

    assert ok.status_code == 201
    assert ok.json()["point_of_sale"] == bound_pos.code
    assert (elsewhere.status_code, code_of(elsewhere)) == (403, "forbidden")


def test_permissions_per_route(business, card, make_key) -> None:  # type: ignore[no-untyped-def]
    api = Api(make_key(business, permissions=[]).key)

    assert api.get(f"/cards/{card.number}").status_code == 200
    for path, body in [
        ("/purchases/calculate", {"card": card.number, "amount": "1"}),
        ("/purchases", {"card": card.number, "amount": "1", "receipt_id": "R"}),
        (f"/cards/{card.number}/points", {"amount": "5", "reason": "x"}),
        ("/events", {"card": card.number, "name": "visit"}),
        ("/cards", {"template": 1, "phone": "+79990001111"}),
    ]:
        response = api.post(path, body)
        assert (response.status_code, code_of(response)) == (403, "forbidden"), path


# --- Points, events, issuance -----------------------------------------------------------------


def test_points_adjustment(api, card) -> None:  # type: ignore[no-untyped-def]
    minus = api.post(f"/cards/{card.number}/points", {"amount": "-50.00", "reason": "Компенсация"})
    too_much = api.post(f"/cards/{card.number}/points", {"amount": "-1000.00", "reason": "x"})
    no_reason = api.post(f"/cards/{card.number}/points", {"amount": "5", "reason": ""})

    assert minus.status_code == 201
    body = minus.json()
    assert {k: body[k] for k in ("card", "kind", "amount", "balance_after", "reason")} == {
        "card": card.number, "kind": "manual", "amount": "-50.00", "balance_after": "300.00", "reason": "Компенсация",
    }  # fmt: skip
    assert (too_much.status_code, code_of(too_much)) == (409, "insufficient_points")
    assert (no_reason.status_code, fields_of(no_reason)) == (422, ["reason"])
    card.refresh_from_db()
    assert card.balance == D("300.00")


def test_custom_event(api, card) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/events", {"card": card.number, "name": "visit_booked", "properties": {"service": "стрижка"}})
    unknown = api.post("/events", {"card": "nope", "name": "visit_booked"})

    assert response.status_code == 202
    event = OutboxEvent.objects.get(name="custom.event")
    assert response.json() == {"id": f"evt_{event.pk}", "status": "accepted"}
    assert event.payload["name"] == "visit_booked"
    assert event.payload["properties"] == {"service": "стрижка"}
    assert (unknown.status_code, code_of(unknown)) == (404, "card_not_found")


needs_cashier = pytest.mark.skipif(
    importlib.util.find_spec("kopilka.cashier") is None, reason="the web cashier's issuance has not landed"
)


@needs_cashier
def test_issue_online_and_verify(api, template) -> None:  # type: ignore[no-untyped-def]
    from kopilka.messaging.models import SmsMessage

    issued = api.post("/cards", {"template": template.pk, "phone": "+79995550011", "fields": {"first_name": "Ира"},
                                 "mode": "online"})  # fmt: skip

    assert issued.status_code == 201, issued.content
    body = issued.json()
    assert (body["verification"], body["card"]["status"]) == ("sms_sent", "issued")
    text = SmsMessage.objects.get(phone="+79995550011").text
    code = re.search(r"\b(\d{4})\b", text).group(1)  # type: ignore[union-attr]
    wrong = "0000" if code != "0000" else "1111"
    bad = api.post(f"/cards/{body['card']['number']}/verify", {"code": wrong})
    assert bad.status_code == 422
    ok = api.post(f"/cards/{body['card']['number']}/verify", {"code": code})
    assert ok.status_code == 200
    assert ok.json()["status"] == "active"


@needs_cashier
def test_issue_offline_sends_a_link_and_unknown_template_is_422(api, template) -> None:  # type: ignore[no-untyped-def]
    from kopilka.messaging.models import SmsMessage

    issued = api.post("/cards", {"template": template.pk, "phone": "+79995550012", "mode": "offline"})
    unknown = api.post("/cards", {"template": 999999, "phone": "+79995550013"})

    assert issued.status_code == 201
    assert issued.json()["verification"] == "link_sent"
    assert "http" in SmsMessage.objects.get(phone="+79995550012").text
    assert (unknown.status_code, fields_of(unknown)) == (422, ["template"])


@needs_cashier
def test_five_wrong_codes_lock_verification(api, template) -> None:  # type: ignore[no-untyped-def]
    issued = api.post("/cards", {"template": template.pk, "phone": "+79995550014"}).json()
    number = issued["card"]["number"]
    from kopilka.messaging.models import SmsMessage

    code = re.search(r"\b(\d{4})\b", SmsMessage.objects.get(phone="+79995550014").text).group(1)  # type: ignore[union-attr]
    wrong = "0000" if code != "0000" else "1111"

    statuses = [api.post(f"/cards/{number}/verify", {"code": wrong}).status_code for _ in range(6)]
    locked = api.post(f"/cards/{number}/verify", {"code": code})

    assert statuses == [422, 422, 422, 422, 429, 429]
    assert (locked.status_code, code_of(locked)) == (429, "rate_limited")


def test_openapi_documents_every_route_and_its_problems(client) -> None:  # type: ignore[no-untyped-def]
    document = client.get("/api/v1/openapi.json").json()

    paths = document["paths"]
    assert set(paths) >= {
        "/api/v1/templates", "/api/v1/cards/{card_number}", "/api/v1/cards/identify", "/api/v1/purchases/calculate",
        "/api/v1/purchases", "/api/v1/purchases/{purchase_id}", "/api/v1/purchases/{purchase_id}/refunds",
        "/api/v1/cards/{card_number}/points", "/api/v1/events", "/api/v1/cards", "/api/v1/cards/{card_number}/verify",
    }  # fmt: skip
    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "413", "429"} <= codes, (method, path)
            if method == "post":
                assert "422" in codes, path
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (method, path, code)
