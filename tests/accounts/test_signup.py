"""Sign-up (A1): e-mail + phone + password → 6-digit code by e-mail → company details + terms → in."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from kopilka.accounts.models import Business, EmailCode, Membership, User

pytestmark = pytest.mark.django_db


def _code_from_outbox() -> str:
    match = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def _start(client, email="new@example.com", password="Very-long-pass-77"):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("accounts:signup"),
        {"email": email, "phone": "+7 999 123-45-67", "password1": password, "password2": password},
    )


def test_full_signup_creates_owner_and_business(client):  # type: ignore[no-untyped-def]
    response = _start(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:signup_verify")
    assert mail.outbox[-1].to == ["new@example.com"]
    assert not User.objects.filter(email="new@example.com").exists()

    response = client.post(reverse("accounts:signup_verify"), {"code": _code_from_outbox()})
    assert response["Location"] == reverse("accounts:onboarding")
    user = User.objects.get(email="new@example.com")
    assert user.phone == "+79991234567"
    assert user.password.startswith("md5$") or user.check_password("Very-long-pass-77")

    response = client.post(
        reverse("accounts:onboarding"),
        {
            "first_name": "Анна",
            "last_name": "Петрова",
            "name": "Кофейня Зерно",
            "company_name": "Зерно",
            "legal_entity": "ООО Зерно",
            "accept_terms": "on",
        },
    )
    assert response["Location"] == reverse("core:home")
    business = Business.objects.get(name="Кофейня Зерно")
    assert business.slug == "kofeynya-zerno"
    assert business.terms_accepted_at is not None
    membership = Membership.objects.get(business=business, user=user)
    assert membership.is_owner
    assert client.get(reverse("core:home")).status_code == 200


def test_terms_must_be_accepted(client, django_user_model):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(email="a@example.com", password="x")
    client.force_login(user)
    response = client.post(reverse("accounts:onboarding"), {"first_name": "A", "last_name": "B", "name": "Кафе"})
    assert response.status_code == 200
    assert "accept_terms" in response.context["form"].errors
    assert not Business.objects.exists()


def test_duplicate_email_is_refused(client, business):  # type: ignore[no-untyped-def]
    response = _start(client, email="ALPHA@example.com")
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert not EmailCode.objects.exists()
    assert len(mail.outbox) == 0


def test_weak_password_is_refused(client):  # type: ignore[no-untyped-def]
    response = _start(client, password="12345678")
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert not EmailCode.objects.exists()


def test_wrong_codes_are_counted_and_locked_after_five(client):  # type: ignore[no-untyped-def]
    _start(client)
    right = _code_from_outbox()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        response = client.post(reverse("accounts:signup_verify"), {"code": wrong})
        assert response.status_code == 200
    assert EmailCode.objects.get().attempts == 5
    response = client.post(reverse("accounts:signup_verify"), {"code": right})
    assert "Too many" in str(response.context["form"].errors["code"]) or "Слишком" in str(
        response.context["form"].errors["code"]
    )
    assert not User.objects.filter(email="new@example.com").exists()


def test_expired_code_is_refused(client, time_machine):  # type: ignore[no-untyped-def]
    time_machine.move_to("2026-01-01 12:00:00+00:00", tick=False)
    _start(client)
    code = _code_from_outbox()
    time_machine.move_to("2026-01-01 12:11:00+00:00", tick=False)
    response = client.post(reverse("accounts:signup_verify"), {"code": code})
    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert not User.objects.filter(email="new@example.com").exists()


def test_code_works_once(client):  # type: ignore[no-untyped-def]
    _start(client)
    code = _code_from_outbox()
    record = EmailCode.objects.get()
    client.post(reverse("accounts:signup_verify"), {"code": code})
    from django.core.exceptions import ValidationError

    from kopilka.accounts import services

    with pytest.raises(ValidationError):
        services.confirm_signup(email_code_id=record.pk, code=code)
    assert User.objects.filter(email="new@example.com").count() == 1
