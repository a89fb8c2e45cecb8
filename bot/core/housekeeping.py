"""Housekeeping: forget done inbox items once no platform can retry their delivery any more, and
delivered outbox items once they are history (the MessageRefs stay: retention needs them to redact
messages)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, delete

from bot.core import inbox
from bot.core.context import Core
from bot.core.jobs import sweep
from models import OutboxMessage
from models.db import session_scope

OUTBOX_MEMORY = timedelta(days=30)


@sweep("housekeeping")
def housekeeping(core: Core, now: datetime) -> list[str]:
    events = inbox.forget(core.engine, now)
    with session_scope(core.engine) as session:
        items = session.exec(delete(OutboxMessage).where(  # type: ignore[call-overload]
            col(OutboxMessage.status) == "sent", col(OutboxMessage.done_at) < now - OUTBOX_MEMORY)).rowcount
    lines = []
    if events:
        lines.append(f"forgot {events} handled inbox item(s)")
    if items:
        lines.append(f"removed {items} delivered outbox item(s)")
    return lines
