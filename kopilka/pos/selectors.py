"""Reads of API keys, always scoped by business; ``access_*`` fetch one object or 404."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from kopilka.accounts.models import Business
from kopilka.pos.models import ApiKey


def api_keys(business: Business) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(business=business).select_related("point_of_sale", "created_by").order_by("-created_at", "-id")


def access_api_key(*, business: Business, key_id: int) -> ApiKey:
    return get_object_or_404(ApiKey, business=business, pk=key_id)


def active_key_by_hash(key_hash: str) -> ApiKey | None:
    """The live key with this digest, with its business and point of sale; ``None`` if revoked or unknown."""
    return (
        ApiKey.objects.select_related("business", "point_of_sale")
        .filter(key_hash=key_hash, revoked_at__isnull=True)
        .first()
    )
