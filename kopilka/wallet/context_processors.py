"""The cabinet-wide warning that the Apple pass certificate expires soon (G4: from two weeks before)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone


def certificate_expiry(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.can("certificates"):
        return {}

    def warning() -> dict[str, Any] | None:  # lazy: only pages that render the banner pay the query
        from kopilka.wallet.services import expiry_warning, wallet_settings_for

        row = wallet_settings_for(membership.business_id)
        if row is None or not expiry_warning(row):
            return None
        expires = row.apple_expires_at
        assert expires is not None
        return {"expires_at": expires, "days_left": (expires - timezone.now()).days}

    return {"wallet_certificate_expiry": warning}
