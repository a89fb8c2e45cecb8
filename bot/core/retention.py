"""The purge (bewaartermijnen handhaven): when a signal's retention period is over, its personal
data goes — free text, reporter and actor identities, names in the timeline — and the bot's own
Slack messages that carried details are replaced by a tombstone. What stays is anonymous: form,
sector, municipality, outcome, timestamps and the hand-overs' partners, for the statistics.

Runs daily as the `retention` sweep and on demand as `signaalbot purge [--dry-run]`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, delete, update
from sqlmodel import Session, col, select

from bot.core import audit, datamap, jobs, outbox, related, training
from bot.core import people as people_mod
from bot.core.context import Core
from bot.core.jobs import sweep
from flows import retention as rules_mod
from flows.retention import RetentionRules
from models import AuditEntry, MessageRef, OutboxMessage, Signal
from models.db import session_scope

log = logging.getLogger(__name__)
# For a person column that may not be empty: a stable marker instead of who it was.
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Candidate:
    signal_id: int
    reference: str
    status: str
    conclusion: str | None
    due_at: datetime
    reason: str


def rules_for(core: Core) -> RetentionRules:
    return rules_mod.for_region(core.settings.region_dir)


def candidates(session: Session, rules: RetentionRules, now: datetime) -> list[Candidate]:
    """Signals whose retention period is over and whose personal data is still there."""
    rows = session.exec(select(Signal).where(col(Signal.purged_at).is_(None),
                                             col(Signal.status).in_(["draft", "cancelled", "closed"]))
                        .order_by(col(Signal.id))).all()
    out = []
    for s in rows:
        due = rules_mod.purge_due(rules, status=s.status, conclusion=s.conclusion, closed_at=s.closed_at,
                                  last_activity=s.updated_at or s.created_at)
        if due is not None and due.at <= now:
            out.append(Candidate(s.id or 0, s.reference, s.status, s.conclusion, due.at, due.reason))
    return out


def purge_signal(session: Session, signal: Signal, now: datetime, *, actor: str, reason: str,
                 draft_days: int | None = None) -> int:
    """Clear one signal's personal data in the caller's transaction; returns the messages to redact.
    A draft that was never sent expires: its reporter is told so in its thread (content-free; the
    message goes out before who it is for is forgotten, see `forget_recipients`)."""
    sid = signal.id or 0
    people = named_in(session, signal)
    related.forget(session, sid, now)  # its location digests, and every link to another signal
    if signal.status == "draft" and signal.reporter_id:
        root = session.exec(select(MessageRef).where(MessageRef.signal_id == sid,
                                                     MessageRef.kind == "reporter_root")).first()
        outbox.post(session, template="draft_expired", kind="draft_expired", recipient=signal.reporter_id,
                    signal_id=sid, parent=root, ref={"days": draft_days}, contains_details=False,
                    dedupe_key=f"draft_expired:{sid}", now=now, priority=outbox.BACKGROUND)
    for column in datamap.encrypted_columns(Signal.__table__):  # type: ignore[attr-defined]
        setattr(signal, column.name, None)
    for column in datamap.person_columns(Signal.__table__):  # type: ignore[attr-defined]
        setattr(signal, column.name, None if column.nullable else ANONYMOUS)
    signal.answers, signal.current_question, signal.purged_at = {}, None, now
    session.add(signal)
    for table in datamap.signal_tables():
        if table.name == Signal.__tablename__:
            continue
        values: dict[str, object] = {c.name: None for c in datamap.encrypted_columns(table)}
        for column in datamap.person_columns(table):
            values[column.name] = None if column.nullable else ANONYMOUS
        for column in table.columns:
            if isinstance(column.type, JSON) and column.name == "data":
                values[column.name] = {}  # names and ids in the timeline
        if values:
            session.execute(update(table).where(table.c.signal_id == sid).values(**values))
    redacted = 0
    for msg in session.exec(select(MessageRef).where(MessageRef.signal_id == sid)).all():
        if "mention" in msg.ref:
            msg.ref = {k: v for k, v in msg.ref.items() if k != "mention"}
        if msg.contains_details and msg.message_id and msg.redacted_at is None:
            outbox.redact(session, msg, now)
            redacted += 1
        elif msg.contains_details and not msg.message_id:
            # Never delivered: do not post it now.
            session.execute(update(OutboxMessage).where(col(OutboxMessage.message_ref_id) == msg.id,
                                                        col(OutboxMessage.status) == "pending")
                            .values(status="cancelled", last_error="purged before delivery"))
        session.add(msg)
    session.flush()
    audit.pseudonymise_signal(session, sid, people)
    forget_recipients(session)
    people_mod.forget_people(session, people)
    audit.record(session, actor, "signal.purged", signal_id=sid, subject=signal.reference, at=now,
                 reason=reason, redacted_messages=redacted)
    return redacted


def named_in(session: Session, signal: Signal) -> set[str]:
    """Every user id the signal's case file names: reporter, actors, recipients of its messages."""
    sid = signal.id or 0
    found = {getattr(signal, c.name) for c in datamap.person_columns(Signal.__table__)}  # type: ignore[attr-defined]
    for table in [*datamap.signal_tables(), MessageRef.__table__]:  # type: ignore[list-item]
        columns = datamap.person_columns(table)
        if table.name == Signal.__tablename__ or not columns:
            continue
        for row in session.execute(select(*columns).where(table.c.signal_id == sid)).all():
            found.update(row)
    for mentions in session.exec(select(MessageRef.ref).where(MessageRef.signal_id == sid)).all():
        found.update(u for u in (mentions or {}).get("mention") or [] if isinstance(u, str))
    return {u for u in found if isinstance(u, str) and u and u != ANONYMOUS}


