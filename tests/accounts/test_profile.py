"""Settings → Profile: the business's details, audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kopilka.accounts.models import Business, Role
from kopilka.core.models import AuditEntry
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _data(business: Business, **changes: str) -> dict[str, str]:
    data = {
        "name": business.name, "company_name": business.company_name, "legal_entity": business.legal_entity,
        "phone": business.phone, "email": business.email, "time_zone": business.time_zone,
        "country": business.country, "city": business.city, "address": business.address,
    }  # fmt: skip
    data.update(changes)
    return data


def test_profile_edit_is_saved_and_audited(business, owner_client):  # type: ignore[no-untyped-def]
    response = owner_client.post(
        reverse("accounts:profile"), _data(business, name="Кофейня Гамма", phone="8 (999) 111-22-33", city="Казань")
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    business.refresh_from_db()
    assert (business.name, business.phone, business.city) == ("Кофейня Гамма", "+79991112233", "Казань")
    entry = AuditEntry.objects.get(business=business, action="business.updated")
    assert entry.actor.email == "alpha@example.com"
    assert sorted(entry.changes()) == [  # PostgreSQL's jsonb keeps its own key order
        ("city", "", "Казань"),
        ("name", "Кофейня Альфа", "Кофейня Гамма"),
        ("phone", "", "+79991112233"),
    ]


def test_saving_without_changes_writes_no_audit_entry(business, owner_client):  # type: ignore[no-untyped-def]
    owner_client.post(reverse("accounts:profile"), _data(business))

    assert not AuditEntry.objects.filter(action="business.updated").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "12"), ("phone", "not a phone"), ("email", "nope"), ("time_zone", "Mars/Olympus"), ("name", "")],
)
def test_invalid_input_is_refused_and_nothing_changes(business, owner_client, field, value):  # type: ignore[no-untyped-def]
    before = Business.objects.filter(pk=business.pk).values().get()

    response = owner_client.post(reverse("accounts:profile"), _data(business, **{field: value, "city": "Казань"}))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Business.objects.filter(pk=business.pk).values().get() == before
    assert not AuditEntry.objects.filter(action="business.updated").exists()


def test_view_only_settings_member_sees_but_cannot_save(business, make_member):  # type: ignore[no-untyped-def]
    role = Role.objects.create(business=business, name="Viewer", permissions={"settings": "view"})
    client = client_for(make_member(business, role=role).user)
    before = Business.objects.filter(pk=business.pk).values().get()

    page = client.get(reverse("accounts:profile"))
    response = client.post(reverse("accounts:profile"), _data(business, name="Hacked"))

    assert page.status_code == 200
    assert page.context["can_edit"] is False
    assert response.status_code == 403
    assert Business.objects.filter(pk=business.pk).values().get() == before
