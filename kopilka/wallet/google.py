"""Google Wallet loyalty cards (WALLET.md C): class per template, object per card, save link, REST sync.

JWTs are RS256 signed with ``cryptography`` directly (header.payload.signature, base64url); the
same function makes the save-link JWT and the OAuth service-account assertion.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

from kopilka.cards.models import Card, CardTemplate
from kopilka.core.links import public_base
from kopilka.wallet import services
from kopilka.wallet.models import PassState, WalletSettings

logger = logging.getLogger("kopilka.wallet.google")
SAVE_URL = "https://pay.google.com/gp/v/save/"
DEFAULT_API = "https://walletobjects.googleapis.com/walletobjects/v1"
SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"


class GoogleWalletError(RuntimeError):
    pass


def api_base() -> str:
    return (getattr(settings, "KOPILKA_GOOGLE_WALLET_URL", "") or DEFAULT_API).rstrip("/")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def encode_jwt(claims: dict[str, Any], key: rsa.RSAPrivateKey, key_id: str = "") -> str:
    header: dict[str, str] = {"alg": "RS256", "typ": "JWT"}
    if key_id:
        header["kid"] = key_id
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    )
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64(signature)


# --- Ids and resources -----------------------------------------------------------------------------


def class_id(row: WalletSettings, template: CardTemplate) -> str:
    return f"{row.google_issuer_id}.kopilka-template-{template.pk}"


def object_id(row: WalletSettings, state: PassState) -> str:
    return f"{row.google_issuer_id}.kopilka-card-{state.serial_number}"


def _hex(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def loyalty_class(row: WalletSettings, template: CardTemplate) -> dict[str, Any]:
    name = row.organization_name or template.business.name
    return {
        "id": class_id(row, template),
        "issuerName": name,
        "programName": template.name,
        "programLogo": {
            "sourceUri": {"uri": public_base() + "/static/wallet/logo.png"},
            "contentDescription": {"defaultValue": {"language": "ru", "value": name}},
        },
        "reviewStatus": "UNDER_REVIEW",
        "hexBackgroundColor": "#202124",
        "accountIdLabel": "Номер карты",
        "accountNameLabel": "Владелец",
        "rewardsTierLabel": "Уровень",
    }


def loyalty_object(row: WalletSettings, card: Card, state: PassState) -> dict[str, Any]:
    data = services.pass_data(card, state, row)
    balance = data.balance
    obj: dict[str, Any] = {
        "id": object_id(row, state),
        "classId": class_id(row, card.template),
        "state": "INACTIVE" if data.voided else "ACTIVE",
        "accountId": card.number,
        "accountName": data.customer_name or card.number,
        "barcode": {"type": "QR_CODE", "value": card.barcode_payload, "alternateText": card.number},
        "loyaltyPoints": {
            "label": "Штампы" if card.template.type == "stamp" else "Баланс",
            "balance": {"int": card.stamps}
            if card.template.type == "stamp"
            else ({"int": int(balance)} if balance == balance.to_integral_value() else {"string": f"{balance:.2f}"}),
        },  # fmt: skip
        "locations": [{"latitude": loc.latitude, "longitude": loc.longitude} for loc in data.locations],
    }
    if data.level_name:
        obj["textModulesData"] = [{"id": "level", "header": "Уровень", "body": data.level_name}]
    return obj


def save_url(card: Card, row: WalletSettings) -> str:
    """The "Add to Google Wallet" link: a save JWT carrying the class and the card's object."""
    account = services.service_account_for(row)
    state = services.ensure_pass_state(card)
    claims = {
        "iss": account.client_email,
        "aud": "google",
        "typ": "savetowallet",
        "iat": int(time.time()),
        "origins": [public_base()],
        "payload": {
            "loyaltyClasses": [loyalty_class(row, card.template)],
            "loyaltyObjects": [loyalty_object(row, card, state)],
        },
    }
    return SAVE_URL + encode_jwt(claims, account.private_key, account.private_key_id)


