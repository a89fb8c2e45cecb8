"""Markers for periodic jobs (the daily purge, the monthly digest): one row per job and period,
so a job runs once per period even with several processes or restarts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class JobRun(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=60)
    period: str = Field(max_length=300)  # e.g. 2027-03-25 (daily) or 2027-03:U0KR000001 (monthly, per person)
    ran_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
