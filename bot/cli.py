"""`signaalbot`: run the bot, manage the database, the network and the scheduled jobs."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from bot.config import ConfigError, Settings, load_settings

log = logging.getLogger("signaalbot")

# Every module in bot/commands/ adds its own subcommands with `register_cli(subparsers)`.
def _command_modules() -> list[str]:
    import pkgutil

    import bot.commands

    return [f"bot.commands.{i.name}" for i in sorted(pkgutil.iter_modules(bot.commands.__path__),
                                                      key=lambda i: i.name) if not i.name.startswith("_")]


class CliError(Exception):
    """A problem the user can fix; printed as one line each, exit code 2."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


def setup_logging(verbose: bool = False, log_format: str | None = None) -> None:
    """Plain lines, or with LOG_FORMAT=json one JSON object per line (time, level, logger, message and
    what a log call adds as `extra`, such as a signal's reference — never content)."""
    log_format = (log_format or os.environ.get("LOG_FORMAT") or "text").strip().lower()
    handler = logging.StreamHandler()
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}", style="{",
                                           rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    if log_format not in ("json", "text"):
        logging.getLogger("signaalbot").warning("LOG_FORMAT %r is unknown; writing text (use json or text)",
                                                log_format)
    # slack_sdk, slack_bolt and sqlalchemy.engine log message bodies and SQL parameters when verbose:
    # case content must never reach a log.
    for noisy in ("apscheduler", "slack_bolt", "slack_sdk", "urllib3", "alembic", "uvicorn.access",
                  "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def metrics_folder() -> None:
    """`/metrics` shows the counters of the front and of its work process: prometheus-client's
    multiprocess mode, in a fresh folder per run (set before prometheus_client is imported; removed
    at exit). PROMETHEUS_MULTIPROC_DIR set by the operator is used as it is (they empty it per run)."""
    if "prometheus_client" in sys.modules:
        return  # too late to switch modes (a test importing everything in one process)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="signaalbot-metrics-")
        owner = os.getpid()
        atexit.register(lambda: os.getpid() == owner and shutil.rmtree(folder, ignore_errors=True))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def parse_moment(value: str, settings: Settings) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CliError(f"'{value}' is not an ISO-8601 moment (for example 2027-03-25T14:00 or "
                       "2027-03-25T14:00+01:00).") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings.tz)
    return moment.astimezone(UTC)


def _settings() -> Settings:
    return load_settings()


def _bot(settings: Settings, *, token_verification: bool = False):  # noqa: ANN202
    from bot.runtime import build_bot

    return build_bot(settings, token_verification=token_verification)


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    if not settings.has_slack_tokens and not settings.teams_enabled:
        raise CliError(
            "no platform is configured: set SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN) for "
            "Slack, and/or TEAMS_APP_ID, TEAMS_APP_PASSWORD (or TEAMS_APP_CERTIFICATE_FILE, or "
            "TEAMS_APP_MANAGED_IDENTITY in Azure) and TEAMS_TENANT_ID for "
            "Teams (README.md, docs/teams.md); `make run` without them starts the offline sandbox.")
    from bot.serve import serve

    return serve(settings)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.runtime import open_database

    settings = _settings()
    open_database(settings)
    print(f"Database is up to date ({_safe_url(settings.database_url)}).")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_network_import(args: argparse.Namespace) -> int:
    from slack_sdk.errors import SlackApiError

    from bot.core import network, platforms
    from bot.runtime import make_client, open_database
    from models.db import session_scope

    settings = _settings()
    path = Path(args.file)
    if not path.exists():
        raise CliError(f"{path}: file not found.")
    lookup = None
    if settings.has_slack_tokens:
        client = make_client(settings)

        def lookup(email: str) -> str | None:
            try:
                return platforms.person_key(platforms.SLACK, client.users_lookupByEmail(email=email)["user"]["id"])
            except SlackApiError:
                return None
    try:
        cfg = network.parse(path.read_text(encoding="utf-8"), lookup, str(path))
    except network.NetworkError as exc:
        if lookup is None and any("e-mail" in p for p in exc.problems):
            exc.problems.append("E-mail addresses are looked up in Slack: set SLACK_BOT_TOKEN, or use user ids "
                                "(in Teams: teams:<Entra object id>).")
        raise CliError(*exc.problems, "Nothing was imported.") from exc
    engine = open_database(settings)
    with session_scope(engine) as session:
        counts = network.apply(session, cfg, datetime.now(UTC))
        from bot.core import audit

        audit.record(session, "cli", "network.import", subject=str(path), **counts)
    print(f"Imported {counts['municipalities']} municipalities, {counts['partners']} partners, "
          f"{counts['roles']} roles, {counts['network']} new network members from {path}.")
    return 0


def cmd_network_show(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from bot.core import network, reach
    from bot.runtime import open_database

    engine = open_database(_settings())
    with Session(engine) as session:
        lines = network.describe(session)
        if lines:
            lines += reach.describe(session)
    print("\n".join(lines) if lines else "No network imported yet: use `signaalbot network import FILE`.")
    return 0


def cmd_jobs_run_due(args: argparse.Namespace) -> int:
    settings = _settings()
    at = parse_moment(args.at, settings) if args.at else None
    bot = _bot(settings)
    if at is not None:
        bot.core.clock.set(at)
    lines = bot.run_due(at)
    print("\n".join(lines) if lines else "Nothing was due.")
    return 0


def cmd_jobs_list(args: argparse.Namespace) -> int:
    from bot.runtime import make_core
    from bot.scheduler import describe_jobs

    for name, desc in describe_jobs(make_core(_settings())):
        print(f"{name}: {desc}")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from sqlmodel import Session, col, select

    from bot.core import outbox
    from bot.core.clock import Clock
    from bot.runtime import open_database
    from models import MessageRef, OutboxMessage

    settings = _settings()
    engine = open_database(settings)
    now = Clock().now()
    stuck_after = timedelta(minutes=settings.outbox_stuck_minutes)
    with Session(engine) as session:
        state = outbox.health(session, now)
        rows = session.exec(select(OutboxMessage, MessageRef).join(MessageRef).where(
            col(OutboxMessage.status).in_(["pending", "sending", "failed"])).order_by(col(OutboxMessage.id))).all()
    reason = state.degraded(stuck_after)
    print(f"Degraded: {reason}." if reason else "The outbox is healthy.")
    for item, msg in rows:
        age = now - _aware(item.created_at)
        stuck = item.status != "failed" and (age > stuck_after or (
            item.status == "sending" and item.locked_until is not None and _aware(item.locked_until) < now))
        label = "stuck" if stuck else item.status
        print(f"#{item.id} {label} {item.op} {msg.template} age={_age(age)} attempts={item.attempts} "
              f"next={item.next_attempt_at:%Y-%m-%d %H:%M:%S} reason={item.last_error or '-'}")
    if not rows:
        print("The outbox is empty: every message was delivered.")
    elif state.failed:
        print("Fix the cause, then `signaalbot outbox retry --failed` (or `--id N`) sends them again.")
    return 0


def cmd_outbox_retry(args: argparse.Namespace) -> int:
    from bot.core import outbox
    from bot.core.clock import Clock
    from bot.runtime import open_database
    from models.db import session_scope

    if not _says_which(args, "outbox"):
        return 2
    with session_scope(open_database(_settings())) as session:
        count = outbox.requeue(session, Clock().now(), ids=args.id or None, failed=args.failed)
    print(f"Requeued {count} message(s); a running bot delivers them within its next poll.")
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    from bot.core import inbox
    from bot.runtime import open_database

    items = inbox.waiting(open_database(_settings()))
    now = datetime.now(UTC)
    for item in items:
        state = "failed" if item.failed else "waiting"
        print(f"#{item.id} {state} {item.work.rsplit(':', 1)[-1]} age={_age(now - _aware(item.received_at))} "
              f"attempts={item.attempts} reason={item.last_error or '-'}")
    if not items:
        print("Every acknowledged request was carried out.")
    elif any(item.failed for item in items):
        print("Fix the cause (see the log), then `signaalbot inbox retry --failed` (or `--id N`) runs them again.")
    return 0


def cmd_inbox_retry(args: argparse.Namespace) -> int:
    from bot.core import inbox
    from bot.runtime import open_database

    if not _says_which(args, "inbox"):
        return 2
    count = inbox.requeue(open_database(_settings()), ids=args.id, failed=args.failed)
    print(f"Requeued {count} request(s); a running bot carries them out within seconds.")
    return 0


def _says_which(args: argparse.Namespace, command: str) -> bool:
    if args.id or args.failed:
        return True
    print(f"Say which: `signaalbot {command} retry --id N` or `signaalbot {command} retry --failed`.", file=sys.stderr)
    return False


def _retry_parser(parent: Any, what: str, func: Callable[[argparse.Namespace], int]) -> None:
    retry = parent.add_subparsers(dest=f"{parent.prog.split()[-1]}_command").add_parser(
        "retry", help=f"{what} failed (or given) ones again")
    retry.add_argument("--id", type=int, action="append", help=f"an item number from `{parent.prog}`")
    retry.add_argument("--failed", action="store_true", help="every failed item")
    retry.set_defaults(func=func)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signaalbot", description="Signaalbot: signals of human trafficking.")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="run the bot (Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT: Slack and/or "
                               "Teams)").set_defaults(func=cmd_run)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="bring the database schema up to date").set_defaults(func=cmd_db_upgrade)

    net = sub.add_parser("network", help="the regional network").add_subparsers(dest="net_command", required=True)
    imp = net.add_parser("import", help="import municipalities, AFs, partners and network members from YAML")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_network_import)
    net.add_parser("show", help="show the imported network").set_defaults(func=cmd_network_show)

    jobs = sub.add_parser("jobs", help="scheduled jobs").add_subparsers(dest="jobs_command", required=True)
    due = jobs.add_parser("run-due", help="run every due job once, as if the clock read --at")
    due.add_argument("--at", help="ISO-8601 moment (default: now; without offset: BOT_TIMEZONE)")
    due.set_defaults(func=cmd_jobs_run_due)
    jobs.add_parser("list", help="show the jobs and when they run").set_defaults(func=cmd_jobs_list)

    box = sub.add_parser("outbox", help="messages not yet delivered: failed and stuck ones with reason and age")
    box.set_defaults(func=cmd_outbox)
    _retry_parser(box, "send", cmd_outbox_retry)
    box = sub.add_parser("inbox", help="acknowledged requests not carried out yet: failed ones with their reason")
    box.set_defaults(func=cmd_inbox)
    _retry_parser(box, "carry out", cmd_inbox_retry)
    # keys generate|rotate: bot/commands/keys.py
    for name in _command_modules():
        module = __import__(name, fromlist=["register_cli"])
        register: Callable[..., None] = module.register_cli
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    load_dotenv(Path.cwd() / ".env", override=False)  # LOG_FORMAT may be set there, as every setting
    setup_logging(args.verbose)
    if args.func is cmd_run:
        metrics_folder()
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        for line in exc.problems:
            print(f"signaalbot: {line}", file=sys.stderr)
        return 2
    except CliError as exc:
        for line in exc.lines:
            print(f"signaalbot: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - known start-up problems get one clear line
        from flows.questionnaire import QuestionnaireError
        from models.crypto import KeyError_

        if isinstance(exc, QuestionnaireError | KeyError_):
            print(f"signaalbot: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
