"""Schemathesis against /api/v1/openapi.json: generated requests never get a 5xx or an undocumented answer."""

from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from kopilka.cards.models import CardTemplate
from kopilka.loyalty import services as loyalty
from kopilka.loyalty.models import Level, Mechanic

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():  # type: ignore[no-untyped-def]
    """The raw WSGI app closes DB connections after each request; the test's transaction needs its own."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_headers(business, make_key) -> dict[str, str]:  # type: ignore[no-untyped-def]
    mechanic = Mechanic.objects.create(business=business, name="M", kind=Mechanic.Kind.BONUS)
    Level.objects.create(mechanic=mechanic, name="Base", threshold=Decimal("0"))
    template = CardTemplate.objects.create(business=business, name="T", type="bonus", mechanic=mechanic)
    card = loyalty.issue_card(business=business, template=template, phone="+79991234567")
    loyalty.adjust_points(business=business, card=card, amount="100", reason="fuzz")
    key = make_key(business, permissions=["purchases", "refunds", "cards_issue", "points_adjust", "events"]).key
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_only_documented_answers(case, api_headers, settings) -> None:  # type: ignore[no-untyped-def]
    settings.KOPILKA_API_RATE_LIMIT = 100_000
    case.call_and_validate(headers=api_headers, checks=CHECKS)
