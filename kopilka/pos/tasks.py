"""Background work of the POS API, run by the task worker when the scheduler says so."""

from __future__ import annotations

from django_tasks import task

from kopilka.pos import idempotency


@task()
def prune_idempotency_records() -> int:
    """Idempotency keys are kept at least 24 hours (the contract), then forgotten."""
    return idempotency.prune()
