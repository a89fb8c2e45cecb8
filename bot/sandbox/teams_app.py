"""`signaalbot sandbox --platform teams`: the real bot with Teams enabled, the fake Bot Connector
(bot/sandbox/fake_teams.py) as Teams, and a Teams-like web UI, in one process, offline.

    browser ──JSON──▶ Teams sandbox web app (Starlette, PORT)
                          │ activities signed with FakeTeams' key ─▶ bot's /api/messages (own port)
                          ▼
                      FakeTeams (connector, token, OpenID/JWKS on its own port) ◀── the bot's deliveries

The sandbox plays Teams' side as the tests do (tests/teams_support.py): every message and click is an
activity with a token the fake signs, so the bot checks it for real; every card the bot sends is a
connector call the fake checks and keeps. The demo people and the demo network are the Slack sandbox's,
with Teams identities (an Entra object id each) and Breda's case channel as a Teams channel. The bot's
Slack side still runs (against the fake Slack, unused): today the bot needs its Slack settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from bot.config import Settings
from bot.core import network, platforms
from bot.runtime import Bot, build_bot, health
from bot.sandbox import jobs_report
from bot.sandbox.app import (
    AF_BREDA,
    BOT_TOKEN,
    DEMO_KETENREGISSEUR,
    DEMO_NETWORK,
    DEMO_PEOPLE,
    REPORTER,
    WEB_DIR,
    LocalOnly,
    SandboxError,
    action,
    clock_state,
    move_clock,
    seed_training,
)
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.fake_teams import CARD, FakeTeams
from bot.sandbox.server import ThreadedServer
from bot.slack.http import make_asgi
from models.db import session_scope

log = logging.getLogger(__name__)

OFFLINE_NOTICE = "Offline sandbox — geen verbinding met Microsoft Teams of internet"
TEAM_NAME = "Gemeente Breda"
CHANNEL = "19:demo-breda-casussen@thread.tacv2"  # Breda's case channel (the Slack sandbox's mh-breda-casussen)
CHANNEL_NAME = "mh-casussen"
TEAM = "19:demo-breda-team@thread.tacv2"
CHANNEL_MEMBERS = frozenset({AF_BREDA, "U0DEMOAF02"})  # the AF and the backup of Breda
INVOKE_CARD_ACTION = "adaptiveCard/action"
INVOKE_TASK_FETCH = "task/fetch"  # a button with `msteams: {type: task/fetch}`: Teams asks the bot for a dialog
INVOKE_TASK_SUBMIT = "task/submit"  # a button in the dialog
INVOKE_FETCH_TASK = "composeExtension/fetchTask"  # the message extension's action, on a message
FROM_MESSAGE = "signal_from_message"  # the manifest's command id of "Meld als signaal"
_NAMESPACE = uuid.UUID("5d2f1c8e-0b1a-4c6e-9a57-7e3b1d2c4a10")


def entra_id(user_id: str) -> str:
    """A demo person's Entra object id (fixed, so a person keeps it across resets)."""
    return str(uuid.uuid5(_NAMESPACE, user_id))


def teams_id(user_id: str) -> str:
    """A demo person's Teams user id (`29:…`), as Teams puts it in `from.id`."""
    return f"29:1sandbox-{user_id.lower()}"


def chat_id(user_id: str) -> str:
    """The demo person's 1:1 chat with the bot."""
    return f"a:1sandbox-chat-{user_id.lower()}"


def network_yaml() -> str:
    """The demo network, with every person as `teams:<Entra object id>` and Breda's channel in Teams."""
    text = DEMO_NETWORK.read_text(encoding="utf-8")
    text = text.replace("C0DEMOBRDA", f"teams:{CHANNEL}")
    return re.sub(r"\bU0DEMO[A-Z0-9]+\b", lambda m: f"teams:{entra_id(m.group(0))}", text)


