"""Housekeeping: forget Slack event ids once Slack can no longer retry them, and delivered outbox
items once they are history (the MessageRefs stay: retention needs them to redact messages)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, delete

from bot.core.context import Core
from bot.runtime import sweep
from models import OutboxMessage, ProcessedEvent
from models.db import session_scope

EVENT_MEMORY = timedelta(days=2)  # Slack retries within minutes; two days is plenty
OUTBOX_MEMORY = timedelta(days=30)


@sweep("housekeeping")
def housekeeping(core: Core, now: datetime) -> list[str]:
    with session_scope(core.engine) as session:
        events = session.exec(delete(ProcessedEvent).where(  # type: ignore[call-overload]
            col(ProcessedEvent.received_at) < now - EVENT_MEMORY)).rowcount
        items = session.exec(delete(OutboxMessage).where(  # type: ignore[call-overload]
            col(OutboxMessage.status) == "sent", col(OutboxMessage.done_at) < now - OUTBOX_MEMORY)).rowcount
    lines = []
    if events:
        lines.append(f"forgot {events} processed event id(s)")
    if items:
        lines.append(f"removed {items} delivered outbox item(s)")
    return lines
