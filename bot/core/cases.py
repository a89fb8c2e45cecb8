"""The AF (aandachtsfunctionaris) works a signal along the region's meldroute: claim, ask the
reporter for more, consult partners, conclude, route (doorzetten), give feedback, close, reopen.

Platform-neutral. Every step is ONE transaction: it checks who may act (`flows.permissions`, via
`bot.core.access`) and whether the case's state allows it (`flows.cases.decide`), then changes
state, writes a `CaseEvent` (the timeline; free text encrypted in `CaseEvent.text`), an audit entry,
the outbox messages (reporter thread, case thread(s), partner DMs, card updates) and emits
`bot.core.events` for other modules (reminders). Messages carry opaque refs only; templates render
them from the database at delivery time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from bot.core import access, audit, checks, events, outbox, people, related, reminders
from bot.core.context import Core
from bot.core.result import Error, Result, text_problem
from bot.core.triage import root_of
from flows import reminder_rules
from flows.calendar import WorkingCalendar
from flows.cases import (
    CaseAction,
    CaseStatus,
    CaseView,
    Conclusion,
    Decision,
    Form,
    Reason,
    StillOpen,
    decide,
    still_open,
)
from flows.classification import Classification, Problem, Reclassification, check_outcome, minor_of, reclassify
from flows.permissions import (
    Actor,
    CaseRef,
    ReporterAction,
    can_act_on_case,
    can_link_signals,
    can_record_for_partner,
)
from flows.routing import (
    PartnerKind,
    RouteSuggestion,
    consultation_candidates,
    load_meldroute,
    split_handovers,
    suggest_route,
)
from models import CaseEvent, Consultation, Handover, MessageRef, Municipality, Partner, Signal
from models.db import session_scope
from models.reminders import Deadline

TEXT_MAX = 3000  # characters of free text in one step (a modal input's maximum)
OUTCOME_WORKING_DAYS = 10  # default expected outcome of a hand-over (domain README: follow up after 10)

# Timeline event kinds (CaseEvent.kind) written here.
CLAIMED = "claimed"
INFO_REQUESTED = "info_requested"
REPORTER_ANSWER = "reporter_answer"
REPORTER_MESSAGE = "reporter_message"
NOTE = "note"
MESSAGE_TO_REPORTER = "message_to_reporter"
CONSULTED = "consulted"
ADVICE = "advice"
CONCLUDED = "concluded"
ROUTED = "routed"
OUTCOME = "outcome"
FEEDBACK = "feedback"
CLOSED = "closed"
SEEN = "seen"  # the AF marked the reporter's new information as seen
CLOSED_WITHOUT_ROUTE = "closed_without_route"  # "wel mensenhandel" closed without a hand-over: the reason
REOPENED = "reopened"
CASE_MEETING = "case_meeting"  # ingebracht in het casusoverleg (Zorg- en Veiligheidshuis): date, outcome
LINKED = "linked"  # linked to a related signal (data: other, reference)
UNLINKED = "unlinked"
RECLASSIFIED = "reclassified"  # the AF corrected the classification; data: changes {field: [before, after]}

# Kinds the reporter may see (and only in their own thread): what the AF sent them, their own words.
REPORTER_KINDS = frozenset({CLAIMED, INFO_REQUESTED, REPORTER_ANSWER, REPORTER_MESSAGE, MESSAGE_TO_REPORTER,
                            FEEDBACK})


def calendar(core: Core) -> WorkingCalendar:
    return WorkingCalendar(core.settings.timezone)


# ---------------------------------------------------------------------------------------- reading


def case_view(session: Session, signal: Signal) -> CaseView:
    """What the state machine needs to know about a signal (plain values)."""
    muni = session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
    open_consults = session.exec(select(Consultation.id).where(
        Consultation.signal_id == signal.id, col(Consultation.answered_at).is_(None))).all()
    handovers = session.exec(select(Handover.outcome_at).where(Handover.signal_id == signal.id)).all()
    try:
        form = Form(signal.form or "unknown")
    except ValueError:
        form = Form.UNKNOWN
    try:
        status = CaseStatus(signal.status)
    except ValueError:
        status = CaseStatus.DRAFT
    return CaseView(
        status=status, municipality=muni.name if muni else "",
        conclusion=Conclusion(signal.conclusion) if signal.conclusion else None, claimed_by=signal.claimed_by,
        wants_feedback=signal.wants_feedback, feedback_given=signal.first_feedback_at is not None,
        acute=signal.acute, minor=signal.minor, minor_possible=bool(signal.minor_possible) and not signal.minor,
        form=form, open_consultations=len(open_consults),
        open_handovers=sum(1 for at in handovers if at is None), routed=len(handovers),
        new_from_reporter=new_from_reporter(session, signal), related=related.count(session, signal),
    )


def still_open_of(session: Session, signal: Signal) -> StillOpen:
    """What closing this case would leave open (flows.cases.still_open), for the close confirmation."""
    return still_open(case_view(session, signal))


def routed_partners(session: Session, signal_id: int) -> dict[str, datetime]:
    """The partners this case was handed over to, with the first time (what Doorzetten lists)."""
    out: dict[str, datetime] = {}
    for key, at in session.exec(select(Handover.partner_key, Handover.routed_at)
                                .where(Handover.signal_id == signal_id).order_by(col(Handover.id))).all():
        out.setdefault(key, at)
    return out


def handlers_to_mention(session: Session, signal: Signal) -> list[str]:
    """Who must notice the reporter's words: the AF who claimed the case, else the municipality's
    attention officers and backups (vervangers)."""
    if signal.claimed_by:
        return [signal.claimed_by]
    if signal.municipality_id is None:
        return []
    return list(dict.fromkeys(people.handlers_of(session, signal.municipality_id, "af")
                              + people.handlers_of(session, signal.municipality_id, "backup")))


def new_from_reporter(session: Session, signal: Signal) -> bool:
    """The reporter added or answered something the attention officers have not acted on since:
    a reporter's event after the last event of anyone else (a step, a note, a snooze)."""
    rows = session.exec(select(CaseEvent.kind, CaseEvent.actor_id).where(CaseEvent.signal_id == signal.id)
                        .order_by(col(CaseEvent.id))).all()
    new = False
    for kind, actor in rows:
        if kind in (REPORTER_ANSWER, REPORTER_MESSAGE):
            new = True
        elif kind != "submitted" and actor != signal.reporter_id:
            new = False
    return new


def open_question(session: Session, signal_id: int) -> int | None:
    """The AF's question to the reporter that still waits for an answer (the newest), if any."""
    return _open_question(session, signal_id)


