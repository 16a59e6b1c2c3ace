"""Лояльность → template design (D1): the stored design drives the .pkpass; the cabinet page."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kopilka.cards.models import CardTemplate
from kopilka.core.models import AuditEntry, OutboxEvent
from kopilka.loyalty.models import Level
from kopilka.wallet import png, services
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


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    return png.encode(width, height, [bytes((*colour, 255)) * width] * height)


def _data_url(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode()


LOGO = _png(30, 10, (1, 2, 3))
STRIP = _png(64, 20, (4, 5, 6))
LEVEL_STRIP = _png(64, 20, (7, 8, 9))


def test_png_dimensions_come_from_ihdr() -> None:
    assert png.dimensions(STRIP) == (64, 20)
    with pytest.raises(ValueError, match="not a PNG"):
        png.dimensions(b"GIF89a" + STRIP[6:])


@pytest.mark.parametrize("upload", [
    SimpleUploadedFile("logo.gif", b"GIF89a" + b"\x00" * 100, content_type="image/gif"),
    SimpleUploadedFile("logo.png", LOGO + b"\x00" * (256 * 1024), content_type="image/png"),
], ids=["not-png", "oversize"])  # fmt: skip
def test_a_bad_upload_is_refused_and_nothing_is_written(owner_client, card, upload) -> None:  # type: ignore[no-untyped-def]
    url = reverse("wallet:template_design", args=[card.template_id])
    events = OutboxEvent.objects.count()

    response = owner_client.post(url, {**DESIGN, "action": "save", "logo_file": upload})

    assert response.status_code == 200
    assert 'is-invalid" name="logo_file"' in response.content.decode()
    assert not TemplateDesign.objects.exists()
    assert OutboxEvent.objects.count() == events


def test_a_bad_image_in_the_service_is_refused(business, card) -> None:  # type: ignore[no-untyped-def]
    themes = {str(card.level_id): {"strip": "data:image/png;base64," + base64.b64encode(b"nope").decode()}}
    with pytest.raises(ValidationError) as exc:
        services.save_template_design(business=business, template=card.template, data={
            **DESIGN, "strip_image": _data_url(b"\x89PNG" + b"\x00" * 40),
            "logo_image": _data_url(LOGO + b"\x00" * (256 * 1024)), "level_themes": themes})  # fmt: skip

    assert {"strip_image", "logo_image", "level_themes"} <= set(exc.value.error_dict)
    assert not TemplateDesign.objects.exists()


def test_an_uploaded_logo_and_strip_are_in_the_signed_pass(owner_client, wallet, card, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = reverse("wallet:template_design", args=[card.template_id])

    response = owner_client.post(url, {**DESIGN, "action": "save",
                                       "logo_file": SimpleUploadedFile("logo.png", LOGO, content_type="image/png"),
                                       "strip_file": SimpleUploadedFile("s.png", STRIP, content_type="image/png")})  # fmt: skip

    assert response.status_code == 302
    design = TemplateDesign.objects.get(template=card.template)
    assert design.logo_image == _data_url(LOGO)
    page = owner_client.get(url).content.decode()
    assert f'src="{_data_url(LOGO)}"' in page
    assert f'src="{_data_url(STRIP)}"' in page
    files = unpack(services.build_card_pass(card), tmp_path)
    manifest = json.loads(files["manifest.json"])
    for suffix in ("", "@2x", "@3x"):
        assert files[f"logo{suffix}.png"] == LOGO
        assert files[f"strip{suffix}.png"] == STRIP
        assert manifest[f"strip{suffix}.png"] == hashlib.sha1(STRIP).hexdigest()  # noqa: S324
        assert manifest[f"logo{suffix}.png"] == hashlib.sha1(LOGO).hexdigest()  # noqa: S324
    assert manifest_problems(files) == []
    assert verify(tmp_path, wallet.root_pem).returncode == 0
    entry = AuditEntry.objects.get(action="wallet.template_design")
    assert "base64" not in json.dumps(entry.after, default=str)

    # Saving again without uploads keeps the images; "remove" drops one.
    assert owner_client.post(url, {**DESIGN, "action": "save", "remove_strip": "on"}).status_code == 302
    design.refresh_from_db()
    assert design.logo_image == _data_url(LOGO)
    assert design.strip_image == ""


def test_a_level_strip_beats_the_main_strip(owner_client, wallet, card, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = Level.objects.create(mechanic=card.template.mechanic, name="Золото", threshold=1000)
    url = reverse("wallet:template_design", args=[card.template_id])

    response = owner_client.post(url, {
        **DESIGN, "action": "save", f"level_{card.level_id}_background": "#FF0000",
        "strip_file": SimpleUploadedFile("s.png", STRIP, content_type="image/png"),
        f"level_{card.level_id}_strip": SimpleUploadedFile("l.png", LEVEL_STRIP, content_type="image/png")})  # fmt: skip

    assert response.status_code == 302
    themes = TemplateDesign.objects.get(template=card.template).level_themes
    assert themes[str(card.level_id)] == {"background": "#FF0000", "strip": _data_url(LEVEL_STRIP)}
    assert str(other.pk) not in themes
    files = unpack(services.build_card_pass(card), tmp_path)
    assert files["strip.png"] == files["strip@3x.png"] == LEVEL_STRIP
    assert manifest_problems(files) == []
    assert verify(tmp_path, wallet.root_pem).returncode == 0
    assert pass_json(files)["backgroundColor"] == "rgb(255, 0, 0)"

    silver = str(card.level_id)
    card.level = other
    card.save(update_fields=["level"])
    assert unpack(services.build_card_pass(card), tmp_path / "other")["strip.png"] == STRIP

    # Copying the theme keeps the level's strip.
    assert owner_client.post(url, {**DESIGN, "action": "copy_theme"}).status_code == 302
    themes = TemplateDesign.objects.get(template=card.template).level_themes
    assert themes[silver] == {"background": "#112233", "foreground": "#FFFFFF", "label": "#AABBCC",
                              "strip": _data_url(LEVEL_STRIP)}  # fmt: skip
    assert themes[str(other.pk)]["background"] == "#112233"
