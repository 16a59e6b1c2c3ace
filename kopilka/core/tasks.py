"""Housekeeping tasks of the shared kernel, run by the task worker when the scheduler says so."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from kopilka.core.models import SchedulerSlot


@task()
def prune_scheduler_slots() -> int:
    """Slots only need to live long enough to stop a second scheduler firing the same job."""
    deleted, _ = SchedulerSlot.objects.filter(due_at__lt=timezone.now() - timedelta(days=2)).delete()
    return deleted


@task()
def prune_finished_tasks() -> int:
    from django_tasks_db.models import DBTaskResult

    deleted, _ = DBTaskResult.objects.finished().filter(  # type: ignore[attr-defined]
        finished_at__lt=timezone.now() - timedelta(days=7)
    ).delete()
    return deleted
