"""Reads of API keys, always scoped by business; ``access_*`` fetch one object or 404."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from kopilka.accounts.models import Business
from kopilka.core import fastsql
from kopilka.pos.models import ApiKey


def api_keys(business: Business) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(business=business).select_related("point_of_sale", "created_by").order_by("-created_at", "-id")


def access_api_key(*, business: Business, key_id: int) -> ApiKey:
    return get_object_or_404(ApiKey, business=business, pk=key_id)


def active_key_by_hash(key_hash: str) -> ApiKey | None:
    """The live key with this digest, with its business and point of sale; ``None`` if revoked or unknown."""
    # Every API request starts here, so it is hand-compiled (kopilka/core/fastsql.py).
    found = fastsql.select_related(
        ApiKey, ("business", "point_of_sale"), '"pos_apikey"."key_hash" = %s AND "pos_apikey"."revoked_at" IS NULL',
        [key_hash], limit=1,
    )  # fmt: skip
    return found[0] if found else None
