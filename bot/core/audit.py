"""Audit trail: every read and change of case data is recorded (append-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from models import AuditEntry


def record(session: Session, actor_id: str | None, action: str, *, signal_id: int | None = None,
           subject: str | None = None, at: datetime | None = None, **data: Any) -> None:
    entry = AuditEntry(actor_id=actor_id, action=action, signal_id=signal_id, subject=subject, data=data)
    if at is not None:
        entry.at = at
    session.add(entry)
