"""Reminders and escalations: chase what is overdue, once, on working days, with any number of bots.

How it fits together:
- Case steps emit `bot.core.events`; the handlers below arm the rungs of a ladder
  (`flows/reminders.yaml`) as `Deadline` rows with their due moment, or cancel them when the
  reason is gone. They run inside the step's own transaction.
- The `reminders` sweep (triggered every minute by the scheduler, or by `jobs run-due --at T`)
  reads only pending rows that are due (index on state + due_at), re-checks each reason against
  the current state, and sends each due slot at most once: the rows are locked with
  `FOR UPDATE SKIP LOCKED` on PostgreSQL, a unique `SentReminder` row is written per slot, the
  messages go into the outbox and the rows are marked sent. It is set-based: a transaction of up
  to CHUNK reminders runs a handful of statements, not a handful per reminder (see "the sweep"
  below), and is redone one reminder per transaction when one of them was contested.
- A bot that was down catches up once: a missed rung is sent when the bot is back (non-acute
  ones only in office hours), and when a later rung of the same ladder is due too, only the later
  one is sent (one escalation, not three messages) — plus the AF's own reminder in the case thread
  when that later rung chases only others, so the one who must act always hears.
- Snoozing moves a reminder's due moment (`flows.reminder_rules.snooze_until`); escalations keep
  their own clock, because they exist for when the AF cannot act.
"""

from __future__ import annotations

import logging
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import false, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from bot.core import access, audit, checks, events, metrics, outbox, people
from bot.core.context import Core
from bot.core.jobs import outlook, sweep
from bot.core.result import Error, Result
from flows.calendar import WorkingCalendar
from flows.permissions import can_view_case_content
from flows.reminder_rules import (
    Audience,
    ReminderConfig,
    ReminderRule,
    SnoozeChoice,
    Trigger,
    due_at,
    load_reminders,
    rules_for,
    snooze_until,
)
from models import CaseEvent, Consultation, Handover, MessageRef, Municipality, Signal
from models.base import column_values, insert_rows, one_of, without_nulls
from models.db import session_scope
from models.reminders import Deadline, SentReminder

log = logging.getLogger(__name__)

PENDING, SENT, CANCELLED, SKIPPED = "pending", "sent", "cancelled", "skipped"
MAX_PER_SWEEP = 2000  # a sweep handles at most this many due reminders; the next tick does the rest
CHUNK = 500  # due reminders per transaction, set-based (bench/NOTES.md, part 4)
CASE_TRIGGERS = (Trigger.UNCLAIMED, Trigger.UNCLAIMED_ACUTE, Trigger.NO_FEEDBACK, Trigger.FURTHER_INVESTIGATION)
ALL_TRIGGERS = tuple(Trigger)


# --- policy: the calendar and the ladder in force for a database ------------------------------------

@dataclass(frozen=True)
class Policy:
    calendar: WorkingCalendar
    config: ReminderConfig

    def rule(self, key: str) -> ReminderRule | None:
        try:
            return self.config.rule(key)
        except KeyError:
            return None


_policies: weakref.WeakKeyDictionary[Engine, Policy] = weakref.WeakKeyDictionary()
_default: list[Policy] = []


def configure(core: Core) -> Policy:
    """The policy for `core`'s database: BOT_TIMEZONE's working calendar and the region's ladder
    (`<SIGNAAL_REGION_DIR>/reminders.yaml`, else the packaged default). Called when the app is
    built and by every sweep, so event handlers (which only get a session) find it."""
    policy = _policies.get(core.engine)
    if policy is None:
        path = None
        region = core.settings.region_dir
        if region and (region / "reminders.yaml").exists():
            path = region / "reminders.yaml"
        policy = Policy(WorkingCalendar(core.settings.timezone), load_reminders(path))
        _policies[core.engine] = policy
    return policy


def policy_for(session: Session) -> Policy:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    policy = _policies.get(engine) if isinstance(engine, Engine) else None
    if policy is not None:
        return policy
    if not _default:
        _default.append(Policy(WorkingCalendar(), load_reminders()))
    return _default[0]


# --- arming and cancelling (inside the caller's transaction) ----------------------------------------

