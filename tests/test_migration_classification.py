"""Migration 0003 on a database version 0002 filled: a signal whose reporter answered minor "weet ik
niet" becomes `minor_possible`, the others not; existing outcomes keep their text without a kind; on
SQLite and PostgreSQL."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import text
from sqlmodel import select

from models import Handover, Signal
from models.crypto import configure
from models.db import alembic_config, make_engine, session_scope, upgrade

NOW = "2026-12-01 09:00:00"


def test_the_classification_migration_fills_minor_weet_ik_niet(database_url: str) -> None:
    configure("0" * 43 + "=")
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0002")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO partner (key, name) VALUES ('avim', 'AVIM')"))
        for n, minor in ((1, "unknown"), (2, "yes"), (3, None)):
            answers = json.dumps({"minor": minor, "form": "AU"} if minor else {})
            sid = conn.execute(text(
                "INSERT INTO signal (reference, status, questionnaire_version, answers, step, editing, acute, minor, "
                "wants_feedback, created_at, updated_at) VALUES (:ref, 'new', 'v1', :answers, 0, :f, :f, :minor, "
                ":t, :now, :now) RETURNING id"),
                {"ref": f"S-2026-000{n}", "answers": answers, "f": False, "t": True, "now": NOW,
                 "minor": minor == "yes"}).scalar_one()
            conn.execute(text("INSERT INTO handover (signal_id, partner_key, urgent, routed_at) "
                              "VALUES (:s, 'avim', :f, :now)"), {"s": sid, "f": False, "now": NOW})
    upgrade(engine)
    with session_scope(engine) as session:
        rows = {s.reference: (s.minor, s.minor_possible, s.target_group, s.classified_at)
                for s in session.exec(select(Signal)).all()}
        assert rows == {"S-2026-0001": (False, True, None, None), "S-2026-0002": (True, False, None, None),
                        "S-2026-0003": (False, False, None, None)}
        assert {h.outcome_kind for h in session.exec(select(Handover)).all()} == {None}
