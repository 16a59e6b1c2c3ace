"""The customer journey on a phone (D2, D3, D4, D5, D9): a UTM link of a template → the registration
form → the code from the SMS outbox → the card page; the Apple button downloads a pass (a zip with
``pass.json``), the Google button carries a save-to-wallet JWT; the UTM link's counters moved."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import BrowserContext, expect

from kopilka.cards.models import Card, CardTemplate
from kopilka.enrollment import selectors
from kopilka.enrollment.models import Consent, RegistrationForm, UtmLink
from kopilka.loyalty.models import Mechanic
from kopilka.messaging.models import SmsMessage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+79991234567"


def _code_for(phone: str) -> str:
    message = SmsMessage.objects.filter(phone=phone, purpose="verification").order_by("-id").first()
    assert message is not None, "no verification SMS in the outbox"
    found = re.search(r"\b(\d{4})\b", message.text)
    assert found is not None
    return found.group(1)


def _wallet_installed(business, tmp_path: Path) -> bool:  # type: ignore[no-untyped-def]
    try:
        from kopilka.wallet.dev import install_development_credentials
    except ImportError:
        return False
    install_development_credentials(business, directory=tmp_path)
    return True


def _jwt_parts(token: str) -> tuple[dict, dict]:
    def part(text: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    header, claims, signature = token.split(".")
    assert signature
    return part(header), part(claims)


def test_customer_gets_a_card_on_a_phone_from_a_utm_link(
    new_context: Callable[..., BrowserContext], base_url: str, business, tmp_path: Path, screenshot_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    cache.clear()
    mechanic = Mechanic.objects.create(business=business, name="Бонусы", kind="bonus", welcome_points=150)
    template = CardTemplate.objects.create(business=business, name="Бонусная карта", type="bonus", mechanic=mechanic)
    RegistrationForm.objects.create(
        business=business, template=template, name="Основная", title="Карта гостя {{business_name}}",
        description="Копите баллы с каждой покупки",
        fields=[{"key": "first_name", "required": True}, {"key": "birth_date", "required": False}],
        terms_text="Я принимаю правила программы лояльности",
    )  # fmt: skip
    link = UtmLink.objects.create(business=business, template=template, name="Инстаграм", source="instagram",
                                  medium="social", campaign="spring")  # fmt: skip
    wallet = _wallet_installed(business, tmp_path)
    journey = selectors.journey_of(template)

    phone = new_context(mobile=True).new_page()
    phone.goto(f"/j/{journey.token}/?utm_source=instagram&utm_medium=social&utm_campaign=spring")
    expect(phone.get_by_test_id("form-title")).to_have_text(f"Карта гостя {business.name}")
    assert phone.viewport_size == {"width": 390, "height": 844}
    phone.get_by_test_id("field-phone").fill("8 999 123-45-67")
    phone.get_by_test_id("field-first_name").fill("Анна")
    phone.get_by_test_id("field-birth_date").fill("1990-02-01")
    phone.get_by_test_id("field-consent_terms").check()
    phone.get_by_test_id("send-code").click()

    expect(phone.get_by_test_id("code-form")).to_be_visible()
    phone.get_by_test_id("field-code").fill(_code_for(PHONE))
    phone.get_by_test_id("get-card").click()

    expect(phone.get_by_test_id("card-page")).to_be_visible()
    card = Card.objects.get(template=template)
    expect(phone.get_by_test_id("card-number")).to_have_text(card.number)
    expect(phone.get_by_test_id("card-balance")).to_have_text("150")
    expect(phone.get_by_test_id("referral-code")).to_have_text(card.referral_code)
    assert card.customer.first_name == "Анна"
    assert str(card.customer.birth_date) == "1990-02-01"
    assert Consent.objects.get(customer=card.customer).text == "Я принимаю правила программы лояльности"
    phone.screenshot(path=str(screenshot_dir / "enrollment-card-page-mobile.png"), full_page=True)

    if wallet:
        with phone.expect_download() as download_info:
            phone.get_by_test_id("add-apple").click()
        data = Path(download_info.value.path()).read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            assert {"pass.json", "manifest.json", "signature"} <= names
            pass_json = json.loads(archive.read("pass.json"))
        assert pass_json["serialNumber"]
        assert card.number in json.dumps(pass_json)

        href = phone.get_by_test_id("add-google").get_attribute("href") or ""
        assert href.startswith("https://pay.google.com/gp/v/save/")
        header, claims = _jwt_parts(href.removeprefix("https://pay.google.com/gp/v/save/"))
        assert header["alg"] == "RS256"
        assert claims["typ"] == "savetowallet"
    else:
        expect(phone.get_by_test_id("no-wallet")).to_be_visible()

    row = next(r for r in selectors.utm_rows(business) if r.link.pk == link.pk)
    assert (row.visits, row.registrations) == (1, 1)
    assert card.origin.utm_link == link


def test_form_builder_preview_follows_the_edits(
    new_context: Callable[..., BrowserContext], base_url: str, business
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import PASSWORD, owner_of

    cache.clear()
    CardTemplate.objects.create(business=business, name="Бонусная карта", type="bonus")
    page = new_context().new_page()
    page.goto("/login/")
    page.locator("[name=username]").fill(owner_of(business).email)
    page.locator("[name=password]").fill(PASSWORD)
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("sidebar")).to_be_visible()

    page.goto("/forms/new/")
    page.locator("[name=name]").fill("Основная")
    page.locator("[name=title]").fill("Карта {{business_name}}")
    expect(page.get_by_test_id("preview-title")).to_have_text(f"Карта {business.name}")
    page.get_by_test_id("field-on-email").check()
    expect(page.get_by_test_id("form-preview").locator("[name=email]")).to_be_visible()
    page.get_by_test_id("builder-terms_text").fill("Принимаю правила")
    expect(page.get_by_test_id("form-preview")).to_contain_text("Принимаю правила")

    page.locator("[name=title]").fill("Карта {{nobody}}")
    page.get_by_test_id("form-save").click()
    expect(page.get_by_text("{{nobody}}").first).to_be_visible()
    assert not RegistrationForm.objects.filter(business=business).exists()

    page.locator("[name=title]").fill("Карта {{first_name}}")
    page.get_by_test_id("form-save").click()
    expect(page.get_by_test_id("builder-fields")).to_be_visible()
    saved = RegistrationForm.objects.get(business=business)
    assert [f["key"] for f in saved.fields] == ["first_name", "last_name", "email"]