def arm(session: Session, signal: Signal, trigger: Trigger, anchor: datetime, now: datetime,
        subject_id: int = 0, first_due: datetime | None = None) -> list[Deadline]:
    """(Re)start the ladder of `trigger` for a case, counted from `anchor`. `first_due` moves the
    whole ladder so that its first rung falls then (a date agreed with a partner)."""
    policy = policy_for(session)
    rows: list[Deadline] = []
    ladder = rules_for(trigger, policy.config)
    shift = first_due - due_at(ladder[0], anchor, policy.calendar) if first_due and ladder else None
    for rung, rule in enumerate(ladder):
        row = session.exec(select(Deadline).where(
            Deadline.signal_id == signal.id, Deadline.rule_key == rule.key, Deadline.subject_id == subject_id)).first()
        if row is None:
            row = Deadline(signal_id=signal.id or 0, rule_key=rule.key, subject_id=subject_id,
                           anchor_at=anchor, due_at=anchor, created_at=now)
        row.trigger, row.rung = trigger.value, rung
        row.office_hours, row.escalation = rule.office_hours, rule.escalation
        row.anchor_at, row.due_at = anchor, due_at(rule, anchor, policy.calendar)
        if shift:
            moved = row.due_at + shift
            row.due_at = policy.calendar.next_office_moment(moved) if rule.office_hours else moved
        row.state, row.snoozed, row.snoozed_by, row.note, row.updated_at = PENDING, False, None, None, now
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def cancel(session: Session, signal_id: int, triggers: tuple[Trigger, ...], now: datetime, why: str,
           subject_id: int | None = None) -> int:
    """Stop the ladders of `triggers` (for one subject, or all): pending rungs are cancelled, and
    reminders already sent are re-rendered so their buttons go and they say it is settled."""
    query = select(Deadline).where(Deadline.signal_id == signal_id,
                                   col(Deadline.trigger).in_([t.value for t in triggers]),
                                   col(Deadline.state).in_([PENDING, SENT]))
    if subject_id is not None:
        query = query.where(Deadline.subject_id == subject_id)
    stopped = 0
    touched: set[int] = set()
    for row in session.exec(query).all():
        if row.state == SENT or row.snoozed:
            touched.add(row.id or 0)
        if row.state == PENDING:
            row.state, row.note, row.updated_at = CANCELLED, why, now
            session.add(row)
            stopped += 1
    if touched:
        refresh_messages(session, signal_id, touched, now)
    return stopped


def refresh_messages(session: Session, signal_id: int, deadline_ids: set[int], now: datetime) -> None:
    for msg in session.exec(select(MessageRef).where(
            MessageRef.signal_id == signal_id,
            col(MessageRef.kind).in_(["reminder", "reminder_escalation", "reminder_partner"]))).all():
        if msg.ref.get("deadline") in deadline_ids:
            outbox.update(session, msg, now=now)


def _on_submitted(session: Session, *, signal: Signal, now: datetime, **_: object) -> None:
    anchor = signal.submitted_at or now
    arm(session, signal, Trigger.UNCLAIMED_ACUTE if signal.acute else Trigger.UNCLAIMED, anchor, now)
    if signal.wants_feedback:
        arm(session, signal, Trigger.NO_FEEDBACK, anchor, now)


def _on_claimed(session: Session, *, signal: Signal, now: datetime, **_: object) -> None:
    cancel(session, signal.id or 0, (Trigger.UNCLAIMED, Trigger.UNCLAIMED_ACUTE), now, "claimed")


def _on_feedback(session: Session, *, signal: Signal, now: datetime, **_: object) -> None:
    cancel(session, signal.id or 0, (Trigger.NO_FEEDBACK,), now, "feedback_given")


def _on_consulted(session: Session, *, signal: Signal, now: datetime, consultation: Consultation,
                  **_: object) -> None:
    arm(session, signal, Trigger.ADVICE_UNANSWERED, now, now, subject_id=consultation.id or 0)


def _on_advice(session: Session, *, signal: Signal, now: datetime, consultation: Consultation, **_: object) -> None:
    cancel(session, signal.id or 0, (Trigger.ADVICE_UNANSWERED,), now, "advice_received",
           subject_id=consultation.id or 0)


def outcome_due(session: Session, handover: Handover, now: datetime) -> datetime | None:
    """The outcome reminder falls on the date the partner was asked to report by (at the time of
    day of the hand-over), not on the ladder's default, when the AF agreed another date."""
    if handover.expected_outcome_at is None:
        return None
    cal = policy_for(session).calendar
    target = cal.at_local(cal.local(handover.expected_outcome_at).date(), cal.local(handover.routed_at).time())
    return target if target > now else cal.add_working_days(now, 1)


def _on_routed(session: Session, *, signal: Signal, now: datetime, handover: Handover, **_: object) -> None:
    arm(session, signal, Trigger.OUTCOME_MISSING, now, now, subject_id=handover.id or 0,
        first_due=outcome_due(session, handover, now))
    # "Verder onderzoek" that leads to a hand-over has moved on: the outcome reminder takes over.
    cancel(session, signal.id or 0, (Trigger.FURTHER_INVESTIGATION,), now, "routed")


def _on_outcome(session: Session, *, signal: Signal, now: datetime, handover: Handover, **_: object) -> None:
    cancel(session, signal.id or 0, (Trigger.OUTCOME_MISSING,), now, "outcome_recorded", subject_id=handover.id or 0)


