"""A small client of the Bot Connector REST API (v3), at each conversation's `serviceUrl`: create a
1:1 conversation, post, update and delete activities. Its answers become the outbox's outcomes: 429
and 5xx are transient (Retry-After honoured), refused credentials pause the outbox, a conversation
that is gone or closed to the bot is unreachable."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from bot.core.outbox import PermanentError, Refusal, TransientError, Unauthorized
from bot.teams.auth import BotToken, _retry_after

PLACE_GONE = {403, 404}  # the bot was removed, blocked, or the conversation does not exist


class Connector:
    def __init__(self, token: BotToken, http: httpx.Client) -> None:
        self.token = token
        self.http = http

    def create_conversation(self, service_url: str, body: dict[str, Any]) -> str:
        return str(self._call("POST", service_url, "v3/conversations", body)["id"])

    def send(self, service_url: str, conversation: str, activity: dict[str, Any]) -> str:
        found = self._call("POST", service_url, f"v3/conversations/{quote(conversation, safe='')}/activities", activity)
        return str(found.get("id") or "")

    def update(self, service_url: str, conversation: str, activity_id: str, activity: dict[str, Any]) -> None:
        self._call("PUT", service_url, f"v3/conversations/{quote(conversation, safe='')}/activities/"
                                        f"{quote(activity_id, safe='')}", {**activity, "id": activity_id})

    def delete(self, service_url: str, conversation: str, activity_id: str) -> None:
        self._call("DELETE", service_url, f"v3/conversations/{quote(conversation, safe='')}/activities/"
                                          f"{quote(activity_id, safe='')}", None)

    def _call(self, method: str, service_url: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        url = service_url.rstrip("/") + "/" + path
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self.token.get(fresh=attempt > 0)}"}
            try:
                resp = self.http.request(method, url, json=body, headers=headers)
            except httpx.TransportError as exc:
                raise TransientError(type(exc).__name__) from exc
            if resp.status_code == 401 and attempt == 0:
                continue  # a token the connector no longer takes: once more with a fresh one
            break
        status = resp.status_code
        if status == 429:
            raise TransientError("throttled", _retry_after(resp))
        if status >= 500:
            raise TransientError(f"http_{status}", _retry_after(resp))
        if status == 401:
            self.token.forget()
            raise Unauthorized("teams: http_401")
        if status in PLACE_GONE:
            raise PermanentError(f"teams: http_{status}", Refusal.PLACE_UNREACHABLE)
        if status >= 400:
            raise PermanentError(f"teams: http_{status}")
        if not resp.content:
            return {}
        try:
            found = resp.json()
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}
