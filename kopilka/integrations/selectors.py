"""Reads of webhook data, scoped by business; ``access_*`` fetch one object or 404."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from kopilka.accounts.models import Business
from kopilka.integrations.models import WebhookDelivery, WebhookEndpoint


def webhook_endpoints(business: Business) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(business=business).order_by("id")


def access_webhook_endpoint(*, business: Business, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, business=business, pk=endpoint_id)


def access_webhook_delivery(*, business: Business, delivery_id: int) -> WebhookDelivery:
    return get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), business=business, pk=delivery_id)


def deliveries_of(endpoint: WebhookEndpoint, limit: int = 100) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(business_id=endpoint.business_id, endpoint=endpoint)
        .prefetch_related("attempt_log")
        .order_by("-id")[:limit]
    )
