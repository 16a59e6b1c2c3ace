"""Roles and sections (A4): the table below is the specification of the standard roles."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kopilka.accounts.models import Membership, Role, User
from kopilka.core import navigation
from kopilka.core.access import access_of
from kopilka.core.permissions import SECTIONS, STANDARD_ROLES, Level
from tests.conftest import client_for, owner_of
from tests.core.url_walk import walk

pytestmark = pytest.mark.django_db

# fmt: off
ROLES = ["administrator", "marketer", "manager", "accountant", "cashier"]
EXPECTED: dict[str, tuple[str, str, str, str, str]] = {
    #                 administrator marketer manager  accountant cashier
    "clients":        ("edit",      "view",  "edit",  "view",    "none"),
    "transactions":   ("edit",      "view",  "view",  "view",    "none"),
    "analytics":      ("edit",      "view",  "view",  "view",    "none"),
    "marketing":      ("edit",      "edit",  "view",  "none",    "none"),
    "loyalty":        ("edit",      "view",  "view",  "none",    "none"),
    "points_of_sale": ("edit",      "view",  "view",  "none",    "none"),
    "certificates":   ("edit",      "none",  "none",  "none",    "none"),
    "settings":       ("edit",      "none",  "none",  "none",    "none"),
    "variables":      ("edit",      "edit",  "none",  "none",    "none"),
    "forms":          ("edit",      "edit",  "none",  "none",    "none"),
    "integrations":   ("edit",      "none",  "none",  "none",    "none"),
    "billing":        ("edit",      "none",  "none",  "edit",    "none"),
    "cashier":        ("edit",      "none",  "edit",  "none",    "edit"),
}
# fmt: on


def expected_level(role_code: str, section: str) -> Level:
    return Level.parse(EXPECTED[section][ROLES.index(role_code)])


def test_the_table_covers_every_section_and_role() -> None:
    assert list(EXPECTED) == list(SECTIONS)
    assert list(STANDARD_ROLES) == ROLES


@pytest.mark.parametrize("role_code", ROLES)
def test_standard_role_levels_match_the_table(business, role_code) -> None:  # type: ignore[no-untyped-def]
    role = Role.objects.get(business=business, code=role_code)

    levels = {section: role.level(section).code for section in SECTIONS}

    assert levels == {section: EXPECTED[section][ROLES.index(role_code)] for section in SECTIONS}
    assert role.permissions == levels  # stored normalised: every section present


def _section_routes() -> list[tuple[str, str]]:
    """(url name, section) of every section-guarded page without URL arguments."""
    routes = []
    for route in walk():
        mark = access_of(route.callback) or ""
        if mark.startswith("section:") and not route.kwargs:
            routes.append((route.name, mark.removeprefix("section:")))
    return routes


def test_there_are_section_pages_to_check() -> None:
    names = {name for name, _section in _section_routes()}
    assert {"accounts:profile", "accounts:members", "accounts:roles", "accounts:pos_list", "core:audit_log"} <= names


@pytest.mark.parametrize("role_code", ROLES)
def test_pages_open_by_level_over_http(business, make_member, role_code) -> None:  # type: ignore[no-untyped-def]
    member = make_member(business, role_code)
    client = client_for(member.user)
    wrong = []
    for name, section in _section_routes():
        level = expected_level(role_code, section)
        url = reverse(name)

        got = client.get(url).status_code
        # Allowed: the page answers (200; 405 for a POST-only action, 4xx for missing query data).
        if level >= Level.VIEW and (got in {302, 403} or got >= 500):
            wrong.append(f"GET {name}: {got}, expected the page with view")
        if level < Level.VIEW and got != 403:
            wrong.append(f"GET {name}: {got}, expected 403 without view")

        got = client.post(url, {}).status_code
        if level < Level.EDIT and got != 403:
            wrong.append(f"POST {name}: {got}, expected 403 without edit")
        if level == Level.EDIT and got in {403, 500}:
            wrong.append(f"POST {name}: {got} with edit")
    assert wrong == []


def test_office_owner_opens_everything(business) -> None:  # type: ignore[no-untyped-def]
    client = client_for(owner_of(business))
    membership = Membership.objects.get(business=business, is_owner=True)

    statuses = {name: client.get(reverse(name)).status_code for name, _section in _section_routes()}

    assert {name: code for name, code in statuses.items() if code in {302, 403} or code >= 500} == {}
    assert statuses["accounts:pos_list"] == statuses["accounts:roles"] == statuses["core:audit_log"] == 200
    assert all(membership.level(section) == Level.EDIT for section in SECTIONS)


def test_a_person_without_a_business_is_sent_to_onboarding(client) -> None:  # type: ignore[no-untyped-def]
    user = User.objects.create_user(email="lonely@example.com", password="x")
    client.force_login(user)

    for name, _section in _section_routes():
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"] == reverse("accounts:onboarding"), name
    assert client.get(reverse("core:home"))["Location"] == reverse("accounts:onboarding")


def test_a_disabled_member_gets_nothing(business, make_member) -> None:  # type: ignore[no-untyped-def]
    member = make_member(business, "administrator")
    member.is_active = False
    member.save()
    client = client_for(member.user)

    response = client.get(reverse("accounts:pos_list"))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:onboarding")


def test_custom_role_from_the_cabinet_gives_exactly_the_chosen_levels(business, owner_client, make_member) -> None:  # type: ignore[no-untyped-def]
    chosen = {"points_of_sale": "view", "settings": "edit", "clients": "edit", "analytics": "view"}
    data = {"name": "Старший бариста"}
    data.update({f"perm_{section}": chosen.get(section, "none") for section in SECTIONS})

    response = owner_client.post(reverse("accounts:role_create"), data)

    assert response.status_code == 302
    role = Role.objects.get(business=business, name="Старший бариста")
    assert role.code == ""
    assert role.permissions == {section: chosen.get(section, "none") for section in SECTIONS}
    client = client_for(make_member(business, role=role).user)
    assert client.get(reverse("accounts:pos_list")).status_code == 200
    assert client.post(reverse("accounts:pos_create"), {"name": "X", "code": "x"}).status_code == 403
    assert client.get(reverse("accounts:roles")).status_code == 200
    assert client.get(reverse("core:audit_log")).status_code == 200


NAV_SIDEBAR = {
    "administrator": ["core:home", "accounts:pos_list", "core:audit_log"],
    "marketer": ["core:home", "accounts:pos_list"],
    "manager": ["core:home", "accounts:pos_list"],
    "accountant": ["core:home"],
    "cashier": ["core:home"],
}
NAV_SETTINGS = {
    "administrator": ["accounts:profile", "accounts:members", "accounts:roles", "accounts:security"],
    "marketer": ["accounts:security"],
    "manager": ["accounts:security"],
    "accountant": ["accounts:security"],
    "cashier": ["accounts:security"],
}


def _allowed(items, role_code):  # type: ignore[no-untyped-def]
    return [
        item.url_name
        for item in items
        if not item.owner_only and (item.section is None or expected_level(role_code, item.section) >= Level.VIEW)
    ]


@pytest.mark.parametrize("role_code", ROLES)
def test_navigation_shows_only_allowed_sections(business, make_member, role_code) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_member(business, role_code).user)

    response = client.get(reverse("core:home"))

    assert response.status_code == 200
    sidebar = [item.url_name for item in response.context["nav_sidebar"]]
    settings_nav = [item.url_name for item in response.context["nav_settings"]]
    assert sidebar == _allowed(navigation.SIDEBAR, role_code)
    assert settings_nav == _allowed(navigation.SETTINGS, role_code)
    foundation = set(NAV_SIDEBAR["administrator"]) | set(NAV_SETTINGS["administrator"])
    assert [name for name in sidebar if name in foundation] == NAV_SIDEBAR[role_code]
    assert [name for name in settings_nav if name in foundation] == NAV_SETTINGS[role_code]
    body = response.content.decode()
    for name in sidebar:
        assert f'href="{reverse(name)}"' in body
    for item in navigation.SIDEBAR:
        if item.url_name not in sidebar:
            assert f'href="{reverse(item.url_name)}"' not in body


def test_owner_navigation_has_everything(business, owner_client) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.get(reverse("core:home"))

    assert response.context["nav_sidebar"] == navigation.SIDEBAR
    assert response.context["nav_settings"] == navigation.SETTINGS