def _on_concluded(session: Session, *, signal: Signal, now: datetime, **_: object) -> None:
    if signal.conclusion == "verder_onderzoek":
        arm(session, signal, Trigger.FURTHER_INVESTIGATION, signal.conclusion_at or now, now)
    else:
        cancel(session, signal.id or 0, (Trigger.FURTHER_INVESTIGATION,), now, "concluded")


def _on_closed(session: Session, *, signal: Signal, now: datetime, **_: object) -> None:
    cancel(session, signal.id or 0, ALL_TRIGGERS, now, "closed")


def _on_reopened(session: Session, *, signal: Signal, now: datetime, **_: object) -> None:
    """A reopened case starts fresh clocks for every reason that still holds."""
    sid = signal.id or 0
    if signal.claimed_by is None and signal.status == "new":
        arm(session, signal, Trigger.UNCLAIMED_ACUTE if signal.acute else Trigger.UNCLAIMED, now, now)
    if signal.wants_feedback and signal.first_feedback_at is None:
        arm(session, signal, Trigger.NO_FEEDBACK, now, now)
    if signal.conclusion == "verder_onderzoek":
        arm(session, signal, Trigger.FURTHER_INVESTIGATION, now, now)
    for consultation in session.exec(select(Consultation).where(
            Consultation.signal_id == sid, col(Consultation.answered_at).is_(None))).all():
        arm(session, signal, Trigger.ADVICE_UNANSWERED, now, now, subject_id=consultation.id or 0)
    for handover in session.exec(select(Handover).where(
            Handover.signal_id == sid, col(Handover.outcome_at).is_(None))).all():
        arm(session, signal, Trigger.OUTCOME_MISSING, now, now, subject_id=handover.id or 0,
            first_due=outcome_due(session, handover, now))


def _on_reclassified(session: Session, *, signal: Signal, now: datetime, acute_started: bool = False,
                     acute_stopped: bool = False, **_: object) -> None:
    """The AF made a waiting case acute, or not acute any more: the claim ladder follows. Becoming acute
    starts the acute ladder from now; no longer acute goes back to the ordinary one, counted from the
    report as it would have been."""
    if signal.claimed_by is not None or signal.status != "new" or not (acute_started or acute_stopped):
        return
    sid = signal.id or 0
    if acute_started:
        cancel(session, sid, (Trigger.UNCLAIMED,), now, "became_acute")
        arm(session, signal, Trigger.UNCLAIMED_ACUTE, now, now)
    else:
        cancel(session, sid, (Trigger.UNCLAIMED_ACUTE,), now, "no_longer_acute")
        arm(session, signal, Trigger.UNCLAIMED, signal.submitted_at or now, now)


for _name, _handler in ((events.SUBMITTED, _on_submitted), (events.CLAIMED, _on_claimed),
                        (events.FEEDBACK_GIVEN, _on_feedback), (events.CONSULTED, _on_consulted),
                        (events.ADVICE_RECEIVED, _on_advice), (events.ROUTED, _on_routed),
                        (events.OUTCOME_RECORDED, _on_outcome), (events.CONCLUDED, _on_concluded),
                        (events.CLOSED, _on_closed), (events.REOPENED, _on_reopened),
                        (events.RECLASSIFIED, _on_reclassified)):
    events.subscribe(_name, _handler)


# --- is the reason still there? ----------------------------------------------------------------------

