"""Bad input gets a clear answer, never a 500 (ARCHITECTURE.md): every URL, hostile ids and form data."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse

from kopilka.core.permissions import SECTIONS
from tests.conftest import client_for, owner_of
from tests.core.url_walk import walk

pytestmark = pytest.mark.django_db

HOSTILE_VALUES = ["\x00", "9" * 30, "-1", "' OR 1=1 -- " + "ü" * 300, "1e400"]
FIELDS = [
    "name", "code", "address", "latitude", "longitude", "time_zone", "is_active", "email", "role", "point_of_sale",
    "business", "username", "password", "old_password", "new_password1", "new_password2", "password1", "password2",
    "first_name", "last_name", "phone", "company_name", "legal_entity", "accept_terms", "language", "next", "action",
    "page", *(f"perm_{s}" for s in SECTIONS),
]  # fmt: skip
URL_VALUES = ["9" * 25, "0", "x\x00y"]


def _urls(route):  # type: ignore[no-untyped-def]
    if not route.kwargs:
        return [reverse(route.name)]
    urls = []
    for value in URL_VALUES:
        try:
            urls.append(reverse(route.name, kwargs=dict.fromkeys(route.kwargs, value)))
        except NoReverseMatch:
            continue  # the converter refuses the value: the URL cannot even be built
    return urls


def test_no_url_answers_hostile_input_with_a_server_error(business) -> None:  # type: ignore[no-untyped-def]
    owner = owner_of(business)
    failures = []
    for route in walk():
        if route.name.startswith("<unnamed"):
            continue
        for url in _urls(route):
            for value in HOSTILE_VALUES:
                for method in ("get", "post"):
                    client = client_for(owner)
                    client.raise_request_exception = False
                    data = dict.fromkeys(FIELDS, value)
                    response = client.get(url, data) if method == "get" else client.post(url, data)
                    if response.status_code >= 500:
                        failures.append(f"{method.upper()} {url!r} with {value[:12]!r}: {response.status_code}")
    assert failures == []


def test_huge_ids_in_urls_are_not_found(business, owner_client) -> None:  # type: ignore[no-untyped-def]
    for path in ["/points-of-sale/99999999999999999999999/", "/settings/roles/9223372036854775808/"]:
        assert owner_client.get(path).status_code == 404
    assert owner_client.get("/settings/roles/9223372036854775807/").status_code == 404
