"""SMS providers behind one small interface: ``send(phone, text) -> SendResult``.

- ``console`` (default): logs the message; the row in ``SmsMessage`` is the dev outbox.
- ``smsru``: SMS.ru's HTTP API (https://sms.ru/api/send), ``KOPILKA_SMSRU_API_ID`` (and optionally
  ``KOPILKA_SMSRU_FROM``, an approved sender name).

Providers never raise for delivery problems: they answer ``SendResult(ok=False, error=…)``.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("kopilka.sms")


@dataclass(frozen=True)
class SendResult:
    ok: bool
    message_id: str = ""
    error: str = ""


class SmsProvider(Protocol):
    name: str

    def send(self, phone: str, text: str) -> SendResult: ...


class ConsoleProvider:
    name = "console"

    def send(self, phone: str, text: str) -> SendResult:
        logger.info("SMS to %s: %s", phone, text)
        return SendResult(ok=True, message_id=f"console-{uuid.uuid4().hex[:12]}")


class SmsRuProvider:
    """``POST https://sms.ru/sms/send`` with ``api_id``, ``to`` (digits), ``msg``, ``json=1``."""

    name = "smsru"
    url = "https://sms.ru/sms/send"

    def __init__(self, api_id: str, sender: str = "", timeout: float = 10.0) -> None:
        if not api_id:
            raise ImproperlyConfigured("KOPILKA_SMSRU_API_ID is required for the smsru SMS provider")
        self.api_id = api_id
        self.sender = sender
        self.timeout = timeout

    def send(self, phone: str, text: str) -> SendResult:
        to = "".join(ch for ch in phone if ch.isdigit())
        data: dict[str, Any] = {"api_id": self.api_id, "to": to, "msg": text, "json": 1}
        if self.sender:
            data["from"] = self.sender
        try:
            response = httpx.post(self.url, data=data, timeout=self.timeout)
        except httpx.TimeoutException:
            return SendResult(ok=False, error="SMS.ru: timeout")
        except httpx.HTTPError as exc:
            return SendResult(ok=False, error=f"SMS.ru: {type(exc).__name__}: {exc}"[:500])
        if response.status_code != 200:
            return SendResult(ok=False, error=f"SMS.ru: HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError:
            return SendResult(ok=False, error="SMS.ru: the answer is not JSON")
        if not isinstance(payload, dict):
            return SendResult(ok=False, error="SMS.ru: unexpected answer")
        if payload.get("status") != "OK":
            return SendResult(ok=False, error=_smsru_error(payload))
        entry = (payload.get("sms") or {}).get(to)
        if not isinstance(entry, dict):
            return SendResult(ok=False, error=f"SMS.ru: no status for {to}")
        if entry.get("status") != "OK":
            return SendResult(ok=False, error=_smsru_error(entry))
        return SendResult(ok=True, message_id=str(entry.get("sms_id", "")))


def _smsru_error(part: dict[str, Any]) -> str:
    return f"SMS.ru {part.get('status_code', '?')}: {part.get('status_text', part.get('status', 'ERROR'))}"[:500]


def _setting(name: str, default: str = "") -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def get_provider() -> SmsProvider:
    name = _setting("KOPILKA_SMS_PROVIDER", "console").strip().lower() or "console"
    if name == "console":
        return ConsoleProvider()
    if name == "smsru":
        return SmsRuProvider(api_id=_setting("KOPILKA_SMSRU_API_ID"), sender=_setting("KOPILKA_SMSRU_FROM"))
    raise ImproperlyConfigured(f"unknown KOPILKA_SMS_PROVIDER {name!r} (use 'console' or 'smsru')")
