"""Points of sale (A6): create and edit, codes unique per business, coordinates in range, audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kopilka.accounts.models import PointOfSale
from kopilka.core.models import AuditEntry
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _data(**changes: str) -> dict[str, str]:
    data = {
        "name": "Кофейня на Арбате", "code": "arbat", "address": "Москва, Арбат, 1",
        "latitude": "55.752000", "longitude": "37.592000", "time_zone": "Europe/Moscow", "is_active": "on",
    }  # fmt: skip
    data.update(changes)
    return data


def _rows(business):  # type: ignore[no-untyped-def]
    return list(PointOfSale.objects.filter(business=business).order_by("pk").values())


def test_create_point_of_sale(business, owner_client):  # type: ignore[no-untyped-def]
    response = owner_client.post(reverse("accounts:pos_create"), _data())

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:pos_list")
    pos = PointOfSale.objects.get(business=business, code="arbat")
    assert (pos.name, str(pos.latitude), str(pos.longitude), pos.is_active) == (
        "Кофейня на Арбате", "55.752000", "37.592000", True,
    )  # fmt: skip
    entry = AuditEntry.objects.get(action="point_of_sale.created")
    assert (entry.business, entry.object_id, entry.before) == (business, str(pos.pk), None)
    assert entry.after["code"] == "arbat"
    assert owner_client.get(reverse("accounts:pos_list")).content.decode().count("Кофейня на Арбате") >= 1


def test_edit_point_of_sale_is_audited(business, owner_client):  # type: ignore[no-untyped-def]
    pos = PointOfSale.objects.get(business=business)

    response = owner_client.post(
        reverse("accounts:pos_edit", kwargs={"pos_id": pos.pk}), _data(name="Point renamed", code=pos.code)
    )

    assert response.status_code == 302
    pos.refresh_from_db()
    assert pos.name == "Point renamed"
    entry = AuditEntry.objects.get(action="point_of_sale.updated")
    assert ("name", "Point 1", "Point renamed") in entry.changes()
    assert entry.before["name"] == "Point 1"


def test_duplicate_code_is_refused(business, owner_client):  # type: ignore[no-untyped-def]
    existing = PointOfSale.objects.get(business=business)
    before = _rows(business)

    response = owner_client.post(reverse("accounts:pos_create"), _data(code=existing.code))

    assert response.status_code == 200
    assert response.context["form"].errors["code"] == ["A point of sale with this code already exists."]
    assert _rows(business) == before


def test_duplicate_code_on_edit_is_refused(business, owner_client):  # type: ignore[no-untyped-def]
    owner_client.post(reverse("accounts:pos_create"), _data())
    first = PointOfSale.objects.get(business=business, code="pos-1")
    before = _rows(business)

    response = owner_client.post(reverse("accounts:pos_edit", kwargs={"pos_id": first.pk}), _data(code="arbat"))

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert _rows(business) == before


def test_same_code_in_another_business_is_fine(business, other_business, owner_client):  # type: ignore[no-untyped-def]
    other_code = PointOfSale.objects.get(business=other_business).code

    response = owner_client.post(reverse("accounts:pos_create"), _data(code=other_code))

    assert response.status_code == 302
    assert PointOfSale.objects.filter(code=other_code).count() == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [("latitude", "90.5"), ("latitude", "-91"), ("longitude", "180.000001"), ("latitude", "abc"),
     ("latitude", "NaN"), ("longitude", "1e400"), ("code", "with spaces"), ("name", "")],
)  # fmt: skip
def test_invalid_input_is_refused(business, owner_client, field, value):  # type: ignore[no-untyped-def]
    before = _rows(business)

    response = owner_client.post(reverse("accounts:pos_create"), _data(**{field: value}))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert _rows(business) == before
    assert not AuditEntry.objects.filter(action__startswith="point_of_sale").exists()


def test_latitude_message(business, owner_client):  # type: ignore[no-untyped-def]
    response = owner_client.post(reverse("accounts:pos_create"), _data(latitude="90.5"))

    assert response.context["form"].errors["latitude"] == ["Latitude is between -90 and 90."]


def test_viewer_cannot_create(business, make_member):  # type: ignore[no-untyped-def]
    client = client_for(make_member(business, "marketer").user)  # points_of_sale: view
    before = _rows(business)

    assert client.get(reverse("accounts:pos_list")).status_code == 200
    assert client.post(reverse("accounts:pos_create"), _data()).status_code == 403
    assert _rows(business) == before
