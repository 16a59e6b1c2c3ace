"""Wallet background work: the scheduler runs it every minute (kopilka/core/scheduler.py)."""

from __future__ import annotations

from django_tasks import task

from kopilka.wallet import updates


@task()
def process_wallet_updates() -> dict[str, int]:
    return updates.run()
