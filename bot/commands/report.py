"""`signaalbot report --year 2026 --out DIR`: the yearly report of the §3.4 figures — Markdown, CSV and
PNG charts (aggregates only; bot.core.yearreport)."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_report(args: argparse.Namespace) -> int:
    from bot.cli import CliError, _settings, parse_moment
    from bot.core import audit, stats, yearreport
    from bot.core.clock import Clock
    from bot.i18n import translator
    from bot.runtime import load_questionnaire, open_database
    from models.db import session_scope

    settings = _settings()
    if not 2000 <= args.year <= 2100:
        raise CliError("--year takes a year such as 2026.")
    clock = Clock()
    if args.at:
        clock.set(parse_moment(args.at, settings))
    now = clock.now()
    engine = open_database(settings)
    try:
        with session_scope(engine) as session:
            report = yearreport.compute(session, args.year, now, limit=stats.threshold(settings),
                                        cal=stats.calendar_for(settings))
            audit.record(session, "cli", "stats.report_written", subject=str(args.year), at=now)
        written = yearreport.write(Path(args.out), report, translator(args.language or settings.language),
                                   load_questionnaire(settings))
    finally:
        engine.dispose()
    for path in written:
        print(path)
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("report", help="the yearly report of the monitoring figures: Markdown, CSV and PNG charts "
                                      "(aggregates only; small counts as '< N')")
    s.add_argument("--year", type=int, required=True, help="the calendar year, e.g. 2026")
    s.add_argument("--out", required=True, help="folder to write the files into (created if needed)")
    s.add_argument("--language", choices=["nl", "en"], help="language of the Markdown (default: the bot's)")
    s.add_argument("--at", help="as if the clock read this ISO-8601 moment")
    s.set_defaults(func=cmd_report)