def route_suggestion(signal: Signal) -> list[RouteSuggestion]:
    """The meldroute's partners for this signal (its working fields: the AF's classification once
    corrected): by form, plus acute (AVIM now), minor (Veilig Thuis) or maybe a minor ("mogelijk")."""
    return suggest_route(form_of(signal), signal.acute, signal.minor, minor_possible=bool(signal.minor_possible))


def form_of(signal: Signal) -> Form:
    try:
        return Form(signal.form or "unknown")
    except ValueError:
        return Form.UNKNOWN


def classification_of(signal: Signal) -> Classification:
    """The case's working fields as the AF's classification (flows.classification)."""
    return Classification(form_of(signal), bool(signal.acute), minor_of(bool(signal.minor),
                                                                        bool(signal.minor_possible)),
                          signal.sector or None, signal.target_group or None)


def consultation_partners(session: Session) -> list[Partner]:
    """Partners offered for advice: the meldroute's consultation list first, then any other partner."""
    rows = {p.key: p for p in session.exec(select(Partner).order_by(col(Partner.key))).all()}
    keys = [p.key for p in consultation_candidates() if p.key in rows]
    return [rows[k] for k in keys] + [p for k, p in rows.items() if k not in keys]


def internal_partner_keys() -> frozenset[str]:
    """The meldroute's internal partners (own departments, the ketenregisseur), for the forms' labels."""
    return frozenset(p.key for p in load_meldroute().partners if p.kind is PartnerKind.INTERNAL)


def partner_in_slack(session: Session, partner_key: str) -> bool:
    return bool(people.partner_members(session, partner_key))


@dataclass(frozen=True)
class Due:
    what: str  # claim | feedback | advice | outcome | further_investigation
    at: datetime
    overdue: bool = False  # its moment passed: the reminder for it went out (termijn verstreken)


DUE_OF_TRIGGER = {
    reminder_rules.Trigger.UNCLAIMED: "claim", reminder_rules.Trigger.UNCLAIMED_ACUTE: "claim",
    reminder_rules.Trigger.NO_FEEDBACK: "feedback", reminder_rules.Trigger.ADVICE_UNANSWERED: "advice",
    reminder_rules.Trigger.OUTCOME_MISSING: "outcome",
    reminder_rules.Trigger.FURTHER_INVESTIGATION: "further_investigation",
}


def due_dates(session: Session, signal: Signal, cal: WorkingCalendar) -> list[Due]:
    """What the AF still owes on this case and by when: the reminder deadlines armed for it
    (`models.reminders.Deadline`, the first rung of each ladder that still has a reason — the very
    moments the AF is reminded). A deadline whose reminder went out (or was snoozed) is due at the
    moment it fell due. Cases without armed deadlines fall back to the default ladder."""
    if signal.status in (CaseStatus.CLOSED, CaseStatus.DRAFT, CaseStatus.CANCELLED) or not signal.submitted_at:
        return []
    armed = session.exec(select(Deadline).where(Deadline.signal_id == signal.id)).all()
    if armed:
        out_armed: list[Due] = []
        for row in armed:
            if row.escalation or row.state not in (reminders.PENDING, reminders.SENT):
                continue
            if reminders.reason_gone(session, row, signal):
                continue
            passed = row.state == reminders.SENT or row.snoozed
            at = (row.sent_at or row.due_at) if passed else row.due_at
            out_armed.append(Due(DUE_OF_TRIGGER.get(reminder_rules.Trigger(row.trigger), row.trigger), at,
                                 overdue=row.state == reminders.SENT))
        return sorted(out_armed, key=lambda d: d.at)

    def first(trigger: reminder_rules.Trigger, anchor: datetime) -> datetime | None:
        rules = [r for r in reminder_rules.rules_for(trigger) if not r.escalation]
        return reminder_rules.due_at(rules[0], anchor, cal) if rules else None

    out: list[Due] = []
    if signal.claimed_by is None:
        trigger = reminder_rules.Trigger.UNCLAIMED_ACUTE if signal.acute else reminder_rules.Trigger.UNCLAIMED
        at = first(trigger, signal.submitted_at)
        if at:
            out.append(Due("claim", at))
    if signal.wants_feedback and signal.first_feedback_at is None:
        at = first(reminder_rules.Trigger.NO_FEEDBACK, signal.submitted_at)
        if at:
            out.append(Due("feedback", at))
    for c in session.exec(select(Consultation).where(Consultation.signal_id == signal.id,
                                                     col(Consultation.answered_at).is_(None))).all():
        at = first(reminder_rules.Trigger.ADVICE_UNANSWERED, c.asked_at)
        if at:
            out.append(Due("advice", at))
    for h in session.exec(select(Handover).where(Handover.signal_id == signal.id,
                                                 col(Handover.outcome_at).is_(None))).all():
        out.append(Due("outcome", h.expected_outcome_at or cal.add_working_days(h.routed_at, OUTCOME_WORKING_DAYS)))
    if signal.conclusion == Conclusion.VERDER_ONDERZOEK and signal.conclusion_at:
        at = first(reminder_rules.Trigger.FURTHER_INVESTIGATION, signal.conclusion_at)
        if at:
            out.append(Due("further_investigation", at))
    return sorted(out, key=lambda d: d.at)


def cards_of(session: Session, signal_id: int) -> list[MessageRef]:
    return list(session.exec(select(MessageRef).where(MessageRef.signal_id == signal_id,
                                                      MessageRef.kind == "case_card")
                             .order_by(col(MessageRef.id))).all())


def messages_of(session: Session, signal_id: int, kind: str) -> list[MessageRef]:
    return list(session.exec(select(MessageRef).where(MessageRef.signal_id == signal_id, MessageRef.kind == kind)
                             .order_by(col(MessageRef.id))).all())


# ---------------------------------------------------------------------------------------- the step


