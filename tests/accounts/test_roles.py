"""Settings → Roles (A4): custom roles are created, edited and deleted; standard ones are fixed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kopilka.accounts.models import Role
from kopilka.core.models import AuditEntry
from kopilka.core.permissions import SECTIONS

pytestmark = pytest.mark.django_db


def _data(name: str, **levels: str) -> dict[str, str]:
    data = {"name": name}
    data.update({f"perm_{section}": levels.get(section, "none") for section in SECTIONS})
    return data


def _roles(business):  # type: ignore[no-untyped-def]
    return list(Role.objects.filter(business=business).order_by("pk").values("pk", "name", "code", "permissions"))


def test_create_edit_and_delete_a_custom_role(business, owner_client):  # type: ignore[no-untyped-def]
    created = owner_client.post(reverse("accounts:role_create"), _data("Бариста", cashier="edit", clients="view"))
    role = Role.objects.get(business=business, name="Бариста")
    edited = owner_client.post(
        reverse("accounts:role_edit", kwargs={"role_id": role.pk}), _data("Старший бариста", cashier="edit")
    )
    role.refresh_from_db()
    after_edit = (role.name, role.permissions)
    deleted = owner_client.post(reverse("accounts:role_delete", kwargs={"role_id": role.pk}))

    assert [created.status_code, edited.status_code, deleted.status_code] == [302, 302, 302]
    assert after_edit == ("Старший бариста", {s: "edit" if s == "cashier" else "none" for s in SECTIONS})
    assert not Role.objects.filter(pk=role.pk).exists()
    entries = list(AuditEntry.objects.filter(object_type="role").order_by("id"))
    assert [e.action for e in entries] == ["role.created", "role.updated", "role.deleted"]
    assert entries[1].before["name"] == "Бариста"
    assert entries[1].after["permissions"]["clients"] == "none"
    assert entries[2].before["name"] == "Старший бариста"


def test_role_editor_shows_current_levels(business, owner_client):  # type: ignore[no-untyped-def]
    owner_client.post(reverse("accounts:role_create"), _data("Аналитик", analytics="view"))
    role = Role.objects.get(name="Аналитик")

    form = owner_client.get(reverse("accounts:role_edit", kwargs={"role_id": role.pk})).context["form"]

    assert form.initial["name"] == "Аналитик"
    assert form["perm_analytics"].initial == "view"
    assert form["perm_billing"].initial == "none"


@pytest.mark.parametrize("code", ["administrator", "cashier"])
def test_standard_roles_cannot_be_edited_or_deleted(business, owner_client, code):  # type: ignore[no-untyped-def]
    role = Role.objects.get(business=business, code=code)
    before = _roles(business)

    edit = owner_client.post(reverse("accounts:role_edit", kwargs={"role_id": role.pk}), _data("Mine", billing="edit"))
    delete = owner_client.post(reverse("accounts:role_delete", kwargs={"role_id": role.pk}), follow=True)

    assert edit.status_code == 302
    assert [str(m) for m in delete.context["messages"]] == [
        "Standard roles cannot be changed; create your own role instead.",
        "Standard roles cannot be deleted.",
    ]
    assert _roles(business) == before
    assert not AuditEntry.objects.filter(object_type="role").exists()


def test_role_in_use_cannot_be_deleted(business, owner_client, make_member):  # type: ignore[no-untyped-def]
    owner_client.post(reverse("accounts:role_create"), _data("Бариста", cashier="edit"))
    role = Role.objects.get(name="Бариста")
    make_member(business, role=role)

    response = owner_client.post(reverse("accounts:role_delete", kwargs={"role_id": role.pk}), follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Role saved.",
        "The role is assigned to users; give them another role first.",
    ]
    assert Role.objects.filter(pk=role.pk).exists()
    assert not AuditEntry.objects.filter(action="role.deleted").exists()


@pytest.mark.parametrize("name", ["Бариста", "БАРИСТА", " Бариста ", "Administrator"])
def test_duplicate_name_is_refused(business, owner_client, name):  # type: ignore[no-untyped-def]
    owner_client.post(reverse("accounts:role_create"), _data("Бариста"))
    before = _roles(business)

    response = owner_client.post(reverse("accounts:role_create"), _data(name, clients="edit"))

    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["A role with this name already exists."]
    assert _roles(business) == before


def test_renaming_onto_another_role_is_refused(business, owner_client):  # type: ignore[no-untyped-def]
    owner_client.post(reverse("accounts:role_create"), _data("Бариста"))
    owner_client.post(reverse("accounts:role_create"), _data("Повар"))
    cook = Role.objects.get(name="Повар")
    before = _roles(business)

    response = owner_client.post(reverse("accounts:role_edit", kwargs={"role_id": cook.pk}), _data("бариста"))

    assert response.context["form"].errors["name"] == ["A role with this name already exists."]
    assert _roles(business) == before


@pytest.mark.parametrize(
    "data",
    [_data(""), _data("x" * 101), {"name": "No levels"}, _data("Odd", clients="superuser")],
)
def test_invalid_role_is_refused(business, owner_client, data):  # type: ignore[no-untyped-def]
    before = _roles(business)

    response = owner_client.post(reverse("accounts:role_create"), data)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert _roles(business) == before


def test_same_role_name_in_another_business_is_fine(business, other_business, owner_client):  # type: ignore[no-untyped-def]
    Role.objects.create(business=other_business, name="Бариста")

    response = owner_client.post(reverse("accounts:role_create"), _data("Бариста"))

    assert response.status_code == 302
    assert Role.objects.filter(name="Бариста").count() == 2
