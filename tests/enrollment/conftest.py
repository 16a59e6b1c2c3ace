"""Fixtures of enrollment tests: a card template with its public link, and a clean rate-limit cache."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core.cache import cache
from django.test import Client

from kopilka.cards.models import CardTemplate
from kopilka.enrollment import selectors
from kopilka.enrollment.models import RegistrationForm, TemplateJourney
from kopilka.loyalty.models import Mechanic
from kopilka.messaging.models import SmsMessage


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    cache.clear()


@pytest.fixture
def template(business) -> CardTemplate:  # type: ignore[no-untyped-def]
    mechanic = Mechanic.objects.create(business=business, name="Бонусы", kind="bonus", welcome_points=100)
    return CardTemplate.objects.create(business=business, name="Бонусная карта", type="bonus", mechanic=mechanic)


@pytest.fixture
def reg_form(business, template) -> RegistrationForm:  # type: ignore[no-untyped-def]
    return RegistrationForm.objects.create(
        business=business,
        template=template,
        name="Основная",
        title="Карта {{business_name}}",
        fields=[{"key": "first_name", "required": True}, {"key": "birth_date", "required": False}],
        terms_text="Я принимаю пользовательское соглашение",
        marketing_text="Согласен получать сообщения",
    )


@pytest.fixture
def journey(template) -> TemplateJourney:  # type: ignore[no-untyped-def]
    return selectors.journey_of(template)


def last_code(phone: str) -> str:
    message = SmsMessage.objects.filter(phone=phone, purpose="verification").order_by("-id").first()
    assert message is not None, f"no SMS to {phone}"
    found = re.search(r"\b(\d{4})\b", message.text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def register(journey, reg_form) -> Callable[..., tuple[Client, object]]:  # type: ignore[no-untyped-def]
    """Fill the form (phone + name + consent) over the test client; returns the client and the response."""

    def go(
        phone: str = "+79991234567", client: Client | None = None, query: str = "", **extra: str
    ) -> tuple[Client, object]:
        client = client or Client()
        url = f"/j/{journey.token}/"
        client.get(url + query)
        data = {"phone": phone, "first_name": "Анна", "consent_terms": "on", **extra}
        return client, client.post(url, data)

    return go
