"""Who may use the cashier: the section ``cashier`` (view to look, edit to write)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kopilka.accounts.models import Role
from kopilka.loyalty.models import Purchase
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role_code", ["marketer", "accountant"])
def test_a_role_without_the_cashier_section_gets_403(business, card, make_member, role_code) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_member(business, role_code).user)

    page = client.get(reverse("cashier:page"))
    find = client.get(reverse("cashier:find_card"), {"q": card.number})
    confirm = client.post(reverse("cashier:confirm", args=[card.pk]), {"amount": "100", "receipt_id": "X"})
    nav = client.get(reverse("core:home")).content.decode()

    assert (page.status_code, find.status_code, confirm.status_code) == (403, 403, 403)
    assert not Purchase.objects.exists()
    assert "nav-cashier:page" not in nav


def test_view_only_may_look_but_not_confirm(business, card, make_member) -> None:  # type: ignore[no-untyped-def]
    role = Role.objects.create(business=business, name="Looker", permissions={"cashier": "view"})
    client = client_for(make_member(business, role=role).user)

    assert client.get(reverse("cashier:find_card"), {"q": card.number}).status_code == 200
    assert client.post(reverse("cashier:quote", args=[card.pk]), {"amount": "100"}).status_code == 403
    assert (
        client.post(reverse("cashier:confirm", args=[card.pk]), {"amount": "100", "receipt_id": "X"}).status_code == 403
    )
    assert not Purchase.objects.exists()


def test_the_manager_role_has_the_cashier(business, card, make_member) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_member(business, "manager").user)

    assert client.get(reverse("cashier:page")).status_code == 200


def test_anonymous_visitors_are_sent_to_login(client, card) -> None:  # type: ignore[no-untyped-def]
    response = client.get(reverse("cashier:page"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
