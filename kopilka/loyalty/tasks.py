"""Background work of the loyalty engine; the scheduler enqueues these (core/scheduler.py)."""

from __future__ import annotations

from django_tasks import task

from kopilka.loyalty import services


@task()
def activate_due_points() -> int:
    return services.activate_due_points()


@task()
def expire_due_points() -> int:
    return services.expire_due_points()


@task()
def recalculate_levels() -> int:
    return services.recalculate_levels()
