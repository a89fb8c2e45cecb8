"""Wires the bot together: settings → key → database (migrated) → core → outbox worker →
the platforms' edges (the Bolt app with Slack's settings, the Teams edge with Teams') → scheduler →
HTTP server or Socket Mode."""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.core.clock import Clock
from bot.core.context import Core
from bot.core.jobs import OUTLOOKS as OUTLOOKS  # the job registry lives in the core; re-exported for callers
from bot.core.jobs import SWEEPS as SWEEPS
from bot.core.jobs import load_sweeps as load_sweeps
from bot.core.jobs import outlook as outlook
from bot.core.jobs import run_due
from bot.core.jobs import sweep as sweep
from bot.core.outbox import OutboxWorker
from bot.scheduler import start_scheduler
from flows import knowledge as knowledge_mod
from flows import questionnaire as questionnaire_mod
from models import crypto
from models.db import make_engine, ping, upgrade
from models.keycheck import check_key

log = logging.getLogger(__name__)


def configure_encryption(settings: Settings) -> None:
    if settings.data_key:
        crypto.configure(settings.data_key)
        return
    if not settings.database_url.startswith("sqlite"):
        raise crypto.KeyError_(
            "SIGNAAL_DATA_KEY is required with PostgreSQL (make one with `signaalbot keys generate`)."
        )
    crypto.configure(crypto.load_or_create_key_file(settings.data_dir / "signaal.key"))


# Libraries that log request and response bodies (Slack message blocks, SQL parameters) at DEBUG or
# INFO. Case content must never reach a log, so they stay at WARNING even when the bot runs verbose.
PAYLOAD_LOGGERS = ("slack_sdk", "slack_bolt", "sqlalchemy.engine", "urllib3", "httpx", "httpcore", "microsoft_teams")


def quiet_payload_loggers() -> None:
    for name in PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def load_questionnaire(settings: Settings) -> questionnaire_mod.Questionnaire:
    path: Path | None = None
    if settings.region_dir and (settings.region_dir / "questionnaire.yaml").exists():
        path = settings.region_dir / "questionnaire.yaml"
    return questionnaire_mod.load(path)


def open_database(settings: Settings, *, migrate: bool = True) -> Engine:
    """The database, its schema brought up to date (`migrate=False`: the caller knows it is — HTTP
    mode migrates once before it forks, so neither process loads the migrations again)."""
    configure_encryption(settings)
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    check_key(engine)  # a wrong SIGNAAL_DATA_KEY stops here, before anything is written with it
    return engine


def make_core(settings: Settings, engine: Engine | None = None, clock: Clock | None = None) -> Core:
    engine = engine or open_database(settings)
    return Core(settings=settings, engine=engine, questionnaire=load_questionnaire(settings),
                clock=clock or Clock(), knowledge=knowledge_mod.for_region(settings.region_dir))


def make_client(settings: Settings, token: str | None = None) -> WebClient:
    return WebClient(token=token or settings.slack_bot_token, base_url=settings.slack_api_url, timeout=15)


@dataclass
class Bot:
    settings: Settings
    core: Core
    client: WebClient | None  # Slack's Web API; None without Slack
    worker: OutboxWorker
    app: Any = None  # the Bolt app, when Slack is on
    slack: Any = None  # its SlackContext
    intake: Any = None  # bot.core.intake.Intake: the Slack edge's context, else a plain one (Teams only)
    scheduler: Any = None
    work_process: Any = None  # HTTP mode's work process (bot/workproc.py), when there is one
    recovery: Any = None  # bot.core.inbox.Recovery, in the process that does the work
    teams: Any = None  # bot.teams.edge.TeamsEdge, when TEAMS_APP_ID is set
    degraded: str | None = None  # what health() last said was wrong, to log when that starts and ends
    _stopped: threading.Event = field(default_factory=threading.Event)

    def run_due(self, at: datetime | None = None) -> list[str]:
        """Run every due sweep as if the clock read `at`, then deliver the outbox."""
        return run_due(self.core, self.worker, at)

    def start_background(self) -> None:
        """What the process that does the work runs: the outbox, the inbox's recovery, the scheduler."""
        self.worker.start(self.settings.outbox_poll_seconds)
        if self.intake is not None and self.recovery is None:
            self.recovery = self.intake.recovery().start()
        if self.settings.scheduler_enabled:
            self.scheduler = start_scheduler(self.core, self.run_due)

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.recovery is not None:
            self.recovery.stop()
        work = getattr(self.intake, "work", None)
        if work is not None:
            work.shutdown()  # the work of requests already acked
        self.worker.stop()
        if self.work_process is not None:
            self.work_process.stop()
        for deliverer in getattr(self.worker.deliver, "deliverers", {}).values():
            if hasattr(deliverer, "close"):
                deliverer.close()  # the Teams deliverer's HTTP connections
        if self.intake is not None and "writer" in vars(self.intake):
            self.intake.writer.close()  # its thread and connection (acks have stopped: the server is down)
        self._stopped.set()


# Outbox delivery loops (bench/NOTES.md, part 2): conversations go out side by side; SQLite has one
# writer, so there a second loop mostly overlaps the Slack calls.
OUTBOX_THREADS = 4
OUTBOX_THREADS_SQLITE = 2


