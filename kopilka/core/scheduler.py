"""The one place where time passes: a loop that enqueues due work (ARCHITECTURE.md).

Each job has a period; its due moments are the multiples of that period since the epoch. For each
due moment the scheduler inserts a ``SchedulerSlot`` row; the unique key lets exactly one scheduler
enqueue the job even when several run (two machines, a restart in the same minute). Work itself runs
in the task worker, so a slow job never delays the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from kopilka.core.models import SchedulerSlot

logger = logging.getLogger("kopilka.scheduler")
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    task: Any  # a django_tasks Task; ``.enqueue()`` is called

    def due_at(self, now: datetime) -> datetime:
        period = self.every.total_seconds()
        slots = int((now - EPOCH).total_seconds() // period)
        return EPOCH + timedelta(seconds=slots * period)


def jobs() -> list[Job]:
    """Every periodic job of the platform. Later capabilities add theirs here."""
    from kopilka.accounts import tasks as accounts_tasks
    from kopilka.core import tasks as core_tasks
    from kopilka.integrations import tasks as integrations_tasks
    from kopilka.loyalty import tasks as loyalty_tasks
    from kopilka.pos import tasks as pos_tasks
    from kopilka.wallet import tasks as wallet_tasks

    return [
        Job("accounts.prune_email_codes", timedelta(hours=1), accounts_tasks.prune_email_codes),
        Job("core.prune_scheduler_slots", timedelta(hours=6), core_tasks.prune_scheduler_slots),
        Job("core.prune_finished_tasks", timedelta(hours=6), core_tasks.prune_finished_tasks),
        Job("loyalty.activate_due_points", timedelta(minutes=5), loyalty_tasks.activate_due_points),
        Job("loyalty.expire_due_points", timedelta(minutes=15), loyalty_tasks.expire_due_points),
        Job("loyalty.recalculate_levels", timedelta(hours=1), loyalty_tasks.recalculate_levels),
        Job("pos.prune_idempotency_records", timedelta(hours=1), pos_tasks.prune_idempotency_records),
        Job("wallet.process_updates", timedelta(minutes=1), wallet_tasks.process_wallet_updates),
        Job("integrations.dispatch_webhooks", timedelta(minutes=1), integrations_tasks.dispatch_webhooks),
        Job("integrations.deliver_due_webhooks", timedelta(minutes=1), integrations_tasks.deliver_due_webhooks),
    ]


def tick(now: datetime | None = None, job_list: list[Job] | None = None) -> list[str]:
    """Enqueue every job whose current slot has not been taken yet; return the names enqueued."""
    now = now or timezone.now()
    enqueued = []
    for job in job_list if job_list is not None else jobs():
        due = job.due_at(now)
        try:
            with transaction.atomic():
                SchedulerSlot.objects.create(job=job.name, due_at=due)
                job.task.enqueue()
        except IntegrityError:
            continue  # another scheduler (or an earlier tick) took this slot
        enqueued.append(job.name)
        logger.info("enqueued %s for %s", job.name, due.isoformat())
    return enqueued
