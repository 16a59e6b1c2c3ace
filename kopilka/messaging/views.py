"""Integrations → SMS: the messages the platform sent (with the console provider, the dev outbox)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kopilka.core.access import section_required
from kopilka.messaging import selectors
from kopilka.messaging.providers import get_provider


@section_required("integrations")
@require_GET
def sms_outbox(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    return render(
        request,
        "messaging/sms_outbox.html",
        {"messages_sent": selectors.sms_outbox(business)[:200], "provider": get_provider().name},
    )