@dataclass
class Subjects:
    """What a reminder's reason depends on besides its signal: its consultation or hand-over, and for
    "verder onderzoek" when the case was routed. Read with one query per table for a whole set of
    deadlines (a sweep's chunk), or for one (`reason_gone`, `subject_partner`)."""

    consultations: dict[int, Any] = field(default_factory=dict)  # id -> (id, answered_at, partner_key)
    handovers: dict[int, Any] = field(default_factory=dict)  # id -> (id, outcome_at, partner_key)
    routed: dict[int, list[datetime]] = field(default_factory=dict)  # signal id -> when it was routed

    @classmethod
    def load(cls, session: Session, rows: Iterable[Any]) -> Subjects:
        wanted: dict[str, set[int]] = defaultdict(set)
        for row in rows:
            wanted[row.trigger].add(row.signal_id if row.trigger == Trigger.FURTHER_INVESTIGATION else row.subject_id)
        found = cls()
        if ids := wanted.get(Trigger.ADVICE_UNANSWERED):
            c = Consultation.__table__.c
            found.consultations = {row.id: row for row in session.execute(
                select(c.id, c.answered_at, c.partner_key).where(one_of(session, c.id, ids)))}
        if ids := wanted.get(Trigger.OUTCOME_MISSING):
            h = Handover.__table__.c
            found.handovers = {row.id: row for row in session.execute(
                select(h.id, h.outcome_at, h.partner_key).where(one_of(session, h.id, ids)))}
        if ids := wanted.get(Trigger.FURTHER_INVESTIGATION):
            h = Handover.__table__.c
            for signal_id, routed_at in session.execute(select(h.signal_id, h.routed_at)
                                                        .where(one_of(session, h.signal_id, ids))):
                found.routed.setdefault(signal_id, []).append(routed_at)
        return found

    def reason_gone(self, row: Any, signal: Any | None) -> str | None:
        """None while the reminder still has a reason; else a key saying why not (no content)."""
        if signal is None or signal.purged_at is not None or signal.status in ("draft", "cancelled"):
            return "gone"
        if signal.status == "closed":
            return "closed"
        trigger = Trigger(row.trigger)
        if trigger in (Trigger.UNCLAIMED, Trigger.UNCLAIMED_ACUTE):
            return "claimed" if signal.claimed_by or signal.status != "new" else None
        if trigger is Trigger.NO_FEEDBACK:
            return "feedback_given" if signal.first_feedback_at or not signal.wants_feedback else None
        if trigger is Trigger.ADVICE_UNANSWERED:
            consultation = self.consultations.get(row.subject_id)
            return "advice_received" if consultation is None or consultation.answered_at else None
        if trigger is Trigger.OUTCOME_MISSING:
            handover = self.handovers.get(row.subject_id)
            return "outcome_recorded" if handover is None or handover.outcome_at else None
        if signal.conclusion != "verder_onderzoek":
            return "concluded"
        routed = any(at >= row.anchor_at for at in self.routed.get(row.signal_id, ()))
        return "routed" if routed else None

    def partner(self, row: Any) -> str | None:
        """The partner a reminder is about (advice asked, case handed over), if any."""
        subject = (self.consultations.get(row.subject_id) if row.trigger == Trigger.ADVICE_UNANSWERED
                   else self.handovers.get(row.subject_id) if row.trigger == Trigger.OUTCOME_MISSING else None)
        return subject.partner_key if subject else None


def reason_gone(session: Session, row: Deadline, signal: Signal | None) -> str | None:
    """None while the reminder still has a reason; else a key saying why not (no content)."""
    return Subjects.load(session, [row]).reason_gone(row, signal)


def subject_partner(session: Session, row: Deadline) -> str | None:
    return Subjects.load(session, [row]).partner(row)


# --- the sweep ---------------------------------------------------------------------------------------
#
# Set-based: the database work is per chunk of due reminders, not per reminder. One transaction per
# chunk (1) locks the chunk's rows with one SELECT … FOR UPDATE SKIP LOCKED and reads their signals;
# (2) decides per reminder, in due order, from what one query per table read for the whole chunk:
# stopped (reason gone), skipped (a later rung is due too), sent before (its slot is in the sent
# log), or to send; (3) writes the sent-log rows of the slots to send with one INSERT — the unique
# key fails the chunk when another process logged one of them first, and the chunk is redone one
# reminder per transaction; (4) queues the messages with one INSERT per table (messages, their
# outbox items, case events, audit entries) and settles the deadlines with one UPDATE per outcome.

# The chunk reads table columns (plain rows, without the ORM's loading per row), only those the
# checks need (no encrypted text: nothing to decrypt).
_deadline, _signal = Deadline.__table__.c, Signal.__table__.c
_DEADLINE = (_deadline.id, _deadline.signal_id, _deadline.trigger, _deadline.rule_key, _deadline.rung,
             _deadline.subject_id, _deadline.office_hours, _deadline.anchor_at, _deadline.due_at, _deadline.state)
_SIGNAL = (_signal.id, _signal.reference, _signal.status, _signal.purged_at, _signal.claimed_by,
           _signal.first_feedback_at, _signal.wants_feedback, _signal.conclusion, _signal.municipality_id)


@sweep("reminders")
def sweep_reminders(core: Core, now: datetime) -> list[str]:
    policy = configure(core)
    office = policy.calendar.is_office_time(now)
    with Session(core.engine) as session:
        query = select(Deadline.id).where(Deadline.state == PENDING, Deadline.due_at <= now)
        if not office:  # non-acute reminders wait for the next office hour
            query = query.where(col(Deadline.office_hours).is_(False))
        ids = list(session.exec(query.order_by(col(Deadline.due_at), col(Deadline.id)).limit(MAX_PER_SWEEP)).all())
    lines: list[str] = []
    for start in range(0, len(ids), CHUNK):
        lines += _process_chunk(core, policy, ids[start:start + CHUNK], now, office)
    if lines:
        core.kick()
    return lines


