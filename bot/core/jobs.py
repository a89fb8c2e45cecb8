"""Run a periodic job once per period (day, month): a unique marker row, claimed in the job's own
transaction, so two processes or a restart never run it twice."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.jobs import JobRun


def claim(session: Session, job: str, period: str, now: object) -> bool:
    """True when this caller is the first to run `job` for `period` (the marker commits with the work)."""
    if session.exec(select(JobRun.id).where(JobRun.job == job, JobRun.period == period)).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(JobRun(job=job, period=period, ran_at=now))
    except IntegrityError:
        return False
    return True


def has_run(session: Session, job: str, period: str) -> bool:
    return session.exec(select(JobRun.id).where(JobRun.job == job, JobRun.period == period)).first() is not None