class TeamsSandbox:
    """Owns FakeTeams, the bot and its HTTP server; the web app calls its methods."""

    platform = "teams"

    def __init__(self, data_dir: Path = Path("data/sandbox"), *, scheduler: bool = True,
                 outbox_poll_seconds: float = 0.3) -> None:
        self.data_dir = Path(data_dir)
        self.scheduler = scheduler
        self.outbox_poll_seconds = outbox_poll_seconds
        self.signing_secret = secrets.token_hex(16)
        self.data_key = Fernet.generate_key().decode()  # throwaway: the sandbox's data is wiped anyway
        self.slack = FakeSlack()  # the bot still needs its Slack settings; nothing in the UI uses it
        self.slack.valid_tokens.add(BOT_TOKEN)
        self.teams: FakeTeams | None = None
        self.bot: Bot | None = None
        self.bot_server: ThreadedServer | None = None
        self.notices: list[str] = []
        self.last_jobs: list[str] = []
        self._times: dict[str, str] = {}  # activity id → the sandbox clock's moment it was first seen
        self._dialogs: dict[str, dict[str, Any]] = {}  # person → the dialog open on their screen (title, card)
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ lifecycle

    @property
    def database_path(self) -> Path:
        return self.data_dir / "sandbox.db"

    def settings(self, teams: FakeTeams) -> Settings:
        return Settings(
            slack_bot_token=BOT_TOKEN, slack_signing_secret=self.signing_secret, slack_api_url=self.slack.base_url,
            database_url=f"sqlite:///{self.database_path}", data_key=self.data_key, data_dir=self.data_dir,
            host="127.0.0.1", scheduler_enabled=self.scheduler, outbox_poll_seconds=self.outbox_poll_seconds,
            teams_app_id=teams.app_id, teams_app_password=teams.app_password, teams_tenant_id=teams.tenant,
            teams_openid_metadata_url=teams.openid_metadata_url, teams_token_url=teams.token_url,
        )

    def start(self) -> TeamsSandbox:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.slack.start()
        with self._lock:
            self._wipe_database()
            self._boot()
        return self

    def _wipe_database(self) -> None:
        for path in self.data_dir.glob("sandbox.db*"):
            path.unlink()

    def _boot(self) -> None:
        teams = self.teams = FakeTeams().start()
        bot = build_bot(self.settings(teams))
        with session_scope(bot.core.engine) as session:
            network.apply(session, network.parse(network_yaml(), source="demo_network.yaml (Teams)"),
                          bot.core.clock.now())
        bot.start_background()
        self.bot_server = ThreadedServer(make_asgi(bot.app, lambda: health(bot), intake=bot.slack,
                                                   extra_routes=bot.teams.routes())).start()
        self.bot = bot
        self._install()
        notice = seed_training(bot.core, platforms.person_key(platforms.TEAMS, entra_id(DEMO_KETENREGISSEUR)))
        self.notices = [notice] if notice else []

    def _install(self) -> None:
        """The app is pre-installed for every demo person (Teams sends `installationUpdate` in each 1:1
        chat: the bot learns the chat and greets) and added to Breda's team (a `conversationUpdate` in
        the channel: the bot learns the channel's address)."""
        assert self.teams is not None
        for person in DEMO_PEOPLE:
            self._send(self._activity("installationUpdate", person.user_id, chat_id(person.user_id), "personal",
                                      action="add"))
        self._send(self._activity("conversationUpdate", AF_BREDA, CHANNEL, "channel",
                                  membersAdded=[{"id": f"28:{self.teams.app_id}"}]))
        deadline = time.monotonic() + 15
        teams = self.teams
        while time.monotonic() < deadline and not all(teams.cards(chat_id(p.user_id)) for p in DEMO_PEOPLE):
            time.sleep(0.05)

    def _shutdown_bot(self) -> None:
        if self.bot_server is not None:
            self.bot_server.stop()
            self.bot_server = None
        if self.bot is not None:
            self.bot.stop()
            self.bot.core.engine.dispose()
            self.bot = None
        if self.teams is not None:
            self.teams.stop()
            self.teams = None

    def reset(self) -> None:
        """Forget everything: a fresh database, an empty Teams, the demo data seeded again."""
        with self._lock:
            self._shutdown_bot()
            self._wipe_database()
            self.slack.reset()
            self._times.clear()
            self._dialogs.clear()
            self.last_jobs = []
            self._boot()

    def stop(self) -> None:
        with self._lock:
            self._shutdown_bot()
            self.slack.stop()

    # ------------------------------------------------------------------ Teams' side of the wire

    def _fake(self) -> FakeTeams:
        if self.teams is None or self.bot_server is None:
            raise SandboxError("de sandbox is (nog) niet gestart")
        return self.teams

    def _activity(self, kind: str, user_id: str, conversation: str, conversation_type: str,
                  **extra: Any) -> dict[str, Any]:
        """An activity as Teams sends it to the bot, from demo person `user_id`."""
        teams = self.teams
        if teams is None:
            raise SandboxError("de sandbox is (nog) niet gestart")
        person = next(p for p in DEMO_PEOPLE if p.user_id == user_id)
        channel_data: dict[str, Any] = {"tenant": {"id": teams.tenant}}
        if conversation_type == "channel":
            channel_data.update(teamsChannelId=CHANNEL, teamsTeamId=TEAM, channel={"id": CHANNEL},
                                team={"id": TEAM, "name": TEAM_NAME})
        return {"type": kind, "id": uuid.uuid4().hex, "timestamp": datetime.now(UTC).isoformat(),
                "serviceUrl": teams.service_url, "channelId": "msteams", "locale": "nl-NL",
                "from": {"id": teams_id(user_id), "aadObjectId": entra_id(user_id), "name": person.name},
                "recipient": {"id": f"28:{teams.app_id}", "name": "Signaalbot"},
                "conversation": {"id": conversation, "conversationType": conversation_type, "tenantId": teams.tenant},
                "channelData": channel_data, **extra}

    def _send(self, activity: dict[str, Any]) -> httpx.Response:
        """POST an activity to the bot's /api/messages with a token FakeTeams signs (as the Bot Framework)."""
        teams = self.teams
        assert teams is not None and self.bot_server is not None
        # Teams sends the bot activities only from conversations it is a member of.
        teams.join(str(activity["conversation"]["id"]))
        return httpx.post(f"{self.bot_server.url}/api/messages", content=json.dumps(activity), timeout=30,
                          headers={"content-type": "application/json", "authorization": f"Bearer {teams.token()}"})

    # ------------------------------------------------------------------ what a person sees

    def _check_user(self, user_id: str) -> str:
        if not any(p.user_id == user_id for p in DEMO_PEOPLE):
            raise SandboxError(f"onbekende persoon {user_id!r}")
        return user_id

    def _conversations_of(self, user_id: str) -> dict[str, list[str]]:
        """Where `user_id` reads: their 1:1 chat with the bot (with any chat the bot opened with them
        itself), and the case channel when they are in Breda's team."""
        teams = self._fake()
        mine = {entra_id(user_id), teams_id(user_id)}
        opened = [cid for cid, body in list(teams.conversations.items())
                  if any(isinstance(m, dict) and m.get("id") in mine for m in body.get("members") or [])]
        places = {chat_id(user_id): [chat_id(user_id), *opened]}
        if user_id in CHANNEL_MEMBERS:
            places[CHANNEL] = [CHANNEL]
        return places

    def _item(self, conversation: str, activity_id: str, body: dict[str, Any], now: str) -> dict[str, Any]:
        teams = self._fake()
        when = self._times.setdefault(activity_id, now)
        sender = body.get("from") or {}
        author = next((p.user_id for p in DEMO_PEOPLE if entra_id(p.user_id) == sender.get("aadObjectId")), None)
        attachments = [a for a in body.get("attachments") or [] if isinstance(a, dict) and a.get("contentType") == CARD]
        card = attachments[0].get("content") if attachments else None
        item = {"id": activity_id, "conversation": conversation, "from": author or "bot", "time": when,
                "text": str(body.get("text") or "") if author else "", "card": card,
                "summary": str(body.get("summary") or "") if not author else "",
                "reply_to": teams.reply_to.get(activity_id)}
        item["key"] = activity_id + ":" + hashlib.sha256(
            json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:10]
        return item

    def state(self, user_id: str, language: str = jobs_report.DEFAULT_LANGUAGE) -> dict[str, Any]:
        """Teams as `user_id` sees it: their chat with the bot, the case channel if they are in the team,
        each as its activities (cards as they are now, updates applied), oldest first."""
        self._check_user(user_id)
        with self._lock:
            teams = self._fake()
            now = (self.bot.core.clock.now() if self.bot else datetime.now(UTC)).isoformat()
            chats, activities = [], {}
            for place, conversations in self._conversations_of(user_id).items():
                items = [self._item(cid, aid, body, now) for cid in conversations
                         for aid, body in list(teams.activities.get(cid, {}).items())]
                activities[place] = sorted(items, key=lambda i: i["id"])
                chats.append({"id": place, "kind": "channel" if place == CHANNEL else "chat",
                              "name": f"{TEAM_NAME} › {CHANNEL_NAME}" if place == CHANNEL else "Signaalbot"})
        body = {
            "platform": "teams",
            "me": user_id,
            "people": [{"id": p.user_id, "name": p.name, "role": p.role, "entra_id": entra_id(p.user_id)}
                       for p in DEMO_PEOPLE],
            "chats": chats,
            "activities": activities,
            "dialog": self._dialogs.get(user_id),
            "notices": list(self.notices),
            "last_jobs": list(self.last_jobs),
            "job_report": jobs_report.report(self.last_jobs, language),
            "offline_notice": OFFLINE_NOTICE,
        }
        body["version"] = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]
        body["clock"] = clock_state(self.bot)
        return body

    # ------------------------------------------------------------------ what a person does

    def compose(self, user_id: str, text: str) -> dict[str, Any]:
        """A message typed in the person's 1:1 chat with the bot (in the channel the bot reads only what
        @-mentions it, and does nothing with it yet: the UI offers no composer there)."""
        self._check_user(user_id)
        text = text.strip()
        if not text:
            raise SandboxError("leeg bericht")
        with self._lock:
            teams = self._fake()
            activity = self._activity("message", user_id, chat_id(user_id), "personal", text=text, textFormat="plain")
            teams.person_posted(chat_id(user_id), activity)
            return self._result(self._send(activity))

    def click(self, user_id: str, conversation: str, activity_id: str, path: list[Any],
              inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        """A click on a card's `Action.Execute` (at `path` in the card): an `invoke` `adaptiveCard/action`
        with the action's data and the card's inputs merged in, as Teams sends it."""
        self._check_user(user_id)
        with self._lock:
            teams = self._fake()
            places = self._conversations_of(user_id)
            if not any(conversation in conversations for conversations in places.values()):
                raise SandboxError("dit gesprek is niet van jou")
            body = teams.activities.get(conversation, {}).get(activity_id)
            card = ((body or {}).get("attachments") or [{}])[0].get("content") if body else None
            target = _at(card, path)
            if not isinstance(target, dict) or target.get("type") not in ("Action.Execute", "Action.Submit"):
                raise SandboxError("deze knop staat niet (meer) op de kaart")
            given = {str(k): v for k, v in (inputs or {}).items() if isinstance(v, str)}
            data = {**(target.get("data") if isinstance(target.get("data"), dict) else {}), **given}
            channel = conversation == CHANNEL
            where = f"{CHANNEL};messageid={teams.reply_to.get(activity_id, activity_id)}" if channel else conversation
            kind = "channel" if channel else "personal"
            msteams = data.get("msteams") if isinstance(data.get("msteams"), dict) else {}
            if target["type"] == "Action.Submit" and msteams.get("type") == INVOKE_TASK_FETCH:
                # A button that opens a dialog: Teams asks the bot for it (task/fetch) and shows its answer.
                activity = self._activity("invoke", user_id, where, kind, name=INVOKE_TASK_FETCH,
                                          value={"data": data, "context": {"theme": "default"}}, replyToId=activity_id)
                return self._task(user_id, conversation, self._send(activity))
            if target["type"] == "Action.Submit":  # Teams sends it as a message with the data as its value
                activity = self._activity("message", user_id, where, kind, value=data, replyToId=activity_id)
                return self._result(self._send(activity))
            value = {"action": {"type": "Action.Execute", "verb": str(target.get("verb") or ""), "data": data},
                     "trigger": "manual"}
            response = self._send(self._activity("invoke", user_id, where, kind, name=INVOKE_CARD_ACTION,
                                                  value=value, replyToId=activity_id))
            result = self._result(response)
            answer = _json_or_none(response)
            if isinstance(answer, dict) and answer.get("type") == CARD and isinstance(answer.get("value"), dict):
                # The bot answered with a card: Teams puts it in place of the clicked one.
                teams.activities[conversation][activity_id] = {
                    **(body or {}), "attachments": [{"contentType": CARD, "content": answer["value"]}]}
            elif isinstance(answer, dict) and isinstance(answer.get("value"), str):
                result["message"] = answer["value"]  # what Teams shows the clicker briefly
            return result

    def dialog_submit(self, user_id: str, path: list[Any], inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        """A button in the dialog open on `user_id`'s screen (`Action.Submit` at `path` in its card): a
        `task/submit` with the button's data and — unless it says `associatedInputs: none` — the inputs."""
        self._check_user(user_id)
        with self._lock:
            shown = self._dialogs.get(user_id)
            if shown is None:
                raise SandboxError("er is geen venster open")
            target = _at(shown["card"], path)
            if not isinstance(target, dict) or target.get("type") != "Action.Submit":
                raise SandboxError("deze knop staat niet (meer) in het venster")
            given = {} if str(target.get("associatedInputs") or "").lower() == "none" else {
                str(k): v for k, v in (inputs or {}).items() if isinstance(v, str)}
            data = {**(target.get("data") if isinstance(target.get("data"), dict) else {}), **given}
            conversation = shown["conversation"]
            kind = "channel" if conversation == CHANNEL else "personal"
            activity = self._activity("invoke", user_id, conversation, kind, name=INVOKE_TASK_SUBMIT,
                                      value={"data": data, "context": {"theme": "default"}})
            return self._task(user_id, conversation, self._send(activity))

    def dialog_close(self, user_id: str) -> dict[str, Any]:
        """✕ on the dialog: Teams closes it and tells the bot nothing."""
        self._check_user(user_id)
        with self._lock:
            self._dialogs.pop(user_id, None)
        return {"ok": True}

    def from_message(self, user_id: str, conversation: str, activity_id: str) -> dict[str, Any]:
        """… → Meld als signaal on a message (the message extension's action): `composeExtension/fetchTask`
        with the message, from the conversation it is in; the bot answers with its dialog."""
        self._check_user(user_id)
        with self._lock:
            teams = self._fake()
            if not any(conversation in conversations for conversations in self._conversations_of(user_id).values()):
                raise SandboxError("dit gesprek is niet van jou")
            body = teams.activities.get(conversation, {}).get(activity_id)
            if not body or not isinstance(body.get("text"), str):
                raise SandboxError("dit bericht heeft geen tekst")
            sender = body.get("from") or {}
            value = {"commandId": FROM_MESSAGE, "commandContext": "message", "context": {"theme": "default"},
                     "messagePayload": {"id": activity_id, "messageType": "message",
                                        "from": {"user": {"id": sender.get("aadObjectId"),
                                                          "displayName": sender.get("name")}},
                                        "body": {"contentType": "text", "content": body["text"]}}}
            kind = "channel" if conversation == CHANNEL else "personal"
            activity = self._activity("invoke", user_id, conversation, kind, name=INVOKE_FETCH_TASK, value=value)
            return self._task(user_id, chat_id(user_id), self._send(activity))

    def _task(self, user_id: str, conversation: str, response: httpx.Response) -> dict[str, Any]:
        """The bot's answer to a dialog's invoke, as Teams acts on it: `continue` shows (or replaces) the
        dialog's card; `message` closes it and shows the text; anything else closes it."""
        result = self._result(response)
        answer = _json_or_none(response)
        task = answer.get("task") if isinstance(answer, dict) else None
        value = task.get("value") if isinstance(task, dict) else None
        if isinstance(task, dict) and task.get("type") == "continue" and isinstance(value, dict):
            attachment = value.get("card") if isinstance(value.get("card"), dict) else {}
            card = attachment.get("content") if attachment.get("contentType") == CARD else None
            if not isinstance(card, dict):
                raise SandboxError("de bot antwoordde met een venster zonder Adaptive Card")
            shown = {"title": str(value.get("title") or ""), "card": card, "conversation": conversation,
                     "key": uuid.uuid4().hex}
            self._dialogs[user_id] = shown
            result["dialog"] = shown
            return result
        self._dialogs.pop(user_id, None)
        if isinstance(task, dict) and task.get("type") == "message" and isinstance(value, str):
            result["message"] = value  # Teams shows it in a small window
        return result

    @staticmethod
    def _result(response: httpx.Response) -> dict[str, Any]:
        if not 200 <= response.status_code < 300:
            raise SandboxError(f"de bot antwoordde met status {response.status_code}: {response.text[:300]}")
        return {"ok": True, "status": response.status_code}

    # ------------------------------------------------------------------ the clock

    def clock_state(self) -> dict[str, Any]:
        return clock_state(self.bot)

    def move_clock(self, op: str, at: str | None = None) -> dict[str, Any]:
        """Move the bot's clock, then run the scheduled jobs for the new time (as `jobs run-due`)."""
        with self._lock:
            self.last_jobs = move_clock(self.bot, op, at)
            return {"ok": True, "clock": self.clock_state(), "jobs": self.last_jobs}


def _at(card: Any, path: list[Any]) -> Any:
    """The part of `card` at `path` (keys and list indexes, as the renderer names an action)."""
    node = card
    for step in path if isinstance(path, list) else []:
        if isinstance(node, dict) and isinstance(step, str):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and not isinstance(step, bool) and 0 <= step < len(node):
            node = node[step]
        else:
            return None
    return node


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def make_teams_web_app(sandbox: TeamsSandbox) -> Any:
    """The Teams UI's static files and its JSON API, behind the Slack sandbox's local-only guard."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def index(_: Request) -> Response:
        return FileResponse(WEB_DIR / "teams.html", headers={"Cache-Control": "no-store"})

    async def state(request: Request) -> Response:
        user = request.query_params.get("user") or REPORTER
        language = request.query_params.get("lang") or jobs_report.DEFAULT_LANGUAGE
        try:
            return JSONResponse(await run_in_threadpool(sandbox.state, user, language),
                                headers={"Cache-Control": "no-store"})
        except SandboxError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)

    async def reset(_: Request) -> Response:
        await run_in_threadpool(sandbox.reset)
        return JSONResponse({"ok": True})

    routes = [
        Route("/", index),
        Route("/api/state", state),
        Route("/api/compose", action(sandbox.compose, "user", "text"), methods=["POST"]),
        Route("/api/click", action(sandbox.click, "user", "conversation", "activity", "path", optional=("inputs",)),
              methods=["POST"]),
        Route("/api/dialog", action(sandbox.dialog_submit, "user", "path", optional=("inputs",)), methods=["POST"]),
        Route("/api/dialog/close", action(sandbox.dialog_close, "user"), methods=["POST"]),
        Route("/api/from_message", action(sandbox.from_message, "user", "conversation", "activity"), methods=["POST"]),
        Route("/api/clock", action(sandbox.move_clock, "op", optional=("at",)), methods=["POST"]),
        Route("/api/reset", reset, methods=["POST"]),
        Mount("/static", StaticFiles(directory=WEB_DIR), name="static"),
    ]
    return LocalOnly(Starlette(routes=routes))
