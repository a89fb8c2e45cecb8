"""`signaalbot related reindex`: the keyed location digests of every sent signal made again with the
current data key (bot.core.related). Needed once after upgrading to a version with related signals
(signals sent before it have none); `signaalbot keys rotate` does it by itself."""

from __future__ import annotations

import argparse


def cmd_related_reindex(args: argparse.Namespace) -> int:
    from bot.cli import _settings
    from bot.core import audit, related
    from bot.runtime import open_database
    from models.db import session_scope

    settings = _settings()
    engine = open_database(settings)
    with session_scope(engine) as session:
        done = related.reindex_all(session)
        audit.record(session, "cli", "related.reindexed", signals=done)
    print(f"Made the location digests of {done} signal(s) again.")
    engine.dispose()
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:
    related = sub.add_parser("related", help="related signals").add_subparsers(dest="related_command", required=True)
    related.add_parser("reindex", help="make the keyed location digests of every sent signal again (after an "
                                       "upgrade)").set_defaults(func=cmd_related_reindex)
