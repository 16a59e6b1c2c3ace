"""send_sms through the console provider (the dev outbox) and SMS.ru over HTTP (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx
from django.core.exceptions import ImproperlyConfigured

from kopilka.messaging import selectors
from kopilka.messaging.models import SmsMessage
from kopilka.messaging.providers import ConsoleProvider, SmsRuProvider, get_provider
from kopilka.messaging.services import send_sms

pytestmark = pytest.mark.django_db
SMSRU = "https://sms.ru/sms/send"


@pytest.fixture
def smsru(settings):  # type: ignore[no-untyped-def]
    settings.KOPILKA_SMS_PROVIDER = "smsru"
    settings.KOPILKA_SMSRU_API_ID = "test-api-id"
    with respx.mock(assert_all_called=True) as mock:
        yield mock


def test_console_is_the_default_and_keeps_the_message(business) -> None:  # type: ignore[no-untyped-def]
    message = send_sms(business=business, phone="+79991234567", text="Код: 1234", purpose="card_verification")

    stored = SmsMessage.objects.get()
    assert stored == message
    assert (stored.status, stored.provider, stored.phone, stored.text) == ("sent", "console", "+79991234567", "Код: 1234")
    assert stored.provider_message_id.startswith("console-")
    assert stored.sent_at is not None
    assert selectors.last_sms_to(business, "+79991234567") == stored


def test_smsru_success(business, smsru) -> None:  # type: ignore[no-untyped-def]
    route = smsru.post(SMSRU).mock(
        return_value=httpx.Response(200, json={
            "status": "OK", "status_code": 100, "balance": 4122.56,
            "sms": {"79991234567": {"status": "OK", "status_code": 100, "sms_id": "000000-10000000"}},
        })
    )  # fmt: skip

    message = send_sms(business=business, phone="+7 (999) 123-45-67", text="Код: 1234", purpose="card_verification")

    assert (message.status, message.provider, message.provider_message_id, message.error) == (
        "sent", "smsru", "000000-10000000", ""
    )  # fmt: skip
    sent = route.calls.last.request
    form = dict(httpx.QueryParams(sent.content.decode()))
    assert form == {"api_id": "test-api-id", "to": "79991234567", "msg": "Код: 1234", "json": "1"}


def test_smsru_per_number_error(business, smsru) -> None:  # type: ignore[no-untyped-def]
    smsru.post(SMSRU).mock(
        return_value=httpx.Response(200, json={
            "status": "OK", "status_code": 100,
            "sms": {"79991234567": {"status": "ERROR", "status_code": 207, "status_text": "На этот номер нельзя отправлять сообщения"}},
        })
    )  # fmt: skip

    message = send_sms(business=business, phone="+79991234567", text="x", purpose="test")

    assert message.status == "failed"
    assert message.error == "SMS.ru 207: На этот номер нельзя отправлять сообщения"
    assert message.sent_at is None


def test_smsru_request_error(business, smsru) -> None:  # type: ignore[no-untyped-def]
    smsru.post(SMSRU).mock(
        return_value=httpx.Response(200, json={"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"})
    )

    message = send_sms(business=business, phone="+79991234567", text="x", purpose="test")

    assert (message.status, message.error) == ("failed", "SMS.ru 200: Неправильный api_id")


def test_smsru_http_500(business, smsru) -> None:  # type: ignore[no-untyped-def]
    smsru.post(SMSRU).mock(return_value=httpx.Response(500, text="oops"))

    message = send_sms(business=business, phone="+79991234567", text="x", purpose="test")

    assert (message.status, message.error) == ("failed", "SMS.ru: HTTP 500")


def test_smsru_timeout(business, smsru) -> None:  # type: ignore[no-untyped-def]
    smsru.post(SMSRU).mock(side_effect=httpx.ConnectTimeout("timed out"))

    message = send_sms(business=business, phone="+79991234567", text="x", purpose="test")

    assert (message.status, message.error) == ("failed", "SMS.ru: timeout")
    assert SmsMessage.objects.get().status == "failed"


def test_smsru_garbage_answer(business, smsru) -> None:  # type: ignore[no-untyped-def]
    smsru.post(SMSRU).mock(return_value=httpx.Response(200, text="<html>"))

    message = send_sms(business=business, phone="+79991234567", text="x", purpose="test")

    assert (message.status, message.error) == ("failed", "SMS.ru: the answer is not JSON")


def test_a_crashing_provider_never_reaches_the_caller(business) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        name = "broken"

        def send(self, phone: str, text: str):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    message = send_sms(business=business, phone="+79991234567", text="x", purpose="test", provider=Broken())

    assert (message.status, message.error) == ("failed", "RuntimeError: boom")


def test_provider_choice(settings) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(get_provider(), ConsoleProvider)
    settings.KOPILKA_SMS_PROVIDER = "smsru"
    settings.KOPILKA_SMSRU_API_ID = "abc"
    assert isinstance(get_provider(), SmsRuProvider)
    settings.KOPILKA_SMSRU_API_ID = ""
    with pytest.raises(ImproperlyConfigured):
        get_provider()
    settings.KOPILKA_SMS_PROVIDER = "pigeon"
    with pytest.raises(ImproperlyConfigured):
        get_provider()


def test_dev_outbox_page_shows_only_this_business(owner_client, business, other_business) -> None:  # type: ignore[no-untyped-def]
    from django.urls import reverse

    send_sms(business=business, phone="+79991234567", text="Код: 4321", purpose="card_verification")
    send_sms(business=other_business, phone="+79990000000", text="Чужой код 9999", purpose="card_verification")

    response = owner_client.get(reverse("messaging:sms_outbox"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Код: 4321" in body
    assert "9999" not in body


def test_cashier_cannot_open_the_outbox(business, make_member) -> None:  # type: ignore[no-untyped-def]
    from django.urls import reverse

    from tests.conftest import client_for

    cashier = client_for(make_member(business, "cashier").user)

    assert cashier.get(reverse("messaging:sms_outbox")).status_code == 403
