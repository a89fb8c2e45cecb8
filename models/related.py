"""Related signals: keyed hashes of a signal's location tokens, and the links the AF made.

`SignalToken` holds HMAC-SHA256 digests only (bot.core.related), never the tokens; `key_id` names the
derived key that made it (rows of another key are never compared). `SignalLink` is one link between
two signals, stored once with `signal_id` < `other_id`; it goes with the purge of either side.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class SignalToken(SQLModel, table=True):
    __tablename__ = "signaltoken"
    __table_args__ = (
        Index("ix_signaltoken_digest", "digest"),
        UniqueConstraint("signal_id", "digest"),
    )

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="signal.id", index=True)
    kind: str = Field(max_length=20)  # flows.related.MatchKind
    digest: str = Field(max_length=64)  # hex HMAC-SHA256 of the token
    key_id: str = Field(max_length=16)


class SignalLink(SQLModel, table=True):
    __tablename__ = "signallink"
    __table_args__ = (UniqueConstraint("signal_id", "other_id"),)

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="signal.id", index=True)  # the lower id of the two
    other_id: int = Field(foreign_key="signal.id", index=True)
    linked_by: str | None = Field(default=None, max_length=255)
    linked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
