"""The fake's Socket Mode side: Slack's envelopes go out, the app's acks are checked."""

from __future__ import annotations

import json
import threading

from slack_sdk import WebClient
from websockets.sync.client import connect

from bot.sandbox.driver import SlackDriver
from bot.sandbox.socket_mode import SocketModeServer


def test_apps_connections_open_gives_the_local_websocket_url_only_to_an_app_token(fake) -> None:
    server = SocketModeServer(fake).start()
    try:
        url = WebClient(base_url=fake.base_url).apps_connections_open(app_token="xapp-test")["url"]
        assert url.startswith(f"ws://127.0.0.1:{server.port}/link/?ticket=")
        resp = fake.calls_to("apps.connections.open")
        assert resp[-1].ok
    finally:
        server.stop()


def test_an_app_that_does_not_ack_in_time_is_caught(fake) -> None:
    server = SocketModeServer(fake, ack_timeout=0.3).start()
    received: list[dict] = []
    try:
        with connect(server.url) as ws:
            received.append(json.loads(ws.recv()))  # hello
            reader = threading.Thread(target=lambda: received.append(json.loads(ws.recv())), daemon=True)
            reader.start()
            driver = SlackDriver(None, None, fake, socket=server)
            resp = driver.slash("U0REP00001", text="help")
            reader.join(timeout=5)
        assert received[0]["type"] == "hello"
        envelope = received[1]
        assert envelope["type"] == "slash_commands"
        assert envelope["accepts_response_payload"] is True
        assert envelope["payload"]["command"] == "/signaal"
        assert resp.status == 504
        assert [c.error for c in fake.calls_to("socket_mode_ack")] == ["ack_timeout"]
    finally:
        server.stop()


def test_an_ack_with_the_matching_envelope_id_is_the_response(fake) -> None:
    server = SocketModeServer(fake).start()
    try:
        with connect(server.url) as ws:
            ws.recv()  # hello

            def app() -> None:
                envelope = json.loads(ws.recv())
                ws.send(json.dumps({"envelope_id": "not-this-one"}))
                ws.send(json.dumps({"envelope_id": envelope["envelope_id"], "payload": {"text": "hoi"}}))

            thread = threading.Thread(target=app, daemon=True)
            thread.start()
            resp = SlackDriver(None, None, fake, socket=server).slash("U0REP00001", text="x")
            thread.join(timeout=5)
        assert resp.status == 200
        assert resp.json() == {"text": "hoi"}
        assert fake.ephemerals_for("U0REP00001")[-1]["text"] == "hoi"
    finally:
        server.stop()


def test_a_socket_mode_close_that_hangs_does_not_hold_up_the_shutdown(caplog) -> None:  # noqa: ANN001
    """slack_sdk's close joins its threads without a limit; the bot's stop waits at most a moment for it."""
    import threading
    import time

    from bot.serve import close_socket_mode

    released = threading.Event()

    class Stuck:
        def close(self) -> None:
            released.wait(30)

    started = time.monotonic()
    try:
        assert close_socket_mode(Stuck(), timeout=0.2) is False
    finally:
        released.set()
    assert time.monotonic() - started < 5
    assert "did not close" in caplog.text
    assert close_socket_mode(type("Quick", (), {"close": lambda self: None})(), timeout=5) is True
