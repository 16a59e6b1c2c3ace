"""Webhook work for the task worker: dispatch the outbox, attempt due deliveries."""

from __future__ import annotations

from django_tasks import task

from kopilka.integrations import services


@task()
def dispatch_webhooks() -> int:
    return len(services.dispatch_outbox())


@task()
def deliver_webhook(delivery_id: int) -> str:
    delivery = services.deliver(delivery_id=delivery_id)
    return delivery.status if delivery else "missing"


@task()
def deliver_due_webhooks() -> int:
    due = services.due_deliveries()
    for delivery_id in due:
        services.deliver(delivery_id=delivery_id)
    return len(due)
