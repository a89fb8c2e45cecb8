"""Reminders and escalations: chase what is overdue, once, on working days, with any number of bots.

How it fits together:
- Case steps emit `bot.core.events`; the handlers below arm the rungs of a ladder
  (`flows/reminders.yaml`) as `Deadline` rows with their due moment, or cancel them when the
  reason is gone. They run inside the step's own transaction.
- The `reminders` sweep (triggered every minute by the scheduler, or by `jobs run-due --at T`)
  reads only pending rows that are due (index on state + due_at), re-checks each reason against
  the current state, and sends each due slot at most once: the row is locked with
  `FOR UPDATE SKIP LOCKED` on PostgreSQL, a unique `SentReminder` row is written, the messages go
  into the outbox and the row is marked sent — in transactions of up to CHUNK reminders, redone
  one reminder per transaction when one of them was contested.
- A bot that was down catches up once: a missed rung is sent when the bot is back (non-acute
  ones only in office hours), and when a later rung of the same ladder is due too, only the later
  one is sent (one escalation, not three messages).
- Snoozing moves a reminder's due moment (`flows.reminder_rules.snooze_until`); escalations keep
  their own clock, because they exist for when the AF cannot act.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from bot.core import access, audit, events, outbox, people
from bot.core.context import Core
from bot.runtime import outlook, sweep
from flows.calendar import WorkingCalendar
from flows.permissions import Denial, can_view_case_content
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
from models.db import session_scope
from models.reminders import Deadline, SentReminder

log = logging.getLogger(__name__)

PENDING, SENT, CANCELLED, SKIPPED = "pending", "sent", "cancelled", "skipped"
MAX_PER_SWEEP = 2000  # a sweep handles at most this many due reminders; the next tick does the rest
CHUNK = 50  # due reminders per transaction (bench/NOTES.md, part 4)
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


for _name, _handler in ((events.SUBMITTED, _on_submitted), (events.CLAIMED, _on_claimed),
                        (events.FEEDBACK_GIVEN, _on_feedback), (events.CONSULTED, _on_consulted),
                        (events.ADVICE_RECEIVED, _on_advice), (events.ROUTED, _on_routed),
                        (events.OUTCOME_RECORDED, _on_outcome), (events.CONCLUDED, _on_concluded),
                        (events.CLOSED, _on_closed), (events.REOPENED, _on_reopened)):
    events.subscribe(_name, _handler)


# --- is the reason still there? ----------------------------------------------------------------------

def reason_gone(session: Session, row: Deadline, signal: Signal | None) -> str | None:
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
        consultation = session.get(Consultation, row.subject_id)
        return "advice_received" if consultation is None or consultation.answered_at else None
    if trigger is Trigger.OUTCOME_MISSING:
        handover = session.get(Handover, row.subject_id)
        return "outcome_recorded" if handover is None or handover.outcome_at else None
    if signal.conclusion != "verder_onderzoek":
        return "concluded"
    routed = session.exec(select(Handover.id).where(Handover.signal_id == signal.id,
                                                    Handover.routed_at >= row.anchor_at)).first()
    return "routed" if routed is not None else None


def subject_partner(session: Session, row: Deadline) -> str | None:
    if row.trigger == Trigger.ADVICE_UNANSWERED:
        consultation = session.get(Consultation, row.subject_id)
        return consultation.partner_key if consultation else None
    if row.trigger == Trigger.OUTCOME_MISSING:
        handover = session.get(Handover, row.subject_id)
        return handover.partner_key if handover else None
    return None


# --- the sweep ---------------------------------------------------------------------------------------

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


def _process_chunk(core: Core, policy: Policy, ids: list[int], now: datetime, office: bool) -> list[str]:
    """Up to CHUNK due reminders in one transaction (each row locked as it is taken). When another
    process got there first (unique key) or SQLite was busy, nothing of the chunk was sent: it is
    done again one reminder per transaction, so only the contested ones are left out."""
    try:
        with session_scope(core.engine) as session:
            return [line for deadline_id in ids if (line := _process(session, policy, deadline_id, now, office))]
    except (IntegrityError, OperationalError) as exc:
        if len(ids) == 1:
            # Another process sent this slot at the same moment (unique key), or SQLite was busy:
            # nothing was sent here; the row is settled by the other process or retried next tick.
            log.info("reminders: deadline %s left to another sweep (%s)", ids[0], type(exc).__name__)
            return []
    return [line for deadline_id in ids for line in _process_chunk(core, policy, [deadline_id], now, office)]


def _process(session: Session, policy: Policy, deadline_id: int, now: datetime, office: bool) -> str | None:
    # Equality predicates only (the due moment is re-checked below): a range on due_at makes
    # PostgreSQL's planner probe ix_deadline_due past the rows this sweep just settled, per row.
    row = session.exec(
        select(Deadline).where(Deadline.id == deadline_id, Deadline.state == PENDING)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None or row.due_at > now:
        return None  # another process has it, or it changed since the sweep looked
    signal = session.get(Signal, row.signal_id)
    reference = signal.reference if signal else f"#{row.signal_id}"
    why = reason_gone(session, row, signal)
    rule = policy.rule(row.rule_key)
    if why is None and rule is None:
        why = "rule_removed"
    if why:
        row.state, row.note, row.updated_at = CANCELLED, why, now
        session.add(row)
        return f"stopped {row.rule_key} for {reference}: {why}"
    assert signal is not None and rule is not None
    later = _superseded_by(session, row, now, office)
    if later is not None:
        row.state, row.note, row.updated_at = SKIPPED, f"superseded:{later.rule_key}"[:40], now
        session.add(row)
        return f"skipped {row.rule_key} for {reference}: {later.rule_key} is due as well"
    slot = row.due_at
    if session.exec(select(SentReminder.id).where(
            SentReminder.signal_id == row.signal_id, SentReminder.rule_key == row.rule_key,
            SentReminder.subject_id == row.subject_id, SentReminder.slot_at == slot)).first():
        row.state, row.updated_at = SENT, now
        session.add(row)
        return None  # this slot went out before
    # The at-most-once guard: a second writer of this slot fails here and sends nothing.
    session.add(SentReminder(deadline_id=row.id or 0, signal_id=row.signal_id, rule_key=row.rule_key,
                             subject_id=row.subject_id, slot_at=slot, sent_at=now))
    session.flush()
    recipients = _deliver(session, row, rule, signal, now)
    row.state, row.sent_at, row.snoozed, row.updated_at = SENT, now, False, now
    session.add(row)
    session.add(CaseEvent(signal_id=row.signal_id, at=now, kind="reminder_sent",
                          data={"rule": row.rule_key, "subject": row.subject_id, "to": recipients}))
    audit.record(session, None, "reminder.sent", signal_id=row.signal_id, subject=row.rule_key, at=now,
                 slot=slot.isoformat(), recipients=recipients)
    local = policy.calendar.local(slot).strftime("%Y-%m-%d %H:%M")
    return f"sent {row.rule_key} for {reference} (due {local}) to {', '.join(recipients) or 'nobody'}"


def _superseded_by(session: Session, row: Deadline, now: datetime, office: bool) -> Deadline | None:
    """A later rung of the same ladder whose (later) slot has passed as well: after downtime only
    the highest due rung is sent."""
    rows = session.exec(select(Deadline).where(
        Deadline.signal_id == row.signal_id, Deadline.trigger == row.trigger, Deadline.subject_id == row.subject_id,
        Deadline.state == PENDING)).all()  # a handful of rows; the due window is checked here
    later = [r for r in rows if r.rung > row.rung and row.due_at < r.due_at <= now and (office or not r.office_hours)]
    return max(later, key=lambda r: r.rung, default=None)


# --- delivery: messages into the outbox ---------------------------------------------------------------

def _deliver(session: Session, row: Deadline, rule: ReminderRule, signal: Signal, now: datetime) -> list[str]:
    muni = session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
    muni_id = muni.id if muni and muni.id else 0
    base = {"deadline": row.id, "slot": row.due_at.isoformat()}
    key = f"reminder:{row.id}:{int(row.due_at.timestamp())}"
    sent: list[str] = []
    for audience in rule.audience:
        if audience is Audience.AF:
            sent += _to_case_thread(session, signal, muni_id, base, key, now)
        elif audience is Audience.BACKUP:
            backups = people.handlers_of(session, muni_id, "backup")
            if not backups:  # nobody to escalate to: chase the AFs in the case thread, saying so
                sent += _to_case_thread(session, signal, muni_id, {**base, "no_backup": True}, key, now)
            for user in backups:
                if muni is not None and not muni.channel:
                    _ensure_card(session, signal, user, now)  # DM mode: the backup needs the card to act
                outbox.post(session, template="reminder_escalation", kind="reminder_escalation", recipient=user,
                            signal_id=signal.id, ref={**base, "audience": "backup"}, contains_details=False,
                            now=now, dedupe_key=f"{key}:{user}")
                sent.append(f"backup {user}")
        elif audience is Audience.KETENREGISSEUR:
            for user in people.regional(session, "ketenregisseur"):
                outbox.post(session, template="reminder_escalation", kind="reminder_escalation", recipient=user,
                            signal_id=signal.id, ref={**base, "audience": "ketenregisseur"},
                            contains_details=False, now=now, dedupe_key=f"{key}:{user}")
                sent.append(f"ketenregisseur {user}")
        elif audience is Audience.PARTNER:
            partner = subject_partner(session, row)
            for user in people.partner_members(session, partner) if partner else []:
                outbox.post(session, template="reminder_partner", kind="reminder_partner", recipient=user,
                            signal_id=signal.id, ref=base, contains_details=False, now=now,
                            dedupe_key=f"{key}:{user}")
                sent.append(f"partner {user}")
    return sent


def handlers_to_chase(session: Session, signal: Signal, muni_id: int) -> list[str]:
    """Who should act: the one who claimed the case, else the AFs (else the backups)."""
    if signal.claimed_by:
        return [signal.claimed_by]
    return people.handlers_of(session, muni_id, "af") or people.handlers_of(session, muni_id, "backup")


def _to_case_thread(session: Session, signal: Signal, muni_id: int, ref: dict, key: str, now: datetime) -> list[str]:
    """A reply in the thread of each case card, mentioning who should act; a DM when there is no card."""
    targets = handlers_to_chase(session, signal, muni_id)
    cards = session.exec(select(MessageRef).where(MessageRef.signal_id == signal.id,
                                                  MessageRef.kind == "case_card").order_by(col(MessageRef.id))).all()
    sent: list[str] = []
    for card in cards:
        mention = ([card.recipient] if card.recipient in targets else []) if card.recipient else targets
        if not mention:
            continue
        # In the card's thread, in the language of that conversation (a DM card: its AF's).
        outbox.post(session, template="reminder", kind="reminder", signal_id=signal.id, parent=card,
                    channel=card.channel, recipient=card.recipient,
                    ref={**ref, "mention": mention}, contains_details=False, now=now,
                    dedupe_key=f"{key}:card{card.id}")
        sent.append(f"thread {' '.join(mention)}")
    if not sent:
        for user in targets:
            outbox.post(session, template="reminder", kind="reminder", recipient=user, signal_id=signal.id,
                        ref={**ref, "mention": [user]}, contains_details=False, now=now, dedupe_key=f"{key}:{user}")
            sent.append(f"dm {user}")
    return sent


def _ensure_card(session: Session, signal: Signal, user: str, now: datetime) -> None:
    exists = session.exec(select(MessageRef.id).where(MessageRef.signal_id == signal.id,
                                                      MessageRef.kind == "case_card",
                                                      MessageRef.recipient == user)).first()
    if exists is None:
        outbox.post(session, template="case_card", kind="case_card", recipient=user, signal_id=signal.id,
                    ref={"mention": [user]}, now=now, dedupe_key=f"card:{signal.id}:{user}")


# --- snooze --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SnoozeResult:
    ok: bool
    until: datetime | None = None
    error: str | None = None  # unknown | denied | escalation | settled
    denial: Denial | None = None


def snooze(core: Core, deadline_id: int, user_id: str, choice: SnoozeChoice | str) -> SnoozeResult:
    """The AF (or backup) of the case's municipality moves a reminder: "morgen", "over 3 werkdagen"."""
    policy = configure(core)
    now = core.clock.now()
    choice = SnoozeChoice(choice)
    with session_scope(core.engine) as session:
        row = session.exec(select(Deadline).where(Deadline.id == deadline_id).with_for_update()).first()
        signal = session.get(Signal, row.signal_id) if row else None
        if row is None or signal is None:
            return SnoozeResult(False, error="unknown")
        permission = can_view_case_content(access.actor(session, user_id), access.case_ref(session, signal))
        if not permission:
            audit.record(session, user_id, "reminder.snooze_denied", signal_id=signal.id, subject=row.rule_key,
                         reason=str(permission.reason), at=now)
            return SnoozeResult(False, error="denied", denial=permission.reason)
        if row.escalation:
            return SnoozeResult(False, error="escalation")
        if row.state not in (PENDING, SENT) or reason_gone(session, row, signal):
            return SnoozeResult(False, error="settled")
        until = snooze_until(choice, now, policy.calendar)
        row.due_at, row.state, row.snoozed, row.snoozed_by, row.updated_at = until, PENDING, True, user_id, now
        session.add(row)
        session.add(CaseEvent(signal_id=signal.id or 0, at=now, actor_id=user_id, kind="reminder_snoozed",
                              data={"rule": row.rule_key, "until": until.isoformat()}))
        audit.record(session, user_id, "reminder.snoozed", signal_id=signal.id, subject=row.rule_key, at=now,
                     until=until.isoformat())
        refresh_messages(session, signal.id or 0, {row.id or 0}, now)
    core.kick()
    return SnoozeResult(True, until=until)


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
