"""Wallet background work: the scheduler runs it every minute (kopilka/core/scheduler.py)."""

from __future__ import annotations

from django_tasks import task

from kopilka.wallet import updates


@task()
def process_wallet_updates() -> dict[str, int]:
    return updates.run()


@task()
def push_wallet_updates(registration_ids: list[int]) -> dict[str, int]:
    report = updates.push_registrations(registration_ids)
    return {"sent": report.sent, "unregistered": report.unregistered, "failed": report.failed}
