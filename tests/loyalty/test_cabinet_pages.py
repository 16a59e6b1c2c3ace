"""Cabinet pages of the loyalty engine: every page renders for a role with view access, and a role
with view only cannot change anything (POST needs edit)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from kopilka.core.models import AuditEntry
from kopilka.loyalty.models import CouponGroup, GiftCertificate, Mechanic
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(business):  # type: ignore[no-untyped-def]
    return CouponGroup.objects.create(business=business, name="Весна", reward="percent", value=Decimal("10"))


def _pages(card, mechanic, template, group):  # type: ignore[no-untyped-def]
    return {
        "loyalty": [
            reverse("loyalty:mechanic_list"), reverse("loyalty:mechanic_create"),
            reverse("loyalty:mechanic_edit", args=[mechanic.pk]), reverse("loyalty:template_list"),
            reverse("loyalty:template_create"), reverse("loyalty:template_edit", args=[template.pk]),
            reverse("loyalty:product_list"), reverse("loyalty:product_import"), reverse("loyalty:coupon_group_list"),
            reverse("loyalty:coupon_group_create"), reverse("loyalty:coupon_group_detail", args=[group.pk]),
            reverse("loyalty:coupon_group_edit", args=[group.pk]), reverse("loyalty:certificate_list"),
        ],
        "clients": [
            reverse("loyalty:client_list"), reverse("loyalty:card_create"),
            reverse("loyalty:client_detail", args=[card.customer_id]),
        ],
        "transactions": [reverse("loyalty:transaction_list")],
    }  # fmt: skip


def test_every_page_renders_for_the_owner(owner_client, card, mechanic, template, group) -> None:  # type: ignore[no-untyped-def]
    for urls in _pages(card, mechanic, template, group).values():
        for url in urls:
            response = owner_client.get(url)
            assert response.status_code == 200, url


def test_marketer_sees_loyalty_and_clients_but_changes_nothing(business, make_member, card, mechanic, template, group) -> None:  # type: ignore[no-untyped-def]
    # given a marketer: clients, transactions and loyalty at view
    client = client_for(make_member(business, "marketer").user)
    pages = _pages(card, mechanic, template, group)
    for urls in pages.values():
        for url in urls:
            assert client.get(url).status_code == 200, url
    before = AuditEntry.objects.filter(business=business).count()

    # when they post to every form
    posts = [
        (reverse("loyalty:mechanic_create"), {"name": "X", "kind": "bonus"}),
        (reverse("loyalty:mechanic_edit", args=[mechanic.pk]), {"name": "X", "kind": "bonus"}),
        (reverse("loyalty:template_create"), {"name": "X", "type": "informational"}),
        (reverse("loyalty:coupon_group_create"), {"name": "X", "reward": "percent", "value": "5"}),
        (reverse("loyalty:coupon_generate", args=[group.pk]), {"count": "5"}),
        (reverse("loyalty:certificate_list"), {"amount": "500"}),
        (reverse("loyalty:card_create"), {"template": template.pk, "phone": "+79995550000"}),
        (reverse("loyalty:card_balance", args=[card.pk]), {f"b{card.pk}-amount": "100", f"b{card.pk}-reason": "x"}),
        (reverse("loyalty:card_level", args=[card.pk]), {f"l{card.pk}-level": "", f"l{card.pk}-reason": "x"}),
    ]
    # then every one is refused and nothing is written
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert AuditEntry.objects.filter(business=business).count() == before
    assert Mechanic.objects.filter(business=business).count() == 1
    assert not GiftCertificate.objects.filter(business=business).exists()
    assert group.coupons.count() == 0
    card.refresh_from_db()
    assert card.balance == Decimal("0.00")


def test_cashier_reaches_none_of_the_pages(business, make_member, card, mechanic, template, group) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_member(business, "cashier").user)
    for urls in _pages(card, mechanic, template, group).values():
        for url in urls:
            assert client.get(url).status_code == 403, url
    assert client.get(reverse("loyalty:transaction_export")).status_code == 403


def test_sidebar_lists_the_new_sections_by_role(business, make_member, owner_client) -> None:  # type: ignore[no-untyped-def]
    page = owner_client.get(reverse("core:home")).content.decode()
    for name in ("loyalty:client_list", "loyalty:transaction_list", "loyalty:template_list", "loyalty:mechanic_list"):
        assert f'data-testid="nav-{name}"' in page
    accountant = client_for(make_member(business, "accountant").user).get(reverse("core:home")).content.decode()
    assert 'data-testid="nav-loyalty:client_list"' in accountant
    assert 'data-testid="nav-loyalty:mechanic_list"' not in accountant


def test_hostile_filters_are_form_errors_not_server_errors(owner_client, card) -> None:  # type: ignore[no-untyped-def]
    owner_client.raise_request_exception = False
    bad = {"q": "\x00", "template": "9" * 30, "level": "x", "status": "nope", "date_from": "2026-13-45",
           "amount_min": "1e400", "point_of_sale": "-1", "kind": "\x00", "page": "1e400"}  # fmt: skip
    for name in ("loyalty:client_list", "loyalty:transaction_list", "loyalty:product_list"):
        assert owner_client.get(reverse(name), bad).status_code == 200, name
    assert owner_client.get(reverse("loyalty:transaction_export"), bad).status_code == 422
