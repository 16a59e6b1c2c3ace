"""Who made a change: a cabinet user, an API key, or the system (scheduler, triggers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    """A non-user actor, e.g. ``Actor(label="api:Касса 1")``; an optional ``user`` behind it."""

    label: str
    user: Any = None

    def __str__(self) -> str:
        return self.label


SYSTEM = Actor(label="system")


def actor_user(actor: Any) -> Any:
    """The User row to store in an ``actor`` foreign key, or None."""
    if isinstance(actor, Actor):
        return actor.user
    return actor if getattr(actor, "pk", None) else None


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, Actor):
        return actor.label[:255]
    return str(getattr(actor, "email", "") or actor)[:255]
