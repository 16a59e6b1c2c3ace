"""Лояльность → template design (D1): the stored design drives the .pkpass; the cabinet page."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kopilka.cards.models import CardTemplate
from kopilka.core.models import AuditEntry, OutboxEvent
from kopilka.loyalty.models import Level
from kopilka.wallet import services
from kopilka.wallet.models import TemplateDesign
from tests.conftest import client_for
from tests.wallet.conftest import make_card
from tests.wallet.pkpass_check import manifest_problems, pass_json, unpack, verify

pytestmark = pytest.mark.django_db

DESIGN = {
    "background": "#112233", "foreground": "#ffffff", "label": "#AABBCC", "logo_text": "Кофейня",
    "barcode_format": "PKBarcodeFormatPDF417", "barcode_content": "number",
    "front_fields": "Уровень: {{level}}", "back_fields": "Ваш баланс: {{balance}} баллов",
    "description": "Тверская, 1 — {{business_name}}",
}  # fmt: skip


def test_an_unknown_variable_is_refused_and_nothing_is_written(business, card) -> None:  # type: ignore[no-untyped-def]
    events = OutboxEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.save_template_design(business=business, template=card.template,
                                      data={**DESIGN, "back_fields": "Баланс: {{nope}}"}, actor=None)  # fmt: skip

    assert "back_fields" in exc.value.error_dict
    assert not TemplateDesign.objects.exists()
    assert OutboxEvent.objects.count() == events
    assert not AuditEntry.objects.filter(action="wallet.template_design").exists()


def test_a_bad_colour_is_refused(business, card) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        services.save_template_design(business=business, template=card.template,
                                      data={**DESIGN, "background": "red"})  # fmt: skip
    assert "background" in exc.value.error_dict
    assert not TemplateDesign.objects.exists()


def test_a_valid_design_changes_the_signed_pass(wallet, card, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services.save_template_design(business=wallet.business, template=card.template, data=DESIGN, actor=None)

    files = unpack(services.build_card_pass(card), tmp_path)
    data = pass_json(files)

    assert verify(tmp_path, wallet.root_pem).returncode == 0
    assert manifest_problems(files) == []
    assert data["backgroundColor"] == "rgb(17, 34, 51)"
    assert data["foregroundColor"] == "rgb(255, 255, 255)"
    assert data["labelColor"] == "rgb(170, 187, 204)"
    assert data["logoText"] == "Кофейня"
    assert data["barcodes"][0]["format"] == "PKBarcodeFormatPDF417"
    assert data["barcodes"][0]["message"] == card.number
    fields = data["storeCard"]
    back = {f["label"]: f["value"] for f in fields["backFields"]}
    assert back["Ваш баланс"] == "350 баллов"
    assert any(f["value"] == f"Тверская, 1 — {wallet.business.name}" for f in fields["backFields"])
    assert any(f["label"] == "Уровень" and f["value"] == "Серебро" for f in fields["auxiliaryFields"])
    assert OutboxEvent.objects.filter(name="template.updated", payload={"template_id": card.template_id}).exists()
    assert AuditEntry.objects.filter(action="wallet.template_design").count() == 1


def test_a_level_theme_applies_to_a_card_at_that_level(wallet, card, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = Level.objects.create(mechanic=card.template.mechanic, name="Золото", threshold=1000)
    themes = {str(card.level_id): {"background": "#FF0000"}, str(other.pk): {"background": "#00FF00"}}
    services.save_template_design(business=wallet.business, template=card.template,
                                  data={**DESIGN, "level_themes": themes})  # fmt: skip

    data = pass_json(unpack(services.build_card_pass(card), tmp_path))

    assert data["backgroundColor"] == "rgb(255, 0, 0)"
    assert data["labelColor"] == "rgb(170, 187, 204)"  # not in the theme: the main colour


def test_copy_theme_gives_every_level_the_main_colours(owner_client, card) -> None:  # type: ignore[no-untyped-def]
    other = Level.objects.create(mechanic=card.template.mechanic, name="Золото", threshold=1000)
    url = reverse("wallet:template_design", args=[card.template_id])

    response = owner_client.post(url, {**DESIGN, "action": "copy_theme"})

    assert response.status_code == 302
    themes = TemplateDesign.objects.get(template=card.template).level_themes
    assert themes[str(other.pk)] == {"background": "#112233", "foreground": "#FFFFFF", "label": "#AABBCC"}
    assert themes[str(card.level_id)]["background"] == "#112233"


def test_the_page_renders_for_the_owner(owner_client, card) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.get(reverse("wallet:template_design", args=[card.template_id]))

    assert response.status_code == 200
    assert 'data-testid="design-preview"' in response.content.decode()
    edit = owner_client.get(reverse("loyalty:template_edit", args=[card.template_id]))
    assert reverse("wallet:template_design", args=[card.template_id]) in edit.content.decode()


def test_an_unknown_variable_in_the_form_is_an_error(owner_client, card) -> None:  # type: ignore[no-untyped-def]
    url = reverse("wallet:template_design", args=[card.template_id])

    response = owner_client.post(url, {**DESIGN, "front_fields": "X: {{nope}}", "action": "save"})

    assert response.status_code == 200
    assert "{{nope}}" in response.content.decode()
    assert not TemplateDesign.objects.exists()


def test_a_cashier_gets_403(business, card, make_member) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_member(business, "cashier").user)

    assert client.get(reverse("wallet:template_design", args=[card.template_id])).status_code == 403


def test_another_business_template_is_404(owner_client, other_business) -> None:  # type: ignore[no-untyped-def]
    foreign = CardTemplate.objects.create(business=other_business, name="Чужая", type="bonus")

    assert owner_client.get(reverse("wallet:template_design", args=[foreign.pk])).status_code == 404
    assert owner_client.post(reverse("wallet:template_design", args=[foreign.pk]), DESIGN).status_code == 404
    assert make_card(other_business, number="20000002").template.business_id == other_business.pk
