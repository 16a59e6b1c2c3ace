"""Google Wallet: the save link's JWT verifies with the service-account key; changes PATCH the object."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from kopilka.core.models import OutboxEvent
from kopilka.wallet import certificates, google, services, updates

pytestmark = pytest.mark.django_db
API = "https://walletobjects.googleapis.com/walletobjects/v1"
TOKEN_URL = "https://oauth2.googleapis.com/token"


@pytest.fixture(autouse=True)
def _fresh_tokens() -> None:
    google._tokens.clear()


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_jwt(token: str, account_json: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the RS256 signature with the service account's public key; return header and claims."""
    header, payload, signature = token.split(".")
    public_key = certificates.service_account(account_json).private_key.public_key()
    public_key.verify(_b64decode(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return json.loads(_b64decode(header)), json.loads(_b64decode(payload))


def test_save_link_carries_a_jwt_signed_by_the_service_account(wallet, card) -> None:  # type: ignore[no-untyped-def]
    url = services.google_save_url(card)
    assert url is not None
    assert url.startswith("https://pay.google.com/gp/v/save/")

    header, claims = verify_jwt(url.removeprefix("https://pay.google.com/gp/v/save/"), wallet.account_json)

    state = services.ensure_pass_state(card)
    assert header["alg"] == "RS256"
    assert claims["iss"] == "wallet@kopilka-test.iam.gserviceaccount.com"
    assert (claims["aud"], claims["typ"]) == ("google", "savetowallet")
    assert claims["origins"] == ["http://testserver"]
    [obj] = claims["payload"]["loyaltyObjects"]
    [klass] = claims["payload"]["loyaltyClasses"]
    assert obj["id"] == f"3388000000012345678.kopilka-card-{state.serial_number}"
    assert obj["classId"] == klass["id"] == f"3388000000012345678.kopilka-template-{card.template_id}"
    assert obj["loyaltyPoints"]["balance"] == {"int": 350}
    assert obj["barcode"] == {"type": "QR_CODE", "value": "K10000001", "alternateText": "10000001"}
    assert obj["state"] == "ACTIVE"
    assert {"issuerName", "programName", "programLogo"} <= set(klass)


def test_a_tampered_jwt_does_not_verify(wallet, card) -> None:  # type: ignore[no-untyped-def]
    token = services.google_save_url(card).removeprefix("https://pay.google.com/gp/v/save/")  # type: ignore[union-attr]
    header, payload, signature = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"iss": "evil"}).encode()).rstrip(b"=").decode()

    with pytest.raises(InvalidSignature):
        verify_jwt(f"{header}.{forged}.{signature}", wallet.account_json)


@respx.mock
def test_card_change_patches_the_object_with_an_oauth_token(wallet, card) -> None:  # type: ignore[no-untyped-def]
    state = services.ensure_pass_state(card)
    object_id = f"3388000000012345678.kopilka-card-{state.serial_number}"
    token_route = respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(200, json={"access_token": "ya29.test", "expires_in": 3600})
    )
    patch = respx.patch(f"{API}/loyaltyObject/{object_id}").mock(return_value=httpx.Response(200, json={}))
    updates.run()
    OutboxEvent.objects.create(business=wallet.business, name="points.changed", payload={"card_id": card.pk})

    totals = updates.run()

    assert totals["google"] == 1
    assert patch.call_count == 1
    request = patch.calls.last.request
    assert request.headers["Authorization"] == "Bearer ya29.test"
    body = json.loads(request.content)
    assert body["notifyPreference"] == "NOTIFY_ON_UPDATE"
    assert body["loyaltyPoints"]["balance"] == {"int": 350}
    form = parse_qs(token_route.calls.last.request.content.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    _header, claims = verify_jwt(form["assertion"][0], wallet.account_json)
    assert claims["scope"] == "https://www.googleapis.com/auth/wallet_object.issuer"
    assert claims["aud"] == TOKEN_URL


@respx.mock
def test_an_unknown_object_is_inserted_with_its_class(wallet, card) -> None:  # type: ignore[no-untyped-def]
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={"access_token": "t", "expires_in": 3600}))
    respx.patch(url__regex=rf"{API}/loyaltyObject/.*").mock(return_value=httpx.Response(404, json={}))
    klass = respx.post(f"{API}/loyaltyClass").mock(return_value=httpx.Response(409, json={}))
    obj = respx.post(f"{API}/loyaltyObject").mock(return_value=httpx.Response(200, json={}))

    assert google.sync_card(card) == "inserted"
    assert klass.call_count == 1
    assert obj.call_count == 1
    assert json.loads(obj.calls.last.request.content)["classId"].endswith(f"kopilka-template-{card.template_id}")


@respx.mock
def test_messages_go_through_add_message(wallet, card) -> None:  # type: ignore[no-untyped-def]
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={"access_token": "t", "expires_in": 3600}))
    route = respx.post(url__regex=rf"{API}/loyaltyObject/.*/addMessage").mock(
        return_value=httpx.Response(200, json={"resource": {}})
    )

    assert google.add_message(card, header="Скидка", body="−20% сегодня", notify=True)

    body = json.loads(route.calls.last.request.content)
    assert body["message"]["header"] == "Скидка"
    assert body["message"]["messageType"] == "TEXT_AND_NOTIFY"


@respx.mock
def test_a_failing_google_does_not_stop_the_updates(wallet, card) -> None:  # type: ignore[no-untyped-def]
    services.ensure_pass_state(card)
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(500))
    OutboxEvent.objects.create(business=wallet.business, name="points.changed", payload={"card_id": card.pk})

    totals = updates.run()

    assert totals["events"] >= 1
    assert totals["google"] == 0