@dataclass
class _Step:
    core: Core
    session: Session
    signal: Signal
    actor: Actor
    ref: CaseRef
    decision: Decision | None
    now: datetime

    @property
    def user(self) -> str:
        return self.actor.user_id

    @property
    def sid(self) -> int:
        assert self.signal.id is not None
        return self.signal.id

    def result(self, **data: Any) -> Result:
        return Result(True, self.signal.id, self.signal.reference, claimed_by=self.signal.claimed_by, data=data)

    def event(self, kind: str, text: str | None = None, *, visible: bool = False, **data: Any) -> CaseEvent:
        ev = CaseEvent(signal_id=self.sid, at=self.now, actor_id=self.user, kind=kind, text=text, data=data,
                       visible_to_reporter=visible)
        self.session.add(ev)
        self.session.flush()
        return ev

    def audit(self, action: str, **data: Any) -> None:
        audit.record(self.session, self.user, action, signal_id=self.sid, subject=self.signal.reference,
                     at=self.now, **data)

    def emit(self, name: str, **extra: Any) -> None:
        events.emit(self.session, name, signal=self.signal, now=self.now, actor=self.user, **extra)

    def to_case_threads(self, ev: CaseEvent, template: str = "case_event", mention: list[str] | None = None) -> None:
        """A reply in the thread of every case card of this signal (the AF's private place); `mention`:
        who must notice it (in a card by DM, only its recipient)."""
        for card in cards_of(self.session, self.sid):
            ref: dict[str, Any] = {"event": ev.id}
            if mention:
                ref["mention"] = ([card.recipient] if card.recipient in mention else []) if card.recipient \
                    else list(mention)
            outbox.post(self.session, template=template, kind=template, signal_id=self.sid, parent=card,
                        conversation=card.conversation, recipient=card.recipient, ref=ref, now=self.now)

    def to_reporter(self, ev: CaseEvent) -> MessageRef | None:
        """A reply in the reporter's own signal thread (their DM with the bot)."""
        root = root_of(self.session, self.sid)
        if root is None or not self.signal.reporter_id:
            return None
        return outbox.post(self.session, template="reporter_event", kind="reporter_event", signal_id=self.sid,
                           parent=root, recipient=self.signal.reporter_id, ref={"event": ev.id}, now=self.now)

    def refresh_cards(self) -> None:
        for card in cards_of(self.session, self.sid):
            outbox.update(self.session, card, now=self.now)
        # Linked signals' cards show this one's state: they follow (their own activity time does not).
        for other in sorted(related.linked_ids(self.session, self.sid)):
            for card in cards_of(self.session, other):
                outbox.update(self.session, card, now=self.now)
        self.signal.updated_at = self.now
        self.session.add(self.signal)


class _Stop(Exception):
    """Ends a step without changes; `denied` carries who tried what, for the audit log."""

    def __init__(self, result: Result, denied: tuple[str, str] | None = None) -> None:
        super().__init__(result.error)
        self.result = result
        self.denied = denied


def _checked(signal: Signal) -> None:
    """Where a step's checks end: a step being checked stops here, allowed."""
    checks.passed(Result(True, signal.id, signal.reference))


def _load(session: Session, signal_id: int) -> Signal:
    signal = session.get(Signal, signal_id, with_for_update=checks.locking())
    if signal is None or signal.purged_at is not None:
        raise _Stop(Result(False, signal_id, error=Error.UNKNOWN_SIGNAL))
    return signal


def _deny(signal: Signal, user: str, action: str, reason: Any) -> _Stop:
    return _Stop(Result(False, signal.id, signal.reference, error=Error.DENIED, reason=str(reason)),
                 denied=(user, str(action)))


# Refusals that depend on what the action's form asks (a conclusion still to choose, a reason still to
# write): for the form to handle, not for the click that opens it.
# A close without a conclusion is refused at the click: its confirmation cannot fix that.
INPUT_REASONS = frozenset({Reason.FEEDBACK_MISSING, Reason.RATIONALE_REQUIRED, Reason.UNKNOWN_CONCLUSION,
                           Reason.ROUTE_MISSING})
ALREADY_CLAIMED_BY_YOU = "already_claimed_by_you"  # Result.reason of a second claim by the same AF


def _gate(session: Session, signal: Signal, user: str, action: CaseAction, partner: str | None = None,
          *, inputs_pending: bool = False, **inputs: Any) -> tuple[Actor, CaseRef, Decision]:
    """Who may act (flows.permissions) and whether the state allows it (flows.cases); no writes.
    `inputs_pending`: the action's inputs are still to be asked, so refusals about them (INPUT_REASONS)
    pass here and are decided when the step runs."""
    who = access.actor(session, user)
    ref = access.case_ref(session, signal)
    permission = (can_record_for_partner(who, ref, action, partner) if partner is not None
                  else can_act_on_case(who, ref, action))
    if not permission:
        raise _deny(signal, user, action, permission.reason)
    decision = decide(case_view(session, signal), action, **inputs)
    if not decision.allowed and not (inputs_pending and decision.reason in INPUT_REASONS):
        if decision.reason is Reason.ALREADY_CLAIMED:
            raise _already_claimed(signal, user, decision.claimed_by)
        raise _Stop(Result(False, signal.id, signal.reference, error=Error.REFUSED, reason=str(decision.reason),
                           claimed_by=decision.claimed_by))
    return who, ref, decision


def _already_claimed(signal: Signal, user: str, claimed_by: str | None) -> _Stop:
    """A second claim: by the one who holds the case it is their own earlier click, said as such."""
    reason = ALREADY_CLAIMED_BY_YOU if claimed_by == user else str(Reason.ALREADY_CLAIMED)
    return _Stop(Result(False, signal.id, signal.reference, error=Error.ALREADY_CLAIMED, reason=reason,
                        claimed_by=claimed_by))


def _begin(core: Core, session: Session, signal_id: int, user: str, action: CaseAction,
           partner: str | None = None, checks: Callable[[Signal], object] | None = None, **inputs: Any) -> _Step:
    """Load, check, and apply a claim (explicit, or implicit on a new case) race-safely. `checks`: the
    step's own checks of this case that need no writes (raising `_Stop`), after who may and before any
    change — where a step being checked (`checking`) stops."""
    now = core.clock.now()
    signal = _load(session, signal_id)
    who, ref, decision = _gate(session, signal, user, action, partner, **inputs)
    if checks is not None:
        checks(signal)
    _checked(signal)
    st = _Step(core, session, signal, who, ref, decision, now)
    handles = who.handles(ref.municipality)
    if handles and (action is CaseAction.CLAIM or decision.implicit_claim):
        if _claim_row(session, signal, user, now):
            ev = st.event(CLAIMED, visible=True, implicit=action is not CaseAction.CLAIM)
            st.to_reporter(ev)
            st.to_case_threads(ev)
            st.audit("case.claimed", implicit=action is not CaseAction.CLAIM)
            st.emit(events.CLAIMED)
        elif action is CaseAction.CLAIM:
            raise _already_claimed(signal, user, signal.claimed_by)
    if handles and decision.new_status is not None and action is not CaseAction.CLAIM:
        signal.status = decision.new_status.value
        session.add(signal)
    return st


