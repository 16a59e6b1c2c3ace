"""Клиенты (search, profile, balance and level by hand, a card by hand) and История → Транзакции
(filters, streaming CSV export with personal data masked for everyone but the Office Owner)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kopilka.cards.models import Card
from kopilka.core.models import AuditEntry
from kopilka.loyalty import services
from kopilka.loyalty.models import LedgerEntry, Level
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def anna(template, make_card):  # type: ignore[no-untyped-def]
    card = make_card(template, first_name="Анна", last_name="Петрова")
    card.customer.phone = "+79161234567"
    card.customer.save()
    return card


@pytest.fixture
def boris(template, make_card):  # type: ignore[no-untyped-def]
    return make_card(template, first_name="Борис", last_name="Смирнов")


def _numbers(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [card.number for card in response.context["page"]]


def test_client_search_by_number_phone_and_name(owner_client, anna, boris) -> None:  # type: ignore[no-untyped-def]
    url = reverse("loyalty:client_list")
    assert _numbers(owner_client.get(url, {"q": anna.number})) == [anna.number]
    assert _numbers(owner_client.get(url, {"q": "+7 916 123-45-67"})) == [anna.number]
    assert _numbers(owner_client.get(url, {"q": "89161234567"})) == [anna.number]
    assert _numbers(owner_client.get(url, {"q": "петров"})) == [anna.number]
    assert _numbers(owner_client.get(url, {"q": "Борис Смирнов"})) == [boris.number]
    assert sorted(_numbers(owner_client.get(url))) == sorted([anna.number, boris.number])


def test_client_filters_by_level_and_status(owner_client, anna, boris, mechanic) -> None:  # type: ignore[no-untyped-def]
    gold = Level.objects.get(mechanic=mechanic, name="Gold")
    Card.objects.filter(pk=boris.pk).update(level=gold, status=Card.Status.BLOCKED)
    url = reverse("loyalty:client_list")
    assert _numbers(owner_client.get(url, {"level": gold.pk})) == [boris.number]
    assert _numbers(owner_client.get(url, {"status": "active"})) == [anna.number]


def test_client_list_masks_personal_data_for_staff(business, make_member, owner_client, anna) -> None:  # type: ignore[no-untyped-def]
    manager = client_for(make_member(business, "manager").user)
    owner_page = owner_client.get(reverse("loyalty:client_list")).content.decode()
    staff_page = manager.get(reverse("loyalty:client_list")).content.decode()
    profile = manager.get(reverse("loyalty:client_detail", args=[anna.customer_id])).content.decode()
    assert "+79161234567" in owner_page
    assert "Петрова" in owner_page
    assert "+79161234567" not in staff_page
    assert "+7916***4567" in staff_page
    assert "Петрова" not in staff_page
    assert "+79161234567" not in profile
    assert "Петрова" not in profile


def test_balance_change_needs_a_reason_and_lands_in_the_audit_log(business, make_member, anna) -> None:  # type: ignore[no-untyped-def]
    manager = client_for(make_member(business, "manager").user)  # clients: edit
    url = reverse("loyalty:card_balance", args=[anna.pk])
    p = f"b{anna.pk}"

    no_reason = manager.post(url, {f"{p}-amount": "150", f"{p}-reason": "  "})
    too_much = manager.post(url, {f"{p}-amount": "-10", f"{p}-reason": "ошибка кассира"})
    added = manager.post(url, {f"{p}-amount": "150", f"{p}-reason": "Компенсация за ожидание"})
    taken = manager.post(url, {f"{p}-amount": "-50.50", f"{p}-reason": "Возврат подарка"})

    assert no_reason.status_code == 422
    assert too_much.status_code == 422
    assert "balance cannot go below zero" in too_much.content.decode() or too_much.context["cards"][0]["balance_form"].errors
    assert added.status_code == 302
    assert taken.status_code == 302
    anna.refresh_from_db()
    assert anna.balance == D("99.50")
    entries = list(LedgerEntry.objects.filter(card=anna, kind="manual").values_list("amount", "reason"))
    assert entries == [(D("150.00"), "Компенсация за ожидание"), (D("-50.50"), "Возврат подарка")]
    audit = list(AuditEntry.objects.filter(business=business, action="card.balance_changed").order_by("id"))
    assert [a.reason for a in audit] == ["Компенсация за ожидание", "Возврат подарка"]
    profile = manager.get(reverse("loyalty:client_detail", args=[anna.customer_id])).content.decode()
    assert "Компенсация за ожидание" in profile


def test_level_change_needs_a_reason(business, owner_client, anna, mechanic) -> None:  # type: ignore[no-untyped-def]
    gold = Level.objects.get(mechanic=mechanic, name="Gold")
    url = reverse("loyalty:card_level", args=[anna.pk])
    p = f"l{anna.pk}"

    refused = owner_client.post(url, {f"{p}-level": gold.pk, f"{p}-reason": ""})
    done = owner_client.post(url, {f"{p}-level": gold.pk, f"{p}-reason": "VIP гость"})

    assert refused.status_code == 422
    assert done.status_code == 302
    anna.refresh_from_db()
    assert (anna.level_id, anna.level_locked) == (gold.pk, True)
    assert AuditEntry.objects.get(business=business, action="card.level_changed").reason == "VIP гость"


def test_a_level_of_another_mechanic_is_refused(business, owner_client, anna) -> None:  # type: ignore[no-untyped-def]
    from tests.loyalty.conftest import make_mechanic

    other = make_mechanic(business, name="Другая", levels=[("X", "0", "1", "1", "0")])
    level = other.levels.get()
    response = owner_client.post(reverse("loyalty:card_level", args=[anna.pk]), {f"l{anna.pk}-level": level.pk,
                                                                                 f"l{anna.pk}-reason": "r"})  # fmt: skip
    assert response.status_code == 422
    anna.refresh_from_db()
    assert anna.level_id != level.pk


def test_card_by_hand(business, owner_client, template) -> None:  # type: ignore[no-untyped-def]
    url = reverse("loyalty:card_create")
    bad = owner_client.post(url, {"template": template.pk, "phone": "12", "first_name": "Ира"})
    ok = owner_client.post(url, {"template": template.pk, "phone": "8 (916) 000-11-22", "first_name": "Ира"})
    again = owner_client.post(url, {"template": template.pk, "phone": "+79160001122"})

    assert bad.status_code == 200
    assert "phone" in bad.context["form"].errors
    assert ok.status_code == 302
    card = Card.objects.get(business=business, customer__phone="+79160001122")
    assert card.customer.first_name == "Ира"
    assert card.status == "active"
    assert again.status_code == 200
    assert again.context["form"].errors
    assert AuditEntry.objects.filter(business=business, action="card.created").count() == 1


# --- История → Транзакции ---------------------------------------------------------------------------


@pytest.fixture
def history(business, pos, anna, boris):  # type: ignore[no-untyped-def]
    services.confirm_purchase(business=business, card=anna, amount="1000", point_of_sale=pos, receipt_id="R-1")
    services.adjust_points(business=business, card=boris, amount="300", reason="Подарок")
    return anna, boris


def _export(client, **params) -> list[list[str]]:  # type: ignore[no-untyped-def]
    response = client.get(reverse("loyalty:transaction_export"), params)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_transactions_page_filters(owner_client, history, pos) -> None:  # type: ignore[no-untyped-def]
    anna, boris = history
    url = reverse("loyalty:transaction_list")
    by_pos = owner_client.get(url, {"point_of_sale": pos.pk}).context["page"]
    by_kind = owner_client.get(url, {"kind": "manual"}).context["page"]
    big = owner_client.get(url, {"amount_min": "100"}).context["page"]
    tomorrow = (timezone.localdate() + timezone.timedelta(days=1)).isoformat()
    future = owner_client.get(url, {"date_from": tomorrow}).context["page"]
    assert {e.card_id for e in by_pos} == {anna.pk}
    assert [(e.card_id, e.amount) for e in by_kind] == [(boris.pk, D("300.00"))]
    assert [e.amount for e in big] == [D("300.00")]
    assert list(future) == []


def test_export_masks_phones_for_staff_and_shows_them_to_the_owner(business, make_member, owner_client, history) -> None:  # type: ignore[no-untyped-def]
    anna, boris = history
    accountant = client_for(make_member(business, "accountant").user)  # transactions: view

    owner_rows = _export(owner_client, kind="manual")
    staff_rows = _export(accountant, kind="manual")
    all_rows = _export(owner_client)

    assert len(owner_rows) == 2
    assert len(staff_rows) == 2
    header = owner_rows[0]
    assert len(header) == 13
    name, phone, points = 2, 3, 7
    assert owner_rows[1][phone] == boris.customer.phone
    assert owner_rows[1][name] == "Борис Смирнов"
    assert staff_rows[1][phone] == boris.customer.phone[:5] + "***" + boris.customer.phone[-4:]
    assert staff_rows[1][name] == "Б*** С***"
    assert owner_rows[1][points] == "300.00"
    assert len(all_rows) - 1 == LedgerEntry.objects.filter(business=business).count()
    assert all("+7916" not in cell or "***" in cell for row in _export(accountant) for cell in row)


def test_export_does_not_include_another_business(other_business, owner_client, history, make_business) -> None:  # type: ignore[no-untyped-def]
    rows = _export(owner_client)
    numbers = {r[1] for r in rows[1:]}
    assert numbers == {c.number for c in history}
