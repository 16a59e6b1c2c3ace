"""The public journey (D2, D3, D7): form → 4-digit SMS code → one card per phone and template."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from kopilka.cards.models import Card
from kopilka.enrollment import services
from kopilka.enrollment.models import BlacklistEntry, CardLink, Consent, PhoneVerification
from kopilka.messaging.models import SmsMessage
from tests.enrollment.conftest import last_code

pytestmark = pytest.mark.django_db
PHONE = "+79991234567"


def test_form_page_shows_the_forms_fields_and_consents(client, journey, reg_form, business) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/j/{journey.token}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert f"Карта {business.name}" in body  # the title's {{business_name}} is rendered
    assert 'name="first_name"' in body
    assert 'name="birth_date"' in body
    assert 'name="phone"' in body
    assert "Я принимаю пользовательское соглашение" in body
    assert "Согласен получать сообщения" in body


def test_registration_issues_one_verified_card_after_the_code(register, template, business) -> None:  # type: ignore[no-untyped-def]
    client, response = register(phone="8 (999) 123-45-67", consent_marketing="on")
    assert response.status_code == 302
    assert response["Location"].endswith("/code/")
    sms = SmsMessage.objects.get(phone=PHONE)
    assert sms.purpose == "verification"
    assert sms.business == business
    assert Card.objects.count() == 0  # nothing is issued before the code

    done = client.post(response["Location"], {"code": last_code(PHONE)})

    card = Card.objects.get()
    assert done.status_code == 302
    link = CardLink.objects.get(card=card)
    assert done["Location"] == f"/c/{link.token}/?new=1"
    assert card.status == Card.Status.ACTIVE
    assert card.verified_at is not None
    assert card.template == template
    assert card.customer.phone == PHONE
    assert card.customer.first_name == "Анна"
    assert card.balance == 100  # welcome points of the mechanic: issued by loyalty.issue_card
    consents = {c.kind: c for c in Consent.objects.filter(customer=card.customer)}
    assert set(consents) == {"terms", "marketing"}
    assert consents["terms"].text == "Я принимаю пользовательское соглашение"
    assert consents["terms"].ip == "127.0.0.1"
    page = client.get(done["Location"])
    assert page.status_code == 200
    assert card.number in page.content.decode()
    assert card.referral_code in page.content.decode()


def test_the_same_phone_gets_the_same_card_back(register) -> None:  # type: ignore[no-untyped-def]
    client, response = register()
    client.post(response["Location"], {"code": last_code(PHONE)})
    first = Card.objects.get()

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        again_client, again = register()
        done = again_client.post(again["Location"], {"code": last_code(PHONE)})

    assert Card.objects.count() == 1
    assert done["Location"] == f"/c/{CardLink.objects.get(card=first).token}/?again=1"


def test_terms_must_be_accepted(journey, reg_form, client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"/j/{journey.token}/", {"phone": PHONE, "first_name": "Анна"})

    assert response.status_code == 422
    assert SmsMessage.objects.count() == 0


def test_required_field_is_required(journey, reg_form, client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"/j/{journey.token}/", {"phone": PHONE, "consent_terms": "on"})

    assert response.status_code == 422
    assert "first_name" in response.context["form"].errors


@pytest.mark.parametrize("template_wide", [True, False])
def test_blacklisted_phone_is_refused_politely(register, template, business, template_wide) -> None:  # type: ignore[no-untyped-def]
    BlacklistEntry.objects.create(business=business, phone=PHONE, template=template if template_wide else None)

    _client, response = register()

    assert response.status_code == 403
    assert "cannot issue a card" in response.content.decode() or "не можем" in response.content.decode()
    assert SmsMessage.objects.count() == 0
    assert Card.objects.count() == 0


def test_blacklist_of_another_template_does_not_refuse(register, template, business) -> None:  # type: ignore[no-untyped-def]
    from kopilka.cards.models import CardTemplate

    other = CardTemplate.objects.create(business=business, name="Другая", type="bonus")
    BlacklistEntry.objects.create(business=business, phone=PHONE, template=other)

    _client, response = register()

    assert response.status_code == 302


def test_five_wrong_codes_lock_the_code(register) -> None:  # type: ignore[no-untyped-def]
    client, response = register()
    right = last_code(PHONE)
    wrong = "0000" if right != "0000" else "1111"

    answers = [client.post(response["Location"], {"code": wrong}) for _ in range(5)]
    after = client.post(response["Location"], {"code": right})

    assert [a.status_code for a in answers] == [422, 422, 422, 422, 429]
    assert after.status_code == 429
    assert PhoneVerification.objects.get().attempts == 5
    assert Card.objects.count() == 0


def test_expired_code_is_refused(register) -> None:  # type: ignore[no-untyped-def]
    client, response = register()
    code = last_code(PHONE)

    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=5)):
        late = client.post(response["Location"], {"code": code})

    assert late.status_code == 422
    assert "expired" in late.content.decode() or "истек" in late.content.decode()
    assert Card.objects.count() == 0


def test_resend_too_early_is_refused_then_allowed(register, journey) -> None:  # type: ignore[no-untyped-def]
    client, _response = register()
    first = last_code(PHONE)

    early = client.post(f"/j/{journey.token}/resend/")
    assert early.status_code == 429
    assert SmsMessage.objects.count() == 1

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        later = client.post(f"/j/{journey.token}/resend/")
        assert later.status_code == 302
        assert SmsMessage.objects.count() == 2
        second = last_code(PHONE)
        done = client.post(f"/j/{journey.token}/code/", {"code": second})
    assert done.status_code == 302
    if first != second:
        assert PhoneVerification.objects.get().code_hash != ""


def test_a_new_form_submit_within_a_minute_is_refused(register) -> None:  # type: ignore[no-untyped-def]
    register()

    _client, again = register()

    assert again.status_code == 429
    assert SmsMessage.objects.count() == 1


def test_per_phone_limit(register) -> None:  # type: ignore[no-untyped-def]
    start = timezone.now()
    statuses = []
    for minute in range(services.CODES_PER_PHONE_PER_HOUR + 1):
        with time_machine.travel(start + timedelta(minutes=2 * minute)):
            statuses.append(register()[1].status_code)

    assert statuses == [302] * services.CODES_PER_PHONE_PER_HOUR + [429]
    assert SmsMessage.objects.count() == services.CODES_PER_PHONE_PER_HOUR


def test_per_ip_limit(register, settings) -> None:  # type: ignore[no-untyped-def]
    statuses = [register(phone=f"+7999123{n:04d}")[1].status_code for n in range(services.CODES_PER_IP_PER_HOUR + 1)]

    assert statuses == [302] * services.CODES_PER_IP_PER_HOUR + [429]


def test_code_page_without_a_pending_code_goes_back_to_the_form(client, journey) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/j/{journey.token}/code/")

    assert response.status_code == 302
    assert response["Location"] == f"/j/{journey.token}/"


def test_switched_off_template_closes_registration(client, journey, template) -> None:  # type: ignore[no-untyped-def]
    template.is_active = False
    template.save()

    assert client.get(f"/j/{journey.token}/").status_code == 410


def test_unknown_token_is_not_found(client, db) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/j/no-such-token/").status_code == 404
    assert client.get("/c/no-such-token/").status_code == 404
