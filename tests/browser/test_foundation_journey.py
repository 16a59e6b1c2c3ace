"""Foundation journey in a real browser: an owner signs up, logs out and in, invites a marketer;
the marketer registers from the e-mailed link and sees only what the Marketer role allows."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import BrowserContext, Page, expect

from kopilka.accounts.models import Business, PointOfSale, Role
from tests.conftest import PASSWORD, owner_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "Very-long-pass-77"
MARKETER_EMAIL = "marketer@example.com"
MARKETER_PASSWORD = "Another-long-pass-42"


def _last_mail_to(email: str) -> str:
    sent = [m for m in mail.outbox if email in m.to]
    assert sent, f"no e-mail to {email}; outbox: {[m.to for m in mail.outbox]}"
    return sent[-1].body


def _code_for(email: str) -> str:
    match = re.search(r"\b(\d{6})\b", _last_mail_to(email))
    assert match
    return match.group(1)


def _link_for(email: str) -> str:
    match = re.search(r"https?://\S+/invite/\S+", _last_mail_to(email))
    assert match
    return match.group(0)


def _open_settings_item(page: Page, url_name: str) -> None:
    page.get_by_test_id("settings-gear").click()
    dropdown = page.get_by_test_id("settings-dropdown")
    expect(dropdown).to_be_visible()
    dropdown.get_by_test_id(f"nav-{url_name}").click()


def test_owner_signs_up_and_invites_a_marketer(
    new_context: Callable[..., BrowserContext], base_url: str, screenshot_dir: Path
) -> None:
    owner = new_context().new_page()

    # Step 1: e-mail, phone, password twice.
    owner.goto("/signup/")
    owner.locator("[name=email]").fill(OWNER_EMAIL)
    owner.locator("[name=phone]").fill("+7 999 123-45-67")
    owner.locator("[name=password1]").fill(OWNER_PASSWORD)
    owner.locator("[name=password2]").fill(OWNER_PASSWORD)
    owner.get_by_test_id("submit").click()

    # Step 2: the 6-digit code from the e-mail.
    expect(owner).to_have_url(re.compile(r"/signup/verify/$"))
    owner.locator("[name=code]").fill(_code_for(OWNER_EMAIL))
    owner.get_by_test_id("submit").click()

    # Step 3: company details and the terms.
    expect(owner).to_have_url(re.compile(r"/signup/company/$"))
    owner.locator("[name=first_name]").fill("Анна")
    owner.locator("[name=last_name]").fill("Петрова")
    owner.locator("[name=name]").fill("Кофейня Зерно")
    owner.locator("[name=accept_terms]").check()
    owner.get_by_test_id("submit").click()

    # The cabinet.
    expect(owner).to_have_url(base_url + reverse("core:home"))
    expect(owner.get_by_test_id("sidebar")).to_be_visible()
    expect(owner.get_by_role("heading", name="Кофейня Зерно")).to_be_visible()
    expect(owner.get_by_test_id("current-user")).to_contain_text(OWNER_EMAIL)

    # Log out, then in again through the login form.
    owner.get_by_test_id("logout").click()
    expect(owner).to_have_url(re.compile(r"/login/$"))
    owner.locator("[name=username]").fill(OWNER_EMAIL)
    owner.locator("[name=password]").fill(OWNER_PASSWORD)
    owner.get_by_test_id("submit").click()
    expect(owner).to_have_url(base_url + reverse("core:home"))
    expect(owner.get_by_test_id("current-user")).to_contain_text(OWNER_EMAIL)

    # The owner may add points of sale (the marketer below may not).
    owner.get_by_test_id("sidebar").get_by_test_id("nav-accounts:pos_list").click()
    expect(owner.get_by_test_id("pos-add")).to_be_visible()

    # Settings (⚙) → Users → Create user → invite the marketer.
    _open_settings_item(owner, "accounts:members")
    expect(owner).to_have_url(re.compile(r"/settings/users/$"))
    owner.get_by_test_id("invite-user").click()
    expect(owner).to_have_url(re.compile(r"/settings/users/invite/$"))
    marketer_role = Role.objects.get(business=Business.objects.get(name="Кофейня Зерно"), code="marketer")
    owner.locator("[name=email]").fill(MARKETER_EMAIL)
    owner.locator("[name=role]").select_option(str(marketer_role.pk))
    owner.get_by_test_id("submit").click()
    expect(owner).to_have_url(re.compile(r"/settings/users/$"))
    expect(owner.get_by_role("cell", name=MARKETER_EMAIL)).to_be_visible()

    # The marketer opens the e-mailed link in another browser (own cookies) and registers.
    link = _link_for(MARKETER_EMAIL)
    assert link.startswith(base_url), link
    marketer = new_context().new_page()
    marketer.goto(link)
    marketer.locator("[name=first_name]").fill("Мария")
    marketer.locator("[name=password1]").fill(MARKETER_PASSWORD)
    marketer.locator("[name=password2]").fill(MARKETER_PASSWORD)
    marketer.get_by_test_id("submit").click()

    # In the cabinet, with only what the Marketer role allows.
    expect(marketer).to_have_url(base_url + reverse("core:home"))
    expect(marketer.get_by_test_id("current-user")).to_contain_text(MARKETER_EMAIL)
    sidebar = marketer.get_by_test_id("sidebar")
    expect(sidebar.get_by_test_id("nav-core:home")).to_be_visible()
    expect(sidebar.get_by_test_id("nav-accounts:pos_list")).to_be_visible()  # points of sale: view
    expect(sidebar.get_by_test_id("nav-core:audit_log")).to_have_count(0)  # settings: none

    marketer.get_by_test_id("settings-gear").click()
    dropdown = marketer.get_by_test_id("settings-dropdown")
    expect(dropdown.get_by_test_id("nav-accounts:security")).to_be_visible()  # everyone's own password
    for hidden in ("accounts:profile", "accounts:members", "accounts:roles"):
        expect(dropdown.get_by_test_id(f"nav-{hidden}")).to_have_count(0)
    dropdown.get_by_test_id("nav-accounts:security").click()
    expect(marketer).to_have_url(re.compile(r"/settings/security/$"))
    expect(marketer.get_by_test_id("settings-menu").locator("a")).to_have_count(1)

    sidebar.get_by_test_id("nav-accounts:pos_list").click()
    expect(marketer.get_by_test_id("points-of-sale")).to_be_visible()
    expect(marketer.get_by_test_id("pos-add")).to_have_count(0)

    response = marketer.goto("/settings/users/")
    assert response is not None
    assert response.status == 403
    expect(marketer.get_by_test_id("access-denied")).to_be_visible()
    expect(marketer.get_by_test_id("members")).to_have_count(0)

    # The cabinet home page, for a look at the layout.
    marketer.goto(reverse("core:home"))
    expect(sidebar).to_be_visible()
    marketer.screenshot(path=str(screenshot_dir / "foundation-marketer-home.png"), full_page=True)
    owner.goto(reverse("core:home"))
    owner.screenshot(path=str(screenshot_dir / "foundation-owner-home.png"), full_page=True)


def test_cabinet_on_a_phone(new_context: Callable[..., BrowserContext], business: Business, screenshot_dir: Path) -> None:
    """On a narrow screen the sidebar folds behind the menu button and still works."""
    page = new_context(mobile=True).new_page()
    page.goto(reverse("accounts:login"))
    page.locator("[name=username]").fill(owner_of(business).email)
    page.locator("[name=password]").fill(PASSWORD)
    page.get_by_test_id("submit").click()
    expect(page.get_by_role("heading", name=business.name)).to_be_visible()

    pos_link = page.get_by_test_id("sidebar").get_by_test_id("nav-accounts:pos_list")
    expect(pos_link).to_be_hidden()
    page.locator(".navbar-toggler").click()
    expect(pos_link).to_be_visible()
    expect(page.locator("#sidebar-menu")).to_have_class(re.compile(r"\bshow\b"))  # unfolded
    page.screenshot(path=str(screenshot_dir / "foundation-phone-menu.png"), full_page=True)
    pos_link.click()
    expect(page.get_by_test_id("points-of-sale")).to_contain_text(PointOfSale.objects.filter(business=business).get().code)
