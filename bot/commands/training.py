"""`signaalbot training add|list|cancel|stats`: training sessions for the regional network."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli import CliError, _settings, parse_moment


def _core() -> Any:
    from bot.runtime import make_core

    return make_core(_settings())


def _problems(outcome: Any) -> list[str]:
    from bot.i18n import translator

    _ = translator("en")
    return [f"--{p.field}: {p.text(_)}" for p in outcome.problems]


def cmd_add(args: argparse.Namespace) -> int:
    from bot.core import training

    settings = _settings()
    starts = parse_moment(args.starts, settings)
    ends = parse_moment(args.ends, settings)
    core = _core()
    data = training.TrainingInput(title=args.title, starts=starts, ends=ends, location=args.location, url=args.url,
                                  audience=args.audience, capacity=args.capacity)
    outcome = training.create(core, args.organiser, data)
    if outcome.error == "denied":
        raise CliError(f"{args.organiser} may not plan trainings (only the ketenregisseur and AFs).",
                       "Nothing was stored.")
    if not outcome.ok:
        raise CliError(*_problems(outcome), "Nothing was stored.")
    print(f"Training #{outcome.session_id} planned; announced to {outcome.data['announced']} member(s). "
          "Messages go out when the bot runs (or with `signaalbot jobs run-due`).")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from bot.core import training

    core = _core()
    now = core.clock.now()
    tz = core.settings.tz
    with Session(core.engine) as session:
        rows = training.sessions(session, include_past=args.all, now=now)
        if not rows:
            print("No trainings planned." if not args.all else "No trainings yet.")
            return 0
        for t in rows:
            counts = training.rsvp_counts(session, t.id or 0)
            state = "cancelled" if t.cancelled_at else ("past" if t.ends_at <= now else "planned")
            places = f"{counts['yes']}/{t.capacity}" if t.capacity else str(counts["yes"])
            print(f"#{t.id} {t.starts_at.astimezone(tz):%Y-%m-%d %H:%M}–{t.ends_at.astimezone(tz):%H:%M} "
                  f"{t.title} @ {t.location} [{t.audience}] {state}; yes {places}, waiting {counts['waitlist']}, "
                  f"no {counts['no']}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from bot.core import training

    outcome = training.cancel(_core(), args.id, None)
    errors = {"unknown": f"There is no training #{args.id}.",
              "cancelled": f"Training #{args.id} was already cancelled.",
              "started": f"Training #{args.id} has already started; it can no longer be cancelled."}
    if not outcome.ok:
        raise CliError(errors.get(outcome.error or "", f"Training #{args.id} could not be cancelled."))
    print(f"Training #{args.id} cancelled; {outcome.data['told']} member(s) who said yes get a notice.")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from bot.core import training

    core = _core()
    with Session(core.engine) as session:
        figures = training.trained_members_by_municipality(session, core.clock.now())
    if not figures:
        print("No municipalities imported yet: use `signaalbot network import FILE`.")
        return 0
    print("Trained in the last 12 months, per municipality (trained members / network members; trained "
          "people including former members and walk-ins):")
    for f in figures:
        print(f"{f.municipality or '(regional / partners)'}: {f.trained_members}/{f.members} members; "
              f"{f.trained} people trained")
    return 0


def register_cli(sub: Any) -> None:
    tr = sub.add_parser("training", help="training sessions for the network").add_subparsers(
        dest="training_command", required=True)
    add = tr.add_parser("add", help="plan a training session and announce it")
    add.add_argument("--title", required=True)
    add.add_argument("--starts", required=True, help="ISO-8601 (without offset: BOT_TIMEZONE)")
    add.add_argument("--ends", required=True, help="ISO-8601 (without offset: BOT_TIMEZONE)")
    add.add_argument("--location", required=True)
    add.add_argument("--url")
    add.add_argument("--audience", default="network", help="network | municipality:NAME | role:ROLE | all")
    # --capacity is checked by bot.core.training.validate, so the CLI and the modal say the same.
    add.add_argument("--capacity", help="number of places (default: no limit)")
    add.add_argument("--organiser", help="Slack user id of the organiser (gets the attendance request); "
                                         "their permission is checked")
    add.set_defaults(func=cmd_add)
    lst = tr.add_parser("list", help="planned trainings with their answers")
    lst.add_argument("--all", action="store_true", help="include past and cancelled trainings")
    lst.set_defaults(func=cmd_list)
    can = tr.add_parser("cancel", help="cancel a training; everyone who said yes gets a notice")
    can.add_argument("id", type=int)
    can.set_defaults(func=cmd_cancel)
    tr.add_parser("stats", help="trained network members per municipality (last 12 months)").set_defaults(
        func=cmd_stats)
