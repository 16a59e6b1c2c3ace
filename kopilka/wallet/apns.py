"""Apple Push Notification service for passes (WALLET.md B): HTTP/2, certificate auth, empty payload.

A lean client: ``h2`` driven directly over blocking TLS sockets (``selectors`` when there are several),
with many streams in flight on each connection (APNs allows ~1000 per connection). httpx/httpcore cost
~1.5 ms of CPU per request (a request queue scanned per request, a task and a lock per stream); here a
push is one HEADERS + one DATA frame written in a batch and one response read from a batch. The caller
gets one result per push and decides what to do with 410s.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import selectors
import socket
import ssl
import tempfile
import threading
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from django.conf import settings

logger = logging.getLogger("kopilka.wallet.apns")
DEFAULT_URL = "https://api.push.apple.com"
# HTTP/2 connections per certificate and run, and requests in flight on each (settings override both:
# KOPILKA_APNS_CONNECTIONS, KOPILKA_APNS_STREAMS); the server's SETTINGS_MAX_CONCURRENT_STREAMS caps the
# streams. Measured in bench/wallet.py against the local fake.
CONNECTIONS = 1
PER_CONNECTION = 100
TIMEOUT = 20.0
RECONNECTS = 3  # fresh connections for pushes not yet sent when a connection goes away (GOAWAY, reset)
_BODY = b"{}"


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


_contexts: dict[tuple[str, str], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def ssl_context(certificate_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """TLS with the pass certificate as the client certificate; ``KOPILKA_APNS_CA_FILE`` for tests.

    Cached per certificate, key and CA file: a fan-out in chunks builds one context per process.
    """
    cafile = getattr(settings, "KOPILKA_APNS_CA_FILE", "") or None
    cache_key = (hashlib.sha256(certificate_pem + b"\0" + key_pem).hexdigest(), cafile or "")
    with _contexts_lock:
        cached = _contexts.get(cache_key)
    if cached is not None:
        return cached
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
    with _contexts_lock:
        if len(_contexts) > 64:
            _contexts.clear()
        _contexts[cache_key] = context
    return context


class _Stream:
    __slots__ = ("body", "push", "status")

    def __init__(self, push: Push) -> None:
        self.push = push
        self.status = 0
        self.body = b""

    def result(self) -> Result:
        reason = ""
        if self.status != 200:
            try:
                reason = str(json.loads(self.body).get("reason", ""))
            except (ValueError, AttributeError):
                reason = self.body[:100].decode("utf-8", "replace")
        return Result(self.push.registration_id, self.status, reason)


class _Connection:
    """One HTTP/2 connection: a queue of pushes, up to ``streams`` of them in flight."""

    def __init__(self, context: ssl.SSLContext, host: str, port: int, authority: str, topic: str,
                 streams: int, pushes: deque[Push]) -> None:  # fmt: skip
        self.pending = pushes
        self.inflight: dict[int, _Stream] = {}
        self.results: list[Result] = []
        self.streams = streams
        self.closed = False
        raw = socket.create_connection((host, port), timeout=TIMEOUT)
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock = context.wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise
        if self.sock.selected_alpn_protocol() != "h2":
            self.sock.close()
            raise ssl.SSLError("APNs did not negotiate HTTP/2")
        # Our headers are fixed and valid, APNs' are trusted: h2's per-header checks cost more than HPACK.
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False, validate_inbound_headers=False, normalize_inbound_headers=False,
        ))  # fmt: skip
        self.h2.initiate_connection()
        # The request headers without :path, encoded once (HPACK still indexes them per connection).
        self.headers = [(b":method", b"POST"), (b":scheme", b"https"), (b":authority", authority.encode()),
                        (b"apns-topic", topic.encode()), (b"apns-push-type", b"background"),
                        (b"apns-priority", b"5")]  # fmt: skip
        self.ready = False  # no streams before the server's SETTINGS (its MAX_CONCURRENT_STREAMS)
        self.flush()

    def fill(self) -> None:
        """Open streams for queued pushes up to the window (ours and the server's)."""
        conn = self.h2
        if not self.ready:
            return
        limit = min(self.streams, conn.remote_settings.max_concurrent_streams)
        headers = self.headers
        while self.pending and len(self.inflight) < limit and conn.outbound_flow_control_window >= len(_BODY):
            push = self.pending.popleft()
            stream_id = conn.get_next_available_stream_id()
            conn.send_headers(stream_id, [*headers[:3], (b":path", f"/3/device/{push.push_token}".encode()),
                                          *headers[3:]])  # fmt: skip
            conn.send_data(stream_id, _BODY, end_stream=True)
            self.inflight[stream_id] = _Stream(push)

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def done(self) -> bool:
        return self.closed or (not self.pending and not self.inflight)

    def on_readable(self) -> None:
        """Read what the server sent, finish answered streams, open new ones, write."""
        try:
            data = self.sock.recv(262144)
        except ssl.SSLWantReadError:
            return
        if not data:
            self._close("connection closed by APNs")
            return
        while self.sock.pending():  # the rest of a TLS record already read: select() would not see it
            data += self.sock.recv(262144)
        conn = self.h2
        inflight = self.inflight
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                entry = inflight.get(event.stream_id)
                if entry is not None:
                    for name, value in event.headers:
                        if name == b":status":
                            entry.status = int(value)
                            break
            elif isinstance(event, h2.events.DataReceived):
                entry = inflight.get(event.stream_id)
                if entry is not None:
                    entry.body += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                entry = inflight.pop(event.stream_id, None)
                if entry is not None:
                    self.results.append(entry.result())
            elif isinstance(event, h2.events.StreamReset):
                entry = inflight.pop(event.stream_id, None)
                if entry is not None:
                    self.results.append(Result(entry.push.registration_id, 0, f"StreamReset {event.error_code}"))
            elif isinstance(event, h2.events.RemoteSettingsChanged):
                self.ready = True
            elif isinstance(event, h2.events.ConnectionTerminated):
                # Streams above last_stream_id were never processed: back to the queue for a new connection.
                last = event.last_stream_id or 0
                for stream_id in sorted(inflight):
                    if stream_id > last:
                        self.pending.appendleft(inflight.pop(stream_id).push)
                self._close(f"GOAWAY {event.error_code}")
                return
        self.fill()
        self.flush()

    def _close(self, reason: str) -> None:
        """Give up on the streams in flight (status 0); queued pushes stay for another connection."""
        if self.inflight:
            logger.warning("APNs connection lost with %d pushes in flight: %s", len(self.inflight), reason)
        for entry in self.inflight.values():
            self.results.append(Result(entry.push.registration_id, 0, reason))
        self.inflight.clear()
        self.closed = True  # the socket is closed by the caller, after it has left the selector


def _send_all(context: ssl.SSLContext, topic: str, pushes: list[Push]) -> list[Result]:
    url = urlsplit(base_url())
    host = url.hostname or "api.push.apple.com"
    port = url.port or 443
    authority = url.netloc
    connections = int(getattr(settings, "KOPILKA_APNS_CONNECTIONS", 0) or CONNECTIONS)
    per_connection = int(getattr(settings, "KOPILKA_APNS_STREAMS", 0) or PER_CONNECTION)
    count = max(1, min(connections, len(pushes) // per_connection))
    queues = [deque(pushes[i::count]) for i in range(count)]
    results: list[Result] = []
    reconnects = 0
    live: list[_Connection] = []

    def connect(queue: deque[Push]) -> None:
        try:
            live.append(_Connection(context, host, port, authority, topic, per_connection, queue))
        except (OSError, ssl.SSLError, h2.exceptions.ProtocolError) as exc:
            logger.warning("APNs connection failed: %s", exc)
            results.extend(Result(p.registration_id, 0, type(exc).__name__) for p in queue)
            queue.clear()

    for queue in queues:
        connect(queue)
    with selectors.DefaultSelector() as selector:
        for connection in live:
            selector.register(connection.sock, selectors.EVENT_READ, connection)
        while live:
            events = selector.select(TIMEOUT)
            if not events:
                for connection in live:
                    connection._close("timeout")
            for key, _ in events:
                connection = key.data
                try:
                    connection.on_readable()
                except (OSError, ssl.SSLError, h2.exceptions.ProtocolError) as exc:
                    connection._close(type(exc).__name__)
            finished = [c for c in live if c.done()]
            for connection in finished:  # out of the selector before any socket closes (fds get reused)
                live.remove(connection)
                selector.unregister(connection.sock)
                if not connection.closed:  # all answered: say goodbye as RFC 9113 asks
                    with contextlib.suppress(OSError, h2.exceptions.ProtocolError):
                        connection.h2.close_connection()
                        connection.flush()
                with contextlib.suppress(OSError):
                    connection.sock.close()
            for connection in finished:
                results.extend(connection.results)
                if connection.pending:  # went away before sending everything
                    if reconnects < RECONNECTS:
                        reconnects += 1
                        before = len(live)
                        connect(connection.pending)
                        if len(live) > before:
                            selector.register(live[-1].sock, selectors.EVENT_READ, live[-1])
                    else:
                        results.extend(Result(p.registration_id, 0, "gave up") for p in connection.pending)
                        connection.pending.clear()
    return results


def send(*, certificate_pem: bytes, key_pem: bytes, topic: str, pushes: list[Push]) -> list[Result]:
    """POST ``/3/device/<token>`` with ``{}`` to every device; blocks until all have answered."""
    if not pushes:
        return []
    context = ssl_context(certificate_pem, key_pem)
    return _send_all(context, topic, pushes)
