"""Training sessions for the regional network (trainingen): RSVPs, attendance, and a sent-log that
makes every announcement, reminder and notice go to each member at most once.

Titles and locations are agenda items, not case content, so they are plain columns.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class TrainingSession(SQLModel, table=True):
    """A training, e-learning or network meeting. `audience` is `network`, `all`,
    `municipality:<name>` or `role:<role>`; `capacity` None means unlimited."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=150)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    location: str = Field(max_length=200)
    url: str | None = Field(default=None, max_length=500)
    audience: str = Field(max_length=140)
    capacity: int | None = Field(default=None)
    organiser_id: str | None = Field(default=None, max_length=255)
    revision: int = Field(default=0)  # bumped on every change people are told about
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # when the date/time was last set: reminder moments before this are not sent
    scheduled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attendance_recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TrainingRsvp(SQLModel, table=True):
    """One member's answer: yes (Ik kom), no (Ik kan niet) or waitlist (wachtlijst, by position)."""

    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="trainingsession.id", index=True)
    user_id: str = Field(max_length=255, index=True)
    status: str = Field(max_length=10)  # yes | no | waitlist
    position: int | None = Field(default=None)  # waitlist order (lower first)
    responded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TrainingAttendance(SQLModel, table=True):
    """Who attended. When a member leaves the network `user_id` is cleared and `anon_key` (random,
    the same for all their rows) keeps them countable; `municipality_id` is a snapshot for figures."""

    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="trainingsession.id", index=True)
    user_id: str | None = Field(default=None, max_length=255, index=True)
    anon_key: str | None = Field(default=None, max_length=40)
    municipality_id: int | None = Field(default=None, foreign_key="municipality.id")
    walk_in: bool = Field(default=False)
    recorded_by: str | None = Field(default=None, max_length=255)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TrainingSent(SQLModel, table=True):
    """At-most-once log: one row per (session, member, step) — announce, remind:<moment>,
    changed:<revision>, cancelled, moved_up:<n>, attendance_request. The unique key is the guard."""

    __table_args__ = (UniqueConstraint("session_id", "user_id", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="trainingsession.id", index=True)
    user_id: str = Field(max_length=255)
    step: str = Field(max_length=60)
    message_ref_id: int | None = Field(default=None, foreign_key="messageref.id")
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RefresherNudge(SQLModel, table=True):
    """When a network member last got the refresher nudge (opfrisser)."""

    user_id: str = Field(primary_key=True, max_length=255)
    last_nudged_at: datetime = Field(sa_type=UTCDateTime)
    count: int = Field(default=1)


class MemberProfile(SQLModel, table=True):
    """What the network keeps about a member beyond `Person`: their partner organisation and when
    they joined (the refresher counts from there when they never attended)."""

    user_id: str = Field(primary_key=True, max_length=255)
    partner_key: str | None = Field(default=None, foreign_key="partner.key")
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str | None = Field(default=None, max_length=255)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
