"""Administrator actions (A8): the audit log page lists who changed what, before/after and why."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kopilka.accounts import services
from kopilka.accounts.models import PointOfSale
from kopilka.core import audit
from kopilka.core.models import AuditEntry
from tests.conftest import client_for, owner_of

pytestmark = pytest.mark.django_db


def test_audit_log_lists_actor_changes_and_reason(business, owner_client) -> None:  # type: ignore[no-untyped-def]
    owner = owner_of(business)
    pos = PointOfSale.objects.get(business=business)
    services.save_point_of_sale(business=business, data={"name": "Renamed till"}, actor=owner, point_of_sale=pos)
    audit.record(
        business=business, actor=owner, action="card.balance_adjusted", object_type="card", object_id="42",
        object_repr="Card 42", before={"points": "10"}, after={"points": "25"}, reason="Goodwill after a complaint",
    )  # fmt: skip

    response = owner_client.get(reverse("core:audit_log"))

    assert response.status_code == 200
    entries = list(response.context["page"])
    assert [e.action for e in entries] == ["card.balance_adjusted", "point_of_sale.updated", "business.created"]
    body = response.content.decode()
    assert "Goodwill after a complaint" in body
    assert '<span class="diff-before">Point 1</span> → <span class="diff-after">Renamed till</span>' in body
    assert '<span class="diff-before">10</span> → <span class="diff-after">25</span>' in body
    assert body.count(str(owner)) >= 3


def test_audit_log_is_scoped_to_the_business(business, other_business, owner_client) -> None:  # type: ignore[no-untyped-def]
    audit.record(business=other_business, actor=None, action="secret.thing", object_repr="Beta secret")

    response = owner_client.get(reverse("core:audit_log"))

    assert all(e.business_id == business.pk for e in response.context["page"])
    assert "Beta secret" not in response.content.decode()
    assert AuditEntry.objects.filter(business=other_business, action="secret.thing").count() == 1


def test_audit_log_filters_by_action_and_pages(business, owner_client) -> None:  # type: ignore[no-untyped-def]
    for n in range(60):
        audit.record(business=business, actor=None, action="test.bulk", object_repr=f"row {n}")

    filtered = owner_client.get(reverse("core:audit_log"), {"action": "test."})
    second = owner_client.get(reverse("core:audit_log"), {"action": "test.", "page": "2"})
    garbage = owner_client.get(reverse("core:audit_log"), {"page": "x' OR 1=1", "action": "\x00"})

    assert filtered.context["page"].paginator.count == 60
    assert len(filtered.context["page"]) == 50
    assert len(second.context["page"]) == 10
    assert garbage.status_code in {200, 400}


def test_system_actions_are_labelled(business, owner_client) -> None:  # type: ignore[no-untyped-def]
    entry = audit.record(business=business, actor=None, action="points.expired")

    assert entry.actor is None
    assert entry.actor_label == "system"


def test_members_without_settings_access_cannot_read_the_log(business, make_member) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_member(business, "marketer").user)

    assert client.get(reverse("core:audit_log")).status_code == 403