def slack_enabled(settings: Settings) -> bool:
    """Whether the bot has a Slack edge: with Slack's settings, and — as before Teams — when no
    platform is set at all (the commands that build a bot then work on the database alone). A
    Teams-only deployment has none: no Bolt app, no /slack/events, no Slack deliverer."""
    return settings.has_slack_tokens or not settings.teams_enabled


def build_bot(settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None,
              token_verification: bool = True, process_before_response: bool = True) -> Bot:
    from bot.core import platforms
    from bot.core.intake import Intake, WorkExecutor
    from bot.core.outbox import ByPlatform

    quiet_payload_loggers()
    core = make_core(settings, engine, clock)
    threads = OUTBOX_THREADS_SQLITE if settings.database_url.startswith("sqlite") else OUTBOX_THREADS
    deliverers: dict[str, Any] = {}
    features = None
    if slack_enabled(settings):
        from bot.slack.app import registry
        from bot.slack.delivery import SlackDeliverer

        features = registry()
        deliverers[platforms.SLACK] = SlackDeliverer(make_client(settings), settings, core.questionnaire,
                                                     core.clock.now, templates=features.templates)
    if settings.teams_enabled:  # the Teams SDK is loaded only then (memory: bench part 5)
        from bot.teams.delivery import TeamsDeliverer

        deliverers[platforms.TEAMS] = TeamsDeliverer(settings, core.questionnaire, core.clock.now,
                                                     knowledge=core.knowledge)
    # One platform: its deliverer itself (the outbox's probe asks it). Teams only: a message for a
    # Slack person or channel fails in the outbox as one for no edge (`signaalbot outbox` shows it).
    deliverer: Any = (ByPlatform(deliverers) if len(deliverers) > 1 or platforms.SLACK not in deliverers
                      else deliverers[platforms.SLACK])
    worker = OutboxWorker(core.engine, deliverer, core.clock.now, threads=threads,
                          probe_interval=timedelta(seconds=settings.outbox_probe_seconds),
                          max_attempts=settings.outbox_max_attempts)
    core.kick = worker.kick
    bot = Bot(settings=settings, core=core, client=None, worker=worker)
    if features is not None:
        from bot.slack.app import build_app

        bot.client = make_client(settings)
        bot.app, bot.slack = build_app(core, bot.client, token_verification=token_verification,
                                       process_before_response=process_before_response, features=features)
        bot.intake = bot.slack
    else:
        bot.intake = Intake(core=core, work=WorkExecutor.for_database(settings.database_url))
    if settings.teams_enabled:
        from bot.teams.edge import TeamsEdge

        bot.teams = TeamsEdge(core, bot.intake)
    return bot


def healthy(bot: Bot) -> bool:
    return ping(bot.core.engine)


def health(bot: Bot) -> dict[str, Any]:
    """What /healthz answers: ok (200) or not (503), with the reason. Not ok when the database does not
    answer, or the outbox is degraded: paused (the platform refuses our credentials), items failed,
    or the oldest waiting item is older than `outbox_stuck_minutes`. The outbox part is read from
    the database, so the front process sees what the work process's worker does."""
    from sqlmodel import Session

    from bot.core import inbox, outbox

    if not ping(bot.core.engine):
        return {"ok": False, "database": "unreachable", "reason": "the database does not answer"}
    schema = schema_state(bot.core.engine)
    if schema == "behind":
        return {"ok": False, "database": "ok", "schema": schema,
                "reason": "the database schema is older than this version (run `signaalbot db upgrade`)"}
    try:
        with Session(bot.core.engine) as session:
            state = outbox.health(session, bot.core.clock.now())
    except Exception as exc:  # noqa: BLE001 - /healthz answers, whatever happens
        return {"ok": False, "database": "ok", "reason": f"cannot read the outbox ({type(exc).__name__})"}
    reason = state.degraded(timedelta(minutes=bot.settings.outbox_stuck_minutes))
    parked = inbox.failed_count(bot.core.engine)
    if parked:
        reason = "; ".join(filter(None, [reason, f"{parked} acknowledged request(s) could not be carried out "
                                                 "(see `signaalbot inbox`)"]))
    if reason and not bot.degraded:
        log.warning("degraded: %s", reason)
    elif not reason and bot.degraded:
        log.warning("no longer degraded: the outbox delivers again")
    bot.degraded = reason
    body: dict[str, Any] = {"ok": reason is None, "database": "ok", "schema": schema,
                            "outbox": {"paused": state.paused, "failed": state.failed,
                                       "oldest_pending_seconds": int(state.oldest_pending.total_seconds())
                                       if state.oldest_pending is not None else None},
                            "inbox": {"failed": parked}}
    if reason:
        body["reason"] = reason
    return body


@functools.cache
def _revisions() -> tuple[frozenset[str], frozenset[str]]:
    """(the heads, every revision) of this version's migrations: read once per process."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from models.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(cfg)
    return frozenset(scripts.get_heads()), frozenset(rev.revision for rev in scripts.walk_revisions())


def schema_state(engine: Engine) -> str:
    """"current"; "behind" (a migration of this version is not applied: not ready); or "newer" (a newer
    version migrated the database — forward-only migrations keep it usable by this one during a
    rolling upgrade, so still ready)."""
    from alembic.runtime.migration import MigrationContext

    heads, known = _revisions()
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return "current"
    return "behind" if current <= known else "newer"


def metrics(bot: Bot) -> tuple[bytes, str]:
    """What /metrics answers (bot.core.scrape)."""
    from bot.core import scrape

    return scrape.render(bot.core.engine, bot.core.clock.now)
