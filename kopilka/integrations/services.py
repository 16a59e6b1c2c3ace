"""Webhooks (C5): endpoints, the outbox dispatcher, signed deliveries with retries.

The dispatcher reads ``OutboxEvent`` rows past its cursor (``OutboxCursor``, moved under a row lock,
so two dispatchers never hand out one event twice) and creates one ``WebhookDelivery`` per matching
endpoint. A delivery is POSTed, signed the Standard Webhooks way, and retried on the schedule below
(about 28 hours in all) until a 2xx; after the last failure the endpoint is disabled and the owner
is told by e-mail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kopilka.accounts.models import Business, Membership
from kopilka.core import audit, outbox
from kopilka.core.models import OutboxEvent
from kopilka.integrations.models import EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from kopilka.wallet import vault

logger = logging.getLogger("kopilka.webhooks")

CONSUMER = "webhooks"
RETRY_SCHEDULE = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
LEASE = timedelta(minutes=2)  # an attempt in flight; a worker that dies leaves it due again after this
TIMEOUT = 10.0
EXCERPT = 1000


# --- Endpoints ------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _clean(url: str, events: list[str]) -> tuple[str, list[str]]:
    url = url.strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise ValidationError({"url": _("Enter an http(s) URL.")}) from exc
    chosen = ["*"] if not events or "*" in events else [e for e in EVENT_TYPES if e in events]
    unknown = [e for e in events if e != "*" and e not in EVENT_TYPES]
    if unknown:
        raise ValidationError({"events": _("Unknown events: %(names)s") % {"names": ", ".join(unknown)}})
    return url, chosen


def create_webhook_endpoint(
    *, business: Business, url: str, events: list[str], description: str = "", actor: Any
) -> WebhookEndpoint:
    url, chosen = _clean(url, events)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            business=business, url=url, events=chosen, description=description.strip()[:200], secret=vault.encrypt(new_secret())
        )
        audit.record(
            business=business, actor=actor, action="webhook.create", obj=endpoint,
            after=audit.snapshot(endpoint, ["url", "events", "description"]),
        )  # fmt: skip
    return endpoint


def update_webhook_endpoint(
    *,
    business: Business,
    endpoint: WebhookEndpoint,
    url: str,
    events: list[str],
    description: str = "",
    is_active: bool = True,
    actor: Any,
) -> WebhookEndpoint:
    if endpoint.business_id != business.pk:
        raise ValidationError(_("This endpoint belongs to another business."))
    url, chosen = _clean(url, events)
    fields = ["url", "events", "description", "is_active"]
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = audit.snapshot(locked, fields)
        locked.url, locked.events, locked.description = url, chosen, description.strip()[:200]
        if is_active and not locked.is_active:  # re-enabled by a person: start counting afresh
            locked.failure_count = 0
            locked.disabled_reason = ""
            locked.disabled_at = None
        locked.is_active = is_active
        locked.save()
        after = audit.snapshot(locked, fields)
        if after != before:
            audit.record(business=business, actor=actor, action="webhook.update", obj=locked, before=before, after=after)
    return locked


# --- Dispatch -------------------------------------------------------------------------------


def dispatch_outbox(*, batch: int = 500, now: datetime | None = None) -> list[int]:
    """Hand new outbox events to matching endpoints; returns the ids of the deliveries created."""
    now = now or timezone.now()
    created: list[int] = []
    with transaction.atomic():
        events = outbox.take_events(consumer=CONSUMER, limit=batch, now=now)
        endpoints: dict[int, list[WebhookEndpoint]] = {}
        for endpoint in WebhookEndpoint.objects.filter(
            business_id__in={e.business_id for e in events}, is_active=True
        ).order_by("id"):
            endpoints.setdefault(endpoint.business_id, []).append(endpoint)
        for event in events:
            for endpoint in endpoints.get(event.business_id, []):
                if endpoint.wants(event.name):
                    delivery, made = WebhookDelivery.objects.get_or_create(
                        endpoint=endpoint, event=event,
                        defaults={"business_id": event.business_id, "event_type": event.name, "next_attempt_at": now},
                    )  # fmt: skip
                    if made:
                        created.append(delivery.pk)
        if created:
            transaction.on_commit(lambda: _enqueue(created))
    return created


def _enqueue(delivery_ids: list[int]) -> None:
    from kopilka.integrations.tasks import deliver_webhook

    for delivery_id in delivery_ids:
        deliver_webhook.enqueue(delivery_id)


def due_deliveries(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


# --- Delivery -------------------------------------------------------------------------------


def event_body(event: OutboxEvent, business: Business) -> bytes:
    document = {
        "id": f"evt_{event.pk}",
        "type": event.name,
        "created_at": event.created_at.isoformat(),
        "business": business.slug,
        "data": event.payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` keyed by the decoded secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def deliver(*, delivery_id: int, manual: bool = False) -> WebhookDelivery | None:
    """One attempt, if the delivery is due (or asked for by a person); never two after a 2xx."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "event", "business")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
            return delivery
        if not manual and (not delivery.endpoint.is_active or (delivery.next_attempt_at and delivery.next_attempt_at > now)):
            return delivery
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    endpoint, number = delivery.endpoint, delivery.attempts

    body = event_body(delivery.event, delivery.business)
    message_id = f"evt_{delivery.event_id}"
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": "Kopilka-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(endpoint.signing_secret, message_id, timestamp, body),
    }
    started, clock = timezone.now(), time.monotonic()
    code: int | None = None
    excerpt = error = ""
    try:
        response = httpx.post(endpoint.url, content=body, headers=headers, timeout=TIMEOUT, follow_redirects=False)
        code, excerpt = response.status_code, response.text[:EXCERPT]
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    except Exception as exc:  # a bad URL must not kill the worker
        logger.exception("webhook %s failed", delivery.pk)
        error = f"{type(exc).__name__}: {exc}"[:300]
    elapsed = int((time.monotonic() - clock) * 1000)
    ok = code is not None and 200 <= code < 300
    return _record(delivery.pk, number=number, manual=manual, started=started, elapsed=elapsed, code=code,
                   excerpt=excerpt, error=error, ok=ok)  # fmt: skip


