from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _english(settings):  # type: ignore[no-untyped-def]
    """Account flows assert the exact English messages (the msgids); Russian is tested in tests/core."""
    settings.LANGUAGE_CODE = "en"
