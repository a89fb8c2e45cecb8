"""The load generator for part 1, in its own process (so its threads do not share a GIL with the
app under test or with the FakeSlack): CLIENTS threads, each with one keep-alive HTTP/1.1
connection (http.client), send signed `/signaal` slash commands back to back (closed loop) and time
each request from the write to the last byte of the response.

    python -m bench.loadgen < config.json  > result.json
config: {"url", "secret", "clients", "requests", "warmup", "users": [...], "channels": [...],
         "response_urls": [...]}; for Teams card actions (part 7) "kind": "teams", "token",
         "tenant", "app_id", "service_url", the users' Entra ids and their 1:1 chats' ids.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.common import SLASH_TEXT, sign

VERIFICATION_TOKEN = "sandbox-verification-token"


def slash_form(user: str, channel: str, response_url: str) -> str:
    return urlencode({
        "token": VERIFICATION_TOKEN, "team_id": "T0SANDBOX", "team_domain": "sandbox", "channel_id": channel,
        "channel_name": "directmessage", "user_id": user, "user_name": user.lower(), "command": "/signaal",
        "text": SLASH_TEXT, "api_app_id": "A0APP00001", "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex}",
    })


def card_action(cfg: dict[str, Any], user: str, conversation: str) -> str:
    """A Teams `adaptiveCard/action` invoke (Action.Execute "start": Signaal melden, or `cfg["verb"]` with
    `cfg["data"]`) from `user` (an Entra object id) in their 1:1 chat with the bot, as the Bot Framework
    delivers it."""
    tenant = cfg["tenant"]
    return json.dumps({
        "type": "invoke", "name": "adaptiveCard/action", "id": uuid.uuid4().hex, "channelId": "msteams",
        "serviceUrl": cfg["service_url"], "locale": "nl-NL", "timestamp": "2026-03-10T09:00:00Z",
        "from": {"id": f"29:1{user}", "aadObjectId": user, "name": f"Reporter {user[-3:]}"},
        "recipient": {"id": f"28:{cfg['app_id']}", "name": "Signaalbot"},
        "conversation": {"id": conversation, "conversationType": "personal", "tenantId": tenant},
        "channelData": {"tenant": {"id": tenant}},
        "value": {"action": {"type": "Action.Execute", "verb": cfg.get("verb", "start"), "data": cfg.get("data", {})},
                  "trigger": "manual"},
    })


def client(cfg: dict[str, Any], i: int, start: threading.Barrier, out: dict[str, Any]) -> None:
    parts = urlsplit(cfg["url"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    teams = cfg.get("kind") == "teams"
    user, channel = cfg["users"][i], cfg["channels"][i]
    response_url = None if teams else cfg["response_urls"][i]
    latencies: list[float] = []
    errors = 0
    start.wait()
    for n in range(cfg["warmup"] + cfg["requests"]):
        if teams:
            body = card_action(cfg, user, channel)
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {cfg['token']}"}
        else:
            body = slash_form(user, channel, response_url)
            headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(cfg["secret"], body)}
        t0 = time.perf_counter()
        try:
            conn.request("POST", parts.path, body=body.encode(), headers=headers)
            resp = conn.getresponse()
            resp.read()
            ok = resp.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        elapsed = time.perf_counter() - t0
        if n >= cfg["warmup"]:
            if ok:
                latencies.append(elapsed)
            else:
                errors += 1
        if n == cfg["warmup"] - 1:
            out.setdefault("measure_start", time.time())
    conn.close()
    out["latencies"][i] = latencies
    out["errors"][i] = errors


def main() -> int:
    cfg = json.load(sys.stdin)
    n = cfg["clients"]
    out: dict[str, Any] = {"latencies": [None] * n, "errors": [0] * n}
    barrier = threading.Barrier(n)
    threads = [threading.Thread(target=client, args=(cfg, i, barrier, out)) for i in range(n)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["end"] = time.time()
    out["wall_seconds"] = out["end"] - out.get("measure_start", started)
    out["latencies"] = [x for lat in out["latencies"] for x in (lat or [])]
    out["errors"] = sum(out["errors"])
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
