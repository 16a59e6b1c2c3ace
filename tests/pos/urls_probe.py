"""A probe API built with the production machinery, with one write route, for infrastructure tests."""

from __future__ import annotations

import json
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from ninja import Router, Schema

from kopilka.core import audit
from kopilka.pos.api import build_api, marked_urls
from kopilka.pos.auth import api_key
from kopilka.pos.idempotency import idempotent
from kopilka.pos.problems import ApiError
from kopilka.pos.schemas import InputSchema, problems


class ProbeIn(InputSchema):
    amount: Decimal
    note: str = ""


class ProbeOut(Schema):
    id: int
    amount: str


router = Router()


@router.post("/probe", response={201: ProbeOut, **problems(403, 409, 422)}, auth=api_key("purchases"), url_name="probe")
@idempotent
def probe(request: HttpRequest, payload: ProbeIn) -> HttpResponse:
    entry = audit.record(business=request.business, actor=None, action="probe", reason=payload.note)  # type: ignore[attr-defined]
    if payload.note == "fail":
        raise ApiError(409, "insufficient_points", "no points")
    if payload.note == "answer-error":
        return HttpResponse(b"{}", status=409, content_type="application/problem+json")
    body = {"id": entry.pk, "amount": f"{payload.amount:.2f}"}
    return HttpResponse(json.dumps(body), status=201, content_type="application/json")


probe_api = build_api(("", router), namespace="probe")
probe_urls = (marked_urls(probe_api), "probe")

urlpatterns = [path("api/v1/", include(probe_urls, namespace="probe"))]
