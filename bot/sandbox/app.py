"""The offline sandbox: the real bot, the fake Slack as a workspace, and a web UI, in one process.

    browser ──JSON──▶ sandbox web app (Starlette, PORT)
                          │ SlackDriver: signed HTTP requests ─▶ bot's /slack/events (own port)
                          │          or Socket Mode envelopes ─▶ bot's SocketModeHandler (WebSocket)
                          ▼
                      FakeSlack (Web API on its own port) ◀── the bot's WebClient (SLACK_API_URL)

Every click and command reaches the bot exactly as Slack sends it, and every answer of the bot is
a Web API call the fake checks, so the sandbox walks the production path. Nothing here talks to
the internet: the bot's SLACK_API_URL is the fake, and the web UI loads no outside resources.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet

from bot.config import Settings
from bot.core import network
from bot.runtime import Bot, build_bot, health
from bot.sandbox import jobs_report
from bot.sandbox.driver import DriverResponse, SlackDriver
from bot.sandbox.fake_slack import BOT_USER_ID, FakeSlack, MessageEvent
from bot.sandbox.server import ThreadedServer
from bot.sandbox.socket_mode import SocketModeServer
from bot.slack.http import make_asgi
from flows.calendar import WorkingCalendar
from models.db import session_scope

log = logging.getLogger(__name__)

Transport = Literal["http", "socket"]
BOT_TOKEN = "xoxb-sandbox"
APP_TOKEN = "xapp-sandbox"
DEMO_NETWORK = Path(__file__).with_name("demo_network.yaml")
WEB_DIR = Path(__file__).with_name("web")
OFFLINE_NOTICE = "Offline sandbox — geen verbinding met Slack of internet"
CASES_CHANNEL = "C0DEMOBRDA"
GENERAL_CHANNEL = "C0DEMOALGM"


@dataclass(frozen=True)
class DemoPerson:
    user_id: str
    handle: str
    name: str
    role: str  # shown in the person picker (Dutch: this is a demo tool)
    email: str


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("U0DEMOREP1", "rita", "Rita de Vries", "Melder — balie Stadskantoor Breda", "rita@breda.example"),
    DemoPerson("U0DEMOAF01", "anna", "Anna Jansen", "Aandachtsfunctionaris Breda", "anna@breda.example"),
    DemoPerson("U0DEMOAF02", "bert", "Bert Smit", "Vervanger (backup) Breda", "bert@breda.example"),
    DemoPerson("U0DEMOAF03", "eva", "Eva Bakker", "Aandachtsfunctionaris Etten-Leur", "eva@etten-leur.example"),
    DemoPerson("U0DEMOZOCO", "zoe", "Zoë Visser", "Zorgcoördinator (ZoCo)", "zoe@zvh.example"),
    DemoPerson("U0DEMOAVIM", "ahmed", "Ahmed El Amrani", "AVIM (politie)", "ahmed@politie.example"),
    DemoPerson("U0DEMOKR01", "karin", "Karin de Boer", "Ketenregisseur mensenhandel", "karin@regio.example"),
    DemoPerson("U0DEMONET1", "nina", "Nina Mulder", "Netwerklid (wijkteam Breda)", "nina@breda.example"),
)
REPORTER = DEMO_PEOPLE[0].user_id
AF_BREDA = DEMO_PEOPLE[1].user_id


class SandboxError(ValueError):
    """A request from the UI that cannot be carried out (shown to the user)."""


# =========================================================================== seeding


def seed_workspace(fake: FakeSlack) -> None:
    """The demo people, a public channel, the private case channel of Breda, and everyone's DM."""
    for person in DEMO_PEOPLE:
        fake.add_user(person.handle, user_id=person.user_id, real_name=person.name, email=person.email)
    fake.add_channel("algemeen", channel_id=GENERAL_CHANNEL, members=[p.user_id for p in DEMO_PEOPLE])
    fake.add_channel("mh-breda-casussen", channel_id=CASES_CHANNEL, is_private=True,
                     members=["U0DEMOAF01", "U0DEMOAF02"])
    for person in DEMO_PEOPLE:
        fake.dm_channel_for(person.user_id)


def seed_network(bot: Bot) -> dict[str, int]:
    cfg = network.parse(DEMO_NETWORK.read_text(encoding="utf-8"), source=DEMO_NETWORK.name)
    with session_scope(bot.core.engine) as session:
        return network.apply(session, cfg, bot.core.clock.now())


DEMO_KETENREGISSEUR = "U0DEMOKR01"


