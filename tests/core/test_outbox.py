"""Outbox consumers take every event once, in id order, and wait at a hole that may still commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from kopilka.core import outbox
from kopilka.core.models import OutboxCursor, OutboxEvent

pytestmark = pytest.mark.django_db


def _event(business, name="x"):  # type: ignore[no-untyped-def]
    return OutboxEvent.objects.create(business=business, name=name, payload={})


def _take(consumer="c", limit=100, now=None):  # type: ignore[no-untyped-def]
    with transaction.atomic():
        return [e.pk for e in outbox.take_events(consumer=consumer, limit=limit, now=now)]


def test_each_consumer_takes_every_event_once_in_order(business) -> None:  # type: ignore[no-untyped-def]
    ids = [_event(business).pk for _ in range(3)]

    assert _take("webhooks") == ids
    assert _take("webhooks") == []
    assert _take("wallet", limit=2) == ids[:2]
    assert _take("wallet") == ids[2:]
    assert OutboxCursor.objects.get(consumer="webhooks").last_id == ids[-1]


def test_a_young_hole_is_waited_for_and_an_old_one_skipped(business) -> None:  # type: ignore[no-untyped-def]
    first = _event(business)
    assert _take() == [first.pk]
    hole = _event(business)
    after = _event(business)
    hole.delete()  # as if its transaction had not committed yet (or rolled back)

    assert _take() == []  # the hole is younger than GAP_WAIT: it may still commit
    later = timezone.now() + outbox.GAP_WAIT + timedelta(seconds=1)
    assert _take(now=later) == [after.pk]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_taken_outside_a_transaction(business) -> None:  # type: ignore[no-untyped-def]
    _event(business)
    with pytest.raises(RuntimeError):
        outbox.take_events(consumer="c", limit=10)
