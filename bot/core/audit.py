"""Audit trail: every read and change of case data is recorded (append-only).

The one change ever made to an existing entry is the purge's: `pseudonymise_signal` replaces the
user ids in a purged signal's entries by pseudonyms (action, time and the rest stay)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.core import platforms
from models import AuditEntry
from models.base import column_values, insert_rows, without_nulls


def record(session: Session, actor_id: str | None, action: str, *, signal_id: int | None = None,
           subject: str | None = None, at: datetime | None = None, **data: Any) -> None:
    entry = AuditEntry(actor_id=actor_id, action=action, signal_id=signal_id, subject=subject, data=data)
    if at is not None:
        entry.at = at
    session.add(entry)


def entry(actor_id: str | None, action: str, *, signal_id: int | None = None, subject: str | None = None,
          at: datetime, **data: Any) -> dict[str, Any]:
    """The row `record` writes, as column values for `record_many`."""
    return column_values(AuditEntry, actor_id=actor_id, action=action, signal_id=signal_id, subject=subject,
                         data=data, at=at)


def record_many(session: Session, entries: list[dict[str, Any]]) -> None:
    """Append many entries (made with `entry`) at once."""
    if entries:
        insert_rows(session, AuditEntry.__table__, without_nulls(AuditEntry.__table__, entries))


# Actors that are the bot or an operator's command, not a person: they stay as they are.
SYSTEM_ACTORS = frozenset({"cli", "retention", "digest", "anonymous"})


def pseudonymise_signal(session: Session, signal_id: int, people: Iterable[str] = ()) -> set[str]:
    """Replace every user id in this signal's entries (actor, subject and data values) by a
    pseudonym; returns the ids that were replaced.

    The pseudonym is a keyed HMAC whose key is random for each call and never stored: within one
    signal the same person keeps the same pseudonym (the entries still show that the one who claimed
    also closed), but no one — not even an operator with the database and the data key — can turn
    it back into the person, or link the same person across two purged signals."""
    key = secrets.token_bytes(32)
    known = {p for p in people if p and p not in SYSTEM_ACTORS}
    entries = session.exec(select(AuditEntry).where(AuditEntry.signal_id == signal_id)
                           .order_by(col(AuditEntry.id))).all()
    known |= {e.actor_id for e in entries if e.actor_id and e.actor_id not in SYSTEM_ACTORS}
    replaced: set[str] = set()

    def is_person(value: str) -> bool:
        return value in known or platforms.looks_like_person_key(value)

    def pseudonym(value: str) -> str:
        replaced.add(value)
        return "anon-" + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:12]

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return pseudonym(value) if is_person(value) else value
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    for e in entries:
        if e.actor_id and e.actor_id not in SYSTEM_ACTORS:
            e.actor_id = pseudonym(e.actor_id)
        if e.subject and is_person(e.subject):
            e.subject = pseudonym(e.subject)
        e.data = clean(dict(e.data or {}))
        session.add(e)
    return replaced
