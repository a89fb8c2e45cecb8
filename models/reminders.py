"""Reminders (herinneringen) and escalations: what is due when, and what was sent.

A `Deadline` is one rung of a reminder ladder for one case (and, for advice and hand-overs, one
consultation or hand-over): its due moment is indexed with its state, so a sweep reads only what
is due. `SentReminder` is the at-most-once guard: one row per (case, rule, subject, due slot),
unique, written in the same transaction that queues the messages.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class Deadline(SQLModel, table=True):
    """One reminder rule armed for one case: pending until due, then sent, cancelled (its reason
    went away) or skipped (a later rung of the same ladder was due too, after downtime)."""

    __table_args__ = (
        Index("ix_deadline_due", "state", "due_at"),
        UniqueConstraint("signal_id", "rule_key", "subject_id", name="uq_deadline_rule"),
    )

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="signal.id", index=True)
    trigger: str = Field(max_length=40)  # flows.reminder_rules.Trigger: the ladder
    rule_key: str = Field(max_length=60)
    rung: int = Field(default=0)  # position in its ladder; a later rung supersedes an earlier one
    subject_id: int = Field(default=0)  # consultation / hand-over id; 0 for the case itself
    office_hours: bool = Field(default=True)
    escalation: bool = Field(default=False)
    anchor_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(default="pending", max_length=12)  # pending | sent | cancelled | skipped
    snoozed: bool = Field(default=False)
    snoozed_by: str | None = Field(default=None, max_length=255)
    note: str | None = Field(default=None, max_length=40)  # why cancelled / skipped (a key, no content)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SentReminder(SQLModel, table=True):
    """A reminder that went out for one due slot. The unique key makes a second send of the same
    slot impossible, also when two bot processes sweep at the same moment."""

    __table_args__ = (
        UniqueConstraint("signal_id", "rule_key", "subject_id", "slot_at", name="uq_sentreminder_slot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deadline_id: int = Field(foreign_key="deadline.id", index=True)
    signal_id: int = Field(foreign_key="signal.id")
    rule_key: str = Field(max_length=60)
    subject_id: int = Field(default=0)
    slot_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