def _record(
    delivery_id: int, *, number: int, manual: bool, started: datetime, elapsed: int, code: int | None,
    excerpt: str, error: str, ok: bool,
) -> WebhookDelivery:  # fmt: skip
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        WebhookAttempt.objects.create(
            business_id=delivery.business_id, delivery=delivery, number=number, manual=manual, started_at=started,
            duration_ms=elapsed, response_code=code, response_body=excerpt, error=error,
        )  # fmt: skip
        delivery.response_code, delivery.response_body, delivery.error = code, excerpt, error
        if ok:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            endpoint.failure_count = 0
        else:
            endpoint.failure_count += 1
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = WebhookDelivery.Status.FAILED
                delivery.next_attempt_at = None
                if endpoint.is_active:
                    _disable(endpoint, now)
            else:
                delivery.next_attempt_at = now + RETRY_SCHEDULE[delivery.attempts - 1]
        delivery.save()
        endpoint.save(update_fields=["failure_count", "is_active", "disabled_reason", "disabled_at"])
    return delivery


def _disable(endpoint: WebhookEndpoint, now: datetime) -> None:
    endpoint.is_active = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = _("Every attempt to deliver an event failed for more than 24 hours.")
    audit.record(
        business=endpoint.business, actor=None, action="webhook.disable",
        obj=endpoint, before={"is_active": True}, after={"is_active": False}, reason=endpoint.disabled_reason,
    )  # fmt: skip
    endpoint_id = endpoint.pk
    transaction.on_commit(lambda: _notify_owner(endpoint_id))


def _notify_owner(endpoint_id: int) -> None:
    endpoint = WebhookEndpoint.objects.select_related("business").get(pk=endpoint_id)
    owners = list(
        Membership.objects.filter(business=endpoint.business, is_owner=True, is_active=True).values_list(
            "user__email", flat=True
        )
    )
    if not owners:
        return
    base = getattr(settings, "PUBLIC_URL", "")
    subject = _("Kopilka: webhook endpoint disabled")
    text = _(
        "We could not deliver events to %(url)s for more than 24 hours, so the endpoint of %(business)s "
        "is disabled. Fix the receiver, then enable the endpoint again in Integrations → Webhooks: %(link)s"
    ) % {"url": endpoint.url, "business": endpoint.business.name, "link": f"{base}/integrations/webhooks/{endpoint.pk}/"}
    try:
        send_mail(subject, text, None, owners)
    except Exception:  # the notice must not undo the bookkeeping
        logger.exception("could not e-mail the owner about webhook endpoint %s", endpoint_id)


def redeliver(*, business: Business, delivery: WebhookDelivery, actor: Any) -> WebhookDelivery | None:
    """A person asks to send this event again now: a fresh schedule, and one attempt right away."""
    if delivery.business_id != business.pk:
        raise ValidationError(_("This delivery belongs to another business."))
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        locked.status = WebhookDelivery.Status.PENDING
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.delivered_at = None
        locked.save()
        audit.record(business=business, actor=actor, action="webhook.redeliver", obj=locked)
    return deliver(delivery_id=locked.pk, manual=True)
