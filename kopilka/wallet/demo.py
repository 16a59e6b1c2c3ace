"""The demo's wallet: development certificates so the whole journey works without Apple or Google."""

from __future__ import annotations

from typing import Any

from kopilka.wallet.dev import install_development_credentials
from kopilka.wallet.services import wallet_settings_for


def seed_wallet(demo: Any) -> None:
    """Install a development chain once; a re-run keeps the installed one (passes stay valid)."""
    row = wallet_settings_for(demo.business)
    if row is not None and row.has_apple and row.has_google:
        return
    install_development_credentials(demo.business)
