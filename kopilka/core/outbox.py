"""Reading the event outbox: each consumer (webhooks, wallet updates, …) takes every event once.

Event ids are assigned when a row is inserted, but rows become visible when their transaction
commits, so a reader can see id 12 before id 11. A consumer therefore stops at a hole in the ids
that is younger than ``GAP_WAIT`` (an earlier event may still be committing) and takes it next time;
after that, the hole is a rolled-back transaction and is skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from kopilka.core.models import OutboxCursor, OutboxEvent

GAP_WAIT = timedelta(seconds=10)


def take_events(*, consumer: str, limit: int, now: datetime | None = None) -> list[OutboxEvent]:
    """The next events for ``consumer`` in id order; the cursor moves past them.

    Call inside ``transaction.atomic()``: the cursor row stays locked until the caller's work on
    these events commits, so two workers never take the same events, and a failure takes none.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_events must run inside a transaction")
    now = now or timezone.now()
    OutboxCursor.objects.get_or_create(consumer=consumer)
    cursor = OutboxCursor.objects.select_for_update().get(consumer=consumer)
    taken: list[OutboxEvent] = []
    last_id = cursor.last_id
    for event in OutboxEvent.objects.filter(id__gt=last_id).order_by("id")[:limit]:
        if last_id and event.id != last_id + 1 and now - event.created_at < GAP_WAIT:
            break
        taken.append(event)
        last_id = event.id
    if last_id != cursor.last_id:
        cursor.last_id = last_id
        cursor.save(update_fields=["last_id", "updated_at"])
    return taken
