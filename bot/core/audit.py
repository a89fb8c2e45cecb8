"""Audit trail: every read and change of case data is recorded (append-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

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
