"""Bulk writes (one INSERT for many rows, as the reminder sweep does) write the very rows the
one-by-one path writes: `outbox.post_many` as `outbox.post`, `audit.record_many` as `audit.record`,
and `models.base.column_values` as `session.add` — every column, defaults included — on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.core import audit, outbox
from bot.runtime import open_database
from models import AuditEntry, CaseEvent, MessageRef, OutboxMessage, Signal
from models.base import column_values, insert_rows
from models.db import session_scope
from models.reminders import Deadline, SentReminder
from tests.conftest import SECRET, TOKEN

NOW = datetime(2027, 4, 12, 8, 0, tzinfo=UTC)


def _engine(database_url: str, tmp_path: Any) -> Any:
    return open_database(Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, database_url=database_url,
                                  data_key=Fernet.generate_key().decode(), data_dir=tmp_path, scheduler_enabled=False))


def _rows(engine: Any, model: type) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return [{name: getattr(row, name) for name in model.model_fields}  # type: ignore[attr-defined]
                for row in session.exec(select(model).order_by(col(model.id))).all()]  # type: ignore[attr-defined]


def _same(one: list[dict[str, Any]], other: list[dict[str, Any]],
          refs: dict[str, dict[str, list[dict[str, Any]]]]) -> None:
    """Rows equal column by column; ids (and references to messages) compared by position."""

    def position(row: dict[str, Any], key: str, within: list[dict[str, Any]]) -> int | None:
        ids = [r["id"] for r in within]
        return ids.index(row[key]) if row[key] is not None else None

    def normal(row: dict[str, Any], within: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        out = {k: v for k, v in row.items() if k != "id"}
        for key, rows in within.items():
            out[key] = position(row, key, rows)
        return out

    assert [normal(r, refs["one"]) for r in one] == [normal(r, refs["other"]) for r in other]


def _a_signal(engine: Any) -> int:
    with session_scope(engine) as session:
        signal = Signal(reference="S-2027-0001", questionnaire_version="test", status="new", created_at=NOW,
                        updated_at=NOW)
        session.add(signal)
        session.flush()
        return signal.id or 0


def test_post_many_writes_the_rows_post_writes(database_url, tmp_path) -> None:
    engine = _engine(database_url, tmp_path)
    try:
        signal_id = _a_signal(engine)

        def messages(batch: str) -> tuple[dict[str, Any], ...]:  # dedupe keys are unique: one set per batch
            card = {"template": "case_card", "kind": "case_card", "recipient": "U0AF000002", "signal_id": signal_id,
                    "ref": {"mention": ["U0AF000002"]}, "dedupe_key": f"{batch}card:1:U0AF000002"}
            reply = {"template": "reminder", "kind": "reminder", "recipient": "U0AF000002", "signal_id": signal_id,
                     "contains_details": False, "ref": {"deadline": 7, "mention": ["U0AF000002"]}}
            partner = {"template": "reminder_partner", "recipient": "U0AVIM0001", "signal_id": signal_id,
                       "ref": {"deadline": 7}, "contains_details": False,
                       "dedupe_key": f"{batch}reminder:7:1:U0AVIM0001"}
            return card, reply, partner

        card, reply, partner = messages("a:")
        with session_scope(engine) as session:
            parent = outbox.post(session, **card, now=NOW)
            outbox.post(session, **reply, parent=parent, dedupe_key=f"a:reminder:7:1:card{parent.id}", now=NOW)
            outbox.post(session, **partner, now=NOW)
        card, reply, partner = messages("b:")
        with session_scope(engine) as session:
            posts = [outbox.NewPost(**card)]
            outbox.post_many(session, posts, NOW)
            posts += [outbox.NewPost(**reply, parent_id=posts[0].id, dedupe_key=f"b:reminder:7:1:card{posts[0].id}"),
                      outbox.NewPost(**partner)]
            outbox.post_many(session, posts[1:], NOW)
        assert [post.id for post in posts] == [r["id"] for r in _rows(engine, MessageRef)[3:]]
        messages_, items = _rows(engine, MessageRef), _rows(engine, OutboxMessage)
        one, other = messages_[:3], messages_[3:]
        _same(one, other, {"one": {"parent_id": one}, "other": {"parent_id": other}})
        for item in items:  # the same key but for the batch, and the card's id
            item["dedupe_key"] = item["dedupe_key"][2:].split(":card")[0] if item["dedupe_key"] else None
        _same(items[:3], items[3:], {"one": {"message_ref_id": one}, "other": {"message_ref_id": other}})
    finally:
        engine.dispose()


def test_record_many_writes_the_rows_record_writes(database_url, tmp_path) -> None:
    engine = _engine(database_url, tmp_path)
    try:
        with session_scope(engine) as session:
            audit.record(session, None, "reminder.sent", signal_id=3, subject="unclaimed_af", at=NOW,
                         slot=NOW.isoformat(), recipients=["thread U0AF000001"])
            audit.record(session, "U0AF000001", "reminder.snoozed", subject="unclaimed_af", at=NOW)
        with session_scope(engine) as session:
            audit.record_many(session, [
                audit.entry(None, "reminder.sent", signal_id=3, subject="unclaimed_af", at=NOW,
                            slot=NOW.isoformat(), recipients=["thread U0AF000001"]),
                audit.entry("U0AF000001", "reminder.snoozed", subject="unclaimed_af", at=NOW)])
        rows = [{k: v for k, v in row.items() if k != "id"} for row in _rows(engine, AuditEntry)]
        assert rows[2:] == rows[:2]
    finally:
        engine.dispose()


def test_column_values_are_the_rows_session_add_writes(database_url, tmp_path) -> None:
    """…also through `insert_rows`, which the sweep writes with (COPY on PostgreSQL)."""
    engine = _engine(database_url, tmp_path)
    try:
        signal_id = _a_signal(engine)
        with session_scope(engine) as session:
            deadline = Deadline(signal_id=signal_id, trigger="unclaimed", rule_key="unclaimed_af", anchor_at=NOW,
                                due_at=NOW, created_at=NOW, updated_at=NOW)
            session.add(deadline)
            session.flush()
            deadline_id = deadline.id or 0
        given: dict[type, dict[str, Any]] = {
            # Encrypted text, and JSON with what COPY's text format escapes (tab, newline, backslash).
            CaseEvent: {"signal_id": signal_id, "at": NOW, "kind": "reminder_sent", "text": "Geheim: <b>&</b>\n",
                        "data": {"rule": "unclaimed_af", "subject": 0, "to": [], "note": "a\tb\nc \\ \"d\" ë"}},
            SentReminder: {"deadline_id": deadline_id, "signal_id": signal_id, "rule_key": "unclaimed_af",
                           "slot_at": NOW, "sent_at": NOW},
        }
        for model, values in given.items():
            with session_scope(engine) as session:
                session.add(model(**values))
            with session_scope(engine) as session:
                if model is SentReminder:  # its unique key: the same slot once
                    values = {**values, "slot_at": NOW.replace(minute=1)}
                insert_rows(session, model.__table__, [column_values(model, **values)])  # type: ignore[attr-defined]
            added, inserted = ({k: v for k, v in row.items() if k != "id"} for row in _rows(engine, model))
            if model is SentReminder:
                inserted["slot_at"] = NOW
            assert inserted == added, model.__name__
    finally:
        engine.dispose()


def test_insert_rows_keeps_each_rows_values_and_refuses_a_duplicate(database_url, tmp_path) -> None:
    """Many rows at once (the driver's executemany on SQLite, COPY on PostgreSQL): each row keeps its
    own moments (a moment is converted once per distinct value, not once per column), equal texts
    are encrypted apart, and a unique key's violation is SQLAlchemy's IntegrityError, as an INSERT's."""


    engine = _engine(database_url, tmp_path)
    try:
        signal_id = _a_signal(engine)
        moments = [NOW, NOW + timedelta(minutes=1), NOW, NOW + timedelta(hours=1, microseconds=5)]
        with session_scope(engine) as session:
            insert_rows(session, CaseEvent.__table__, [  # type: ignore[attr-defined]
                column_values(CaseEvent, signal_id=signal_id, at=at, kind="note", text="Zelfde tekst")
                for at in moments])
        with Session(engine) as session:
            events = session.exec(select(CaseEvent).order_by(col(CaseEvent.id))).all()
            stored = session.execute(text("SELECT text FROM caseevent ORDER BY id")).scalars().all()
        assert [e.at for e in events] == moments
        assert [e.text for e in events] == ["Zelfde tekst"] * 4
        assert len(set(stored)) == 4 and "Zelfde tekst" not in stored[0]

        deadline_rows = [column_values(Deadline, signal_id=signal_id, trigger="unclaimed", rule_key="unclaimed_af",
                                       anchor_at=NOW, due_at=NOW, created_at=NOW, updated_at=NOW)]
        with session_scope(engine) as session:
            insert_rows(session, Deadline.__table__, deadline_rows)  # type: ignore[attr-defined]
        with session_scope(engine) as session:
            deadline_id = session.exec(select(Deadline.id)).one()
        slot = column_values(SentReminder, deadline_id=deadline_id, signal_id=signal_id, rule_key="unclaimed_af",
                             slot_at=NOW, sent_at=NOW)
        with pytest.raises(IntegrityError), session_scope(engine) as session:
            insert_rows(session, SentReminder.__table__, [slot, dict(slot)])  # type: ignore[attr-defined]
        with Session(engine) as session:
            assert session.exec(select(SentReminder)).all() == []
    finally:
        engine.dispose()
