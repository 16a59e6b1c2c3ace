"""Every user-facing string has a Russian translation (Russian is the default UI language)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

ROOT = Path(settings.BASE_DIR)


@pytest.mark.skipif(shutil.which("msgmerge") is None, reason="gettext is installed by scripts/setup")
def test_every_message_has_a_russian_translation(tmp_path: Path) -> None:
    # Extract from a copy of the code so the committed catalog is compared, not rewritten.
    copy = tmp_path / "kopilka"
    shutil.copytree(ROOT / "kopilka", copy, ignore=shutil.ignore_patterns("vendor", "__pycache__", "*.mo"))
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "makemessages", "-l", "ru", "--no-location",
         "--ignore", "static/*", "--verbosity", "0"],
        cwd=copy, check=True, capture_output=True,
    )  # fmt: skip
    po = polib.pofile(str(copy / "locale/ru/LC_MESSAGES/django.po"))
    missing = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    assert not missing, f"{len(missing)} strings lack a Russian translation (run scripts/i18n): {missing[:20]}"


def test_russian_is_the_default_and_english_is_available(client, settings) -> None:  # type: ignore[no-untyped-def]
    from kopilka import settings as configured

    assert configured.LANGUAGE_CODE == "ru"
    settings.LANGUAGE_CODE = configured.LANGUAGE_CODE  # the test suite runs in English by default
    with translation.override("ru"):
        assert translation.gettext("Log in") != "Log in"
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Log in to your cabinet" in response.content.decode()
    response = client.get("/login/")
    assert "Вход в личный кабинет" in response.content.decode()
