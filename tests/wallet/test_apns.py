"""Card changes reach the phones: the outbox consumer bumps passes and pushes over HTTP/2 to a fake APNs."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from kopilka.core import scheduler
from kopilka.core.models import OutboxCursor, OutboxEvent
from kopilka.wallet import certificates, services, updates
from kopilka.wallet.models import DeviceRegistration, PassState
from tests.wallet.apns_fake import FakeAPNs
from tests.wallet.conftest import make_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def apns(wallet, settings, tmp_path):  # type: ignore[no-untyped-def]
    chain = wallet.chain
    server_cert, server_key = certificates.server_certificate(chain.root, chain.root_key)
    server_pem = tmp_path / "apns-server.pem"
    server_pem.write_bytes(
        server_cert.public_bytes(serialization.Encoding.PEM)
        + server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    )  # fmt: skip
    client_ca = tmp_path / "apns-client-ca.pem"
    client_ca.write_bytes(chain.pem(chain.root) + chain.pem(chain.intermediate))
    with FakeAPNs(server_pem, client_ca) as fake:
        settings.KOPILKA_APNS_URL = fake.url
        settings.KOPILKA_APNS_CA_FILE = str(wallet.root_pem)
        yield fake


def _registered(state: PassState, device: str, token: str) -> None:
    services.register_device(state=state, device_library_identifier=device, push_token=token)


def test_points_change_pushes_every_device_with_the_pass_topic(apns, wallet, card, state) -> None:  # type: ignore[no-untyped-def]
    _registered(state, "device1", "token1")
    _registered(state, "device2", "token2")
    untouched = services.ensure_pass_state(make_card(wallet.business, number="10000002", phone="+79990002222"))
    _registered(untouched, "device3", "token3")
    updates.run()  # drain the installs
    tag_before = PassState.objects.get(pk=state.pk).tag
    OutboxEvent.objects.create(business=wallet.business, name="points.changed", payload={"card_id": card.pk})

    totals = updates.run()

    assert totals["pushed"] == 2
    assert sorted(r.path for r in apns.requests) == ["/3/device/token1", "/3/device/token2"]
    for request in apns.requests:
        assert request.method == "POST"
        assert request.headers["apns-topic"] == wallet.pass_type_id
        assert request.body == b"{}"
        assert request.client_uid == wallet.pass_type_id  # authenticated with the pass certificate
    assert PassState.objects.get(pk=state.pk).tag > tag_before
    assert PassState.objects.get(pk=untouched.pk).tag == untouched.tag


def test_each_event_is_handled_once(apns, wallet, card, state) -> None:  # type: ignore[no-untyped-def]
    _registered(state, "device1", "token1")
    OutboxEvent.objects.create(business=wallet.business, name="purchase.confirmed", payload={"card_id": card.pk})

    first = updates.run()
    second = updates.run()

    assert (first["pushed"], second["pushed"]) == (1, 0)
    assert len(apns.requests) == 1
    assert OutboxCursor.objects.get(consumer="wallet").last_id == OutboxEvent.objects.latest("pk").pk


def test_a_410_unregisters_the_device(apns, wallet, card, state) -> None:  # type: ignore[no-untyped-def]
    _registered(state, "device1", "live-token")
    _registered(state, "device2", "gone-token")
    apns.statuses["gone-token"] = 410
    OutboxEvent.objects.create(business=wallet.business, name="level.changed", payload={"card_id": card.pk})

    totals = updates.run()

    assert (totals["pushed"], totals["unregistered"]) == (1, 1)
    assert list(DeviceRegistration.objects.values_list("push_token", flat=True)) == ["live-token"]
    assert not OutboxEvent.objects.filter(name="card.removed").exists()

    apns.statuses["live-token"] = 410
    OutboxEvent.objects.create(business=wallet.business, name="points.changed", payload={"card_id": card.pk})
    updates.run()

    assert not DeviceRegistration.objects.exists()
    assert OutboxEvent.objects.filter(name="card.removed", payload__card_id=card.pk).count() == 1


def test_template_and_design_changes_update_every_card_of_it(apns, wallet, card, state) -> None:  # type: ignore[no-untyped-def]
    _registered(state, "device1", "token1")
    updates.run()
    services.save_organization_name(business=wallet.business, name="Новое имя")
    OutboxEvent.objects.create(business=wallet.business, name="template.updated",
                               payload={"template_id": card.template_id})  # fmt: skip

    totals = updates.run()

    assert totals["passes"] == 1
    assert totals["pushed"] == 1


def test_other_events_push_nothing(apns, wallet, card, state) -> None:  # type: ignore[no-untyped-def]
    _registered(state, "device1", "token1")
    OutboxEvent.objects.create(business=wallet.business, name="webhook.whatever", payload={"card_id": card.pk})

    totals = updates.run()

    assert totals["pushed"] == 0
    assert apns.requests == []


def test_the_scheduler_runs_the_wallet_updates_every_minute() -> None:
    job = next(j for j in scheduler.jobs() if j.name == "wallet.process_updates")

    assert job.every.total_seconds() == 60
    assert job.task.name == "process_wallet_updates"


def test_a_large_fan_out_is_split_into_push_tasks(apns, wallet, card, state, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for n in range(5):
        _registered(state, f"device{n}", f"token{n}")
    apns.statuses["token3"] = 410
    monkeypatch.setattr(updates, "PUSH_CHUNK", 2)
    enqueued: list[list[int]] = []
    original = updates.push_registrations

    def spy(ids: list[int]) -> updates.PushReport:
        enqueued.append(list(ids))
        return original(ids)

    monkeypatch.setattr(updates, "push_registrations", spy)
    OutboxEvent.objects.create(business=wallet.business, name="points.changed", payload={"card_id": card.pk})

    report = updates.push_updates([state.pk], chunk=2)

    assert [len(chunk) for chunk in enqueued] == [2, 2, 1]
    assert (report.sent, report.unregistered) == (4, 1)
    assert sorted(r.path for r in apns.requests) == [f"/3/device/token{n}" for n in range(5)]
    assert DeviceRegistration.objects.count() == 4


def test_the_fake_checks_the_topic_and_a_wrong_topic_is_a_failure_not_an_unregistration(apns, wallet) -> None:  # type: ignore[no-untyped-def]
    from kopilka.wallet import apns as client
    from kopilka.wallet import vault

    pem = wallet.settings.apple_certificate_pem.encode()
    key = vault.decrypt(wallet.settings.apple_key_encrypted)
    pushes = [client.Push(1, "token1"), client.Push(2, "gone")]
    apns.statuses["gone"] = 410

    wrong = client.send(certificate_pem=pem, key_pem=key, topic="pass.other.topic", pushes=pushes)
    right = client.send(certificate_pem=pem, key_pem=key, topic=wallet.pass_type_id, pushes=pushes)

    assert sorted((r.registration_id, r.status, r.reason) for r in wrong) == [
        (1, 400, "TopicDisallowed"), (2, 400, "TopicDisallowed")]  # fmt: skip
    assert not any(r.unregistered for r in wrong)
    assert sorted((r.registration_id, r.status, r.unregistered) for r in right) == [(1, 200, False), (2, 410, True)]


def test_many_410s_of_a_chunk_unregister_together_and_remove_each_card_once(apns, wallet, card, state) -> None:  # type: ignore[no-untyped-def]
    other = services.ensure_pass_state(make_card(wallet.business, number="10000003", phone="+79990003333"))
    _registered(state, "device1", "gone1")
    _registered(state, "device2", "gone2")
    _registered(other, "device3", "gone3")
    _registered(other, "device4", "live4")
    for token in ("gone1", "gone2", "gone3"):
        apns.statuses[token] = 410
    updates.run()  # drain the installs
    ids = list(DeviceRegistration.objects.order_by("pk").values_list("pk", flat=True))

    report = updates.push_registrations(ids)

    assert (report.sent, report.unregistered, report.failed) == (1, 3, 0)
    assert list(DeviceRegistration.objects.values_list("push_token", flat=True)) == ["live4"]
    removed = OutboxEvent.objects.filter(name="card.removed")
    assert [e.payload["card_id"] for e in removed] == [card.pk]
    assert removed.get().payload["serial_number"] == state.serial_number


def test_pushes_the_server_did_not_process_before_goaway_go_out_on_a_new_connection(apns, wallet) -> None:  # type: ignore[no-untyped-def]
    from kopilka.wallet import apns as client
    from kopilka.wallet import vault

    apns.goaway_after = 2
    pushes = [client.Push(n, f"token{n}") for n in range(5)]

    results = client.send(certificate_pem=wallet.settings.apple_certificate_pem.encode(),
                          key_pem=vault.decrypt(wallet.settings.apple_key_encrypted),
                          topic=wallet.pass_type_id, pushes=pushes)  # fmt: skip

    assert sorted((r.registration_id, r.status) for r in results) == [(n, 200) for n in range(5)]
    assert sorted(r.path for r in apns.requests) == [f"/3/device/token{n}" for n in range(5)]
    assert apns.connections == 3
