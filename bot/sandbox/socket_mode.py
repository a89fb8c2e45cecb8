"""Slack's Socket Mode side, offline: a local WebSocket server for the fake Slack.

``apps.connections.open`` (called with the ``xapp-`` token) answers with :attr:`SocketModeServer.url`;
the bot's ``SocketModeHandler`` connects there exactly as it connects to ``wss://wss-primary.slack.com``.
The server greets with a ``hello`` message, then :meth:`SocketModeServer.send` wraps what Slack would
POST in HTTP mode in Socket Mode's envelope — ``{"envelope_id", "type": "slash_commands" |
"interactive" | "events_api", "payload", "accepts_response_payload"}`` — and waits for the app's
ack ``{"envelope_id", "payload"?}``. Slack wants that ack within 3 seconds (FACTS.md §1); a late
or missing ack is recorded on the fake as a failed ``socket_mode_ack`` call.

Shapes: docs.slack.dev/apis/events-api/using-socket-mode and python-slack-sdk's
``socket_mode/request.py`` / ``response.py``.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from bot.sandbox.fake_slack import APP_ID

if TYPE_CHECKING:
    from bot.sandbox.fake_slack import FakeSlack

log = logging.getLogger(__name__)

ACK_TIMEOUT_SECONDS = 3.0  # FACTS §1: Slack's 3-second ack window.
ENVELOPE_TYPES = ("slash_commands", "interactive", "events_api")


class SocketModeError(RuntimeError):
    """No app is connected, or the app did not ack in time."""


@dataclass
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    seconds: float


class SocketModeServer:
    """A WebSocket endpoint that plays Slack's Socket Mode towards one app."""

    def __init__(self, fake: FakeSlack, host: str = "127.0.0.1", port: int = 0,
                 ack_timeout: float = ACK_TIMEOUT_SECONDS) -> None:
        self.fake = fake
        self.host, self.port = host, port
        self.ack_timeout = ack_timeout
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connections: list[ServerConnection] = []
        self._waiting: dict[str, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._connected = threading.Condition(self._lock)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SocketModeServer:
        self._server = serve(self._handle, self.host, self.port, ping_interval=None, max_size=2**22)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-socket-mode", daemon=True)
        self._thread.start()
        self.fake.socket_url = self.url
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()
        self._server.shutdown()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        # Slack's URLs look like wss://wss-primary.slack.com/link/?ticket=…&app_id=…
        return f"ws://{self.host}:{self.port}/link/?ticket={secrets.token_hex(8)}&app_id={APP_ID}"

    @property
    def connected(self) -> bool:
        with self._lock:
            return bool(self._connections)

    def wait_connected(self, timeout: float = 10.0) -> None:
        with self._connected:
            if not self._connected.wait_for(lambda: bool(self._connections), timeout=timeout):
                raise SocketModeError(f"no app connected to Socket Mode within {timeout}s")

    # ------------------------------------------------------------------ connections

    def _handle(self, connection: ServerConnection) -> None:
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "sandbox-socket-mode", "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        }
        connection.send(json.dumps(hello))
        with self._connected:
            self._connections.append(connection)
            self._connected.notify_all()
        try:
            for raw in connection:
                self._on_frame(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)

    def _on_frame(self, raw: str | bytes) -> None:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.warning("socket mode: the app sent a frame that is not JSON")
            return
        envelope_id = data.get("envelope_id") if isinstance(data, dict) else None
        with self._lock:
            waiting = self._waiting.get(str(envelope_id))
        if waiting is None:
            # Slack ignores acks for unknown envelopes; the fake logs them to catch wrong ids.
            log.warning("socket mode: ack for unknown envelope %r", envelope_id)
            return
        event, box = waiting
        box.append(data)
        event.set()

    # ------------------------------------------------------------------ sending

    def send(self, envelope_type: str, payload: dict[str, Any], *, accepts_response_payload: bool,
             retry_attempt: int | None = None, retry_reason: str | None = None) -> Ack:
        """Deliver one envelope and wait for its ack; raises SocketModeError without one."""
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {envelope_type!r}")
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope.update(retry_attempt=retry_attempt or 0, retry_reason=retry_reason or "")
        event: threading.Event = threading.Event()
        box: list[dict[str, Any]] = []
        with self._lock:
            connection = self._connections[-1] if self._connections else None
            self._waiting[envelope["envelope_id"]] = (event, box)
        try:
            if connection is None:
                self.fake.record_call("socket_mode_ack", {"type": envelope_type}, "not_connected")
                raise SocketModeError("no app is connected over Socket Mode")
            started = time.monotonic()
            connection.send(json.dumps(envelope))
            if not event.wait(self.ack_timeout):
                self.fake.record_call("socket_mode_ack", {"type": envelope_type}, "ack_timeout")
                raise SocketModeError(f"the app did not ack envelope {envelope['envelope_id']} within "
                                      f"{self.ack_timeout}s")
            ack = box[0]
            payload_back = ack.get("payload")
            if payload_back is not None and not accepts_response_payload:
                # Slack drops a payload it did not ask for; the fake flags it as a bug in the app.
                self.fake.record_call("socket_mode_ack", {"type": envelope_type}, "unexpected_payload")
            else:
                self.fake.record_call("socket_mode_ack", {"type": envelope_type}, None)
            return Ack(envelope["envelope_id"], payload_back if isinstance(payload_back, dict) else None,
                       time.monotonic() - started)
        finally:
            with self._lock:
                self._waiting.pop(envelope["envelope_id"], None)
