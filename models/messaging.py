"""What the bot sends (message references, the outbox) and what it received (the inbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from models.base import EncryptedText, UTCDateTime, utcnow


class MessageRef(SQLModel, table=True):
    """A message the bot posts (or will post), addressed as (`platform`, `conversation`,
    `message_id`): a Slack channel id and `ts`, a Teams conversation id and activity id. The
    conversation is known beforehand for a post to a place, else (a post to `recipient`, a person
    key: their direct conversation with the bot) filled in with the message id once delivered.

    `template` + `ref` say how to render it from current database state, so the outbox never holds
    case content and an update always shows what is true now.
    """

    __table_args__ = (
        Index("ix_messageref_signal_kind", "signal_id", "kind"),
        Index("ix_messageref_conversation_message", "conversation", "message_id"),
        # Replies of a thread: what waits for its root (the outbox, after each post), and deletes.
        Index("ix_messageref_parent_id", "parent_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int | None = Field(default=None, foreign_key="signal.id")
    kind: str = Field(max_length=40)
    template: str = Field(max_length=60)
    ref: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    recipient: str | None = Field(default=None, max_length=255)
    platform: str = Field(default="slack", max_length=20, sa_column_kwargs={"server_default": "slack"})
    conversation: str | None = Field(default=None, max_length=255)
    message_id: str | None = Field(default=None, max_length=255)
    parent_id: int | None = Field(default=None, foreign_key="messageref.id")
    contains_details: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """One delivery to do: post, update or redact a MessageRef. Written in the same transaction
    as the state change that causes it; delivered by the outbox worker with retries."""

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    op: str = Field(max_length=10)  # post | update | redact
    message_ref_id: int = Field(foreign_key="messageref.id", index=True)
    status: str = Field(default="pending", max_length=10)  # pending | sending | sent | failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=200)
    dedupe_key: str | None = Field(default=None, unique=True, max_length=600)
    # Delivery order among due items, lowest first: see bot.core.outbox.URGENT / INTERACTIVE / BACKGROUND.
    priority: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InboxItem(SQLModel, table=True):
    """Work the bot acknowledged and has not finished: stored before the acknowledgement goes back,
    so a crash, a kill or a restart after the 200 loses nothing (bot.core.inbox). The unique
    `dedupe_key` (the platform's delivery id: event id, view id + hash, action_ts + action…) makes a
    retried or doubled delivery take effect once."""

    __table_args__ = (Index("ix_inboxitem_open", "done_at", "failed_at", "claimed_until"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=200)
    work: str = Field(max_length=200)  # the registered after-ack function
    # Its arguments as JSON: a payload may carry case text, so encrypted, and cleared once done.
    args: str | None = Field(default=None, sa_type=EncryptedText)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claim: str | None = Field(default=None, max_length=32)  # who runs it now (a random token)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=200)  # the exception's type, never its text
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
