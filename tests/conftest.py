"""Shared fixtures: businesses with their owners, members of every standard role, and clients."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import translation

from kopilka.accounts import services
from kopilka.accounts.models import Business, Membership, PointOfSale, Role, User

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

PASSWORD = "correct-horse-battery-42"


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.PUBLIC_URL = "http://testserver"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _english(settings):  # type: ignore[no-untyped-def]
    """Tests assert the exact English messages (the msgids). Russian, the product's default language,
    is checked by tests/core/test_translations.py (every string translated, Russian served by default)
    and by the browser tests, which run in a Russian-speaking browser."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def make_business(db) -> Callable[..., Business]:  # type: ignore[no-untyped-def]
    counter = {"n": 0}

    def make(name: str | None = None, owner_email: str | None = None) -> Business:
        counter["n"] += 1
        n = counter["n"]
        owner = User.objects.create_user(email=owner_email or f"owner{n}@example.com", password=PASSWORD)
        business = services.create_business(owner=owner, name=name or f"Business {n}", accept_terms=True)
        PointOfSale.objects.create(business=business, code=f"pos-{n}", name=f"Point {n}")
        return business

    return make


@pytest.fixture
def business(make_business) -> Business:  # type: ignore[no-untyped-def]
    return make_business("Кофейня Альфа", "alpha@example.com")


@pytest.fixture
def other_business(make_business) -> Business:  # type: ignore[no-untyped-def]
    return make_business("Салон Бета", "beta@example.com")


def owner_of(business: Business) -> User:
    return Membership.objects.get(business=business, is_owner=True).user


@pytest.fixture
def make_member(db) -> Callable[..., Membership]:  # type: ignore[no-untyped-def]
    def make(business: Business, role_code: str | None = None, *, role: Role | None = None, email: str | None = None) -> Membership:
        role = role or Role.objects.get(business=business, code=role_code)
        user = User.objects.create_user(
            email=email or f"{role.code or 'custom'}-{business.slug}-{User.objects.count()}@example.com",
            password=PASSWORD,
        )
        return Membership.objects.create(business=business, user=user, role=role)

    return make


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(business) -> Client:  # type: ignore[no-untyped-def]
    return client_for(owner_of(business))
