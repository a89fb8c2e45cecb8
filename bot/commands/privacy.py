"""Privacy commands: `signaalbot purge [--dry-run]`, `signaalbot audit [--case] [--since]` and
`signaalbot export --person U…` (inzageverzoek, AVG art. 15)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from bot.core import datamap
from bot.core.clock import Clock

# Delivery bookkeeping holds no personal data of its own worth exporting.
NOT_EXPORTED = frozenset({"outboxmessage", "inboxitem", "jobrun"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def export_person(session: Session, user_id: str, now: datetime) -> dict[str, Any]:
    """Every row that names `user_id` in a person column, decrypted, grouped by table."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in datamap.tables():
        columns = datamap.person_columns(table)
        if table.name in NOT_EXPORTED or not columns:
            continue
        rows = session.execute(select(table).where(or_(*[c == user_id for c in columns]))).mappings().all()
        if rows:
            found[table.name] = [_jsonable(dict(r)) for r in rows]
    # What the AF sent a reporter about their own signals (questions, messages, feedback) is theirs too.
    from models import CaseEvent, Signal

    own = select(Signal.id).where(Signal.reporter_id == user_id)
    seen = {row["id"] for row in found.get("caseevent", [])}
    sent_to_them = session.execute(select(CaseEvent.__table__).where(  # type: ignore[attr-defined]
        CaseEvent.signal_id.in_(own), CaseEvent.visible_to_reporter.is_(True))).mappings().all()  # type: ignore
    extra = [_jsonable(dict(r)) for r in sent_to_them if r["id"] not in seen]
    if extra:
        found["caseevent"] = sorted(found.get("caseevent", []) + extra, key=lambda row: row["id"])
    # How each platform knows them (their person row's id, not their key, links these).
    from bot.core import people

    if identities := people.identities_of(session, user_id):
        found["identity"] = [_jsonable(i.model_dump()) for i in identities]
    return {"person": user_id, "generated_at": now.isoformat(),
            "note": "All data Signaalbot stores that names this person (AVG art. 15). Slack keeps its own copy "
                    "of the messages in Slack.",
            "tables": found}


def _since(value: str, tz: Any) -> datetime:
    from bot.cli import CliError

    try:
        day = date.fromisoformat(value)
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CliError(f"'{value}' is not a date (2027-03-01) or moment (2027-03-01T09:00).") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)


def create_private_file(path: Path) -> int:
    """A new file only its owner can read (0600 from the moment it exists: no chmod afterwards), never an
    existing file or a symbolic link. Returns the open descriptor; an existing name is a one-line error."""
    from bot.cli import CliError

    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise CliError(f"{path} already exists; choose another file name or remove the old file first "
                       "(an export never overwrites a file).") from None
    except OSError as exc:
        raise CliError(f"Cannot create {path}: {exc.strerror}. Choose a file in a folder you can write to.") from None


def cmd_purge(args: argparse.Namespace) -> int:
    from bot.cli import _settings, parse_moment
    from bot.core import retention
    from bot.runtime import make_core

    settings = _settings()
    clock = Clock()
    if args.at:
        clock.set(parse_moment(args.at, settings))
    core = make_core(settings, clock=clock)
    due = retention.purge(core, clock.now(), actor="cli", dry_run=args.dry_run)
    for c in due:
        due_day = c.due_at.astimezone(settings.tz)
        print(f"{c.reference}  {c.status:<9}  {c.conclusion or '-':<16}  due {due_day:%Y-%m-%d}  {c.reason}")
    if not due:
        print("Nothing is due for purging.")
    elif args.dry_run:
        print(f"{len(due)} signal(s) would be purged (dry run: nothing was changed).")
    else:
        print(f"Purged {len(due)} signal(s). The running bot replaces their detailed Slack messages by a tombstone.")
    core.engine.dispose()
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from bot.cli import CliError, _settings
    from bot.core import audit
    from bot.runtime import open_database
    from models import AuditEntry, Signal
    from models.db import session_scope

    settings = _settings()
    engine = open_database(settings)
    with session_scope(engine) as session:
        query = select(AuditEntry).order_by(col(AuditEntry.at), col(AuditEntry.id))
        if args.case:
            signal = session.exec(select(Signal).where(Signal.reference == args.case)).scalars().first()
            if signal is None:
                raise CliError(f"No signal {args.case}.")
            query = query.where(AuditEntry.signal_id == signal.id)
        if args.since:
            query = query.where(col(AuditEntry.at) >= _since(args.since, settings.tz))
        if args.actor:
            query = query.where(AuditEntry.actor_id == args.actor)
        entries = session.exec(query).scalars().all()
        refs = dict(session.exec(select(Signal.id, Signal.reference)).all())
        for e in entries:
            extra = " ".join(f"{k}={v}" for k, v in sorted(e.data.items()))
            print(f"{e.at.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}  {e.actor_id or '-':<12}  {e.action:<22}  "
                  f"{refs.get(e.signal_id, '-') if e.signal_id else '-':<12}  {e.subject or '-'}  {extra}".rstrip())
        if not entries:
            print("No audit entries match.")
        audit.record(session, "cli", "audit.viewed", subject=args.case, since=args.since, actor=args.actor,
                     entries=len(entries))
    engine.dispose()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.cli import CliError, _settings
    from bot.core import audit
    from bot.runtime import open_database
    from models.db import session_scope

    settings = _settings()
    if not args.person.startswith(("U", "W")):
        raise CliError(f"'{args.person}' is not a Slack user id (U…).")
    out = create_private_file(Path(args.out)) if args.out else None
    try:
        engine = open_database(settings)
        now = Clock().now()
        with session_scope(engine) as session:
            data = export_person(session, args.person, now)
            audit.record(session, "cli", "person.exported", subject=args.person, at=now,
                         tables=sorted(data["tables"]), out=args.out or "stdout")
    except BaseException:
        if out is not None:
            os.close(out)
            Path(args.out).unlink(missing_ok=True)
        raise
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    if out is not None:
        path = Path(args.out)
        with os.fdopen(out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        print(f"Wrote the data of {args.person} to {path} (mode 0600): "
              + (", ".join(f"{t} {len(r)}" for t, r in data["tables"].items()) or "nothing stored"))
    else:
        sys.stdout.write(text + "\n")
    engine.dispose()
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("purge", help="remove personal data whose retention period is over")
    p.add_argument("--dry-run", action="store_true", help="only show what would be purged")
    p.add_argument("--at", help="as if the clock read this ISO-8601 moment")
    p.set_defaults(func=cmd_purge)
    a = sub.add_parser("audit", help="show the audit log: who viewed, changed, exported or purged what")
    a.add_argument("--case", help="only this signal (S-2027-0001)")
    a.add_argument("--since", help="from this date (2027-03-01) or moment")
    a.add_argument("--actor", help="only this user id")
    a.set_defaults(func=cmd_audit)
    e = sub.add_parser("export", help="write everything stored about one person as JSON (access request)")
    e.add_argument("--person", required=True, help="Slack user id (U…)")
    e.add_argument("--out", help="file to write (default: standard output)")
    e.set_defaults(func=cmd_export)
