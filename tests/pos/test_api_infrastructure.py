"""Auth, errors, limits and documents of the POS API, over HTTP (a probe route for writes)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kopilka.core.models import AuditEntry
from kopilka.pos import services
from kopilka.pos.models import ApiKey
from tests.conftest import owner_of
from tests.pos.conftest import bearer

pytestmark = pytest.mark.django_db
probe_urls = pytest.mark.urls("tests.pos.urls_probe")
PROBE = "/api/v1/probe"


def post(client: Client, key: str, body: object, **extra: str):  # type: ignore[no-untyped-def]
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(PROBE, data, content_type="application/json", **bearer(key), **extra)


def problem(response) -> dict:  # type: ignore[no-untyped-def]
    assert response["Content-Type"] == "application/problem+json; charset=utf-8"
    return json.loads(response.content)


def test_missing_key_is_401_problem(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/me")

    assert response.status_code == 401
    body = problem(response)
    assert body["code"] == "unauthorized"
    assert body["status"] == 401
    assert body["type"] == "urn:kopilka:problem:unauthorized"
    assert set(body) == {"type", "title", "status", "code", "detail", "errors"}
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer kpk_wrong", "Bearer ", "Basic abc", "kpk_x", "Bearer " + "x" * 500])
def test_wrong_keys_are_401(client, header) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert problem(response)["code"] == "unauthorized"


def test_revoked_key_is_401(client, business, make_key) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)
    services.revoke_api_key(business=business, api_key=issued.api_key, actor=owner_of(business))

    response = client.get("/api/v1/me", **bearer(issued.key))

    assert response.status_code == 401


def test_a_signed_in_session_is_not_an_api_key(owner_client) -> None:  # type: ignore[no-untyped-def]
    assert owner_client.get("/api/v1/me").status_code == 401


def test_me_describes_the_key(client, business, make_key) -> None:  # type: ignore[no-untyped-def]
    pos = business.pointofsale_set.get() if hasattr(business, "pointofsale_set") else None
    from kopilka.accounts.models import PointOfSale

    pos = PointOfSale.objects.get(business=business)
    issued = make_key(business, point_of_sale=pos, permissions=["purchases", "refunds"])

    response = client.get("/api/v1/me", **bearer(issued.key))

    assert response.status_code == 200
    assert response.json() == {
        "name": "Till 1",
        "prefix": issued.key[:12],
        "business": {"slug": business.slug, "name": "Кофейня Альфа", "currency": "RUB"},
        "point_of_sale": {"id": pos.pk, "code": pos.code, "name": pos.name},
        "permissions": ["purchases", "refunds"],
    }
    assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at is not None


@probe_urls
def test_missing_permission_is_403(client, business, make_key) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business, permissions=["refunds"])

    response = post(client, issued.key, {"amount": "10.00"})

    assert response.status_code == 403
    assert problem(response)["code"] == "forbidden"
    assert not AuditEntry.objects.filter(action="probe").exists()


@probe_urls
def test_write_with_permission(client, business, make_key) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)

    response = post(client, issued.key, {"amount": "10.5"})

    assert response.status_code == 201
    entry = AuditEntry.objects.get(action="probe")
    assert response.json() == {"id": entry.pk, "amount": "10.50"}
    assert entry.business == business


@probe_urls
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"amount": ', "body"),
        ("not json at all", "body"),
        ({"amount": "ten"}, "amount"),
        ({"amount": "10", "surprise": 1}, "surprise"),
        ({}, "amount"),
        ({"amount": {"nested": True}}, "amount"),
    ],
)
def test_bad_input_is_422_with_the_field(client, business, make_key, body, field) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)

    response = post(client, issued.key, body)

    assert response.status_code == 422
    payload = problem(response)
    assert payload["code"] == "validation_error"
    assert field in [e["field"] for e in payload["errors"]]
    assert not AuditEntry.objects.filter(action="probe").exists()


@probe_urls
def test_a_json_array_body_is_422_not_500(client, business, make_key) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)

    response = post(client, issued.key, [1, 2, 3])

    assert response.status_code == 422
    assert problem(response)["code"] == "validation_error"


@probe_urls
def test_huge_body_is_413(client, business, make_key, settings) -> None:  # type: ignore[no-untyped-def]
    settings.KOPILKA_API_MAX_BODY_BYTES = 1024
    issued = make_key(business)

    response = post(client, issued.key, {"amount": "1", "note": "x" * 2000})

    assert response.status_code == 413
    assert problem(response)["code"] == "payload_too_large"
    assert not AuditEntry.objects.filter(action="probe").exists()


def test_rate_limit_per_key(client, business, make_key, settings) -> None:  # type: ignore[no-untyped-def]
    settings.KOPILKA_API_RATE_LIMIT = 3
    first, second = make_key(business), make_key(business, name="Till 2")

    statuses = [client.get("/api/v1/me", **bearer(first.key)).status_code for _ in range(4)]
    limited = client.get("/api/v1/me", **bearer(first.key))

    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert problem(limited)["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert client.get("/api/v1/me", **bearer(second.key)).status_code == 200


def test_rate_limit_window_resets(client, business, make_key, settings) -> None:  # type: ignore[no-untyped-def]
    import time_machine

    settings.KOPILKA_API_RATE_LIMIT = 1
    issued = make_key(business)
    with time_machine.travel("2026-01-01 10:00:05+00:00", tick=False):
        assert client.get("/api/v1/me", **bearer(issued.key)).status_code == 200
        limited = client.get("/api/v1/me", **bearer(issued.key))
        assert limited.status_code == 429
        assert limited["Retry-After"] == "55"
    with time_machine.travel("2026-01-01 10:01:00+00:00", tick=False):
        assert client.get("/api/v1/me", **bearer(issued.key)).status_code == 200


def test_openapi_document_and_docs_are_public(client) -> None:  # type: ignore[no-untyped-def]
    schema = client.get("/api/v1/openapi.json")
    docs = client.get("/api/v1/docs")

    assert schema.status_code == 200
    assert docs.status_code == 200
    document = schema.json()
    assert document["info"]["title"] == "Kopilka POS API"
    me = document["paths"]["/api/v1/me"]["get"]
    assert set(me["responses"]) == {"200", "401", "413", "429"}
    assert list(me["responses"]["401"]["content"]) == ["application/problem+json"]
    assert list(me["responses"]["200"]["content"]) == ["application/json"]
    assert "Problem" in document["components"]["schemas"]


@probe_urls
def test_every_operation_documents_its_problems(client) -> None:  # type: ignore[no-untyped-def]
    document = client.get("/api/v1/openapi.json").json()

    probe = document["paths"]["/api/v1/probe"]["post"]

    assert set(probe["responses"]) == {"201", "401", "403", "409", "413", "422", "429"}
    for status in ("401", "403", "409", "413", "422", "429"):
        assert list(probe["responses"][status]["content"]) == ["application/problem+json"]


def test_unknown_paths_and_methods_are_problems(client, business, make_key) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)

    missing = client.get("/api/v1/no/such/thing", **bearer(issued.key))
    missing_post = client.post("/api/v1/nothing", "{}", content_type="application/json")
    wrong_method = client.get("/api/v1/purchases", **bearer(issued.key))

    assert (missing.status_code, problem(missing)["code"]) == (404, "not_found")
    assert (missing_post.status_code, problem(missing_post)["code"]) == (404, "not_found")
    assert (wrong_method.status_code, problem(wrong_method)["code"]) == (405, "method_not_allowed")
    assert wrong_method["Allow"] == "POST"


def test_the_api_skips_the_cabinets_middleware_but_keeps_security_and_language(client, business, make_key) -> None:  # type: ignore[no-untyped-def]
    key = make_key(business).key
    english = client.get("/api/v1/me", **bearer(key), HTTP_ACCEPT_LANGUAGE="en")
    russian = client.get("/api/v1/nope", HTTP_ACCEPT_LANGUAGE="ru")
    cabinet = client.get("/login/")

    assert english.status_code == 200
    assert english["X-Content-Type-Options"] == "nosniff"  # security headers stay
    assert english["Content-Language"] == "en"
    assert problem(russian)["title"] == "Не найдено"  # error messages in the caller's language
    assert "X-Frame-Options" not in english  # the cabinet's chain (sessions, CSRF, frames …) did not run
    assert "Cookie" not in english.get("Vary", "")
    assert not english.cookies
    assert cabinet["X-Frame-Options"] == "DENY"  # while the cabinet's pages still get all of it
