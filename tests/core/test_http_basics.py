"""The cabinet's HTTP basics: CSRF on every form, known hosts only, health check, error pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kopilka.accounts.models import PointOfSale, Role
from tests.conftest import PASSWORD, owner_of

pytestmark = pytest.mark.django_db


def test_cabinet_posts_need_the_csrf_token(business) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner_of(business))
    before = list(PointOfSale.objects.values_list("pk", flat=True))

    response = client.post(reverse("accounts:pos_create"), {"name": "X", "code": "x", "time_zone": "Europe/Moscow"})
    role = client.post(reverse("accounts:role_create"), {"name": "Sneaky"})

    assert response.status_code == 403
    assert role.status_code == 403
    assert list(PointOfSale.objects.values_list("pk", flat=True)) == before
    assert not Role.objects.filter(name="Sneaky").exists()


def test_login_needs_the_csrf_token(business) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("accounts:login"), {"username": "alpha@example.com", "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_unknown_host_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(reverse("accounts:login"), HTTP_HOST="evil.example.com")

    assert response.status_code == 400


def test_health_check_answers_get_and_head_without_login(client) -> None:  # type: ignore[no-untyped-def]
    get = client.get(reverse("core:health"))
    head = client.head(reverse("core:health"))

    assert (get.status_code, get.content, get["Content-Type"]) == (200, b"ok", "text/plain")
    assert head.status_code == 200


def test_missing_page_is_the_friendly_404(owner_client) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.get("/no-such-page/")

    assert response.status_code == 404
    assert "errors/404.html" in [t.name for t in response.templates]


def test_forbidden_page_is_the_friendly_403(business, make_member) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_member(business, "cashier").user)

    response = client.get(reverse("accounts:members"))

    assert response.status_code == 403
    assert "errors/403.html" in [t.name for t in response.templates]


def test_session_cookie_is_http_only(business, client) -> None:  # type: ignore[no-untyped-def]
    client.post(reverse("accounts:login"), {"username": "alpha@example.com", "password": PASSWORD})

    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