def forget_recipients(session: Session) -> int:
    """Drop who a purged signal's messages went to, once no tombstone (or expiry notice) is waiting
    to be sent (it speaks the recipient's language)."""
    waiting = select(OutboxMessage.message_ref_id).where(
        col(OutboxMessage.op).in_(["redact", "post"]), col(OutboxMessage.status).in_(["pending", "sending"]))
    purged = select(Signal.id).where(col(Signal.purged_at).is_not(None))
    done = (col(MessageRef.signal_id).in_(purged), col(MessageRef.recipient).is_not(None),
            col(MessageRef.id).not_in(waiting))
    recipients = set(session.exec(select(MessageRef.recipient).where(*done).distinct()).all())
    if not recipients:
        return 0
    result = session.execute(update(MessageRef).where(*done).values(recipient=None)
                             .execution_options(synchronize_session=False))
    people_mod.forget_people(session, [r for r in recipients if r])
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def expire_audit(session: Session, rules: RetentionRules, now: datetime) -> int:
    cutoff = rules_mod.add_months(now, -rules.audit_months)
    result = session.execute(delete(AuditEntry).where(col(AuditEntry.at) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge(core: Core, now: datetime, *, actor: str, dry_run: bool = False) -> list[Candidate]:
    """Purge everything that is due (or, with dry_run, only say what would go)."""
    rules = rules_for(core)
    with session_scope(core.engine) as session:
        due = candidates(session, rules, now)
        if dry_run:
            return due
        for c in due:
            signal = session.get(Signal, c.signal_id, with_for_update=True)
            if signal is not None and signal.purged_at is None:
                purge_signal(session, signal, now, actor=actor, reason=c.reason, draft_days=rules.drafts_days)
    core.kick()
    return due


@sweep("retention")
def retention_sweep(core: Core, now: datetime) -> list[str]:
    """Once a day (the first sweep of each local day)."""
    rules = rules_for(core)
    day = now.astimezone(core.settings.tz).date().isoformat()
    lines: list[str] = []
    with session_scope(core.engine) as session:
        forget_recipients(session)  # tombstones delivered since the last run
        if not jobs.claim(session, "retention", day, now):
            return []
        for c in candidates(session, rules, now):
            signal = session.get(Signal, c.signal_id, with_for_update=True)
            if signal is None or signal.purged_at is not None:
                continue
            redacted = purge_signal(session, signal, now, actor="retention", reason=c.reason,
                                    draft_days=rules.drafts_days)
            lines.append(f"purged {c.reference} ({c.reason}); {redacted} message(s) to redact")
        answers, anonymised = training.expire_history(session, rules.training_answers_days,
                                                      rules.training_attendance_months, now)
        if answers or anonymised:
            lines.append(f"training: {answers} answer(s) deleted, {anonymised} attendance row(s) anonymised")
        expired = expire_audit(session, rules, now)
        if expired:
            lines.append(f"{expired} audit entries older than {rules.audit_months} months removed")
    core.kick()
    log.info("retention: %d signal(s) purged", sum(1 for line in lines if line.startswith("purged")))
    return lines
