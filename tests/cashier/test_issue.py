"""Касса, step 4: issue a card at the till — online (a 4-digit SMS code read out) or offline (an SMS
with the registration link)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from kopilka.cards.models import Card
from kopilka.cashier.models import TillVerification
from kopilka.messaging.models import SmsMessage

pytestmark = pytest.mark.django_db
NEW_PHONE = "+79995550202"


def _issue(client, template, mode="online", phone=NEW_PHONE):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("cashier:issue"), {"template": template.pk, "phone": phone, "first_name": "Пётр", "mode": mode}
    )


def _code(phone: str = NEW_PHONE) -> str:
    text = SmsMessage.objects.filter(phone=phone, purpose="card_verification").latest("id").text
    return re.search(r"\b(\d{4})\b", text).group(1)  # type: ignore[union-attr]


def _verify(client, card, code):  # type: ignore[no-untyped-def]
    return client.post(reverse("cashier:verify", args=[card.pk]), {"code": code})


def test_online_issue_sends_a_code_and_the_right_code_activates_the_card(cashier_client, template) -> None:  # type: ignore[no-untyped-def]
    response = _issue(cashier_client, template)

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#issue-panel"
    card = Card.objects.get(customer__phone=NEW_PHONE)
    assert card.status == Card.Status.ISSUED
    assert card.customer.first_name == "Пётр"
    assert 'data-testid="verify"' in response.content.decode()
    assert "+7999***0202" in response.content.decode()
    code = _code()
    assert TillVerification.objects.get(card=card).code_hash != code  # only a hash is stored

    verified = _verify(cashier_client, card, code)

    assert verified.status_code == 200
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE
    assert 'data-testid="verified"' in verified.content.decode()


def test_a_wrong_code_is_counted_and_five_lock_the_verification(cashier_client, template) -> None:  # type: ignore[no-untyped-def]
    _issue(cashier_client, template)
    card = Card.objects.get(customer__phone=NEW_PHONE)
    right = _code()
    wrong = "0000" if right != "0000" else "1111"

    answers = [_verify(cashier_client, card, wrong) for _ in range(5)]
    after = _verify(cashier_client, card, right)
    resend = cashier_client.post(reverse("cashier:resend_code", args=[card.pk]))

    assert [a.status_code for a in answers] == [422, 422, 422, 422, 429]
    assert "4" in answers[0].content.decode()  # tries left
    assert after.status_code == 429
    assert resend.status_code == 429
    card.refresh_from_db()
    assert card.status == Card.Status.ISSUED
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert cashier_client.post(reverse("cashier:resend_code", args=[card.pk])).status_code == 200
        assert _verify(cashier_client, card, _code()).status_code == 200
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE


def test_a_code_expires_after_ten_minutes(cashier_client, template) -> None:  # type: ignore[no-untyped-def]
    _issue(cashier_client, template)
    card = Card.objects.get(customer__phone=NEW_PHONE)
    code = _code()

    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        response = _verify(cashier_client, card, code)

    assert response.status_code == 422
    card.refresh_from_db()
    assert card.status == Card.Status.ISSUED


def test_a_new_code_replaces_the_old_one(cashier_client, template) -> None:  # type: ignore[no-untyped-def]
    _issue(cashier_client, template)
    card = Card.objects.get(customer__phone=NEW_PHONE)
    old = _code()
    cashier_client.post(reverse("cashier:resend_code", args=[card.pk]))
    new = _code()

    if old != new:
        assert _verify(cashier_client, card, old).status_code == 422
    assert _verify(cashier_client, card, new).status_code == 200


def test_offline_issue_sends_the_registration_link(cashier_client, template) -> None:  # type: ignore[no-untyped-def]
    response = _issue(cashier_client, template, mode="offline")

    assert response.status_code == 200
    assert 'data-testid="issued-offline"' in response.content.decode()
    card = Card.objects.get(customer__phone=NEW_PHONE)
    assert card.status == Card.Status.ISSUED
    sms = SmsMessage.objects.get(phone=NEW_PHONE)
    assert sms.purpose == "card_registration"
    assert "http://testserver/j/" in sms.text


@pytest.mark.parametrize(
    ("data", "field_hint"),
    [
        ({"phone": "12"}, "phone"),
        ({"phone": "\x00"}, "phone"),
        ({"mode": "sideways"}, "mode"),
        ({"template": "999999"}, "template"),
        ({"template": "abc"}, "template"),
    ],
)
def test_bad_issue_input_writes_nothing(cashier_client, template, data, field_hint) -> None:  # type: ignore[no-untyped-def]
    cards = Card.objects.count()
    payload = {"template": template.pk, "phone": NEW_PHONE, "first_name": "Пётр", "mode": "online", **data}

    response = cashier_client.post(reverse("cashier:issue"), payload)

    assert response.status_code == 422
    assert 'data-code="validation_error"' in response.content.decode()
    assert Card.objects.count() == cards
    assert not SmsMessage.objects.exists()


def test_the_same_customer_cannot_get_a_second_card_of_the_template(cashier_client, template, card) -> None:  # type: ignore[no-untyped-def]
    response = _issue(cashier_client, template, phone=card.customer.phone)

    assert response.status_code == 422
    assert Card.objects.filter(customer=card.customer).count() == 1


def test_another_business_card_cannot_be_verified(cashier_client, template, other_business) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import client_for, owner_of

    _issue(cashier_client, template)
    card = Card.objects.get(customer__phone=NEW_PHONE)
    intruder = client_for(owner_of(other_business))

    assert _verify(intruder, card, _code()).status_code == 404
    assert intruder.post(reverse("cashier:resend_code", args=[card.pk])).status_code == 404
    card.refresh_from_db()
    assert card.status == Card.Status.ISSUED
