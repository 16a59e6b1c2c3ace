"""Тип механики: a mechanic with its levels, validated; Лояльность: card templates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kopilka.cards.models import CardTemplate
from kopilka.core.models import AuditEntry
from kopilka.loyalty import setup_services
from kopilka.loyalty.models import Level, Mechanic
from tests.conftest import owner_of

pytestmark = pytest.mark.django_db
D = Decimal


def _post(levels: list[tuple[str, str, str, str, str]], **mechanic: str) -> dict[str, str]:
    data = {"name": "Бонусная", "kind": "bonus", "welcome_points": "100", "accrual_delay_hours": "0",
            "referrer_points": "0", "newcomer_points": "0", "points_lifetime_days": "365"}  # fmt: skip
    data.update(mechanic)
    data.update({"levels-TOTAL_FORMS": str(len(levels)), "levels-INITIAL_FORMS": "0"})
    for i, (name, threshold, accrual, cap, discount) in enumerate(levels):
        data.update({f"levels-{i}-name": name, f"levels-{i}-threshold": threshold, f"levels-{i}-accrual_percent": accrual,
                     f"levels-{i}-redeem_max_percent": cap, f"levels-{i}-discount_percent": discount})  # fmt: skip
    return data


def test_owner_creates_a_mechanic_with_levels(business, owner_client) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post(
        reverse("loyalty:mechanic_create"),
        _post([("Silver", "10000", "7", "40", "0"), ("Bronze", "0", "5", "30", "0")], reset_monthly="on"),
    )

    assert response.status_code == 302
    mechanic = Mechanic.objects.get(business=business)
    assert mechanic.reset_monthly is True
    assert mechanic.welcome_points == D("100.00")
    assert mechanic.points_lifetime_days == 365
    assert [(lv.name, lv.threshold, lv.accrual_percent) for lv in mechanic.levels.all()] == [
        ("Bronze", D("0.00"), D("5.00")), ("Silver", D("10000.00"), D("7.00"))
    ]  # fmt: skip
    # the mechanic's own terms follow the base level (cards without a level)
    assert (mechanic.accrual_percent, mechanic.redeem_max_percent) == (D("5.00"), D("30.00"))
    entry = AuditEntry.objects.get(business=business, action="mechanic.created")
    assert entry.after["levels"][1]["name"] == "Silver"


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([("Bronze", "100", "5", "30", "0")], "start at 0"),
        ([("Bronze", "0", "5", "30", "0"), ("Silver", "0", "7", "40", "0")], "same threshold"),
        ([("Bronze", "0", "101", "30", "0")], "100"),
        ([("Bronze", "0", "5", "-1", "0")], "0"),
        ([("Bronze", "-5", "5", "30", "0")], "0"),
        ([], "at least one level"),
    ],
)
def test_bad_levels_are_refused_and_nothing_is_written(business, owner_client, levels, message) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post(reverse("loyalty:mechanic_create"), _post(levels))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Mechanic.objects.filter(business=business).exists()
    assert not AuditEntry.objects.filter(business=business, action__startswith="mechanic").exists()


def test_editing_swaps_thresholds_and_deletes_a_level(business) -> None:  # type: ignore[no-untyped-def]
    owner = owner_of(business)
    mechanic = setup_services.save_mechanic(
        business=business, data={"name": "M", "kind": "bonus"}, actor=owner,
        levels=[{"name": "A", "threshold": D("0"), "accrual_percent": D("1"), "redeem_max_percent": D("0"), "discount_percent": D("0")},
                {"name": "B", "threshold": D("500"), "accrual_percent": D("2"), "redeem_max_percent": D("0"), "discount_percent": D("0")},
                {"name": "C", "threshold": D("900"), "accrual_percent": D("3"), "redeem_max_percent": D("0"), "discount_percent": D("0")}],
    )  # fmt: skip
    a, b, c = mechanic.levels.order_by("threshold")

    setup_services.save_mechanic(
        business=business, data={"name": "M2", "kind": "bonus"}, mechanic=mechanic, actor=owner,
        levels=[{"id": a.pk, "name": "A", "threshold": D("0"), "accrual_percent": D("1"), "redeem_max_percent": D("0"), "discount_percent": D("0")},
                {"id": b.pk, "name": "B", "threshold": D("900"), "accrual_percent": D("2"), "redeem_max_percent": D("0"), "discount_percent": D("0")},
                {"name": "D", "threshold": D("500"), "accrual_percent": D("4"), "redeem_max_percent": D("0"), "discount_percent": D("0")}],
    )  # fmt: skip

    assert [(lv.pk == b.pk, lv.name, lv.threshold) for lv in Level.objects.filter(mechanic=mechanic)] == [
        (False, "A", D("0.00")), (False, "D", D("500.00")), (True, "B", D("900.00"))
    ]  # fmt: skip
    assert not Level.objects.filter(pk=c.pk).exists()
    assert AuditEntry.objects.filter(business=business, action="mechanic.updated").count() == 1


def test_another_business_mechanic_is_not_found(other_business, owner_client) -> None:  # type: ignore[no-untyped-def]
    theirs = Mechanic.objects.create(business=other_business, name="Theirs", kind="bonus")
    assert owner_client.get(reverse("loyalty:mechanic_edit", args=[theirs.pk])).status_code == 404
    assert owner_client.post(reverse("loyalty:mechanic_edit", args=[theirs.pk]), _post([("A", "0", "1", "1", "1")])).status_code == 404


def test_template_type_must_match_the_mechanic(business, owner_client, mechanic) -> None:  # type: ignore[no-untyped-def]
    discount = Mechanic.objects.create(business=business, name="Скидочная", kind="discount")

    wrong = owner_client.post(reverse("loyalty:template_create"), {"name": "Бонусы", "type": "bonus", "mechanic": discount.pk,
                                                                   "stamps_per_purchase": "1"})  # fmt: skip
    stamp = owner_client.post(reverse("loyalty:template_create"), {"name": "Кофе", "type": "stamp", "stamps_required": "0",
                                                                   "stamps_per_purchase": "1"})  # fmt: skip
    ok = owner_client.post(reverse("loyalty:template_create"), {"name": "Бонусы", "type": "bonus", "mechanic": mechanic.pk,
                                                                "is_active": "on", "stamps_per_purchase": "1"})  # fmt: skip

    assert wrong.status_code == 200
    assert "mechanic" in wrong.context["form"].errors
    assert stamp.status_code == 200
    assert "stamps_required" in stamp.context["form"].errors
    assert ok.status_code == 302
    assert list(CardTemplate.objects.filter(business=business).values_list("name", "type")) == [("Бонусы", "bonus")]


def test_template_cannot_use_another_business_mechanic(business, other_business, owner_client) -> None:  # type: ignore[no-untyped-def]
    theirs = Mechanic.objects.create(business=other_business, name="Theirs", kind="bonus")
    response = owner_client.post(reverse("loyalty:template_create"), {"name": "X", "type": "bonus", "mechanic": theirs.pk,
                                                                      "stamps_per_purchase": "1"})  # fmt: skip
    assert response.status_code == 200
    assert not CardTemplate.objects.filter(business=business).exists()
    with pytest.raises(ValidationError):
        setup_services.save_card_template(business=business, data={"name": "X", "type": "bonus", "mechanic": theirs},
                                          actor=owner_of(business))  # fmt: skip


def test_renaming_a_template_tells_the_wallet_to_refresh_its_cards(business, mechanic, template) -> None:  # type: ignore[no-untyped-def]
    from kopilka.core.models import OutboxEvent

    setup_services.save_card_template(
        business=business, data={"name": "Бонусы «Зерно»", "type": "bonus", "mechanic": mechanic},
        template=template, actor=None,
    )  # fmt: skip

    event = OutboxEvent.objects.get(business=business, name="template.updated")
    assert event.payload == {"template_id": template.pk}
