"""Apple Push Notification service for passes (WALLET.md B): HTTP/2, certificate auth, empty payload.

One connection per pass certificate; requests are multiplexed over it with a bounded number in
flight. The caller gets one result per push and decides what to do with 410s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import tempfile
from dataclasses import dataclass

import httpx
from django.conf import settings

logger = logging.getLogger("kopilka.wallet.apns")
DEFAULT_URL = "https://api.push.apple.com"
# HTTP/2 connections per certificate and run, and requests in flight on each (settings override both:
# KOPILKA_APNS_CONNECTIONS, KOPILKA_APNS_STREAMS). Measured in bench/wallet.py against the local fake.
CONNECTIONS = 4
PER_CONNECTION = 8


@dataclass(frozen=True)
class Push:
    registration_id: int
    push_token: str


@dataclass(frozen=True)
class Result:
    registration_id: int
    status: int  # 0 when the request itself failed
    reason: str = ""

    @property
    def unregistered(self) -> bool:
        """The device token is gone: 410 Unregistered, or 400 BadDeviceToken (never retry those)."""
        return self.status == 410 or (self.status == 400 and self.reason == "BadDeviceToken")


def base_url() -> str:
    return (getattr(settings, "KOPILKA_APNS_URL", "") or DEFAULT_URL).rstrip("/")


def ssl_context(certificate_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """TLS with the pass certificate as the client certificate; ``KOPILKA_APNS_CA_FILE`` for tests."""
    cafile = getattr(settings, "KOPILKA_APNS_CA_FILE", "") or None
    if cafile is None:
        import certifi

        cafile = certifi.where()
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["h2"])
    # load_cert_chain reads files only: write them to a private temporary file for the call.
    fd, path = tempfile.mkstemp(prefix="kopilka-apns-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(certificate_pem + b"\n" + key_pem)
        context.load_cert_chain(path)
    finally:
        os.unlink(path)
    return context


async def _send_all(context: ssl.SSLContext, topic: str, pushes: list[Push]) -> list[Result]:
    """Several clients (one HTTP/2 connection each), a few requests in flight on each.

    httpcore scans its request queue on every request, so one connection with hundreds in flight
    costs more CPU than the pushes themselves; a handful of connections with a small window each keeps
    the per-push cost flat and still hides network latency.
    """
    url = base_url()
    headers = {"apns-topic": topic, "apns-push-type": "background", "apns-priority": "5",
               "content-type": "application/json"}  # fmt: skip
    connections = int(getattr(settings, "KOPILKA_APNS_CONNECTIONS", 0) or CONNECTIONS)
    per_connection = int(getattr(settings, "KOPILKA_APNS_STREAMS", 0) or PER_CONNECTION)
    count = max(1, min(connections, len(pushes) // per_connection))
    clients = [
        httpx.AsyncClient(http2=True, verify=context, timeout=20.0, limits=httpx.Limits(max_connections=1))
        for _ in range(count)
    ]
    semaphores = [asyncio.Semaphore(per_connection) for _ in range(count)]

    async def one(index: int, push: Push) -> Result:
        client = clients[index % count]
        async with semaphores[index % count]:
            try:
                response = await client.post(f"{url}/3/device/{push.push_token}", content=b"{}", headers=headers)
            except httpx.HTTPError as exc:
                logger.warning("APNs request failed: %s", exc)
                return Result(push.registration_id, 0, type(exc).__name__)
            reason = ""
            if response.status_code != 200:
                try:
                    reason = str(response.json().get("reason", ""))
                except ValueError:
                    reason = response.text[:100]
            return Result(push.registration_id, response.status_code, reason)

    try:
        return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(pushes))))
    finally:
        for client in clients:
            await client.aclose()


def send(*, certificate_pem: bytes, key_pem: bytes, topic: str, pushes: list[Push]) -> list[Result]:
    """POST ``/3/device/<token>`` with ``{}`` to every device; blocks until all have answered."""
    if not pushes:
        return []
    context = ssl_context(certificate_pem, key_pem)
    return asyncio.run(_send_all(context, topic, pushes))