def _claim_row(session: Session, signal: Signal, user: str, now: datetime) -> bool:
    """The claim race: a conditional UPDATE; exactly one AF changes the row (flows.cases docstring)."""
    changed = session.execute(
        sa_update(Signal)
        .where(col(Signal.id) == signal.id, col(Signal.claimed_by).is_(None))
        .values(claimed_by=user, claimed_at=now, status=CaseStatus.IN_PROGRESS.value, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(signal)
    return changed == 1


def _text(value: str | None, *, required: bool = True, limit: int = TEXT_MAX) -> str | None:
    problem = text_problem(value, required=required, limit=limit)
    if problem is not None:
        raise _Stop(problem)
    return (value or "").strip() or None


def _step_run(core: Core, fn: Any) -> Result:
    """Run `fn(session) -> Result` as one transaction. A `_Stop` rolls the step back; an access
    denial is still written to the audit log (in its own small transaction). Inside `checking`, only
    what the step would answer: in the check's read-only transaction, up to where its writes begin."""
    check = checks.active()
    try:
        if check is not None:
            try:
                fn(check.session)
            except checks.Passed as passed:
                return passed.result
            raise AssertionError("a case step went past its checks while being checked")
        with session_scope(core.engine) as session:
            result = fn(session)
    except _Stop as stop:
        if stop.denied and stop.result.signal_id and (check is None or check.audit):
            with session_scope(core.engine) as session:
                audit.record(session, stop.denied[0], "case.denied", signal_id=stop.result.signal_id,
                             subject=stop.denied[1], reason=stop.result.reason, at=core.clock.now())
        return stop.result
    core.kick()
    return result


def _partners(session: Session, keys: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(k for k in keys if k))
    if not wanted:
        raise _Stop(Result(False, error=Error.INVALID, reason="partner_required"))
    known = {p.key for p in session.exec(select(Partner)).all()}
    if any(k not in known for k in wanted):
        raise _Stop(Result(False, error=Error.UNKNOWN_PARTNER))
    return wanted


def _update_messages(st: _Step, kind: str, key: str, value: int) -> None:
    for msg in messages_of(st.session, st.sid, kind):
        if msg.ref.get(key) == value:
            outbox.update(st.session, msg, now=st.now)


def _update_partner_messages(st: _Step) -> None:
    """Closing or reopening changes what partners can still do in their DMs."""
    for kind in ("partner_consultation", "partner_handover"):
        for msg in messages_of(st.session, st.sid, kind):
            outbox.update(st.session, msg, now=st.now)


# ---------------------------------------------------------------------------------------- the steps


def claim(core: Core, signal_id: int, user: str) -> Result:
    """Oppakken: the AF takes the case; the card shows who, the reporter hears it is picked up."""

    def fn(session: Session) -> Result:
        st = _begin(core, session, signal_id, user, CaseAction.CLAIM)
        st.refresh_cards()
        return st.result()

    return _step_run(core, fn)


def _to_reporter_step(core: Core, signal_id: int, user: str, text: str, action: CaseAction, kind: str,
                      audit_action: str) -> Result:
    """The AF writes to the reporter: shown in the reporter's thread and in the case thread(s)."""

    def fn(session: Session) -> Result:
        body = _text(text)
        st = _begin(core, session, signal_id, user, action)
        ev = st.event(kind, body, visible=True)
        st.to_reporter(ev)
        if kind == INFO_REQUESTED:
            _question_waits(st, ev)
        st.to_case_threads(ev)
        st.audit(audit_action)
        st.refresh_cards()
        return st.result(event=ev.id)

    return _step_run(core, fn)


def _question_waits(st: _Step, ev: CaseEvent) -> None:
    """A question in the reporter's thread is easy to miss: a content-free DM tells them one waits,
    and the root message of their signal shows it until they answer."""
    root = root_of(st.session, st.sid)
    if root is None or not st.signal.reporter_id:
        return
    outbox.post(st.session, template="reporter_question_notice", kind="reporter_question_notice",
                recipient=st.signal.reporter_id, signal_id=st.sid, contains_details=False,
                now=st.now, dedupe_key=f"question_notice:{ev.id}")
    outbox.update(st.session, root, now=st.now)


def ask_info(core: Core, signal_id: int, user: str, question: str) -> Result:
    """Meer info vragen: a question in the reporter's thread, with an Answer button."""
    return _to_reporter_step(core, signal_id, user, question, CaseAction.ASK_INFO, INFO_REQUESTED,
                             "case.info_requested")


def reporter_answer(core: Core, signal_id: int, user: str, text: str, question_event_id: int | None = None) -> Result:
    """The reporter answers the AF's question, or adds something later in their thread; it lands in
    the case thread."""

    def fn(session: Session) -> Result:
        body = _text(text)
        now = core.clock.now()
        signal = _load(session, signal_id)
        who = access.actor(session, user)
        ref = access.case_ref(session, signal)
        action = ReporterAction.ANSWER_INFO if question_event_id else ReporterAction.ADD_INFO
        permission = can_act_on_case(who, ref, action)
        if not permission:
            raise _deny(signal, user, action, permission.reason)
        if signal.status not in (CaseStatus.NEW, CaseStatus.IN_PROGRESS, CaseStatus.CLOSED):
            raise _Stop(Result(False, signal.id, signal.reference, error=Error.REFUSED,
                               reason=str(Reason.NOT_SUBMITTED)))
        # A reply typed in the thread answers the open question, if there is one.
        qid = question_event_id or _open_question(session, signal.id or 0)
        if qid:
            asked = session.get(CaseEvent, qid)
            if asked is None or asked.signal_id != signal.id or asked.kind != INFO_REQUESTED:
                raise _Stop(Result(False, signal.id, signal.reference, error=Error.INVALID, reason="unknown_question"))
            if answered(session, signal.id or 0, qid):
                raise _Stop(Result(False, signal.id, signal.reference, error=Error.ALREADY_ANSWERED))
        _checked(signal)
        st = _Step(core, session, signal, who, ref, None, now)
        if qid:
            ev = st.event(REPORTER_ANSWER, body, visible=True, question=qid)
            _update_messages(st, "reporter_event", "event", qid)
            root = root_of(session, st.sid)
            if root is not None:
                outbox.update(session, root, now=now)  # no question waits any more
            st.audit("case.reporter_answered")
        else:
            closed = signal.status == CaseStatus.CLOSED
            ev = st.event(REPORTER_MESSAGE, body, visible=True, after_closing=closed)
            st.audit("case.reporter_added_info", after_closing=closed)
        st.to_case_threads(ev, mention=handlers_to_mention(session, signal))
        st.refresh_cards()  # "new information from the reporter"
        return st.result(event=ev.id, closed=signal.status == CaseStatus.CLOSED)

    return _step_run(core, fn)


def _open_question(session: Session, signal_id: int) -> int | None:
    asked = session.exec(select(CaseEvent.id).where(CaseEvent.signal_id == signal_id,
                                                    CaseEvent.kind == INFO_REQUESTED)
                         .order_by(col(CaseEvent.id).desc())).first()
    return asked if asked is not None and not answered(session, signal_id, asked) else None


def answered(session: Session, signal_id: int, question_event_id: int) -> bool:
    rows = session.exec(select(CaseEvent).where(CaseEvent.signal_id == signal_id,
                                                CaseEvent.kind == REPORTER_ANSWER)).all()
    return any(r.data.get("question") == question_event_id for r in rows)


def mark_seen(core: Core, signal_id: int, user: str) -> Result:
    """Gezien: the AF saw what the reporter added; the card stops saying there is new information.
    Read-only in effect: it never claims the case (flows.cases.READ_ONLY)."""

    def fn(session: Session) -> Result:
        st = _begin(core, session, signal_id, user, CaseAction.SEEN)
        if not new_from_reporter(session, st.signal):
            return st.result(seen=False)  # someone else was first: nothing to do
        st.event(SEEN)
        st.audit("case.seen")
        for card in cards_of(session, st.sid):
            outbox.update(session, card, now=st.now)
        return st.result(seen=True)

    return _step_run(core, fn)


def note(core: Core, signal_id: int, user: str, text: str, *, echo: bool = False) -> Result:
    """Interne notitie: stored on the case, never sent to the reporter. `echo` shows it in the case
    thread (a note written in a modal; one typed in the thread is already there)."""

    def fn(session: Session) -> Result:
        body = _text(text)
        st = _begin(core, session, signal_id, user, CaseAction.NOTE)
        ev = st.event(NOTE, body)
        if echo:
            st.to_case_threads(ev)
        st.audit("case.note")
        st.refresh_cards()
        return st.result(event=ev.id)

    return _step_run(core, fn)


def message_reporter(core: Core, signal_id: int, user: str, text: str) -> Result:
    """Bericht aan melder: a message in the reporter's signal thread."""
    return _to_reporter_step(core, signal_id, user, text, CaseAction.MESSAGE_REPORTER, MESSAGE_TO_REPORTER,
                             "case.message_to_reporter")


def consult(core: Core, signal_id: int, user: str, partners: Iterable[str], question: str,
            include_description: bool = False) -> Result:
    """Advies inwinnen: one Consultation per partner. Partner members in Slack get a pseudonymised DM
    with a Give advice button; for partners outside Slack the AF records the answer by hand."""

    def fn(session: Session) -> Result:
        text = _text(question)
        keys = _partners(session, partners)
        st = _begin(core, session, signal_id, user, CaseAction.CONSULT)
        ev = st.event(CONSULTED, text, partners=keys, description=include_description)
        made: list[int] = []
        for key in keys:
            members = people.partner_members(session, key)
            c = Consultation(signal_id=st.sid, partner_key=key, question=text, include_description=include_description,
                             manual=not members, asked_by=user, asked_at=st.now)
            session.add(c)
            session.flush()
            assert c.id is not None
            made.append(c.id)
            for member in members:
                outbox.post(session, template="partner_consultation", kind="partner_consultation",
                            recipient=member, signal_id=st.sid, ref={"consultation": c.id}, now=st.now,
                            dedupe_key=f"consult:{c.id}:{member}")
            st.emit(events.CONSULTED, consultation=c)
        st.to_case_threads(ev)
        st.audit("case.consulted", partners=keys, description=include_description)
        st.refresh_cards()
        return st.result(consultations=made)

    return _step_run(core, fn)


def _advice(st: _Step, c: Consultation, answer: str, manual: bool) -> Result:
    if c.answered_at is not None:
        raise _Stop(Result(False, st.signal.id, st.signal.reference, error=Error.ALREADY_ANSWERED))
    c.answer, c.answered_by, c.answered_at = answer, st.user, st.now
    st.session.add(c)
    ev = st.event(ADVICE, answer, consultation=c.id, partner=c.partner_key, manual=manual)
    _update_messages(st, "partner_consultation", "consultation", c.id or 0)
    st.emit(events.ADVICE_RECEIVED, consultation=c)
    st.to_case_threads(ev)
    st.audit("case.advice_recorded", partner=c.partner_key, manual=manual)
    st.refresh_cards()
    return st.result(consultation=c.id)


def give_advice(core: Core, consultation_id: int, user: str, answer: str) -> Result:
    """A partner member answers a request for advice sent to their organisation."""

    def fn(session: Session) -> Result:
        text = _text(answer)
        c = session.get(Consultation, consultation_id)
        if c is None:
            raise _Stop(Result(False, error=Error.UNKNOWN_SIGNAL))
        st = _begin(core, session, c.signal_id, user, CaseAction.RECORD_ADVICE, partner=c.partner_key)
        return _advice(st, c, text or "", manual=False)

    return _step_run(core, fn)


def record_advice(core: Core, signal_id: int, user: str, answer: str, *, consultation_id: int | None = None,
                  partner_key: str | None = None, question: str | None = None) -> Result:
    """The AF records advice by hand: for an open consultation, or for a partner consulted outside
    the bot (which records the consultation too)."""

    def fn(session: Session) -> Result:
        text = _text(answer)
        asked = _text(question, required=False)
        c = session.get(Consultation, consultation_id) if consultation_id else None
        if consultation_id and (c is None or c.signal_id != signal_id):
            raise _Stop(Result(False, signal_id, error=Error.INVALID, reason="unknown_consultation"))
        key = c.partner_key if c else _partners(session, [partner_key or ""])[0]
        # The AF's form: the AF or backup of the signal's municipality only, never a partner (their own
        # path is `give_advice`).
        st = _begin(core, session, signal_id, user, CaseAction.RECORD_ADVICE)
        if c is None:
            c = Consultation(signal_id=st.sid, partner_key=key, question=asked, manual=True, asked_by=user,
                             asked_at=st.now)
            session.add(c)
            session.flush()
            st.event(CONSULTED, asked, partners=[key], description=False, manual=True)
            st.emit(events.CONSULTED, consultation=c)
        return _advice(st, c, text or "", manual=True)

    return _step_run(core, fn)


def conclude(core: Core, signal_id: int, user: str, conclusion: str, rationale: str,
             referred_to_care: bool = False, care_organisation: str | None = None) -> Result:
    """Conclusie: geen / verder onderzoek / wel mensenhandel, with a required short rationale."""

    def fn(session: Session) -> Result:
        st = _begin(core, session, signal_id, user, CaseAction.CONCLUDE, conclusion=conclusion, rationale=rationale,
                    referred_to_care=referred_to_care, care_organisation=care_organisation)
        assert st.decision is not None and st.decision.conclusion is not None
        rec = st.decision.conclusion
        st.signal.conclusion, st.signal.conclusion_at = rec.conclusion.value, st.now
        st.signal.referred_to_care = rec.care_organisation if rec.referred_to_care else None
        session.add(st.signal)
        ev = st.event(CONCLUDED, rec.rationale, conclusion=rec.conclusion.value, referred=rec.referred_to_care)
        st.emit(events.CONCLUDED)
        st.to_case_threads(ev)
        st.audit("case.concluded", conclusion=rec.conclusion.value)
        st.refresh_cards()
        return st.result(conclusion=rec.conclusion.value)

    return _step_run(core, fn)


def default_outcome_date(core: Core, now: datetime | None = None) -> datetime:
    return calendar(core).add_working_days(now or core.clock.now(), OUTCOME_WORKING_DAYS)


def route(core: Core, signal_id: int, user: str, partners: Iterable[str], *, expected: date | None = None,
          message: str | None = None, include_description: bool = False, send_again: bool = False,
          form_id: str | None = None) -> Result:
    """Doorzetten: one Handover per partner (partner, date, expected outcome date). Partner members
    in Slack get the hand-over with a Report outcome button. A partner that already has this case's
    hand-over gets it again only with `send_again` (flows.routing.split_handovers); `form_id` (the
    form's own id) makes a second submission of the same form change nothing."""

    def fn(session: Session) -> Result:
        text = _text(message, required=False)
        keys = _partners(session, partners)
        cal = calendar(core)

        def checks(signal: Signal) -> None:
            if form_id and any(e.data.get("form_id") == form_id for e in session.exec(select(CaseEvent).where(
                    CaseEvent.signal_id == signal.id, CaseEvent.kind == ROUTED)).all()):
                raise _Stop(Result(False, signal.id, signal.reference, error=Error.INVALID, reason="form_sent"))
            refused = split_handovers(keys, set(routed_partners(session, signal.id or 0)), send_again)[1]
            if refused:
                names = {p.key: p.name for p in session.exec(select(Partner)).all()}
                raise _Stop(Result(False, signal.id, signal.reference, error=Error.REFUSED, reason="already_routed",
                                   data={"partners": ", ".join(names.get(k, k) for k in refused)}))
            if expected is not None and expected < cal.local(core.clock.now()).date():
                raise _Stop(Result(False, signal.id, signal.reference, error=Error.INVALID, reason="date_past"))

        st = _begin(core, session, signal_id, user, CaseAction.ROUTE, checks=checks)
        keys = split_handovers(keys, set(routed_partners(session, st.sid)), send_again)[0]
        if expected is not None:
            expected_at = cal.at_local(expected, time(cal.office_start.hour, cal.office_start.minute))
        else:
            expected_at = cal.add_working_days(st.now, OUTCOME_WORKING_DAYS)
        urgent = {s.partner_key for s in route_suggestion(st.signal) if s.urgent}
        ev = st.event(ROUTED, text, partners=keys, description=include_description, again=send_again,
                      **({"form_id": form_id} if form_id else {}))
        made: list[int] = []
        for key in keys:
            h = Handover(signal_id=st.sid, partner_key=key, urgent=key in urgent, routed_by=user, routed_at=st.now,
                         expected_outcome_at=expected_at)
            session.add(h)
            session.flush()
            assert h.id is not None
            made.append(h.id)
            for member in people.partner_members(session, key):
                outbox.post(session, template="partner_handover", kind="partner_handover", recipient=member,
                            signal_id=st.sid, now=st.now,
                            ref={"handover": h.id, "event": ev.id, "description": include_description},
                            dedupe_key=f"handover:{h.id}:{member}")
            st.emit(events.ROUTED, handover=h)
        st.to_case_threads(ev)
        st.audit("case.routed", partners=keys, description=include_description)
        st.refresh_cards()
        return st.result(handovers=made)

    return _step_run(core, fn)


def record_outcome(core: Core, handover_id: int, user: str, outcome: str | None, *,
                   signal_id: int | None = None, kind: str | None = None) -> Result:
    """The partner (a member in Slack, on their own hand-over) reports the outcome of a hand-over; with
    `signal_id` it is the AF's form (by hand), for the AF or backup of that signal's municipality only.
    `kind` is one of the list (flows/classification.yaml partner_outcomes), `outcome` an optional note."""

    def fn(session: Session) -> Result:
        text = _text(outcome, required=False)
        checked = check_outcome(kind)
        if isinstance(checked, Problem):
            raise _Stop(Result(False, signal_id, error=Error.INVALID, reason=str(checked)))
        h = session.get(Handover, handover_id)
        if h is None:
            raise _Stop(Result(False, signal_id, error=Error.UNKNOWN_SIGNAL))
        if signal_id is not None and h.signal_id != signal_id:
            raise _Stop(Result(False, signal_id, error=Error.INVALID, reason="unknown_handover"))
        def checks(signal: Signal) -> None:
            if h.outcome_at is not None:
                raise _Stop(Result(False, signal.id, signal.reference, error=Error.ALREADY_ANSWERED))

        st = _begin(core, session, h.signal_id, user, CaseAction.RECORD_OUTCOME,
                    partner=None if signal_id is not None else h.partner_key, checks=checks)
        h.outcome_kind, h.outcome, h.outcome_by, h.outcome_at = checked, text, user, st.now
        session.add(h)
        ev = st.event(OUTCOME, text, handover=h.id, partner=h.partner_key, outcome=checked,
                      manual=st.actor.handles(st.ref.municipality))
        _update_messages(st, "partner_handover", "handover", h.id or 0)
        st.emit(events.OUTCOME_RECORDED, handover=h)
        st.to_case_threads(ev)
        st.audit("case.outcome_recorded", partner=h.partner_key, kind=checked)
        st.refresh_cards()
        return st.result(handover=h.id)

    return _step_run(core, fn)


def reclassify_case(core: Core, signal_id: int, user: str, *, form: str, acute: bool, minor: str,
                    sector: str | None, target_group: str | None) -> Result:
    """Gegevens aanpassen: the AF (or vervanger) corrects form, acute, minor, sector and target group.
    The reporter's answers stay on record (`Signal.answers`); the working fields change, so route
    suggestions, reminders (the acute ladder) and figures follow the AF. It never claims the case
    (flows.cases.NO_CLAIM). One case event with the changes (option keys only), one audit entry."""

    def fn(session: Session) -> Result:
        sectors = [o.key for o in core.questionnaire.get("sector").options] if core.questionnaire.has("sector") \
            else []

        def change(signal: Signal) -> Reclassification:
            checked = reclassify(classification_of(signal), form=form, acute=acute, minor=minor,
                                 sector=sector or None, target_group=target_group or None, sectors=sectors)
            if isinstance(checked, Problem):
                raise _Stop(Result(False, signal.id, signal.reference, error=Error.INVALID, reason=str(checked)))
            return checked

        st = _begin(core, session, signal_id, user, CaseAction.RECLASSIFY, checks=change)
        checked = change(st.signal)
        _apply_classification(st, checked)
        ev = st.event(RECLASSIFIED, changes={k: list(v) for k, v in checked.changes.items()})
        st.emit(events.RECLASSIFIED, acute_started=checked.acute_started, acute_stopped=checked.acute_stopped)
        st.to_case_threads(ev)
        st.audit("case.reclassified", fields=sorted(checked.changes))
        st.refresh_cards()
        return st.result(changes=sorted(checked.changes))

    return _step_run(core, fn)


def _apply_classification(st: _Step, change: Reclassification) -> None:
    new = change.classification
    s = st.signal
    s.form, s.acute, s.sector, s.target_group = new.form.value, new.acute, new.sector, new.target_group
    s.minor, s.minor_possible = new.minor.value == "yes", new.minor.value == "unknown"
    s.classified_at, s.classified_by = st.now, st.user
    st.session.add(s)


def feedback(core: Core, signal_id: int, user: str, text: str) -> Result:
    """Terugkoppelen aan melder: delivered in the reporter's thread and recorded."""

    def fn(session: Session) -> Result:
        body = _text(text)
        st = _begin(core, session, signal_id, user, CaseAction.FEEDBACK)
        first = st.signal.first_feedback_at is None
        if first:
            st.signal.first_feedback_at = st.now
            session.add(st.signal)
        ev = st.event(FEEDBACK, body, visible=True, first=first)
        st.to_reporter(ev)
        st.emit(events.FEEDBACK_GIVEN)
        st.to_case_threads(ev)
        st.audit("case.feedback", first=first)
        st.refresh_cards()
        return st.result(event=ev.id)

    return _step_run(core, fn)


def close(core: Core, signal_id: int, user: str, no_feedback_reason: str | None = None,
          no_route_reason: str | None = None) -> Result:
    """Afsluiten: needs a conclusion, feedback when the reporter wanted it (or a reason why not), and
    for "wel mensenhandel" a hand-over (or a reason why not) — flows.cases.decide."""

    def fn(session: Session) -> Result:
        st = _begin(core, session, signal_id, user, CaseAction.CLOSE, confirm_no_feedback_reason=no_feedback_reason,
                    no_route_reason=no_route_reason)
        assert st.decision is not None
        if st.decision.no_route_reason is not None:
            st.to_case_threads(st.event(CLOSED_WITHOUT_ROUTE, st.decision.no_route_reason))
        reason = st.decision.no_feedback_reason
        st.signal.closed_at = st.now
        st.signal.no_feedback_reason = reason
        session.add(st.signal)
        ev = st.event(CLOSED, reason, without_feedback=reason is not None)
        _update_partner_messages(st)
        st.emit(events.CLOSED)
        st.to_case_threads(ev)
        st.audit("case.closed", without_feedback=reason is not None,
                 without_route=st.decision.no_route_reason is not None)
        st.refresh_cards()
        return st.result()

    return _step_run(core, fn)


def reopen(core: Core, signal_id: int, user: str) -> Result:
    """Heropenen: back to in behandeling; the conclusion stays until a new one is recorded."""

    def fn(session: Session) -> Result:
        st = _begin(core, session, signal_id, user, CaseAction.REOPEN)
        st.signal.closed_at = None
        session.add(st.signal)
        ev = st.event(REOPENED)
        _update_partner_messages(st)
        st.emit(events.REOPENED)
        st.to_case_threads(ev)
        st.audit("case.reopened")
        st.refresh_cards()
        return st.result()

    return _step_run(core, fn)


def case_meeting(core: Core, signal_id: int, user: str, held_on: date | None, outcome: str) -> Result:
    """Ingebracht in het casusoverleg (Zorg- en Veiligheidshuis, §4): the date it was discussed and
    what came of it (free text, encrypted). A step of the case: timeline, the card, the audit log."""

    def fn(session: Session) -> Result:
        text = _text(outcome)
        if held_on is None:
            raise _Stop(Result(False, signal_id, error=Error.INVALID, reason="date_required"))
        if held_on > core.clock.now().astimezone(core.settings.tz).date():
            raise _Stop(Result(False, signal_id, error=Error.INVALID, reason="date_future"))
        st = _begin(core, session, signal_id, user, CaseAction.CASE_MEETING)
        ev = st.event(CASE_MEETING, text, held_on=held_on.isoformat())
        st.to_case_threads(ev)
        st.audit("case.case_meeting", held_on=held_on.isoformat())
        st.refresh_cards()
        return st.result(event=ev.id)

    return _step_run(core, fn)


def case_meetings(session: Session, signal_id: int) -> list[tuple[date, str | None]]:
    """The casusoverleg steps of a case, oldest first: (date, outcome)."""
    rows = session.exec(select(CaseEvent).where(CaseEvent.signal_id == signal_id, CaseEvent.kind == CASE_MEETING)
                        .order_by(col(CaseEvent.at), col(CaseEvent.id))).all()
    return [(date.fromisoformat(ev.data["held_on"]), ev.text) for ev in rows if ev.data.get("held_on")]


def related_signals(core: Core, signal_id: int, user: str) -> tuple[Result, list[related.Related]]:
    """What the Related signals form shows (references, dates, states, why): for the AF or vervanger of
    the signal's municipality only, each other signal only when they may see both. A read: audited."""
    with session_scope(core.engine) as session:
        signal = session.get(Signal, signal_id)
        if signal is None or signal.purged_at is not None:
            return Result(False, signal_id, error=Error.UNKNOWN_SIGNAL), []
        who, ref = access.actor(session, user), access.case_ref(session, signal)
        permission = can_act_on_case(who, ref, CaseAction.RELATED)
        if not permission:
            audit.record(session, user, "case.denied", signal_id=signal_id, subject=CaseAction.RELATED.value,
                         reason=str(permission.reason), at=core.clock.now())
            return Result(False, signal_id, signal.reference, error=Error.DENIED, reason=str(permission.reason)), []
        shown = [r for r in related.related(session, signal)
                 if can_link_signals(who, ref, access.case_ref(session, session.get(Signal, r.signal_id)))]
        audit.record(session, user, "case.related_viewed", signal_id=signal_id, subject=signal.reference,
                     at=core.clock.now(), shown=[r.reference for r in shown])
        return Result(True, signal_id, signal.reference), shown


def set_links(core: Core, signal_id: int, user: str, wanted: Iterable[str | int], *,
              among: Iterable[str | int] | None = None) -> Result:
    """Link this signal to exactly `wanted` (other signal ids): new ones are linked, links left out are
    undone — of the signals in `among` only, when given (what the form showed). Each side gets a timeline
    step and an audit entry; only who may see both may (per pair)."""

    def fn(session: Session) -> Result:
        st = _begin(core, session, signal_id, user, CaseAction.RELATED)
        target = set(related.ids_of(wanted)) - {st.sid}
        current = related.linked_ids(session, st.sid)
        if among is not None:
            scope = set(related.ids_of(among))
            target, current = target & scope, current & scope
        added, removed = [], []
        for other_id in sorted(target ^ current):
            other = session.get(Signal, other_id)
            if other is None or other.purged_at is not None or other.status not in related.CASE_STATES:
                raise _Stop(Result(False, st.sid, st.signal.reference, error=Error.UNKNOWN_SIGNAL))
            permission = can_link_signals(st.actor, st.ref, access.case_ref(session, other))
            if not permission:
                raise _deny(st.signal, user, CaseAction.RELATED, permission.reason)
            if other_id in target:
                related.add_link(session, st.sid, other_id, user, st.now)
                added.append(other)
            else:
                related.remove_link(session, st.sid, other_id)
                removed.append(other)
        for others, kind, action in ((added, LINKED, "case.linked"), (removed, UNLINKED, "case.unlinked")):
            for other in others:
                ev = st.event(kind, other=other.id, reference=other.reference)
                st.to_case_threads(ev)
                st.audit(action, other=other.id, other_reference=other.reference)
                back = CaseEvent(signal_id=other.id or 0, at=st.now, actor_id=user, kind=kind,
                                 data={"other": st.sid, "reference": st.signal.reference})
                session.add(back)
                session.flush()
                audit.record(session, user, action, signal_id=other.id, subject=other.reference, at=st.now,
                             other=st.sid, other_reference=st.signal.reference)
                for card in cards_of(session, other.id or 0):
                    outbox.post(session, template="case_event", kind="case_event", signal_id=other.id,
                                parent=card, conversation=card.conversation, recipient=card.recipient,
                                ref={"event": back.id}, now=st.now)
                    outbox.update(session, card, now=st.now)
        st.refresh_cards()
        return st.result(linked=[o.id for o in added], unlinked=[o.id for o in removed])

    return _step_run(core, fn)


def timeline(core: Core, signal_id: int, user: str, *, post_to_card_ts: str | None = None,
             post: bool = True) -> Result:
    """Tijdlijn: every step with actor and time; posted in the case thread it was asked from."""

    def fn(session: Session) -> Result:
        st = _begin(core, session, signal_id, user, CaseAction.TIMELINE)
        rows = session.exec(select(CaseEvent).where(CaseEvent.signal_id == st.sid)
                            .order_by(col(CaseEvent.at), col(CaseEvent.id))).all()
        st.audit("case.timeline_viewed")
        if post:
            cards = cards_of(session, st.sid)
            target = next((c for c in cards if post_to_card_ts and c.message_id == post_to_card_ts),
                          cards[0] if cards else None)
            if target is not None:
                outbox.post(session, template="case_timeline", kind="case_timeline", signal_id=st.sid,
                            parent=target, conversation=target.conversation, recipient=target.recipient,
                            ref={"upto": rows[-1].id if rows else 0}, now=st.now)
        return st.result(events=[(r.at, r.actor_id, r.kind) for r in rows])

    return _step_run(core, fn)


def check(core: Core, signal_id: int, user: str, action: CaseAction) -> Result:
    """May `user` start `action` on this case now (a click on its card, before its form or its step)?
    The gate every step runs again (`_gate`); a denial is written to the audit log."""
    with session_scope(core.engine) as session:
        signal = session.get(Signal, signal_id)
        if signal is None or signal.purged_at is not None:
            return Result(False, signal_id, error=Error.UNKNOWN_SIGNAL)
        try:
            _gate(session, signal, user, action, inputs_pending=True)
        except _Stop as stop:
            if stop.denied:
                audit.record(session, user, "case.denied", signal_id=signal.id, subject=stop.denied[1],
                             reason=stop.result.reason, at=core.clock.now())
            return stop.result
        return Result(True, signal.id, signal.reference)


def check_partner(core: Core, kind: str, item_id: int, user: str) -> Result:
    """May `user` answer this consultation (kind "consultation") or hand-over ("handover") now? (Also
    while checking: read only, a denial audited as `checks.audit_denial` says.)"""
    with checks.session(core) as session:
        row: Consultation | Handover | None = (session.get(Consultation, item_id) if kind == "consultation"
                                               else session.get(Handover, item_id))
        if row is None:
            return Result(False, error=Error.UNKNOWN_SIGNAL)
        signal = session.get(Signal, row.signal_id)
        if signal is None or signal.purged_at is not None:
            return Result(False, error=Error.UNKNOWN_SIGNAL)
        action = CaseAction.RECORD_ADVICE if kind == "consultation" else CaseAction.RECORD_OUTCOME
        try:
            _gate(session, signal, user, action, row.partner_key)
        except _Stop as stop:
            if stop.denied:
                checks.audit_denial(core, session, user, "case.denied", signal_id=signal.id, subject=str(action),
                                    reason=stop.result.reason, at=core.clock.now())
            return stop.result
        done = row.answered_at if isinstance(row, Consultation) else row.outcome_at
        if done is not None:
            return Result(False, signal.id, signal.reference, error=Error.ALREADY_ANSWERED)
        return Result(True, signal.id, signal.reference)


def check_reporter(core: Core, event_id: int, user: str) -> Result:
    """May `user` answer this question (an info_requested event) now?"""
    with session_scope(core.engine) as session:
        asked = session.get(CaseEvent, event_id)
        signal = session.get(Signal, asked.signal_id) if asked else None
        if asked is None or signal is None or signal.purged_at is not None or asked.kind != INFO_REQUESTED:
            return Result(False, error=Error.UNKNOWN_SIGNAL)
        permission = can_act_on_case(access.actor(session, user), access.case_ref(session, signal),
                                     ReporterAction.ANSWER_INFO)
        if not permission:
            audit.record(session, user, "case.denied", signal_id=signal.id, subject="answer_info",
                         reason=str(permission.reason), at=core.clock.now())
            return Result(False, signal.id, signal.reference, error=Error.DENIED, reason=str(permission.reason))
        if answered(session, signal.id or 0, event_id):
            return Result(False, signal.id, signal.reference, error=Error.ALREADY_ANSWERED)
        return Result(True, signal.id, signal.reference)
