"""Keeping installed cards current: read the outbox once, bump the passes, push to the devices.

``consume_outbox`` advances the wallet's own cursor under a row lock in the same transaction that
bumps the passes' tags, so each event is handled once even with several workers. Pushes and Google
PATCHes happen after the commit: a device that misses a push still gets the change at its next
"updated since <tag>" call, because the tag has already moved.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django_tasks.base import TaskResultStatus

from kopilka.cards.models import Card
from kopilka.core import outbox
from kopilka.wallet import apns, services, vault
from kopilka.wallet.models import DeviceRegistration, PassState, WalletSettings

logger = logging.getLogger("kopilka.wallet.updates")
CURSOR = "wallet"
BATCH = 5000
PUSH_CHUNK = 1000  # registrations per push task

# Events that change what a card shows (balance, level, stamps, status).
CARD_EVENTS = frozenset({
    "points.changed", "level.changed", "purchase.confirmed", "purchase.refunded", "stamps.changed",
    "stamps.added", "stamps.reward_earned", "ticket.checked_in", "card.updated", "card.verified",
    "card.blocked", "card.deleted", "card.restored", "customer.updated",
})  # fmt: skip
# Events that change every card of a template (design, name) or of a business (organisation name).
TEMPLATE_EVENTS = frozenset({"template.updated", "template.changed", "template.design_changed"})
BUSINESS_EVENTS = frozenset({"wallet.design_changed", "business.updated"})


@dataclass
class Batch:
    last_event_id: int = 0
    events: int = 0
    state_ids: list[int] = field(default_factory=list)


def _card_id(payload: dict[str, object]) -> int | None:
    value = payload.get("card_id")
    return value if isinstance(value, int) else None


def consume_outbox(*, limit: int = BATCH) -> Batch:
    batch = Batch()
    with transaction.atomic():
        events = [
            (e.pk, e.business_id, e.name, e.payload) for e in outbox.take_events(consumer=CURSOR, limit=limit)
        ]
        if not events:
            return batch
        card_ids: set[int] = set()
        template_ids: set[int] = set()
        business_ids: set[int] = set()
        for _pk, business_id, name, payload in events:
            payload = payload if isinstance(payload, dict) else {}
            if name in CARD_EVENTS and (card_id := _card_id(payload)) is not None:
                card_ids.add(card_id)
            elif name in TEMPLATE_EVENTS and isinstance(payload.get("template_id"), int):
                template_ids.add(payload["template_id"])
            elif name in BUSINESS_EVENTS:
                business_ids.add(business_id)
        states = PassState.objects.none()
        if card_ids:
            states = states | PassState.objects.filter(card_id__in=card_ids)
        if template_ids:
            states = states | PassState.objects.filter(card__template_id__in=template_ids)
        if business_ids:
            states = states | PassState.objects.filter(business_id__in=business_ids)
        batch.state_ids = sorted(set(states.values_list("pk", flat=True)))
        services.mark_updated(batch.state_ids)
        batch.last_event_id = events[-1][0]
        batch.events = len(events)
    return batch


@dataclass
class PushReport:
    sent: int = 0
    failed: int = 0
    unregistered: int = 0


def push_registrations(registration_ids: list[int]) -> PushReport:
    """One APNs push per listed device registration, grouped by the business's certificate."""
    report = PushReport()
    if not registration_ids:
        return report
    by_business: dict[int, list[apns.Push]] = defaultdict(list)
    rows = DeviceRegistration.objects.filter(pk__in=registration_ids).values_list("pk", "business_id", "push_token")
    for pk, business_id, token in rows.iterator(chunk_size=2000):
        by_business[business_id].append(apns.Push(pk, token))
    for business_id, pushes in by_business.items():
        row = WalletSettings.objects.filter(business_id=business_id).first()
        if row is None or not row.has_apple:
            continue
        results = apns.send(
            certificate_pem=row.apple_certificate_pem.encode(),
            key_pem=vault.decrypt(row.apple_key_encrypted),
            topic=row.apple_pass_type_id,
            pushes=pushes,
        )
        gone: list[int] = []
        for result in results:
            if result.status == 200:
                report.sent += 1
            elif result.unregistered:
                gone.append(result.registration_id)
            else:
                report.failed += 1
                logger.warning("APNs answered %s %s", result.status, result.reason)
        report.unregistered += len(gone)
        services.drop_push_tokens(gone)  # one transaction for the chunk, not one per 410
    return report


def push_updates(state_ids: list[int], *, chunk: int = PUSH_CHUNK) -> PushReport:
    """Push every registered device of these passes: inline when few, else one task per chunk.

    Chunks let several task workers share a large fan-out (each worker holds its own HTTP/2
    connections); the tags have already moved, so a chunk that fails loses nothing for good.
    """
    if not state_ids:
        return PushReport()
    ids = list(
        DeviceRegistration.objects.filter(pass_state_id__in=state_ids).order_by("pk").values_list("pk", flat=True)
    )
    if len(ids) <= chunk:
        return push_registrations(ids)
    from kopilka.wallet import tasks

    report = PushReport()
    for start in range(0, len(ids), chunk):
        result = tasks.push_wallet_updates.enqueue(ids[start : start + chunk])
        if result.status == TaskResultStatus.SUCCESSFUL:  # an immediate backend ran it already: count it
            value = result.return_value or {}
            report.sent += value.get("sent", 0)
            report.unregistered += value.get("unregistered", 0)
            report.failed += value.get("failed", 0)
    return report


def sync_google(state_ids: list[int]) -> int:
    """PATCH the Google objects of these passes' cards where the business has Google Wallet set up."""
    from kopilka.wallet import google

    google_businesses = set(
        WalletSettings.objects.exclude(google_issuer_id="")
        .exclude(google_key_encrypted="")
        .values_list("business_id", flat=True)
    )
    if not google_businesses or not state_ids:
        return 0
    cards = Card.objects.filter(wallet_pass__pk__in=state_ids, business_id__in=google_businesses).select_related(
        "template", "business", "customer", "level"
    )
    done = 0
    client = google._client()
    try:
        for card in cards:
            try:
                google.sync_card(card, client=client)
                done += 1
            except (google.GoogleWalletError, Exception) as exc:  # one bad card must not stop the rest
                logger.warning("Google Wallet sync of card %s failed: %s", card.pk, exc)
    finally:
        client.close()
    return done


def run(*, limit: int = BATCH) -> dict[str, int]:
    """Everything the periodic task does: consume, push, sync. Loops until the outbox is drained."""
    totals = {"events": 0, "passes": 0, "pushed": 0, "unregistered": 0, "failed": 0, "google": 0}
    while True:
        batch = consume_outbox(limit=limit)
        if not batch.events:
            return totals
        report = push_updates(batch.state_ids)
        totals["events"] += batch.events
        totals["passes"] += len(batch.state_ids)
        totals["pushed"] += report.sent
        totals["unregistered"] += report.unregistered
        totals["failed"] += report.failed
        totals["google"] += sync_google(batch.state_ids)
