"""Webhooks over real HTTP to a local receiver: signature, retries, once after a 2xx, disabling."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from kopilka.core.models import AuditEntry, OutboxCursor, OutboxEvent
from kopilka.core.scheduler import jobs
from kopilka.integrations import services
from kopilka.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from kopilka.integrations.tasks import deliver_due_webhooks, dispatch_webhooks
from tests.conftest import client_for, owner_of

pytestmark = pytest.mark.django_db


def endpoint_for(business, url: str, events: list[str] | None = None) -> WebhookEndpoint:  # type: ignore[no-untyped-def]
    return services.create_webhook_endpoint(business=business, url=url, events=events or ["*"], actor=owner_of(business))


def emit(business, name: str = "purchase.confirmed", **payload: object) -> OutboxEvent:  # type: ignore[no-untyped-def]
    return OutboxEvent.objects.create(business=business, name=name, payload=payload or {"purchase_id": "pur_1"})


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (Standard Webhooks), written here independently of the sender."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(part == f"v1,{expected}" for part in headers["webhook-signature"].split(" "))


def test_event_is_posted_signed(business, receiver, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    endpoint = endpoint_for(business, receiver.url)
    event = emit(business, amount="1250.00")

    with django_capture_on_commit_callbacks(execute=True):
        created = dispatch_webhooks.call()

    assert created == 1
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got.path == "/hooks/kopilka"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == f"evt_{event.pk}"
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 30
    assert verify(endpoint.signing_secret, got.headers, got.body)
    assert not verify(services.new_secret(), got.headers, got.body)
    assert json.loads(got.body) == {
        "id": f"evt_{event.pk}",
        "type": "purchase.confirmed",
        "created_at": event.created_at.isoformat(),
        "business": business.slug,
        "data": {"amount": "1250.00"},
    }
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)
    assert delivery.response_body == '{"ok": true}'
    assert endpoint.signing_secret.startswith("whsec_")
    assert "whsec_" not in WebhookEndpoint.objects.get().secret  # encrypted at rest


def test_retry_after_a_500_then_never_again_after_a_2xx(business, receiver) -> None:  # type: ignore[no-untyped-def]
    endpoint_for(business, receiver.url)
    emit(business)
    receiver.codes = [500]
    (delivery_id,) = services.dispatch_outbox()

    first = services.deliver(delivery_id=delivery_id)
    early = services.deliver(delivery_id=delivery_id)  # not due yet: nothing is sent

    assert first is not None
    assert early is not None
    assert (first.status, first.attempts, first.response_code) == ("pending", 1, 500)
    assert first.response_body == "receiver says no"
    assert len(receiver.requests) == 1
    due = first.next_attempt_at
    assert due is not None
    assert timedelta(seconds=4) < due - timezone.now() <= timedelta(seconds=5)

    with time_machine.travel(due + timedelta(seconds=1)):
        assert deliver_due_webhooks.call() == 1
        assert deliver_due_webhooks.call() == 0
        services.deliver(delivery_id=delivery_id)
        services.deliver(delivery_id=delivery_id, manual=False)
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        deliver_due_webhooks.call()
        services.dispatch_outbox()

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 2, 200)
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    assert list(WebhookAttempt.objects.order_by("number").values_list("number", "response_code")) == [(1, 500), (2, 200)]
    assert WebhookEndpoint.objects.get().failure_count == 0


def test_persistent_failure_disables_the_endpoint_and_tells_the_owner(business, receiver, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    endpoint = endpoint_for(business, receiver.url)
    emit(business)
    receiver.default = 503
    (delivery_id,) = services.dispatch_outbox()
    started = timezone.now()

    services.deliver(delivery_id=delivery_id)
    for _ in range(20):
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        if delivery.next_attempt_at is None:
            break
        with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)), django_capture_on_commit_callbacks(execute=True):
            deliver_due_webhooks.call()
            last = timezone.now()

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    endpoint.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 8)
    assert len(receiver.requests) == 8
    assert last - started >= timedelta(hours=24)
    assert endpoint.is_active is False
    assert endpoint.failure_count == 8
    assert endpoint.disabled_reason
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alpha@example.com"]
    assert receiver.url in mail.outbox[0].body
    assert AuditEntry.objects.filter(business=business, action="webhook.disable").count() == 1
    # A disabled endpoint gets nothing new.
    emit(business)
    assert services.dispatch_outbox() == []


def test_a_refused_connection_is_a_failed_attempt(business) -> None:  # type: ignore[no-untyped-def]
    endpoint_for(business, "http://127.0.0.1:9/nothing-listens")
    emit(business)
    (delivery_id,) = services.dispatch_outbox()

    delivery = services.deliver(delivery_id=delivery_id)

    assert delivery is not None
    assert (delivery.status, delivery.response_code) == ("pending", None)
    assert delivery.error.startswith("ConnectError")


def test_subscriptions_and_tenancy(business, other_business, receiver) -> None:  # type: ignore[no-untyped-def]
    only_refunds = endpoint_for(business, receiver.url + "?refunds", ["purchase.refunded"])
    everything = endpoint_for(business, receiver.url + "?all")
    paused = endpoint_for(business, receiver.url + "?paused")
    services.update_webhook_endpoint(
        business=business, endpoint=paused, url=paused.url, events=["*"], is_active=False, actor=owner_of(business)
    )
    emit(business, "purchase.confirmed")
    refund = emit(business, "purchase.refunded")
    emit(other_business, "purchase.refunded")

    services.dispatch_outbox()

    pairs = sorted(WebhookDelivery.objects.values_list("endpoint_id", "event_type"))
    assert pairs == sorted([
        (only_refunds.pk, "purchase.refunded"),
        (everything.pk, "purchase.confirmed"),
        (everything.pk, "purchase.refunded"),
    ])  # fmt: skip
    assert WebhookDelivery.objects.get(endpoint=only_refunds).event_id == refund.pk
    assert all(d.business_id == business.pk for d in WebhookDelivery.objects.all())


def test_the_cursor_hands_out_each_event_once(business, receiver) -> None:  # type: ignore[no-untyped-def]
    endpoint_for(business, receiver.url)
    for _ in range(3):
        emit(business)

    first = services.dispatch_outbox()
    second = services.dispatch_outbox()
    emit(business)
    third = services.dispatch_outbox()

    assert (len(first), second, len(third)) == (3, [], 1)
    assert OutboxCursor.objects.get(consumer="webhooks").last_id == OutboxEvent.objects.order_by("-id").first().pk


def test_the_cursor_waits_briefly_at_a_hole_in_the_ids(business, receiver) -> None:  # type: ignore[no-untyped-def]
    endpoint_for(business, receiver.url)
    a, hole, b = emit(business), emit(business), emit(business)
    hole.delete()  # as if its transaction were still open (or rolled back)

    now = timezone.now()
    assert [WebhookDelivery.objects.get(pk=i).event_id for i in services.dispatch_outbox(now=now)] == [a.pk]
    assert services.dispatch_outbox(now=now + timedelta(seconds=11)) != []
    assert sorted(WebhookDelivery.objects.values_list("event_id", flat=True)) == [a.pk, b.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrency")
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_never_take_the_same_event(business) -> None:  # type: ignore[no-untyped-def]
    endpoint_for(business, "http://127.0.0.1:9/unused")
    events = [emit(business) for _ in range(60)]
    barrier = threading.Barrier(6)
    taken: list[int] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def dispatcher() -> None:
        from django.db import connections

        try:
            barrier.wait()
            for _ in range(5):
                ids = services.dispatch_outbox(batch=7)
                with lock:
                    taken.extend(ids)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatcher) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(taken) == len(set(taken)) == 60
    assert sorted(WebhookDelivery.objects.values_list("event_id", flat=True)) == [e.pk for e in events]


def test_retry_schedule_spans_a_day() -> None:
    assert sum(services.RETRY_SCHEDULE, timedelta()) >= timedelta(hours=24)
    names = [job.name for job in jobs()]
    assert "integrations.dispatch_webhooks" in names
    assert "integrations.deliver_due_webhooks" in names


def test_cabinet_create_log_and_redeliver(owner_client, business, receiver) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post(reverse("integrations:webhooks"), {"url": receiver.url, "events": ["purchase.confirmed"]})

    endpoint = WebhookEndpoint.objects.get(business=business)
    assert response.status_code == 302
    assert response["Location"] == reverse("integrations:webhook_edit", kwargs={"endpoint_id": endpoint.pk})
    assert endpoint.events == ["purchase.confirmed"]
    emit(business)
    receiver.codes = [502]
    (delivery_id,) = services.dispatch_outbox()
    services.deliver(delivery_id=delivery_id)

    page = owner_client.get(response["Location"])
    assert page.status_code == 200
    assert "HTTP 502" in page.content.decode()
    assert endpoint.signing_secret in page.content.decode()

    redo = owner_client.post(reverse("integrations:webhook_redeliver", kwargs={"delivery_id": delivery_id}))

    assert redo.status_code == 302
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.response_code) == ("succeeded", 200)
    assert len(receiver.requests) == 2
    assert WebhookAttempt.objects.filter(delivery=delivery, manual=True).count() == 1
    assert AuditEntry.objects.filter(business=business, action="webhook.redeliver").count() == 1


def test_cabinet_refuses_bad_urls_and_other_businesses(owner_client, business, other_business) -> None:  # type: ignore[no-untyped-def]
    bad = owner_client.post(reverse("integrations:webhooks"), {"url": "ftp://example.com/x"})
    theirs = endpoint_for(other_business, "https://beta.example.com/hook")
    event = emit(other_business)
    delivery = WebhookDelivery.objects.create(business=other_business, endpoint=theirs, event=event, event_type=event.name)

    assert bad.status_code == 200
    assert bad.context["form"].errors["url"]
    assert WebhookEndpoint.objects.filter(business=business).count() == 0
    assert owner_client.get(reverse("integrations:webhook_edit", kwargs={"endpoint_id": theirs.pk})).status_code == 404
    assert owner_client.post(reverse("integrations:webhook_redeliver", kwargs={"delivery_id": delivery.pk})).status_code == 404
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 0


def test_re_enabling_resets_the_failure_count(business) -> None:  # type: ignore[no-untyped-def]
    endpoint = endpoint_for(business, "https://example.com/hook")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, failure_count=8, disabled_reason="x")
    endpoint.refresh_from_db()

    services.update_webhook_endpoint(
        business=business, endpoint=endpoint, url=endpoint.url, events=["*"], is_active=True, actor=owner_of(business)
    )

    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.failure_count, endpoint.disabled_reason) == (True, 0, "")


def test_a_cashier_cannot_see_webhooks(business, make_member) -> None:  # type: ignore[no-untyped-def]
    cashier = client_for(make_member(business, "cashier").user)

    assert cashier.get(reverse("integrations:webhooks")).status_code == 403
