"""Password reset by an e-mailed link, and changing the password in Settings → Security."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from kopilka.accounts.models import User
from tests.conftest import PASSWORD, client_for, owner_of

pytestmark = pytest.mark.django_db

NEW = "Brand-new-secret-2026"


def _reset_link(base: str = "http://testserver") -> str:
    assert len(mail.outbox) == 1
    match = re.search(re.escape(base) + r"(/password/reset/[^/\s]+/[^/\s]+/)", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match.group(1)


def test_reset_link_sets_a_new_password_once(business, client):  # type: ignore[no-untyped-def]
    response = client.post(reverse("accounts:password_reset"), {"email": "alpha@example.com"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox[0].to == ["alpha@example.com"]
    link = _reset_link()

    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW, "new_password2": NEW})

    assert done["Location"] == reverse("accounts:password_reset_complete")
    user = User.objects.get(email="alpha@example.com")
    assert user.check_password(NEW)
    assert not user.check_password(PASSWORD)
    again = client.get(link, follow=True)
    assert again.context["validlink"] is False
    assert "This link is not valid any more" in again.content.decode()
    assert (
        client.post(set_url, {"new_password1": "Other-secret-2027", "new_password2": "Other-secret-2027"}).context[
            "validlink"
        ]
        is False
    )
    user.refresh_from_db()
    assert user.check_password(NEW)


def test_reset_link_uses_the_public_url_not_the_host_header(business, client, settings):  # type: ignore[no-untyped-def]
    settings.PUBLIC_URL = "https://loyalty.example.com"

    client.post(reverse("accounts:password_reset"), {"email": "alpha@example.com"}, HTTP_HOST="localhost")

    assert _reset_link("https://loyalty.example.com").startswith("/password/reset/")
    assert "localhost" not in mail.outbox[0].body


def test_unknown_email_sends_nothing_but_looks_the_same(db, client):  # type: ignore[no-untyped-def]
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})

    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_garbage_reset_links_are_refused_without_errors(business, client):  # type: ignore[no-untyped-def]
    for uid, token in [("MQ", "bad-token"), ("!!!", "x"), ("9" * 40, "set-password"), ("", "")]:
        if not uid:
            continue
        response = client.get(reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token}))
        assert response.status_code == 200
        assert response.context["validlink"] is False


def test_change_password_needs_the_current_one(business):  # type: ignore[no-untyped-def]
    owner = owner_of(business)
    client = client_for(owner)

    wrong = client.post(
        reverse("accounts:security"), {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW}
    )

    assert wrong.status_code == 200
    assert "old_password" in wrong.context["form"].errors
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_change_password_keeps_the_session(business):  # type: ignore[no-untyped-def]
    owner = owner_of(business)
    client = client_for(owner)

    response = client.post(
        reverse("accounts:security"), {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )

    assert response["Location"] == reverse("accounts:security")
    owner.refresh_from_db()
    assert owner.check_password(NEW)
    assert client.get(reverse("core:home")).status_code == 200


def test_any_member_may_change_their_own_password(business, make_member):  # type: ignore[no-untyped-def]
    cashier = make_member(business, "cashier")
    client = client_for(cashier.user)

    response = client.post(
        reverse("accounts:security"), {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )

    assert response.status_code == 302
    cashier.user.refresh_from_db()
    assert cashier.user.check_password(NEW)


def test_password_reset_lifts_a_login_lockout(business, client):  # type: ignore[no-untyped-def]
    # The lockout message says "try again in 15 minutes or reset your password": resetting must help.
    for _ in range(5):
        client.post(reverse("accounts:login"), {"username": "alpha@example.com", "password": "wrong"})
    assert (
        client.post(reverse("accounts:login"), {"username": "alpha@example.com", "password": PASSWORD}).status_code
        == 429
    )
    client.post(reverse("accounts:password_reset"), {"email": "alpha@example.com"})
    set_url = client.get(_reset_link(), follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW, "new_password2": NEW})

    response = client.post(reverse("accounts:login"), {"username": "alpha@example.com", "password": NEW})

    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
