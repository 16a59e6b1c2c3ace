"""Login, lockout after repeated failures (django-axes) and logout."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kopilka.accounts.models import User
from tests.conftest import PASSWORD, client_for, owner_of

pytestmark = pytest.mark.django_db


def _login(client, email, password):  # type: ignore[no-untyped-def]
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_right_password_logs_in(business, client):  # type: ignore[no-untyped-def]
    response = _login(client, "alpha@example.com", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    assert client.get(reverse("core:home")).context["business"] == business


def test_email_is_not_case_sensitive(business, client):  # type: ignore[no-untyped-def]
    response = _login(client, "Alpha@Example.com", PASSWORD)

    assert response.status_code == 302


def test_wrong_password_is_refused(business, client):  # type: ignore[no-untyped-def]
    response = _login(client, "alpha@example.com", "not-the-password")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Wrong e-mail or password."]
    assert "_auth_user_id" not in client.session


def test_next_is_followed_but_not_to_another_site(business, client):  # type: ignore[no-untyped-def]
    url = reverse("accounts:login")
    inside = client.post(f"{url}?next=/points-of-sale/", {"username": "alpha@example.com", "password": PASSWORD})
    client.post(reverse("accounts:logout"))
    outside = client.post(
        f"{url}?next=https://evil.example.com/", {"username": "alpha@example.com", "password": PASSWORD}
    )

    assert inside["Location"] == "/points-of-sale/"
    assert outside["Location"] == reverse("core:home")


def test_locked_out_after_five_failures(business, client):  # type: ignore[no-untyped-def]
    for _ in range(4):
        assert _login(client, "alpha@example.com", "wrong").status_code == 200

    fifth = _login(client, "alpha@example.com", "wrong")
    with_right_password = _login(client, "alpha@example.com", PASSWORD)

    assert fifth.status_code == 429
    assert with_right_password.status_code == 429
    body = with_right_password.content.decode()
    assert "Too many failed attempts. Try again in 15 minutes or reset your password." in body
    assert "Wrong e-mail or password." not in body
    assert "_auth_user_id" not in client.session


def test_lockout_ends_after_the_cool_off(business, client, time_machine):  # type: ignore[no-untyped-def]
    time_machine.move_to("2026-05-01 10:00:00+00:00", tick=False)
    for _ in range(5):
        _login(client, "alpha@example.com", "wrong")
    time_machine.move_to("2026-05-01 10:16:00+00:00", tick=False)

    response = _login(client, "alpha@example.com", PASSWORD)

    assert response.status_code == 302


def test_four_failures_then_success_resets_the_count(business, client):  # type: ignore[no-untyped-def]
    for _ in range(4):
        _login(client, "alpha@example.com", "wrong")
    assert _login(client, "alpha@example.com", PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))

    for _ in range(4):
        assert _login(client, "alpha@example.com", "wrong").status_code == 200
    assert _login(client, "alpha@example.com", PASSWORD).status_code == 302


def test_lockout_counts_the_email_in_any_case(business, client):  # type: ignore[no-untyped-def]
    for email in [
        "alpha@example.com",
        "ALPHA@example.com",
        "Alpha@Example.com",
        " alpha@example.com",
        "alpHa@example.com",
    ]:
        _login(client, email, "wrong")

    assert _login(client, "alpha@example.com", PASSWORD).status_code == 429


def test_lockout_of_one_account_leaves_others_alone(business, other_business, client):  # type: ignore[no-untyped-def]
    for _ in range(5):
        _login(client, "alpha@example.com", "wrong")

    assert _login(client, "beta@example.com", PASSWORD).status_code == 302


def test_disabled_user_cannot_log_in(business, client):  # type: ignore[no-untyped-def]
    User.objects.filter(email="alpha@example.com").update(is_active=False)

    response = _login(client, "alpha@example.com", PASSWORD)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_needs_a_post(business):  # type: ignore[no-untyped-def]
    client = client_for(owner_of(business))

    page = client.get(reverse("accounts:logout"))
    assert page.status_code == 200
    assert client.get(reverse("core:home")).status_code == 200

    response = client.post(reverse("accounts:logout"))

    assert response["Location"] == reverse("accounts:login")
    home = client.get(reverse("core:home"))
    assert home.status_code == 302
    assert home["Location"].startswith(reverse("accounts:login"))
