"""Apple's pass web service, as Apple documents it: tokens, unknown serials, 201/200, 204, 304."""

from __future__ import annotations

import json

import pytest
from django.utils.http import http_date

from kopilka.core.models import OutboxEvent
from kopilka.wallet import services
from kopilka.wallet.models import DeviceRegistration, PassState

pytestmark = pytest.mark.django_db
DEVICE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def _auth(state: PassState, token: str | None = None) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"ApplePass {token or state.authentication_token}"}


def _registration(wallet, state, device=DEVICE) -> str:  # type: ignore[no-untyped-def]
    return f"/wallet/v1/devices/{device}/registrations/{wallet.pass_type_id}/{state.serial_number}"


def _register(client, wallet, state, device=DEVICE, token="push-token-1", **headers):  # type: ignore[no-untyped-def]
    return client.post(_registration(wallet, state, device), json.dumps({"pushToken": token}),
                       content_type="application/json", **(headers or _auth(state)))  # fmt: skip


def test_register_new_then_existing(client, wallet, state) -> None:  # type: ignore[no-untyped-def]
    first = _register(client, wallet, state)
    again = _register(client, wallet, state, token="push-token-2")

    assert (first.status_code, again.status_code) == (201, 200)
    registration = DeviceRegistration.objects.get(pass_state=state)
    assert (registration.device_library_identifier, registration.push_token) == (DEVICE, "push-token-2")
    installed = OutboxEvent.objects.filter(name="card.installed")
    assert [e.payload["card_id"] for e in installed] == [state.card_id]


def test_register_refuses_a_wrong_token_and_unknown_serials(client, wallet, state) -> None:  # type: ignore[no-untyped-def]
    wrong = _register(client, wallet, state, HTTP_AUTHORIZATION="ApplePass wrong-token-0123456789")
    missing = client.post(_registration(wallet, state), json.dumps({"pushToken": "x"}),
                          content_type="application/json")  # fmt: skip
    other_scheme = _register(client, wallet, state, HTTP_AUTHORIZATION=f"Bearer {state.authentication_token}")
    unknown = client.post(f"/wallet/v1/devices/{DEVICE}/registrations/{wallet.pass_type_id}/NOSUCHSERIAL",
                          json.dumps({"pushToken": "x"}), content_type="application/json", **_auth(state))  # fmt: skip
    other_type = client.post(f"/wallet/v1/devices/{DEVICE}/registrations/pass.other.type/{state.serial_number}",
                             json.dumps({"pushToken": "x"}), content_type="application/json", **_auth(state))  # fmt: skip

    assert (wrong.status_code, missing.status_code, other_scheme.status_code) == (401, 401, 401)
    assert (unknown.status_code, other_type.status_code) == (404, 404)
    assert not DeviceRegistration.objects.exists()
    assert not OutboxEvent.objects.filter(name="card.installed").exists()


def test_register_without_a_push_token_is_a_bad_request(client, wallet, state) -> None:  # type: ignore[no-untyped-def]
    response = client.post(_registration(wallet, state), "not json", content_type="application/json", **_auth(state))

    assert response.status_code == 400


def test_the_router_tolerates_a_double_slash(client, wallet, state) -> None:  # type: ignore[no-untyped-def]
    url = _registration(wallet, state).replace("/wallet/v1/", "/wallet//v1/")

    response = client.post(url, json.dumps({"pushToken": "t"}), content_type="application/json", **_auth(state))

    assert response.status_code == 201


def test_unregister_emits_card_removed_after_the_last_device(client, wallet, state) -> None:  # type: ignore[no-untyped-def]
    _register(client, wallet, state, device="device1")
    _register(client, wallet, state, device="device2")

    bad = client.delete(_registration(wallet, state, "device1"), **_auth(state, "wrong-token-wrong-token"))
    first = client.delete(_registration(wallet, state, "device1"), **_auth(state))
    assert not OutboxEvent.objects.filter(name="card.removed").exists()
    second = client.delete(_registration(wallet, state, "device2"), **_auth(state))

    assert (bad.status_code, first.status_code, second.status_code) == (401, 200, 200)
    assert not DeviceRegistration.objects.exists()
    assert OutboxEvent.objects.filter(name="card.removed").count() == 1


def test_serial_numbers_since_a_tag(client, wallet, state, card) -> None:  # type: ignore[no-untyped-def]
    from tests.wallet.conftest import make_card

    other = services.ensure_pass_state(make_card(wallet.business, number="10000002", phone="+79990002222"))
    _register(client, wallet, state)
    _register(client, wallet, other, token="push-token-9")
    url = f"/wallet/v1/devices/{DEVICE}/registrations/{wallet.pass_type_id}"

    everything = client.get(url)
    last = everything.json()["lastUpdated"]
    nothing_new = client.get(url, {"passesUpdatedSince": last})
    services.mark_updated([state.pk])
    changed = client.get(url, {"passesUpdatedSince": last})
    unknown_device = client.get(f"/wallet/v1/devices/nosuchdevice/registrations/{wallet.pass_type_id}")

    assert everything.status_code == 200
    assert sorted(everything.json()["serialNumbers"]) == sorted([state.serial_number, other.serial_number])
    assert isinstance(last, str)
    assert nothing_new.status_code == 204
    assert changed.status_code == 200
    assert changed.json()["serialNumbers"] == [state.serial_number]
    assert int(changed.json()["lastUpdated"]) > int(last)
    assert unknown_device.status_code == 204


def test_latest_pass_with_last_modified_and_304(client, wallet, state) -> None:  # type: ignore[no-untyped-def]
    url = f"/wallet/v1/passes/{wallet.pass_type_id}/{state.serial_number}"

    unauthorized = client.get(url, **_auth(state, "wrong-token-0123456789"))
    unknown = client.get(f"/wallet/v1/passes/{wallet.pass_type_id}/NOSUCHSERIAL", **_auth(state))
    fresh = client.get(url, **_auth(state))
    cached = client.get(url, HTTP_IF_MODIFIED_SINCE=fresh["Last-Modified"], **_auth(state))
    services.mark_updated([state.pk])
    services.mark_updated([state.pk])  # twice within a second: Last-Modified still moves
    changed = client.get(url, HTTP_IF_MODIFIED_SINCE=fresh["Last-Modified"], **_auth(state))

    assert (unauthorized.status_code, unknown.status_code) == (401, 404)
    assert fresh.status_code == 200
    assert fresh["Content-Type"] == "application/vnd.apple.pkpass"
    assert fresh["Last-Modified"] == http_date(state.updated_at.timestamp())
    assert cached.status_code == 304
    assert changed.status_code == 200
    assert changed["Last-Modified"] != fresh["Last-Modified"]


def test_log_endpoint_accepts_messages(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/wallet/v1/log", json.dumps({"logs": ["Web service error for pass.x: 500"]}),
                           content_type="application/json")  # fmt: skip

    assert response.status_code == 200
    assert client.post("/wallet/v1/log", "garbage", content_type="application/json").status_code == 200