def seed_training(core: Any, organiser: str = DEMO_KETENREGISSEUR) -> str | None:
    """One upcoming training session, so a training RSVP can be shown by clicking.

    Planned by the demo ketenregisseur through the same service the "new session" modal uses, so the
    invitations (Ik kom / Ik kan niet) go out through the outbox like in production. Returns a line
    for the UI when it could not be planned (None when seeded).
    """
    from bot.core import training

    tz = ZoneInfo(core.settings.timezone)
    day = (core.clock.now().astimezone(tz) + timedelta(days=10)).date()
    starts = datetime.combine(day, time(14, 0), tzinfo=tz)
    outcome = training.create(core, organiser, training.TrainingInput(
        title="Signalen herkennen: mensenhandel in de praktijk", starts=starts,
        ends=starts + timedelta(hours=2, minutes=30), location="Stadskantoor Breda, zaal 2.14",
        audience="network", capacity=20))
    if not outcome.ok:
        problems = "; ".join(str(p) for p in outcome.problems) or outcome.error or "?"
        log.error("sandbox: the demo training could not be planned: %s", problems)
        return f"Demo-training niet klaargezet: {problems}"
    return None


# =========================================================================== the sandbox


class Sandbox:
    """Owns the fake, the bot and the driver; the web app calls its methods."""

    def __init__(self, data_dir: Path = Path("data/sandbox"), *, transport: Transport = "http",
                 scheduler: bool = True, outbox_poll_seconds: float = 0.3) -> None:
        if transport not in ("http", "socket"):
            raise ValueError(f"unknown transport {transport!r}")
        self.data_dir = Path(data_dir)
        self.transport: Transport = transport
        self.scheduler = scheduler
        self.outbox_poll_seconds = outbox_poll_seconds
        self.signing_secret = secrets.token_hex(16)
        self.data_key = Fernet.generate_key().decode()  # throwaway: the sandbox's data is wiped anyway
        self.fake = FakeSlack()
        self.fake.valid_tokens.add(BOT_TOKEN)
        self.fake.app_tokens.add(APP_TOKEN)
        self.fake.on_message(self._remember_time)
        self.socket: SocketModeServer | None = None
        self.bot: Bot | None = None
        self.driver: SlackDriver | None = None
        self.bot_server: ThreadedServer | None = None
        self.handler: Any = None
        self.notices: list[str] = []
        self.last_jobs: list[str] = []
        self._times: dict[str, str] = {}  # message ts → sandbox-clock moment it was posted
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ lifecycle

    @property
    def database_path(self) -> Path:
        return self.data_dir / "sandbox.db"

    def settings(self) -> Settings:
        return Settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=self.signing_secret if self.transport == "http" else None,
            slack_app_token=APP_TOKEN if self.transport == "socket" else None,
            slack_api_url=self.fake.base_url,
            database_url=f"sqlite:///{self.database_path}",
            data_key=self.data_key,
            data_dir=self.data_dir,
            host="127.0.0.1",
            scheduler_enabled=self.scheduler,
            outbox_poll_seconds=self.outbox_poll_seconds,
        )

    def start(self) -> Sandbox:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.fake.start()
        if self.transport == "socket":
            self.socket = SocketModeServer(self.fake).start()
        with self._lock:
            # The workspace lives in memory, so the database starts afresh with it every time.
            self._wipe_database()
            self._boot()
        return self

    def _wipe_database(self) -> None:
        for path in self.data_dir.glob("sandbox.db*"):
            path.unlink()

    def _boot(self) -> None:
        seed_workspace(self.fake)
        bot = build_bot(self.settings())
        seed_network(bot)
        notice = seed_training(bot.core)
        self.notices = [notice] if notice else []
        bot.start_background()
        if self.transport == "socket":
            from bot.serve import socket_mode_handler

            assert self.socket is not None
            self.handler = socket_mode_handler(bot)
            self.handler.connect()
            self.socket.wait_connected()
            self.driver = SlackDriver(None, None, self.fake, socket=self.socket)
        else:
            self.bot_server = ThreadedServer(make_asgi(bot.app, lambda: health(bot), intake=bot.slack)).start()
            self.driver = SlackDriver(f"{self.bot_server.url}/slack/events", self.signing_secret, self.fake)
        self.bot = bot

    def _shutdown_bot(self) -> None:
        if self.handler is not None:
            from bot.serve import close_socket_mode

            close_socket_mode(self.handler)
            self.handler = None
        if self.bot_server is not None:
            self.bot_server.stop()
            self.bot_server = None
        if self.bot is not None:
            self.bot.stop()
            self.bot.core.engine.dispose()
            self.bot = None

    def reset(self) -> None:
        """Forget everything: a fresh database, an empty workspace, the demo data seeded again."""
        with self._lock:
            self._shutdown_bot()
            self._wipe_database()
            self.fake.reset()
            self._times.clear()
            self.last_jobs = []
            self._boot()

    def stop(self) -> None:
        with self._lock:
            self._shutdown_bot()
            if self.socket is not None:
                self.socket.stop()
            self.fake.stop()

    # ------------------------------------------------------------------ what a person sees

    def _remember_time(self, event: MessageEvent) -> None:
        bot = self.bot
        if event.kind in ("posted", "ephemeral") and bot is not None:
            self._times.setdefault(str(event.message.get("ts")), bot.core.clock.now().isoformat())

    def _check_user(self, user_id: str) -> str:
        if not any(p.user_id == user_id for p in DEMO_PEOPLE):
            raise SandboxError(f"onbekende persoon {user_id!r}")
        return user_id

    def clock_state(self) -> dict[str, Any]:
        return clock_state(self.bot)

    def state(self, user_id: str, language: str = jobs_report.DEFAULT_LANGUAGE) -> dict[str, Any]:
        """The workspace as ``user_id`` sees it: public channels, private channels they are in, their
        DM with the bot, their ephemerals, their modal stack and their Home tab; the last clock move's
        job report in the UI's `language`."""
        self._check_user(user_id)
        snap = self.fake.snapshot()
        channels = []
        for channel in snap["channels"]:
            if channel["is_im"]:
                visible = channel["user"] == user_id
            elif channel["is_private"] or channel["is_mpim"]:
                visible = user_id in channel["members"]
            else:
                visible = True
            if visible:
                kind = "dm" if channel["is_im"] else "private" if channel["is_private"] else "channel"
                channels.append({"id": channel["id"], "name": channel["name"], "kind": kind,
                                 "members": channel["members"]})
        visible_ids = {c["id"] for c in channels}
        messages = {cid: [self._with_time(m) for m in msgs]
                    for cid, msgs in snap["messages"].items() if cid in visible_ids}
        ephemerals = [self._with_time(e) for e in snap["ephemerals"] if e["user"] == user_id]
        views = {v["id"]: v for v in snap["views"]}
        modals = [views[v] for v in snap["modal_stacks"].get(user_id, []) if v in views]
        home_id = snap["home_views"].get(user_id)
        users = {u["id"]: {"name": u["name"], "real_name": u["real_name"], "is_bot": u["is_bot"]}
                 for u in snap["users"]}
        body = {
            "me": user_id,
            "bot_user_id": BOT_USER_ID,
            "people": [{"id": p.user_id, "name": p.name, "role": p.role} for p in DEMO_PEOPLE],
            "users": users,
            "channels": channels,
            "messages": messages,
            "ephemerals": ephemerals,
            "modals": modals,
            "home": views.get(home_id) if home_id else None,
            "notices": list(self.notices),
            "last_jobs": list(self.last_jobs),
            "job_report": jobs_report.report(self.last_jobs, language),
            "transport": self.transport,
            "offline_notice": OFFLINE_NOTICE,
        }
        body["version"] = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]
        body["clock"] = self.clock_state()
        return body

    def _with_time(self, message: dict[str, Any]) -> dict[str, Any]:
        when = self._times.get(str(message.get("ts")))
        return {**message, "sandbox_time": when} if when else message

    # ------------------------------------------------------------------ what a person does

    def _driver(self) -> SlackDriver:
        if self.driver is None:
            raise SandboxError("de sandbox is (nog) niet gestart")
        return self.driver

    @staticmethod
    def _result(resp: DriverResponse | None) -> dict[str, Any]:
        if resp is None:
            return {"ok": True}
        if not resp.ok:
            raise SandboxError(f"de bot antwoordde met status {resp.status}: {resp.body[:300]}")
        return {"ok": True, "status": resp.status}

    def compose(self, user_id: str, channel: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
        """What the composer sends: a slash command (``/signaal …``) or a message (in a thread)."""
        self._check_user(user_id)
        text = text.strip()
        if not text:
            raise SandboxError("leeg bericht")
        with self._lock:
            if text.startswith("/"):
                command, _sep, rest = text.partition(" ")
                if command != "/signaal":
                    raise SandboxError(f"{command} is geen geldige opdracht in deze werkruimte (probeer /signaal)")
                return self._result(self._driver().slash(user_id, command, rest.strip(), channel_id=channel))
            return self._result(self._driver().message(user_id, channel, text, thread_ts or None))

    def click(self, user_id: str, ts: str, action_id: str, *, block_id: str | None = None, value: Any = None,
              selected: Any = None, values: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        self._check_user(user_id)
        with self._lock:
            return self._result(self._driver().click(user_id, {"ts": ts}, action_id, value=value, selected=selected,
                                                     block_id=block_id, state_values=values))

    def view_action(self, user_id: str, view_id: str, action_id: str, *, block_id: str | None = None,
                    value: Any = None, selected: Any = None) -> dict[str, Any]:
        self._check_user(user_id)
        with self._lock:
            return self._result(self._driver().click_in_view(user_id, view_id, action_id, value=value,
                                                             selected=selected, block_id=block_id))

    def submit(self, user_id: str, view_id: str, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
        self._check_user(user_id)
        with self._lock:
            result = self._result(self._driver().submit_view(user_id, view_id, values))
        with contextlib.suppress(Exception):
            result["errors"] = self.fake.view_errors(view_id)
        return result

    def shortcut(self, user_id: str, callback_id: str, ts: str | None = None) -> dict[str, Any]:
        """A shortcut: from a message's ⋯ menu (``ts``: a message shortcut) or a global one."""
        self._check_user(user_id)
        with self._lock:
            if ts:
                return self._result(self._driver().message_shortcut(user_id, {"ts": ts}, callback_id))
            return self._result(self._driver().global_shortcut(user_id, callback_id))

    def close_view(self, user_id: str, view_id: str) -> dict[str, Any]:
        self._check_user(user_id)
        with self._lock:
            return self._result(self._driver().close_view(user_id, view_id))

    def open_home(self, user_id: str) -> dict[str, Any]:
        self._check_user(user_id)
        with self._lock:
            return self._result(self._driver().app_home_opened(user_id))

    # ------------------------------------------------------------------ the clock

    def move_clock(self, op: str, at: str | None = None) -> dict[str, Any]:
        """Move the bot's clock, then run the scheduled jobs for the new time (as `jobs run-due`)."""
        with self._lock:
            self.last_jobs = move_clock(self.bot, op, at)
            return {"ok": True, "clock": self.clock_state(), "jobs": self.last_jobs}


def move_clock(bot: Bot | None, op: str, at: str | None = None) -> list[str]:
    """Move `bot`'s clock (``hour``, ``day``, ``workday``: the next working day at 09:00, ``at`` a moment,
    ``now``: the real time), then run the jobs due then; their report lines (both sandboxes)."""
    if bot is None:
        raise SandboxError("de sandbox is (nog) niet gestart")
    clock, tz = bot.core.clock, bot.settings.tz
    if op == "hour":
        clock.advance(timedelta(hours=1))
    elif op == "day":
        clock.advance(timedelta(days=1))
    elif op == "workday":
        calendar = WorkingCalendar(bot.settings.timezone)
        day = calendar.next_working_day(calendar.local(clock.now()).date())
        clock.travel_to(calendar.at_local(day, time(9, 0)))
    elif op == "at":
        try:
            moment = datetime.fromisoformat(str(at))
        except ValueError:
            raise SandboxError(f"{at!r} is geen tijdstip (bijvoorbeeld 2027-03-25T14:00)") from None
        clock.travel_to(moment if moment.tzinfo else moment.replace(tzinfo=tz))
    elif op == "now":
        clock.travel_to(datetime.now(UTC))
    else:
        raise SandboxError(f"onbekende klokactie {op!r}")
    return bot.run_due()


def clock_state(bot: Bot | None) -> dict[str, Any]:
    """The bot's clock for the UI: the moment, in local time, and how far it runs ahead of the real time."""
    now = bot.core.clock.now() if bot else datetime.now(UTC)
    tz = bot.settings.tz if bot else UTC
    local = now.astimezone(tz)
    return {"now": now.isoformat(), "local": local.isoformat(timespec="minutes"),
            "offset_seconds": int((now - datetime.now(UTC)).total_seconds())}


# =========================================================================== the web app


SAFE_METHODS = frozenset({"GET", "HEAD"})


class LocalOnly:
    """Pure ASGI guard in front of the sandbox's web UI: only this machine's own browser tab may use it.

    - ``Host`` must be ``127.0.0.1``, ``localhost`` or ``[::1]`` on the port the server listens on
      (else 421): a page on another site whose name is re-pointed at 127.0.0.1 (DNS rebinding) sends
      its own name as Host.
    - ``Origin``, when sent, must be ``http://`` one of those on that port (else 403): a page on another
      site posting here (cross-site request) sends its own origin.
    - Anything but GET/HEAD must be ``Content-Type: application/json`` (else 415): a plain HTML form
      cannot send that, and a script on another site can only after a CORS preflight, which fails.

    Starlette's TrustedHostMiddleware ignores the port and has no Origin or Content-Type check.
    """

    LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        from starlette.responses import JSONResponse

        status, error = refusal
        await JSONResponse({"ok": False, "error": error}, status_code=status)(scope, receive, send)

    def refusal(self, scope: dict[str, Any]) -> tuple[int, str] | None:
        server = scope.get("server") or (None, None)
        port = server[1]
        home = f"http://127.0.0.1:{port}/"
        headers: dict[str, list[str]] = {}
        for name, value in scope.get("headers") or []:
            headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1").strip().lower())
        hosts = {f"{name}:{port}" for name in self.LOCAL_NAMES} if port else set()
        if port == 80:  # the default port is left out of Host
            hosts.update(self.LOCAL_NAMES)
        host = headers.get("host", [])
        if len(host) != 1 or host[0] not in hosts:
            return 421, f"Deze sandbox werkt alleen op deze computer: open {home} in je browser."
        origin = headers.get("origin")
        if origin is not None and (len(origin) != 1 or origin[0] not in {f"http://{h}" for h in hosts}):
            return 403, f"Verzoeken vanaf een andere website worden geweigerd: gebruik de sandbox via {home}"
        if scope.get("method", "GET") not in SAFE_METHODS:
            content_type = headers.get("content-type", [""])[0].split(";")[0].strip()
            if content_type != "application/json":
                return 415, "De sandbox neemt alleen JSON aan: stuur Content-Type: application/json."
        return None


def action(fn: Any, *names: str, optional: tuple[str, ...] = ()) -> Any:
    """A JSON endpoint calling ``fn`` (in a thread) with the body's fields ``names`` (and ``optional``)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    async def endpoint(request: Request) -> Response:
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise SandboxError("verwacht een JSON-object")
            args = [data[name] for name in names]
            kwargs = {name: data[name] for name in optional if name in data}
            return JSONResponse(await run_in_threadpool(fn, *args, **kwargs))
        except KeyError as exc:
            return JSONResponse({"ok": False, "error": f"{exc.args[0]} ontbreekt"}, status_code=400)
        except (SandboxError, ValueError, json.JSONDecodeError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)

    return endpoint


def make_web_app(sandbox: Sandbox) -> Any:
    """The UI's static files and its small JSON API (Starlette)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def index(_: Request) -> Response:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-store"})

    async def state(request: Request) -> Response:
        user = request.query_params.get("user") or REPORTER
        language = request.query_params.get("lang") or jobs_report.DEFAULT_LANGUAGE
        try:
            return JSONResponse(await run_in_threadpool(sandbox.state, user, language),
                                headers={"Cache-Control": "no-store"})
        except SandboxError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)

    async def file(request: Request) -> Response:
        """An uploaded file (the digest's charts) for someone in a conversation it was shared to."""
        user = request.query_params.get("user") or REPORTER
        content, mimetype = sandbox.fake.file_content(request.path_params["file_id"], viewer=user)
        if content is None:
            return JSONResponse({"ok": False, "error": "file_not_found"}, status_code=404)
        return Response(content, media_type=mimetype, headers={"Cache-Control": "no-store"})

    async def reset(_: Request) -> Response:
        await run_in_threadpool(sandbox.reset)
        return JSONResponse({"ok": True})

    routes = [
        Route("/", index),
        Route("/api/state", state),
        Route("/api/file/{file_id}", file),
        Route("/api/compose", action(sandbox.compose, "user", "channel", "text", optional=("thread_ts",)),
              methods=["POST"]),
        Route("/api/click", action(sandbox.click, "user", "ts", "action_id",
                                   optional=("block_id", "value", "selected", "values")), methods=["POST"]),
        Route("/api/view_action", action(sandbox.view_action, "user", "view_id", "action_id",
                                         optional=("block_id", "value", "selected")), methods=["POST"]),
        Route("/api/submit", action(sandbox.submit, "user", "view_id", "values"), methods=["POST"]),
        Route("/api/close", action(sandbox.close_view, "user", "view_id"), methods=["POST"]),
        Route("/api/shortcut", action(sandbox.shortcut, "user", "callback_id", optional=("ts",)), methods=["POST"]),
        Route("/api/home", action(sandbox.open_home, "user"), methods=["POST"]),
        Route("/api/clock", action(sandbox.move_clock, "op", optional=("at",)), methods=["POST"]),
        Route("/api/reset", reset, methods=["POST"]),
        Mount("/static", StaticFiles(directory=WEB_DIR), name="static"),
    ]
    return LocalOnly(Starlette(routes=routes))
