"""Settings → Users (A3, A6): change a member's role, point of sale, access; never one's own or the owner's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kopilka.accounts.models import Membership, PointOfSale, Role
from kopilka.core.models import AuditEntry
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _memberships(business):  # type: ignore[no-untyped-def]
    return list(
        Membership.objects.filter(business=business)
        .order_by("pk")
        .values("pk", "role", "point_of_sale", "is_active", "is_owner")
    )


def _edit(client, membership, role, pos=None, active=True):  # type: ignore[no-untyped-def]
    data = {"role": role.pk, "point_of_sale": pos.pk if pos else ""}
    if active:
        data["is_active"] = "on"
    return client.post(reverse("accounts:member_edit", kwargs={"member_id": membership.pk}), data, follow=True)


def test_change_role_and_point_of_sale(business, owner_client, make_member):  # type: ignore[no-untyped-def]
    member = make_member(business, "cashier")
    manager = Role.objects.get(business=business, code="manager")
    pos = PointOfSale.objects.get(business=business)

    response = _edit(owner_client, member, manager, pos)

    assert response.redirect_chain == [(reverse("accounts:members"), 302)]
    member.refresh_from_db()
    assert (member.role, member.point_of_sale, member.is_active) == (manager, pos, True)
    entry = AuditEntry.objects.get(action="member.updated")
    assert sorted(entry.changes(), key=str) == [("point_of_sale", None, "Point 1"), ("role", "Cashier", "Manager")]
    assert entry.actor.email == "alpha@example.com"


def test_disable_a_member(business, owner_client, make_member):  # type: ignore[no-untyped-def]
    member = make_member(business, "cashier")

    _edit(owner_client, member, member.role, active=False)

    member.refresh_from_db()
    assert member.is_active is False
    assert client_for(member.user).get(reverse("core:home"))["Location"] == reverse("accounts:onboarding")
    assert AuditEntry.objects.get(action="member.updated").changes() == [("is_active", True, False)]


def test_members_page_lists_people_and_pending_invitations(business, owner_client, make_member):  # type: ignore[no-untyped-def]
    member = make_member(business, "cashier")

    response = owner_client.get(reverse("accounts:members"))

    assert response.status_code == 200
    assert [m.pk for m in response.context["members"]] == [
        Membership.objects.get(business=business, is_owner=True).pk,
        member.pk,
    ]


def test_owner_access_cannot_be_changed(business, make_member):  # type: ignore[no-untyped-def]
    admin = make_member(business, "administrator")
    owner_membership = Membership.objects.get(business=business, is_owner=True)
    before = _memberships(business)

    response = _edit(client_for(admin.user), owner_membership, Role.objects.get(business=business, code="cashier"))

    assert "The Office Owner&#x27;s access cannot be changed." in response.content.decode()
    assert _memberships(business) == before
    assert not AuditEntry.objects.filter(action="member.updated").exists()


def test_own_access_cannot_be_changed(business, make_member):  # type: ignore[no-untyped-def]
    admin = make_member(business, "administrator")
    before = _memberships(business)

    response = _edit(client_for(admin.user), admin, Role.objects.get(business=business, code="cashier"), active=False)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["You cannot change your own role or access."]
    assert _memberships(business) == before


def test_role_and_point_of_sale_of_another_business_are_refused(business, other_business, owner_client, make_member):  # type: ignore[no-untyped-def]
    member = make_member(business, "cashier")
    before = _memberships(business)

    response = _edit(
        owner_client,
        member,
        Role.objects.get(business=other_business, code="administrator"),
        PointOfSale.objects.get(business=other_business),
    )

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"role", "point_of_sale"}
    assert _memberships(business) == before


def test_view_only_settings_member_cannot_post(business, make_member):  # type: ignore[no-untyped-def]
    viewer_role = Role.objects.create(business=business, name="Viewer", permissions={"settings": "view"})
    viewer = make_member(business, role=viewer_role)
    member = make_member(business, "cashier")
    client = client_for(viewer.user)
    before = _memberships(business)
    admin_role = Role.objects.get(business=business, code="administrator")

    assert client.get(reverse("accounts:members")).status_code == 200
    assert client.get(reverse("accounts:member_edit", kwargs={"member_id": member.pk})).status_code == 200
    statuses = [
        client.post(
            reverse("accounts:member_edit", kwargs={"member_id": member.pk}), {"role": admin_role.pk}
        ).status_code,
        client.post(
            reverse("accounts:member_edit", kwargs={"member_id": viewer.pk}), {"role": admin_role.pk}
        ).status_code,
        client.post(reverse("accounts:invite"), {"email": "x@example.com", "role": admin_role.pk}).status_code,
        client.post(reverse("accounts:role_create"), {"name": "Mine"}).status_code,
        client.post(reverse("accounts:role_delete", kwargs={"role_id": viewer_role.pk})).status_code,
    ]

    assert statuses == [403] * 5
    assert _memberships(business) == before
    assert Role.objects.filter(pk=viewer_role.pk).exists()
