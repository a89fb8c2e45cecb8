"""Hostile requests are refused before any work: a body over 1 MB gets 413 without being read, an
unparsable one 400 (never a traceback), /healthz keeps answering meanwhile, and HTTP mode does not
run without a signing secret."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from urllib.parse import urlsplit

import pytest

from bot.config import ConfigError
from bot.slack.http import MAX_BODY, make_asgi


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return sock


def _status_of(sock: socket.socket) -> tuple[int, bytes]:
    """The status and body of the HTTP answer on `sock` (read up to its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(v) for k, _, v in (line.partition(":") for line in lines[1:])
                   if k.strip().lower() == "content-length"), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split(" ")[1]), body


def _healthz(url: str) -> int:
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as resp:
        return resp.status


def test_a_20_mb_unsigned_post_is_refused_unread(running) -> None:
    url = running.server.url
    sock = _connect(url)
    try:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 20000000\r\n\r\n" + b"a" * 65536)
        # The answer comes while 19.9 MB of the body were never sent: it was refused unread.
        status, body = _status_of(sock)
    finally:
        sock.close()
    assert status == 413
    assert b"request_too_large" in body
    assert _healthz(url) == 200
    assert running.fake.calls_to("chat.postMessage") == []


def test_a_body_without_length_is_counted_while_it_streams(running) -> None:
    url = running.server.url
    sock = _connect(url)
    try:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 100_000
        sent, status = 0, None
        while sent <= 2 * MAX_BODY:
            try:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.settimeout(10)
        status, _ = _status_of(sock)
    finally:
        sock.close()
    assert status == 413


def test_healthz_answers_while_a_slow_upload_is_under_way(running) -> None:
    url = running.server.url
    sock = _connect(url)
    try:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n" + b"{" * 1000)
        started = time.monotonic()
        assert _healthz(url) == 200  # the upload is still waiting for 899,000 bytes
        assert time.monotonic() - started < 5
    finally:
        sock.close()


@pytest.mark.parametrize("content_type, body", [
    ("application/x-www-form-urlencoded", b"payload=%7Bnot-json"),
    ("application/json", b"{not json"),
    ("application/json", b"\xff\xfe\xfa not utf-8"),
    ("application/x-www-form-urlencoded", b"\xff\xfe=\xfa"),
])
def test_an_unparsable_body_gets_400_not_a_traceback(running, content_type: str, body: bytes) -> None:
    req = urllib.request.Request(f"{running.server.url}/slack/events", data=body, method="POST",
                                 headers={"Content-Type": content_type})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400
    assert json.loads(err.value.read()) == {"ok": False, "error": "invalid_body"}


def test_a_parsable_unsigned_body_is_still_refused_by_the_signature_check(running) -> None:
    req = urllib.request.Request(f"{running.server.url}/slack/events", data=b"command=%2Fsignaal&user_id=U1",
                                 method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 401


def test_http_mode_without_a_signing_secret_cannot_start(settings, fake) -> None:
    from bot.runtime import build_bot

    bot = build_bot(settings.with_(slack_signing_secret=None))
    try:
        with pytest.raises(ConfigError) as err:
            make_asgi(bot.app, lambda: True)
        assert "SLACK_SIGNING_SECRET is required in HTTP mode" in err.value.problems[0]
    finally:
        bot.stop()
