"""Browser-test harness: Debian's Chromium driven by Playwright's sync API against pytest-django's live server.

No browser is downloaded (``playwright install`` is never run): we launch the system Chromium that
``scripts/setup --browser`` installs. The live server runs in a thread of this process, so the
locmem ``mail.outbox`` set up in ``tests/conftest.py`` shows the e-mails the browser caused.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, expect, sync_playwright

CHROMIUM = os.environ.get("KOPILKA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
RESULTS = Path(__file__).resolve().parents[2] / "test-results"

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: run ./scripts/setup --browser")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def base_url(live_server, settings) -> str:  # type: ignore[no-untyped-def]
    """The live server's URL; e-mailed links (invitations, resets) point at it too."""
    settings.PUBLIC_URL = live_server.url
    # Chromium accepts Secure cookies on http://localhost but not on http://127.0.0.1 (which
    # --liveserver / DJANGO_LIVE_TEST_SERVER_ADDRESS may choose); the live server is plain HTTP.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    return str(live_server.url)


@pytest.fixture
def new_context(browser: Browser, base_url: str) -> Iterator[Callable[..., BrowserContext]]:
    """A factory of isolated browser contexts (separate cookies = separate people).

    ``new_context()`` is a desktop browser; ``new_context(mobile=True)`` a phone-sized touch screen;
    ``viewport={...}`` sets any size. Pages opened in a context resolve relative URLs against the
    live server.
    """
    contexts: list[BrowserContext] = []

    def make(*, mobile: bool = False, viewport: dict[str, int] | None = None, locale: str = "ru-RU") -> BrowserContext:
        options: dict = {"base_url": base_url, "locale": locale, "viewport": viewport or (MOBILE if mobile else DESKTOP)}
        if mobile:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    RESULTS.mkdir(exist_ok=True)
    return RESULTS