# --- REST -------------------------------------------------------------------------------------------

_tokens: dict[str, tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def access_token(row: WalletSettings, client: httpx.Client) -> str:
    """An OAuth access token by the service-account JWT grant, cached until a minute before expiry."""
    account = services.service_account_for(row)
    with _tokens_lock:
        cached = _tokens.get(account.client_email)
        if cached and cached[1] > time.time() + 60:
            return cached[0]
    now = int(time.time())
    assertion = encode_jwt(
        {"iss": account.client_email, "scope": SCOPE, "aud": account.token_uri, "iat": now, "exp": now + 3600},
        account.private_key,
        account.private_key_id,
    )
    response = client.post(
        account.token_uri,
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
    )
    if response.status_code != 200:
        raise GoogleWalletError(f"token endpoint answered {response.status_code}")
    body = response.json()
    token = str(body["access_token"])
    with _tokens_lock:
        _tokens[account.client_email] = (token, now + float(body.get("expires_in", 3600)))
    return token


def _client() -> httpx.Client:
    return httpx.Client(timeout=20.0)


def _request(row: WalletSettings, client: httpx.Client, method: str, path: str, body: dict[str, Any] | None = None
             ) -> httpx.Response:  # fmt: skip
    token = access_token(row, client)
    return client.request(method, api_base() + path, json=body, headers={"Authorization": f"Bearer {token}"})


def sync_card(card: Card, row: WalletSettings | None = None, client: httpx.Client | None = None) -> str:
    """PATCH the card's loyalty object; create the class and the object when Google has none yet."""
    row = row or services.wallet_settings_for(card.business_id)
    if row is None or not row.has_google:
        return "skipped"
    own = client is None
    client = client or _client()
    try:
        state = services.ensure_pass_state(card)
        obj = loyalty_object(row, card, state)
        response = _request(row, client, "PATCH", f"/loyaltyObject/{obj['id']}",
                            {**obj, "notifyPreference": "NOTIFY_ON_UPDATE"})  # fmt: skip
        if response.status_code == 404:
            klass = loyalty_class(row, card.template)
            created = _request(row, client, "POST", "/loyaltyClass", klass)
            if created.status_code not in (200, 409):
                raise GoogleWalletError(f"loyaltyClass insert answered {created.status_code}")
            response = _request(row, client, "POST", "/loyaltyObject", obj)
            if response.status_code not in (200, 409):
                raise GoogleWalletError(f"loyaltyObject insert answered {response.status_code}")
            return "inserted"
        if response.status_code != 200:
            raise GoogleWalletError(f"loyaltyObject patch answered {response.status_code}")
        return "patched"
    finally:
        if own:
            client.close()


def add_message(card: Card, *, header: str, body: str, notify: bool = False, message_id: str = "",
                client: httpx.Client | None = None) -> bool:  # fmt: skip
    """Show a message on the card in Google Wallet (``TEXT_AND_NOTIFY`` also pushes it)."""
    row = services.wallet_settings_for(card.business_id)
    if row is None or not row.has_google:
        return False
    own = client is None
    client = client or _client()
    try:
        state = services.ensure_pass_state(card)
        message = {"id": message_id or f"m{int(time.time() * 1000)}", "header": header, "body": body,
                   "messageType": "TEXT_AND_NOTIFY" if notify else "TEXT"}  # fmt: skip
        response = _request(row, client, "POST", f"/loyaltyObject/{object_id(row, state)}/addMessage",
                            {"message": message})  # fmt: skip
        if response.status_code == 429 and notify:  # 3 notifications a day: fall back to a silent message
            message["messageType"] = "TEXT"
            response = _request(row, client, "POST", f"/loyaltyObject/{object_id(row, state)}/addMessage",
                                {"message": message})  # fmt: skip
        return response.status_code == 200
    finally:
        if own:
            client.close()
