"""A local HTTP/2 server over TLS standing in for APNs: it records pushes and answers per token.

The server demands a client certificate issued by the given CA (as APNs demands the pass
certificate), and records the UID of the certificate that connected.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

DEVICE_PATH = "/3/device/"
MAX_STREAMS = 1000  # what APNs advertises once the client certificate is accepted


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_uid: str


@dataclass
class FakeAPNs:
    server_cert: Path  # PEM with certificate and key
    client_ca: Path  # PEM with the CA (and intermediate) that must have issued the client certificate
    statuses: dict[str, int] = field(default_factory=dict)  # push token → status (default 200)
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    goaway_after: int = 0  # answer this many streams per connection, then GOAWAY (0: never)
    connections: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(str(self.server_cert))
        self._context.load_verify_locations(cafile=str(self.client_ca))
        self._context.verify_mode = ssl.CERT_REQUIRED
        self._context.set_alpn_protocols(["h2"])
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeAPNs:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._connection, args=(raw,), daemon=True).start()

    def _connection(self, raw: socket.socket) -> None:
        try:
            sock = self._context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        with self._lock:
            self.connections += 1
        answered = 0
        uid = ""
        for rdn in (sock.getpeercert() or {}).get("subject", ()):
            for key, value in rdn:
                if key == "userId":
                    uid = value
        # Lean like a real server's fast path: bytes headers, no per-header validation.
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False, validate_inbound_headers=False, normalize_inbound_headers=False,
        ))  # fmt: skip
        conn.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS})  # fmt: skip
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        streams: dict[int, dict[str, Any]] = {}
        sock.settimeout(0.5)
        try:
            while not self._stop.is_set():
                try:
                    data = sock.recv(262144)
                    while data and sock.pending():
                        data += sock.recv(262144)
                except TimeoutError:
                    continue
                if not data:
                    break
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        streams[event.stream_id] = {"headers": {k.decode(): v.decode() for k, v in event.headers},
                                                    "body": b""}  # fmt: skip
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id]["body"] += event.data
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        self._respond(conn, event.stream_id, streams.pop(event.stream_id), uid)
                        answered += 1
                        if answered == self.goaway_after:  # streams after this one were never processed
                            conn.close_connection(last_stream_id=event.stream_id)
                            sock.sendall(conn.data_to_send())
                            return
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        return
                sock.sendall(conn.data_to_send())
        except (OSError, ssl.SSLError, h2.exceptions.ProtocolError):
            pass
        finally:
            sock.close()

    def _respond(self, conn: h2.connection.H2Connection, stream_id: int, stream: dict[str, Any], uid: str) -> None:
        headers = stream["headers"]
        path = headers.get(":path", "")
        with self._lock:
            self.requests.append(Recorded(headers.get(":method", ""), path, headers, stream["body"], uid))
        token = path[len(DEVICE_PATH) :] if path.startswith(DEVICE_PATH) else ""
        topic = headers.get("apns-topic", "")
        # As APNs: the path names a device, the topic is one the client certificate may push to.
        if headers.get(":method") != "POST" or not path.startswith(DEVICE_PATH):
            status, reason = (405, "MethodNotAllowed") if path.startswith(DEVICE_PATH) else (404, "BadPath")
        elif not token:
            status, reason = 400, "MissingDeviceToken"
        elif not topic:
            status, reason = 400, "MissingTopic"
        elif topic != uid:
            status, reason = 400, "TopicDisallowed"
        else:
            status = self.statuses.get(token, 200)
            reason = {200: "", 410: "Unregistered", 400: "BadDeviceToken"}.get(status, "InternalServerError")
        body = b""
        if status == 410:
            body = json.dumps({"reason": reason, "timestamp": 1700000000000}).encode()
        elif status != 200:
            body = json.dumps({"reason": reason}).encode()
        response = [(b":status", str(status).encode()), (b"apns-id", str(uuid.uuid4()).encode())]
        if body:
            response.append((b"content-length", str(len(body)).encode()))
        conn.send_headers(stream_id, response, end_stream=not body)
        if body:
            conn.send_data(stream_id, body, end_stream=True)
