"""Idempotency-Key: one application per key, byte-for-byte replays, 409 for another body."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from kopilka.core.models import AuditEntry
from kopilka.core.scheduler import jobs
from kopilka.pos import idempotency
from kopilka.pos.models import IdempotencyRecord
from kopilka.pos.tasks import prune_idempotency_records
from tests.pos.conftest import bearer

probe_urls = pytest.mark.urls("tests.pos.urls_probe")
PROBE = "/api/v1/probe"


def post(client: Client, key: str, body: object, idem: str | None = None):  # type: ignore[no-untyped-def]
    extra = {"HTTP_IDEMPOTENCY_KEY": idem} if idem is not None else {}
    return client.post(PROBE, json.dumps(body), content_type="application/json", **bearer(key), **extra)


@probe_urls
@pytest.mark.django_db
def test_same_key_same_body_replays_byte_for_byte(client, business, make_key) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)

    first = post(client, issued.key, {"amount": "12.30", "note": "a"}, idem="k-1")
    again = post(client, issued.key, {"note": "a", "amount": "12.30"}, idem="k-1")

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert AuditEntry.objects.filter(action="probe").count() == 1


@probe_urls
@pytest.mark.django_db
def test_same_key_other_body_is_409(client, business, make_key) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)
    post(client, issued.key, {"amount": "12.30"}, idem="k-1")

    response = post(client, issued.key, {"amount": "99.00"}, idem="k-1")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert AuditEntry.objects.filter(action="probe").count() == 1


@probe_urls
@pytest.mark.django_db
def test_keys_are_per_business(client, business, other_business, make_key) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = make_key(business), make_key(other_business)

    a = post(client, mine.key, {"amount": "1"}, idem="shared")
    b = post(client, theirs.key, {"amount": "2"}, idem="shared")

    assert (a.status_code, b.status_code) == (201, 201)
    assert AuditEntry.objects.filter(action="probe").count() == 2


@probe_urls
@pytest.mark.django_db
def test_without_a_key_each_request_applies(client, business, make_key) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)

    post(client, issued.key, {"amount": "1"})
    post(client, issued.key, {"amount": "1"})

    assert AuditEntry.objects.filter(action="probe").count() == 2
    assert IdempotencyRecord.objects.count() == 0


@probe_urls
@pytest.mark.django_db
@pytest.mark.parametrize("note", ["fail", "answer-error"])
def test_errors_change_nothing_and_are_not_stored(client, business, make_key, note) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)

    first = post(client, issued.key, {"amount": "1", "note": note}, idem="k-err")
    second = post(client, issued.key, {"amount": "1", "note": note}, idem="k-err")

    assert first.status_code == second.status_code == 409
    assert not AuditEntry.objects.filter(action="probe").exists()
    assert IdempotencyRecord.objects.count() == 0


@probe_urls
@pytest.mark.django_db
@pytest.mark.parametrize("value", ["", "x" * 256])
def test_idempotency_key_length_is_checked(client, business, make_key, value) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)

    response = post(client, issued.key, {"amount": "1"}, idem=value)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not AuditEntry.objects.filter(action="probe").exists()


@pytest.mark.django_db
def test_records_live_24_hours_then_the_scheduler_prunes_them(business) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    with time_machine.travel(now - timedelta(hours=26), tick=False):
        IdempotencyRecord.objects.create(business=business, key="old", request_hash="h", status=201)
    with time_machine.travel(now - timedelta(hours=24), tick=False):
        IdempotencyRecord.objects.create(business=business, key="day", request_hash="h", status=201)
    IdempotencyRecord.objects.create(business=business, key="new", request_hash="h", status=201)

    deleted = prune_idempotency_records.call()

    assert deleted == 1
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == ["day", "new"]
    assert "pos.prune_idempotency_records" in [job.name for job in jobs()]
    assert timedelta(hours=24) <= idempotency.KEEP_FOR


@probe_urls
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrency")
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_apply_once(business, make_key) -> None:  # type: ignore[no-untyped-def]
    issued = make_key(business)
    barrier = threading.Barrier(20)
    results: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def worker() -> None:
        from django.db import connections

        try:
            barrier.wait()
            response = post(Client(), issued.key, {"amount": "5.00"}, idem="one-key")
            with lock:
                results.append((response.status_code, response.content))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(results) == 20
    assert {status for status, _ in results} == {201}
    assert len({content for _, content in results}) == 1
    assert AuditEntry.objects.filter(action="probe").count() == 1
    assert IdempotencyRecord.objects.count() == 1
