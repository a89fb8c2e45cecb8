"""Signals (signalen) and everything that happens to them as cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from models.base import EncryptedText, UTCDateTime, utcnow


class ReferenceCounter(SQLModel, table=True):
    """Gives each year's signals their own running number: S-2026-0001."""

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = Field(default=0)


class Signal(SQLModel, table=True):
    """One report by a melder (reporter); a draft while the triage runs, then a case."""

    __table_args__ = (
        Index("ix_signal_reporter_status", "reporter_id", "status"),
        Index("ix_signal_muni_status", "municipality_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=20)
    reporter_id: str | None = Field(default=None, max_length=255)
    municipality_id: int | None = Field(default=None, foreign_key="municipality.id")
    status: str = Field(default="draft", max_length=20, index=True)
    questionnaire_version: str = Field(max_length=40)
    # Closed answers (keys of options only, never free text) drive statistics and routing.
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    current_question: str | None = Field(default=None, max_length=60)
    step: int = Field(default=0)
    editing: bool = Field(default=False)
    # The case's working fields: the reporter's answers at first, the AF's classification once corrected
    # (`classified_at`; the reporter's own answers stay in `answers`). Keys of options only.
    form: str | None = Field(default=None, max_length=20)
    sector: str | None = Field(default=None, max_length=40)
    acute: bool = Field(default=False)
    minor: bool = Field(default=False)
    minor_possible: bool = Field(default=False)  # minor "weet ik niet" (flows.classification.Minor.UNKNOWN)
    target_group: str | None = Field(default=None, max_length=40)  # flows/classification.yaml; set by the AF
    classified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    classified_by: str | None = Field(default=None, max_length=255)
    wants_feedback: bool = Field(default=True)
    description: str | None = Field(default=None, sa_type=EncryptedText)
    location: str | None = Field(default=None, sa_type=EncryptedText)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=255)
    conclusion: str | None = Field(default=None, max_length=30)
    conclusion_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    referred_to_care: str | None = Field(default=None, sa_type=EncryptedText)
    first_feedback_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    no_feedback_reason: str | None = Field(default=None, sa_type=EncryptedText)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseEvent(SQLModel, table=True):
    """One step in a case's timeline (tijdlijn): who did what, when."""

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="signal.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_id: str | None = Field(default=None, max_length=255)
    kind: str = Field(max_length=40)
    text: str | None = Field(default=None, sa_type=EncryptedText)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    visible_to_reporter: bool = Field(default=False)


class Consultation(SQLModel, table=True):
    """Advies inwinnen: a question to a partner and its answer."""

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="signal.id", index=True)
    partner_key: str = Field(foreign_key="partner.key", max_length=40)
    question: str | None = Field(default=None, sa_type=EncryptedText)
    include_description: bool = Field(default=False)
    manual: bool = Field(default=False)
    asked_by: str | None = Field(default=None, max_length=255)
    asked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, sa_type=EncryptedText)
    answered_by: str | None = Field(default=None, max_length=255)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Handover(SQLModel, table=True):
    """Doorzetten: the case handed to a partner, and the outcome they report back."""

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="signal.id", index=True)
    partner_key: str = Field(foreign_key="partner.key", max_length=40)
    urgent: bool = Field(default=False)
    routed_by: str | None = Field(default=None, max_length=255)
    routed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expected_outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome_kind: str | None = Field(default=None, max_length=40)  # flows/classification.yaml partner_outcomes
    outcome: str | None = Field(default=None, sa_type=EncryptedText)  # the optional note beside it
    outcome_by: str | None = Field(default=None, max_length=255)
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
