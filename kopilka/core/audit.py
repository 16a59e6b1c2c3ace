"""Writing the audit log (A8). Services call ``record``; nothing else writes AuditEntry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models

from kopilka.core.models import AuditEntry


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The listed fields of ``obj`` as JSON-ready values (foreign keys by their text)."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def record(
    *,
    business: Any,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.model_name or ""
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:255]
    return AuditEntry.objects.create(
        business=business,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=(str(actor) if actor is not None else "system")[:255],
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        reason=reason,
    )
