"""API keys: the operator command, the cabinet page, hashing, revocation, audit."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from kopilka.accounts.models import PointOfSale
from kopilka.core.models import AuditEntry
from kopilka.pos.models import ApiKey
from kopilka.pos.services import hash_key
from tests.conftest import client_for
from tests.pos.conftest import bearer

pytestmark = pytest.mark.django_db


def test_command_prints_the_key_last_and_it_works(client, business) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()

    call_command("create_api_key", business.slug, "--name", "Kiosk", stdout=out)

    key = out.getvalue().strip().splitlines()[-1]
    stored = ApiKey.objects.get(business=business)
    assert key.startswith("kpk_")
    assert stored.name == "Kiosk"
    assert stored.key_hash == hash_key(key)
    assert stored.point_of_sale is None
    assert key not in str(list(ApiKey.objects.values()))
    assert client.get("/api/v1/me", **bearer(key)).status_code == 200


def test_command_binds_a_point_of_sale(business) -> None:  # type: ignore[no-untyped-def]
    pos = PointOfSale.objects.get(business=business)
    out = StringIO()

    call_command("create_api_key", business.slug, "--point-of-sale", pos.code, stdout=out)

    stored = ApiKey.objects.get(business=business)
    assert stored.point_of_sale == pos
    assert stored.name == "Operator key"
    assert stored.permissions == ["purchases", "refunds", "cards_issue", "events"]


@pytest.mark.parametrize(("args", "message"), [
    (["no-such-business"], "no business with slug 'no-such-business'"),
    (["{slug}", "--point-of-sale", "nowhere"], "has no point of sale with code 'nowhere'"),
    (["{slug}", "--point-of-sale", "{other_pos}"], "has no point of sale with code"),
    (["{slug}", "--name", "  "], "--name must not be empty"),
])  # fmt: skip
def test_command_refuses_bad_arguments_and_creates_nothing(business, other_business, args, message) -> None:  # type: ignore[no-untyped-def]
    other_pos = PointOfSale.objects.get(business=other_business).code
    argv = [a.format(slug=business.slug, other_pos=other_pos) for a in args]

    with pytest.raises(CommandError, match=message):
        call_command("create_api_key", *argv, stdout=StringIO())

    assert ApiKey.objects.count() == 0


def test_owner_creates_a_key_shown_once(owner_client, business) -> None:  # type: ignore[no-untyped-def]
    pos = PointOfSale.objects.get(business=business)

    response = owner_client.post(
        reverse("pos:api_keys"), {"name": "Till 7", "point_of_sale": pos.pk, "permissions": ["purchases", "points_adjust"]}
    )

    assert response.status_code == 200
    key = response.context["new_key"].key
    assert key in response.content.decode()
    stored = ApiKey.objects.get(business=business)
    assert (stored.name, stored.point_of_sale, stored.permissions) == ("Till 7", pos, ["purchases", "points_adjust"])
    assert stored.created_by.email == "alpha@example.com"
    assert AuditEntry.objects.filter(business=business, action="api_key.create").count() == 1
    again = owner_client.get(reverse("pos:api_keys"))
    assert key not in again.content.decode()
    assert stored.prefix in again.content.decode()


def test_a_key_without_a_name_is_refused(owner_client, business) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post(reverse("pos:api_keys"), {"name": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert ApiKey.objects.count() == 0


def test_revoking_stops_the_key(client, owner_client, business, make_key) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)

    response = owner_client.post(reverse("pos:api_key_revoke", kwargs={"key_id": issued.api_key.pk}))

    assert response.status_code == 302
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is not None
    assert AuditEntry.objects.filter(business=business, action="api_key.revoke").count() == 1
    assert client.get("/api/v1/me", **bearer(issued.key)).status_code == 401


def test_another_business_cannot_revoke(business, other_business, make_key) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import owner_of

    issued = make_key(business)
    intruder = client_for(owner_of(other_business))

    response = intruder.post(reverse("pos:api_key_revoke", kwargs={"key_id": issued.api_key.pk}))

    assert response.status_code == 404
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is None


def test_cashier_cannot_open_integrations(business, make_member) -> None:  # type: ignore[no-untyped-def]
    cashier = client_for(make_member(business, "cashier").user)

    assert cashier.get(reverse("pos:api_keys")).status_code == 403
    assert cashier.post(reverse("pos:api_keys"), {"name": "x"}).status_code == 403
    assert ApiKey.objects.count() == 0
