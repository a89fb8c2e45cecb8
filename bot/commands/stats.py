"""`signaalbot stats --from --to [--format table|csv]`: the monitoring figures (aggregates only)."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time, timedelta


def cmd_stats(args: argparse.Namespace) -> int:
    from bot.cli import CliError, _settings, parse_moment
    from bot.core import audit, stats
    from bot.core.clock import Clock
    from bot.runtime import open_database
    from models.db import session_scope

    settings = _settings()
    clock = Clock()
    if args.at:
        clock.set(parse_moment(args.at, settings))
    now = clock.now()
    today = now.astimezone(settings.tz).date()
    try:
        start_day = date.fromisoformat(args.date_from) if args.date_from else today.replace(day=1)
        end_day = date.fromisoformat(args.date_to) if args.date_to else today
    except ValueError as exc:
        raise CliError("--from and --to take dates such as 2027-03-01.") from exc
    if end_day < start_day:
        raise CliError("--to is before --from.")
    start = datetime.combine(start_day, time(0), tzinfo=settings.tz).astimezone(UTC)
    end = datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=settings.tz).astimezone(UTC)
    engine = open_database(settings)
    with session_scope(engine) as session:
        scope = frozenset(args.municipality) if args.municipality else None
        report = stats.compute(session, start, end, now, limit=stats.threshold(settings),
                               cal=stats.calendar_for(settings), municipalities=scope)
        audit.record(session, "cli", "stats.viewed", subject=f"{start_day}..{end_day}", at=now,
                     municipalities=sorted(scope) if scope else "region")
    print(stats.as_csv(report) if args.format == "csv" else stats.as_table(report), end="" if args.format == "csv"
          else "\n")
    engine.dispose()
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("stats", help="monitoring figures: signals per municipality, form and sector, outcomes, "
                                     "melding share, times, open and overdue (aggregates only)")
    s.add_argument("--from", dest="date_from", help="first day (default: the 1st of this month)")
    s.add_argument("--to", dest="date_to", help="last day, inclusive (default: today)")
    s.add_argument("--format", choices=["table", "csv"], default="table")
    s.add_argument("--municipality", action="append", help="only this municipality (repeatable)")
    s.add_argument("--at", help="as if the clock read this ISO-8601 moment (open, overdue and trained as of then)")
    s.set_defaults(func=cmd_stats)
