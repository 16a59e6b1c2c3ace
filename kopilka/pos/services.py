"""Verbs of the POS API's own data: creating and revoking API keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kopilka.accounts.models import Business, PointOfSale
from kopilka.core import audit
from kopilka.pos.models import DEFAULT_PERMISSIONS, PERMISSIONS, ApiKey

KEY_PREFIX = "kpk_"
PREFIX_LENGTH = 12  # "kpk_" and the first 8 characters of the secret: enough to tell keys apart


def hash_key(key: str) -> str:
    """Keys carry 240 random bits, so a plain SHA-256 is a safe and fast digest to look them up by."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    key: str  # shown once, never stored


def create_api_key(
    *,
    business: Business,
    name: str,
    point_of_sale: PointOfSale | None = None,
    permissions: list[str] | None = None,
    actor: Any,
) -> IssuedKey:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the key a name.")})
    if point_of_sale is not None and point_of_sale.business_id != business.pk:
        raise ValidationError({"point_of_sale": _("Choose a point of sale of this business.")})
    chosen = list(DEFAULT_PERMISSIONS if permissions is None else permissions)
    unknown = [p for p in chosen if p not in PERMISSIONS]
    if unknown:
        raise ValidationError({"permissions": _("Unknown permissions: %(names)s") % {"names": ", ".join(unknown)}})
    key = KEY_PREFIX + secrets.token_urlsafe(30)
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            business=business,
            name=name[:100],
            prefix=key[:PREFIX_LENGTH],
            key_hash=hash_key(key),
            point_of_sale=point_of_sale,
            permissions=[p for p in PERMISSIONS if p in chosen],
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit.record(
            business=business,
            actor=actor,
            action="api_key.create",
            obj=api_key,
            after=audit.snapshot(api_key, ["name", "prefix", "point_of_sale", "permissions"]),
        )
    return IssuedKey(api_key=api_key, key=key)


def revoke_api_key(*, business: Business, api_key: ApiKey, actor: Any) -> ApiKey:
    if api_key.business_id != business.pk:
        raise ValidationError(_("This key belongs to another business."))
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit.record(
            business=business,
            actor=actor,
            action="api_key.revoke",
            obj=locked,
            before={"revoked_at": None},
            after={"revoked_at": locked.revoked_at},
        )
    return locked