def _process_chunk(core: Core, policy: Policy, ids: list[int], now: datetime, office: bool,
                   again: bool = True) -> list[str]:
    """Up to CHUNK due reminders in one transaction. When it fails on a unique key (another process
    logged a slot or queued a message first) nothing of the chunk was sent: it is done once more
    (that slot is then in the sent log), and if that fails too, or SQLite was busy, one reminder
    per transaction, so only the contested ones are left out."""
    try:
        with session_scope(core.engine) as session:
            return _sweep_chunk(session, policy, ids, now, office)
    except (IntegrityError, OperationalError) as exc:
        if len(ids) == 1:
            # Another process sent this slot at the same moment (unique key), or SQLite was busy:
            # nothing was sent here; the row is settled by the other process or retried next tick.
            log.info("reminders: deadline %s left to another sweep (%s)", ids[0], type(exc).__name__)
            return []
        if again and isinstance(exc, IntegrityError):
            return _process_chunk(core, policy, ids, now, office, again=False)
    return [line for deadline_id in ids for line in _process_chunk(core, policy, [deadline_id], now, office)]


@dataclass(slots=True)
class _Due:
    """A due reminder of the chunk and what becomes of it."""

    row: Any  # its Deadline's _DEADLINE columns
    signal: Any | None  # its Signal's _SIGNAL columns; None when the signal is gone
    rule: ReminderRule | None = None  # while it is to be sent
    change: dict[str, Any] | None = None  # how its Deadline row is settled; None: left as it is
    line: str | None = None
    recipients: list[str] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return self.signal.reference if self.signal else f"#{self.row.signal_id}"

    def settle(self, state: str, now: datetime, line: str | None = None, **changes: Any) -> None:
        self.rule, self.line = None, line
        self.change = {"id": self.row.id, "state": state, "updated_at": now, **changes}


def _sweep_chunk(session: Session, policy: Policy, ids: list[int], now: datetime, office: bool) -> list[str]:
    """The due reminders `ids` (in due order) in the caller's transaction; returns the report lines."""
    due = _lock(session, ids, now)
    if not due:
        return []
    subjects = Subjects.load(session, [item.row for item in due])
    for item in due:
        _check_reason(item, subjects, policy, now)
    _skip_superseded(session, policy, [item for item in due if item.rule], now, office)
    _mark_sent_before(session, [item for item in due if item.rule], now)
    sending = [item for item in due if item.rule]
    _log_slots(session, sending, now)
    delivery = _Delivery(session, subjects, [item.signal for item in sending], now)
    for item in sending:
        assert item.rule is not None
        item.recipients = delivery.deliver(item.row, item.rule, item.signal)
        local = policy.calendar.local(item.row.due_at).strftime("%Y-%m-%d %H:%M")
        item.settle(SENT, now, f"sent {item.row.rule_key} for {item.reference} (due {local}) to "
                    f"{', '.join(item.recipients) or 'nobody'}", sent_at=now, snoozed=False)
    delivery.write()
    _record_sent(session, sending, now)
    _settle(session, [item.change for item in due if item.change])
    return [item.line for item in due if item.line]


