"""Drafts are never silently lost (issue 14): a signal the reporter started but did not send gets one
nudge in its own thread — an acute draft after ten minutes (at any hour: the AF knows nothing until it
is sent), any draft after one working day without activity (in office hours). Content-free: the
reference and what to do, never an answer. The expiry of a draft (retention) is announced by
`bot.core.retention.purge_signal`.

Once per draft and kind, also with two processes: the nudge's marker is a unique `JobRun` row
(`draft_nudge`, "<signal id>:<kind>"), claimed in the transaction that queues the message.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.core import audit, events, jobs, outbox, reminders, retention, triage
from bot.core.context import Core
from bot.core.jobs import sweep
from models import MessageRef, Signal
from models.db import session_scope
from models.jobs import JobRun

JOB = "draft_nudge"
ACUTE_IDLE = timedelta(minutes=10)  # an acute draft idle this long gets the acute nudge
ACUTE, IDLE = "acute", "idle"


def is_acute(answers: dict | None) -> bool:
    """Acute answered "ja" in a draft (the signal's own `acute` flag is set only when it is sent)."""
    return (answers or {}).get("acute") == "yes"


def nudges_due(answers: dict | None, updated_at: datetime, now: datetime, policy: reminders.Policy) -> list[str]:
    """The nudges a draft last touched at `updated_at` has due at `now` (before checking which were sent)."""
    due = []
    if is_acute(answers) and now - updated_at >= ACUTE_IDLE:
        due.append(ACUTE)
    if policy.calendar.is_office_time(now) and policy.calendar.add_working_days(updated_at, 1) <= now:
        due.append(IDLE)
    return due


@sweep("drafts")
def nudge_drafts(core: Core, now: datetime) -> list[str]:
    policy = reminders.configure(core)
    s = Signal.__table__.c  # type: ignore[attr-defined]
    with Session(core.engine) as session:
        rows = session.execute(select(s.id, s.answers, s.updated_at).where(
            s.status == "draft", s.purged_at.is_(None), s.updated_at <= now - ACUTE_IDLE)
            .order_by(s.id)).all()
        due = [(row.id, kind) for row in rows for kind in nudges_due(row.answers, row.updated_at, now, policy)]
        if not due:
            return []
        done = set(session.exec(select(JobRun.period).where(
            JobRun.job == JOB, col(JobRun.period).in_([f"{sid}:{kind}" for sid, kind in due]))).all())
    days = retention.rules_for(core).drafts_days
    lines: list[str] = []
    for sid, kind in due:
        if f"{sid}:{kind}" in done:
            continue
        with session_scope(core.engine) as session:
            signal = session.get(Signal, sid)
            if (signal is None or signal.status != "draft" or signal.purged_at is not None
                    or kind not in nudges_due(signal.answers, signal.updated_at, now, policy)):
                continue  # sent, cancelled or touched since it was read
            if not jobs.claim(session, JOB, f"{sid}:{kind}", now):
                continue  # another process nudged it
            outbox.post(session, template="draft_nudge", kind="draft_nudge", recipient=signal.reporter_id,
                        signal_id=sid, parent=triage.root_of(session, sid), ref={"nudge": kind, "days": days},
                        contains_details=False, dedupe_key=f"{JOB}:{sid}:{kind}", now=now,
                        priority=outbox.URGENT if kind == ACUTE else outbox.BACKGROUND)
            audit.record(session, None, "signal.draft_nudged", signal_id=sid, subject=signal.reference, at=now,
                         nudge=kind)
            lines.append(f"nudged {signal.reference} ({kind} draft)")
    if lines:
        core.kick()
    return lines


def _on_submitted(session: Session, *, signal: Signal, now: datetime, **_: object) -> None:
    """Once the draft is sent, its nudges say they are no longer needed (re-rendered from state)."""
    for msg in session.exec(select(MessageRef).where(MessageRef.signal_id == signal.id,
                                                     MessageRef.kind == "draft_nudge")).all():
        outbox.update(session, msg, now=now)


events.subscribe(events.SUBMITTED, _on_submitted)