def _lock(session: Session, ids: list[int], now: datetime) -> list[_Due]:
    """The chunk's rows that are still pending and due, locked (FOR UPDATE SKIP LOCKED on PostgreSQL:
    a row another process holds is left to it), with their signals; in the order of `ids`."""
    # Primary keys only; the state and the due moment are checked here, on the row as locked. A
    # range on due_at makes PostgreSQL's planner probe ix_deadline_due past the rows this sweep just
    # settled, per query; and with `state = 'pending'` SQLite's planner (no statistics) walks every
    # pending row of ix_deadline_due instead of looking up the ids.
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: take its write lock before reading, so that no case step (a claim,
        # feedback) commits between these reads and this chunk's writes — what FOR UPDATE does on
        # PostgreSQL. A write that changes nothing starts the write transaction.
        session.execute(update(Deadline.__table__).where(false()).values(id=Deadline.__table__.c.id))
    rows = session.execute(select(*_DEADLINE).where(one_of(session, _deadline.id, ids))
                           .with_for_update(skip_locked=True)).all()
    order = {deadline_id: n for n, deadline_id in enumerate(ids)}
    rows = sorted((row for row in rows if row.state == PENDING and row.due_at <= now), key=lambda row: order[row.id])
    if not rows:
        return []
    signal_ids = {row.signal_id for row in rows}
    signals = {s.id: s for s in session.execute(select(*_SIGNAL).where(one_of(session, _signal.id, signal_ids)))}
    return [_Due(row, signals.get(row.signal_id)) for row in rows]


def _check_reason(item: _Due, subjects: Subjects, policy: Policy, now: datetime) -> None:
    """Stop a reminder whose reason went away (or whose rule the region removed)."""
    row = item.row
    why = subjects.reason_gone(row, item.signal)
    rule = policy.rule(row.rule_key)
    if why is None and rule is None:
        why = "rule_removed"
    if why:
        item.settle(CANCELLED, now, f"stopped {row.rule_key} for {item.reference}: {why}", note=why)
    else:
        item.rule = rule


def _skip_superseded(session: Session, policy: Policy, items: list[_Due], now: datetime, office: bool) -> None:
    """After downtime the highest due rung of a ladder is sent, and the AF's own reminder too: a rung
    is skipped when a later rung of the same ladder is pending and its (later) slot has passed as
    well — except the highest due rung that chases the AF (in the case thread) when the rungs above
    it chase only others (backup, ketenregisseur): the one who must act always hears."""
    if not items:
        return
    ladders: dict[tuple[int, str, int], list[Any]] = defaultdict(list)
    # The later rungs (rung > 0: only those can supersede) of the chunk's cases, a handful each; by
    # signal_id, the state is checked here (as in `_lock`).
    rungs = session.execute(select(_deadline.id, _deadline.signal_id, _deadline.trigger, _deadline.subject_id,
                                   _deadline.rung, _deadline.rule_key, _deadline.due_at, _deadline.office_hours,
                                   _deadline.state)
                            .where(one_of(session, _deadline.signal_id,
                                          {item.row.signal_id for item in items}),
                                   _deadline.rung > 0)).all()
    for rung in sorted(rungs, key=lambda r: r.id):
        if rung.state == PENDING:
            ladders[(rung.signal_id, rung.trigger, rung.subject_id)].append(rung)
    # The ladders as they were before this chunk: a rung settled earlier in the chunk never counts
    # here, as it was due no later than the rungs processed after it (the chunk is in due order).
    backups: dict[int, bool] = {}  # municipality id -> has a backup

    def chases_af(rule_key: str, municipality_id: int | None) -> bool:
        """Whether a rung reaches the AF in the case thread: an AF audience, or a backup audience where
        the municipality has no backup (then the AFs are chased instead, see `_Delivery.deliver`)."""
        rule = policy.rule(rule_key)
        if rule is None:
            return False
        if Audience.AF in rule.audience:
            return True
        if Audience.BACKUP in rule.audience and municipality_id:
            if municipality_id not in backups:
                backups[municipality_id] = bool(people.handlers_of(session, municipality_id, "backup"))
            return not backups[municipality_id]
        return False

    for item in items:
        row = item.row
        later = [r for r in ladders[(row.signal_id, row.trigger, row.subject_id)]
                 if r.rung > row.rung and row.due_at < r.due_at <= now and (office or not r.office_hours)]
        top = max(later, key=lambda r: r.rung, default=None)
        if top is None:
            continue
        muni = item.signal.municipality_id if item.signal else None
        if chases_af(row.rule_key, muni) and not any(chases_af(r.rule_key, muni) for r in later):
            continue  # the AF's own reminder goes with the escalation above it
        item.settle(SKIPPED, now, f"skipped {row.rule_key} for {item.reference}: {top.rule_key} is due as well",
                    note=f"superseded:{top.rule_key}"[:40])


def _slot(row: Any) -> tuple[int, str, int, datetime]:
    return (row.signal_id, row.rule_key, row.subject_id, row.due_at)


def _mark_sent_before(session: Session, items: list[_Due], now: datetime) -> None:
    """A slot that is in the sent log went out before: the row is settled, nothing is sent again."""
    if not items:
        return
    sent = SentReminder.__table__.c
    logged = {tuple(slot) for slot in session.execute(
        select(sent.signal_id, sent.rule_key, sent.subject_id, sent.slot_at)
        .where(one_of(session, sent.signal_id, {item.row.signal_id for item in items})))}
    for item in items:
        if _slot(item.row) in logged:
            item.settle(SENT, now)


def _log_slots(session: Session, items: list[_Due], now: datetime) -> None:
    """The at-most-once guard: the unique sent-log row of each slot, written before any message. When
    another process logged one of them first, this fails and nothing of the chunk is sent (it is
    redone one reminder per transaction: then that slot is found in the sent log)."""
    if items:
        insert_rows(session, SentReminder.__table__, [
            column_values(SentReminder, deadline_id=item.row.id, signal_id=item.row.signal_id,
                          rule_key=item.row.rule_key, subject_id=item.row.subject_id, slot_at=item.row.due_at,
                          sent_at=now) for item in items])


def _settle(session: Session, changes: list[dict[str, Any]]) -> None:
    """The deadlines' new states: one UPDATE … WHERE id IN (…) per distinct change (sent, sent before,
    each reason to stop or skip)."""
    ids_by_change: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    for change in changes:
        ids_by_change[tuple((k, v) for k, v in change.items() if k != "id")].append(change["id"])
    for values, ids in ids_by_change.items():
        session.execute(update(Deadline.__table__).where(one_of(session, _deadline.id, ids)).values(dict(values)))


def _record_sent(session: Session, items: list[_Due], now: datetime) -> None:
    """The case timeline and the audit trail of the reminders sent."""
    if not items:
        return
    insert_rows(session, CaseEvent.__table__, without_nulls(CaseEvent.__table__, [
        column_values(CaseEvent, signal_id=item.row.signal_id, at=now, kind="reminder_sent",
                      data={"rule": item.row.rule_key, "subject": item.row.subject_id, "to": item.recipients})
        for item in items]))
    metrics.REMINDERS_SENT.inc(len(items))
    audit.record_many(session, [
        audit.entry(None, "reminder.sent", signal_id=item.row.signal_id, subject=item.row.rule_key, at=now,
                    slot=item.row.due_at.isoformat(), recipients=item.recipients) for item in items])


# --- delivery: messages into the outbox ---------------------------------------------------------------

class _Delivery:
    """Who gets which message for the reminders of one chunk. Municipalities and case cards are read
    once for the chunk, role holders once per municipality and role; the messages are queued in
    order and written together (`write`)."""

    def __init__(self, session: Session, subjects: Subjects, signals: list[Any], now: datetime) -> None:
        self.session, self.subjects, self.now = session, subjects, now
        self.posts: list[outbox.NewPost | outbox.Redraw] = []
        self._holders: dict[tuple[Any, ...], list[str]] = {}
        self.cards: dict[int, list[Any]] = defaultdict(list)  # signal id -> its case cards, in id order
        self.municipalities: dict[int, Any] = {}
        if not signals:
            return
        muni_ids = {s.municipality_id for s in signals if s.municipality_id}
        if muni_ids:
            m = Municipality.__table__.c
            self.municipalities = {row.id: row for row in session.execute(
                select(m.id, m.conversation).where(m.id.in_(muni_ids)))}
        c = MessageRef.__table__.c
        cards = select(c.id, c.signal_id, c.recipient, c.platform, c.conversation).where(
            one_of(session, c.signal_id, {s.id for s in signals}),
            c.kind == "case_card").order_by(c.id)
        for card in session.execute(cards):
            self.cards[card.signal_id].append(card)

    def deliver(self, row: Any, rule: ReminderRule, signal: Any) -> list[str]:
        """Queue the reminder's messages to each audience of its rule; returns who was sent what."""
        muni = self.municipalities.get(signal.municipality_id)
        muni_id = muni.id if muni else 0
        base = {"deadline": row.id, "slot": row.due_at.isoformat()}
        key = f"reminder:{row.id}:{int(row.due_at.timestamp())}"
        sent: list[str] = []
        for audience in rule.audience:
            if audience is Audience.AF:
                sent += self._to_case_thread(signal, muni_id, base, key)
            elif audience is Audience.BACKUP:
                backups = self.holders(people.handlers_of, muni_id, "backup")
                if not backups:  # nobody to escalate to: chase the AFs in the case thread, saying so
                    sent += self._to_case_thread(signal, muni_id, {**base, "no_backup": True}, key)
                for user in backups:
                    if muni is not None and not muni.conversation:
                        self._ensure_card(signal, user)  # DM mode: the backup needs the card to act
                    self._post(template="reminder_escalation", kind="reminder_escalation", recipient=user,
                               signal_id=signal.id, ref={**base, "audience": "backup"}, contains_details=False,
                               dedupe_key=f"{key}:{user}")
                    sent.append(f"backup {user}")
            elif audience is Audience.KETENREGISSEUR:
                for user in self.holders(people.regional, "ketenregisseur"):
                    self._post(template="reminder_escalation", kind="reminder_escalation", recipient=user,
                               signal_id=signal.id, ref={**base, "audience": "ketenregisseur"},
                               contains_details=False, dedupe_key=f"{key}:{user}")
                    sent.append(f"ketenregisseur {user}")
            elif audience is Audience.PARTNER:
                partner = self.subjects.partner(row)
                for user in self.holders(people.partner_members, partner) if partner else []:
                    self._post(template="reminder_partner", kind="reminder_partner", recipient=user,
                               signal_id=signal.id, ref=base, contains_details=False, dedupe_key=f"{key}:{user}")
                    sent.append(f"partner {user}")
        return sent

    def holders(self, lookup: Callable[..., list[str]], *args: Any) -> list[str]:
        """`people.<lookup>(session, *args)`, read once per chunk."""
        if (lookup, *args) not in self._holders:
            self._holders[(lookup, *args)] = lookup(self.session, *args)
        return self._holders[(lookup, *args)]

    def handlers_to_chase(self, signal: Any, muni_id: int) -> list[str]:
        """Who should act: the one who claimed the case, else the AFs (else the backups)."""
        if signal.claimed_by:
            return [signal.claimed_by]
        return self.holders(people.handlers_of, muni_id, "af") or self.holders(people.handlers_of, muni_id, "backup")

    def _to_case_thread(self, signal: Any, muni_id: int, ref: dict, key: str) -> list[str]:
        """A reply in the thread of each case card, mentioning who should act; a DM when there is no card."""
        targets = self.handlers_to_chase(signal, muni_id)
        sent: list[str] = []
        for card in self.cards[signal.id]:
            mention = ([card.recipient] if card.recipient in targets else []) if card.recipient else targets
            if not mention:
                continue
            fresh = card.id is None
            if fresh:  # a card queued in this chunk: written first, its reply needs its id
                self.write()
            # In the card's thread, in the language of that conversation (a DM card: its AF's).
            # A card drawn before this deadline passed is redrawn (with "termijn verstreken") once the
            # reminder is delivered: by the outbox, not on the sweep's clock.
            self._post(template="reminder", kind="reminder", signal_id=signal.id, parent_id=card.id,
                       platform=card.platform, conversation=card.conversation, recipient=card.recipient,
                       ref={**ref, "mention": mention, **({} if fresh else {outbox.REDRAW_PARENT: True})},
                       contains_details=False, dedupe_key=f"{key}:card{card.id}")
            sent.append(f"thread {' '.join(mention)}")
        if not sent:
            for user in targets:
                self._post(template="reminder", kind="reminder", recipient=user, signal_id=signal.id,
                           ref={**ref, "mention": [user]}, contains_details=False, dedupe_key=f"{key}:{user}")
                sent.append(f"dm {user}")
        return sent

    def _ensure_card(self, signal: Any, user: str) -> None:
        cards = self.cards[signal.id]
        if not any(card.recipient == user for card in cards):
            cards.append(self._post(template="case_card", kind="case_card", recipient=user, signal_id=signal.id,
                                    ref={"mention": [user]}, dedupe_key=f"card:{signal.id}:{user}"))

    def _post(self, **message: Any) -> outbox.NewPost:
        post = outbox.NewPost(**message, priority=outbox.BACKGROUND)
        self.posts.append(post)
        return post

    def write(self) -> None:
        """Write the queued messages and their outbox items (in the order they were queued)."""
        outbox.post_many(self.session, self.posts, self.now)
        self.posts = []


# --- snooze --------------------------------------------------------------------------------------------

@checks.checkable
def snooze(core: Core, deadline_id: int, user_id: str, choice: SnoozeChoice | str) -> Result:
    """The AF (or backup) of the case's municipality moves a reminder: "morgen", "over 3 werkdagen".
    Also in check mode (bot/core/checks.py)."""
    policy = configure(core)
    now = core.clock.now()
    choice = SnoozeChoice(choice)
    with checks.session(core) as session:
        query = select(Deadline).where(Deadline.id == deadline_id)
        row = session.exec(query.with_for_update() if checks.locking() else query).first()
        signal = session.get(Signal, row.signal_id) if row else None
        if row is None or signal is None:
            return Result(False, error=Error.UNKNOWN_REMINDER)
        permission = can_view_case_content(access.actor(session, user_id), access.case_ref(session, signal))
        if not permission:
            checks.audit_denial(core, session, user_id, "reminder.snooze_denied", signal_id=signal.id,
                                subject=row.rule_key, reason=str(permission.reason), at=now)
            return Result(False, signal.id, signal.reference, error=Error.DENIED,
                          reason=str(permission.reason))
        if row.escalation:
            return Result(False, signal.id, signal.reference, error=Error.ESCALATION)
        if row.state not in (PENDING, SENT) or reason_gone(session, row, signal):
            return Result(False, signal.id, signal.reference, error=Error.SETTLED)
        checks.passed(Result(True, signal.id, signal.reference))
        until = snooze_until(choice, now, policy.calendar)
        row.due_at, row.state, row.snoozed, row.snoozed_by, row.updated_at = until, PENDING, True, user_id, now
        session.add(row)
        session.add(CaseEvent(signal_id=signal.id or 0, at=now, actor_id=user_id, kind="reminder_snoozed",
                              data={"rule": row.rule_key, "until": until.isoformat()}))
        audit.record(session, user_id, "reminder.snoozed", signal_id=signal.id, subject=row.rule_key, at=now,
                     until=until.isoformat())
        refresh_messages(session, signal.id or 0, {row.id or 0}, now)
    core.kick()
    return Result(True, until=until)


# --- for `jobs list` -------------------------------------------------------------------------------------

@outlook("reminders")
def next_due(core: Core) -> str:
    policy = configure(core)
    now = core.clock.now()
    with Session(core.engine) as session:
        rows = session.exec(select(Deadline).where(Deadline.state == PENDING)
                            .order_by(col(Deadline.due_at)).limit(50)).all()
        if not rows:
            return "no reminders pending"
        moments = [(r.due_at if not r.office_hours else policy.calendar.next_office_moment(max(r.due_at, now)), r)
                   for r in rows]
        moment, first = min(moments, key=lambda pair: pair[0])
        signal = session.get(Signal, first.signal_id)
        local = policy.calendar.local(moment).strftime("%Y-%m-%d %H:%M %Z")
        return f"next reminder {local}: {first.rule_key} for {signal.reference if signal else first.signal_id}"
