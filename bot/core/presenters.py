"""Who sees what of a case, decided once, here: plain data for an edge to format (Block Kit on Slack).

- `reporter_event`: the reporter's view of a case event in their own thread — only what the AF sent
  them (a question, a message, feedback), that the case was picked up, and their own answer; never a
  note, advice, a partner, a conclusion or another event's text.
- `case_card`: the attention officers' card in their private place — the case content (answers,
  description, location, reporter) while the case is open, only a summary once it is closed.
- `reminder`: a reminder or escalation for its audience — the AF, the backup, the ketenregisseur (no
  case content, no partner, no case place) or a partner contact.
- `partner_brief`: what a partner may see of a signal — reference, municipality, form, signals,
  sector, acute, minor; the description only when the AF chose to share it; never the reporter, the
  source, the location or any other free text.

Edges do not read `Signal`/`CaseEvent` for these audiences; they format what these functions return.
Texts in the results are the people's own words (decrypted free text) or msgids of the questionnaire's
option labels, for the edge to translate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from bot.core import cases as core_cases
from bot.core import related
from bot.core.cases import (
    CLAIMED,
    FEEDBACK,
    INFO_REQUESTED,
    MESSAGE_TO_REPORTER,
    REPORTER_ANSWER,
    REPORTER_KINDS,
    Due,
    case_meetings,
    case_view,
    due_dates,
    new_from_reporter,
    open_question,
)
from bot.core.triage import still_answering
from bot.i18n import N_, Translate
from flows.calendar import WorkingCalendar
from flows.cases import CaseAction, CaseStatus, CaseView, Conclusion, available_actions
from flows.classification import load_classification, minor_of
from flows.questionnaire import Questionnaire
from flows.reminder_rules import Trigger
from models import CaseEvent, Consultation, Handover, Municipality, Partner, Signal
from models.reminders import Deadline

# ------------------------------------------------------------------------------ the reporter's thread


# ------------------------------------------------------------------------------ triage notices

# A notice's words by its kind, where the questionnaire's own do not serve (a notice queued without its
# question). The meldcode binds professionals who work with youth (beleid §2.3), not every reporter.
NOTICE_TEXTS = {
    "minor": N_("Thank you: the attention officer takes this into account. Do you work with young people (in "
                "education, youth care, youth work)? Then also follow your organisation's reporting code for "
                "domestic violence and child abuse (meldcode). Anyone can call Veilig Thuis for advice, day and "
                "night: 0800-2000."),
}


def notice_text(questionnaire: Questionnaire, ref: dict[str, Any]) -> str:
    """What a triage notice (a message of template `notice` with a question's `kind`) says, as a message id
    for the edge to translate: the same words on every platform."""
    kind = ref.get("kind", "info")
    if kind in NOTICE_TEXTS:
        return NOTICE_TEXTS[kind]
    if not questionnaire.has(ref.get("question") or ""):
        return ""
    return next((n.text for n in questionnaire.get(ref["question"]).notices if n.kind == kind), "")


class ReporterSees(StrEnum):
    CLAIMED = "claimed"  # the case was picked up
    QUESTION = "question"  # the AF asks; `answer` is the reporter's answer once given
    MESSAGE = "message"  # a message from the AF
    FEEDBACK = "feedback"  # the AF's feedback
    NOTHING = "nothing"  # gone, or not for the reporter's eyes: "no longer available"


# The event kinds a reporter's thread shows, and as what (a subset of cases.REPORTER_KINDS: the
# reporter's own words are shown as the answer under the question, not as an event of their own).
_SHOWN = {CLAIMED: ReporterSees.CLAIMED, INFO_REQUESTED: ReporterSees.QUESTION,
          MESSAGE_TO_REPORTER: ReporterSees.MESSAGE, FEEDBACK: ReporterSees.FEEDBACK}
assert set(_SHOWN) <= REPORTER_KINDS


@dataclass(frozen=True)
class ReporterEvent:
    sees: ReporterSees
    reference: str
    event_id: int | None = None
    text: str | None = None  # what the AF wrote to the reporter
    answer: str | None = None  # QUESTION: the reporter's own answer, when given (else: they can answer)


def reporter_event(session: Session, signal: Signal, event_id: int | None) -> ReporterEvent:
    """The reporter's view of one case event of their signal."""
    ev = session.get(CaseEvent, event_id) if event_id is not None else None
    sees = _SHOWN.get(ev.kind) if ev is not None and ev.signal_id == signal.id and ev.visible_to_reporter else None
    if ev is None or sees is None:
        return ReporterEvent(ReporterSees.NOTHING, signal.reference)
    if sees is ReporterSees.CLAIMED:
        return ReporterEvent(sees, signal.reference, ev.id)
    answer = _answer_to(session, signal, ev.id) if sees is ReporterSees.QUESTION else None
    return ReporterEvent(sees, signal.reference, ev.id, ev.text, answer.text if answer is not None else None)


def question_waits(session: Session, signal: Signal) -> bool:
    """The root message of the reporter's signal says so while a question of the AF waits."""
    return signal.id is not None and signal.status in (CaseStatus.NEW, CaseStatus.IN_PROGRESS, CaseStatus.CLOSED) \
        and open_question(session, signal.id) is not None


def _answer_to(session: Session, signal: Signal, question_id: int | None) -> CaseEvent | None:
    rows = session.exec(select(CaseEvent).where(CaseEvent.signal_id == signal.id,
                                                CaseEvent.kind == REPORTER_ANSWER)
                        .order_by(col(CaseEvent.id))).all()
    return next((r for r in rows if r.data.get("question") == question_id), None)


@dataclass(frozen=True)
class _Answers:
    """A signal's answers as option labels (msgids) of the questionnaire; None: not asked."""

    q: Questionnaire
    answers: dict[str, Any]

    def label(self, key: str) -> str | None:
        if not self.q.has(key) or self.answers.get(key) is None:
            return None
        opt = self.q.get(key).option(str(self.answers[key]))
        return opt.label if opt else None

    def label_of(self, key: str, value: str | None) -> str | None:
        if value is None or not self.q.has(key):
            return None
        opt = self.q.get(key).option(value)
        return opt.label if opt else None

    def labels(self, key: str) -> tuple[str, ...] | None:
        chosen: Any = self.answers.get(key, [])
        if not self.q.has(key) or not isinstance(chosen, list):
            return None
        return tuple(o.label for o in self.q.get(key).options if o.key in chosen)


def working_values(signal: Signal) -> dict[str, str | None]:
    """The option keys of the case's working fields (form, minor, sector), as the case is handled: the
    reporter's answers until the AF corrected the classification, the AF's classification after."""
    if signal.classified_at is None:
        return {k: (str(signal.answers[k]) if signal.answers.get(k) is not None else None)
                for k in ("form", "minor", "sector")}
    return {"form": signal.form or "unknown", "minor": minor_of(bool(signal.minor), bool(signal.minor_possible)).value,
            "sector": signal.sector or None}


def _working_labels(answers: _Answers, signal: Signal) -> dict[str, str | None]:
    return {k: answers.label_of(k, v) for k, v in working_values(signal).items()}


# ------------------------------------------------------------------------------ partners


@dataclass(frozen=True)
class PartnerBrief:
    """A signal as a partner may see it. Option labels are msgids; None: not asked in this questionnaire."""

    reference: str
    municipality: str | None
    form: str | None
    signals: tuple[str, ...] | None  # () when none of the options was chosen
    sector: str | None
    acute: bool
    minor: str | None
    description_shared: bool  # the AF chose to share the description (which may be empty)
    description: str | None  # only when shared


def partner_brief(session: Session, questionnaire: Questionnaire, signal: Signal, *,
                  share_description: bool) -> PartnerBrief:
    """What a partner may see: no reporter, no source, no location; the description only when shared."""
    answers = _Answers(questionnaire, signal.answers)
    working = _working_labels(answers, signal)  # the AF's classification once corrected
    muni = session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
    return PartnerBrief(
        reference=signal.reference, municipality=muni.name if muni else None, form=working["form"],
        signals=answers.labels("signals"), sector=working["sector"], acute=bool(signal.acute),
        minor=working["minor"],
        description_shared=share_description, description=signal.description if share_description else None,
    )


# ------------------------------------------------------------------------------ the AF's case card

# Words every edge shows for the case's data (msgids): the conclusion and the meldroute's reasons.
# What a reporter's own signal's status is called in their list (`/signaal status`, "status" in Teams).
SIGNAL_STATUS_LABELS = {
    "draft": N_("Not sent yet (draft)"),
    "new": N_("Sent, waiting for the attention officer"),
    "in_progress": N_("Being handled"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}


@dataclass(frozen=True)
class OwnSignal:
    """One line of the reporter's list of their own signals."""

    reference: str
    status: str  # a message id (SIGNAL_STATUS_LABELS) for the edge to translate
    when: datetime


def own_signal(signal: Signal) -> OwnSignal:
    return OwnSignal(signal.reference, SIGNAL_STATUS_LABELS.get(signal.status, signal.status),
                     signal.submitted_at or signal.created_at)


CONCLUSION_LABELS = {
    Conclusion.GEEN: N_("No human trafficking"),
    Conclusion.VERDER_ONDERZOEK: N_("Further investigation and coordination needed"),
    Conclusion.WEL: N_("Human trafficking"),
}
# What the case waits for next (cases.Due.what).
DUE_LABELS = {
    "claim": N_("claim the signal"),
    "feedback": N_("feedback to the reporter"),
    "advice": N_("advice from a partner"),
    "outcome": N_("outcome from a partner"),
    "further_investigation": N_("follow up the further investigation"),
}
# A case step (CaseEvent.kind) in the timeline.
TIMELINE_LABELS = {
    "submitted": N_("Signal sent by the reporter"),
    core_cases.CLAIMED: N_("Claimed"),
    core_cases.INFO_REQUESTED: N_("Asked the reporter for more information"),
    core_cases.REPORTER_ANSWER: N_("The reporter answered"),
    core_cases.REPORTER_MESSAGE: N_("The reporter added information"),
    core_cases.NOTE: N_("Internal note"),
    core_cases.MESSAGE_TO_REPORTER: N_("Message to the reporter"),
    core_cases.CONSULTED: N_("Advice asked"),
    core_cases.ADVICE: N_("Advice received"),
    core_cases.CONCLUDED: N_("Conclusion recorded"),
    core_cases.ROUTED: N_("Routed to partner"),
    core_cases.OUTCOME: N_("Outcome received"),
    core_cases.FEEDBACK: N_("Feedback to the reporter"),
    core_cases.CLOSED: N_("Closed"),
    core_cases.CLOSED_WITHOUT_ROUTE: N_("Closed without routing to a partner"),
    core_cases.REOPENED: N_("Reopened"),
    core_cases.SEEN: N_("Seen: the reporter's new information"),
    core_cases.CASE_MEETING: N_("Discussed in the case meeting (Zorg- en Veiligheidshuis)"),
    core_cases.LINKED: N_("Linked to a related signal"),
    core_cases.UNLINKED: N_("Link to a signal undone"),
    core_cases.RECLASSIFIED: N_("Case details corrected"),
}
# The meldroute's reasons (flows/meldroute.yaml `reason` keys), as the AF reads them.
ROUTE_REASONS = {
    "route_su_police": N_("sexual exploitation: the police (AVIM) first"),
    "route_care_for_victim": N_("care and shelter for the victim"),
    "route_au_labour_inspectorate": N_("labour exploitation: the labour inspectorate"),
    "route_cu_police": N_("criminal exploitation: the police (AVIM)"),
    "route_ov_police": N_("forced organ removal: the police (AVIM) first"),
    "route_unknown_form_ask_zoco_advice": N_("form unknown: the care coordinator helps to find the form"),
    "route_unknown_form_police": N_("form unknown: the police once it is clearly trafficking"),
    "route_acute_engage_avim_now": N_("acute: engage AVIM now"),
    "route_minor_meldcode": N_("a minor is involved: reporting code (meldcode)"),
    "route_minor_possible_meldcode": N_("maybe a minor (the reporter did not know): find out, Veilig Thuis advises"),
}



@dataclass(frozen=True)
class PartnerLine:
    """A consultation ("advice") or hand-over ("handover") of the case, with its dates."""

    kind: str
    partner: str  # the partner's name
    at: datetime  # asked / routed
    done_at: datetime | None = None  # answered / outcome received
    expected_at: datetime | None = None  # a hand-over's expected outcome


@dataclass(frozen=True)
class CaseFacts:
    """The signal's answers as the AF sees them; option labels are msgids, None: not asked. Form, minor
    and sector are the working fields (the AF's classification once corrected); `reported_as` names the
    reporter's own answer where the AF's differs (field, label msgid or None)."""

    form: str | None
    signals: tuple[str, ...] | None
    minor: str | None
    sector: str | None
    source: str | None
    reporter_id: str | None
    reported_at: datetime
    municipality: str | None
    target_group: str | None = None  # label msgid (flows/classification.yaml); only the AF sets it
    reported_as: tuple[tuple[str, str | None], ...] = ()
    classified_by: str | None = None  # who last corrected the classification
    classified_at: datetime | None = None


@dataclass(frozen=True)
class ClosedCase:
    closed_at: datetime
    referred_to_care: str | None
    routed_to: tuple[str, ...]  # partner names, in order, once each
    feedback_at: datetime | None
    without_feedback: bool  # closed with a reason instead of feedback
    feedback_not_asked: bool


@dataclass(frozen=True)
class CaseCard:
    """The case card, for the attention officers' private place only. While the case is open it
    holds the case content (facts, description, location); once closed only a summary (`closed`)."""

    signal_id: int
    reference: str
    acute: bool
    minor: bool
    view: CaseView
    handled_by: str | None  # who claimed it, while not closed
    actions: tuple[CaseAction, ...]
    closed: ClosedCase | None = None
    partners: tuple[PartnerLine, ...] = ()
    next_due: Due | None = None
    new_from_reporter: bool = False  # the reporter added or answered something not acted on yet
    claimed_by: str | None = None  # who claimed it (also once closed)
    claimed_at: datetime | None = None
    conclusion_at: datetime | None = None
    feedback_at: datetime | None = None  # first feedback to the reporter
    facts: CaseFacts | None = None
    description: str | None = None
    location: str | None = None
    still_answering: bool = False  # sent early (acute): the reporter is still answering the rest
    linked: tuple[related.Related, ...] = ()  # linked signals: reference, date, state only
    possibly_related: int = 0  # matching signals (same address or business) not linked yet
    case_meetings: tuple[tuple[date, str | None], ...] = ()  # casusoverleg: (date, outcome)
    minor_possible: bool = False  # minor "weet ik niet": a "mogelijk" Veilig Thuis


def case_card(session: Session, questionnaire: Questionnaire, signal: Signal, cal: WorkingCalendar) -> CaseCard:
    assert signal.id is not None
    view = case_view(session, signal)
    names = {p.key: p.name for p in session.exec(select(Partner)).all()}
    base = dict(signal_id=signal.id, reference=signal.reference, acute=bool(signal.acute), minor=bool(signal.minor),
                minor_possible=view.minor_possible, view=view,
                handled_by=signal.claimed_by if signal.status != CaseStatus.CLOSED else None,
                actions=tuple(available_actions(view)), new_from_reporter=new_from_reporter(session, signal),
                claimed_by=signal.claimed_by, claimed_at=signal.claimed_at, conclusion_at=signal.conclusion_at,
                feedback_at=signal.first_feedback_at)
    if signal.status == CaseStatus.CLOSED:
        routed = session.exec(select(Handover.partner_key).where(Handover.signal_id == signal.id)).all()
        linked = tuple(r for r in related.related(session, signal) if r.linked)  # reference, date, state only
        return CaseCard(**base, linked=linked, closed=ClosedCase(
            closed_at=signal.closed_at or signal.updated_at, referred_to_care=signal.referred_to_care or None,
            routed_to=tuple(names.get(k, k) for k in dict.fromkeys(routed)), feedback_at=signal.first_feedback_at,
            without_feedback=bool(signal.no_feedback_reason), feedback_not_asked=not signal.wants_feedback))
    partners = [PartnerLine("advice", names.get(c.partner_key, c.partner_key), c.asked_at, c.answered_at)
                for c in session.exec(select(Consultation).where(Consultation.signal_id == signal.id)
                                      .order_by(col(Consultation.id))).all()]
    partners += [PartnerLine("handover", names.get(h.partner_key, h.partner_key), h.routed_at, h.outcome_at,
                             h.expected_outcome_at)
                 for h in session.exec(select(Handover).where(Handover.signal_id == signal.id)
                                       .order_by(col(Handover.id))).all()]
    due = due_dates(session, signal, cal)
    answers = _Answers(questionnaire, signal.answers)
    muni = session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
    working = _working_labels(answers, signal)
    reported_as = tuple((k, answers.label(k)) for k in ("form", "minor", "sector")
                        if signal.classified_at is not None and answers.label(k) != working[k])
    facts = CaseFacts(form=working["form"], signals=answers.labels("signals"), minor=working["minor"],
                      sector=working["sector"], source=answers.label("source"), reporter_id=signal.reporter_id,
                      reported_at=signal.submitted_at or signal.created_at, municipality=muni.name if muni else None,
                      target_group=load_classification().target_group_label(signal.target_group),
                      reported_as=reported_as, classified_by=signal.classified_by,
                      classified_at=signal.classified_at)
    found = related.related(session, signal)
    return CaseCard(**base, partners=tuple(partners), next_due=due[0] if due else None, facts=facts,
                    description=signal.description, location=signal.location or None,
                    still_answering=still_answering(signal), linked=tuple(r for r in found if r.linked),
                    possibly_related=sum(1 for r in found if not r.linked),
                    case_meetings=tuple(case_meetings(session, signal.id)))


# ------------------------------------------------------------------------------ reminders


class ReminderFor(StrEnum):
    AF = "af"  # in the case thread (or the AF's DM): who should act and why, with Snooze
    BACKUP = "backup"  # an escalation by DM to the backup, who may see the case
    KETENREGISSEUR = "ketenregisseur"  # an escalation by DM: no case content at all
    PARTNER = "partner"  # by DM to a partner contact: the reference and what is awaited


@dataclass(frozen=True)
class ReminderState:
    settled: str | None = None  # why the reminder's reason went away (reminders.reason_gone), else None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None  # a person key


@dataclass(frozen=True)
class Reminder:
    """What a reminder message may say to its audience. None of it is case content: the reference,
    the municipality, a partner's name and how long the case waited — and each audience gets only its
    part (the ketenregisseur no partner and no case place; a partner no Snooze and no case place)."""

    audience: ReminderFor
    deadline_id: int
    trigger: Trigger
    reference: str
    acute: bool
    waited_minutes: int | None  # a minute rule (the acute ladder)
    waited_working_days: int | None  # else
    state: ReminderState
    municipality: str | None = None
    case_place: str | None = None  # BACKUP: where the case card is (a conversation id)
    partner: str | None = None  # AF and PARTNER: the partner's name (or key)
    partner_reminded: bool | None = None  # AF, partner triggers: whether someone of the partner got it too
    no_backup: bool = False  # AF: no backup is configured, so nobody else was asked
    mention: tuple[str, ...] = ()  # AF: who should act (person keys)
    can_snooze: bool = False  # AF, while open
    awaited_since: datetime | None = None  # PARTNER: when the advice was asked or the case handed over
    partner_action: str | None = None  # PARTNER, while open: "advice" or "outcome" (with subject_id)
    subject_id: int | None = None


def reminder(session: Session, deadline: Deadline, signal: Signal, slot: datetime, audience: ReminderFor, *,
             mention: list[str] | None = None, no_backup: bool = False) -> Reminder:
    """A reminder (or escalation) of `deadline` at its `slot`, for `audience`, from current state."""
    from bot.core import people, reminders

    policy = reminders.policy_for(session)
    rule = policy.rule(deadline.rule_key)
    minutes = days = None
    if rule is not None and rule.offset.minutes is not None:
        minutes = max(0, int((slot - deadline.anchor_at).total_seconds() // 60))
    else:
        days = policy.calendar.working_days_between(deadline.anchor_at, max(slot, deadline.anchor_at))
    gone = reminders.reason_gone(session, deadline, signal)
    snoozed = (not gone and deadline.snoozed and deadline.state == reminders.PENDING and deadline.due_at > slot)
    state = ReminderState(settled=gone or None, snoozed_until=deadline.due_at if snoozed else None,
                          snoozed_by=deadline.snoozed_by if snoozed else None)
    muni = session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
    trigger = Trigger(deadline.trigger)
    base = {"deadline_id": deadline.id or 0, "trigger": trigger, "reference": signal.reference,
            "acute": bool(signal.acute), "waited_minutes": minutes, "waited_working_days": days, "state": state,
            "municipality": muni.name if muni else None}
    if audience is ReminderFor.KETENREGISSEUR:
        return Reminder(audience, **base)
    if audience is ReminderFor.BACKUP:
        return Reminder(audience, **base, case_place=muni.conversation if muni else None)
    key = reminders.subject_partner(session, deadline)
    found = session.get(Partner, key) if key else None
    partner = found.name if found else key
    if audience is ReminderFor.PARTNER:
        advice = trigger == Trigger.ADVICE_UNANSWERED
        return Reminder(audience, **base, partner=partner, awaited_since=deadline.anchor_at,
                        partner_action=None if gone else ("advice" if advice else "outcome"),
                        subject_id=deadline.subject_id)
    reminded = (bool(key and people.partner_members(session, key))
                if trigger in (Trigger.ADVICE_UNANSWERED, Trigger.OUTCOME_MISSING) else None)
    return Reminder(audience, **base, partner=partner, partner_reminded=reminded, no_backup=no_backup,
                    mention=tuple(mention or ()), can_snooze=not gone and not snoozed and not deadline.escalation)


# --- reminders: the same words on every platform (one msgid, one translation) ----------------------

REMINDER_TEXTS = {
    Trigger.UNCLAIMED: N_("Signal {reference} has not been claimed yet, {duration} after it was reported. Claim it "
                          "with the button on the case card, or ask your backup to take it."),
    Trigger.UNCLAIMED_ACUTE: N_("ACUTE signal {reference} has not been claimed yet, {duration} after it was "
                                "reported. Claim it now; in acute cases engage AVIM directly."),
    Trigger.NO_FEEDBACK: N_("The reporter of signal {reference} asked for feedback and has heard nothing yet, "
                            "{duration} after the report. Give feedback with the button on the case card (never "
                            "investigative details)."),
    Trigger.ADVICE_UNANSWERED: N_("{partner} has not answered the request for advice on signal {reference} yet, "
                                  "{duration} after it was asked."),
    Trigger.OUTCOME_MISSING: N_("{partner} has not reported an outcome for signal {reference} yet, {duration} after "
                                "the hand-over."),
    Trigger.FURTHER_INVESTIGATION: N_("Signal {reference} has needed further investigation for {duration}. Time to "
                                      "take stock: record a new conclusion, route it or close it."),
}
REMINDER_SETTLED = {
    "claimed": N_("Settled: the signal has been claimed."),
    "feedback_given": N_("Settled: the reporter has had feedback."),
    "advice_received": N_("Settled: the advice has been recorded."),
    "outcome_recorded": N_("Settled: the outcome has been recorded."),
    "concluded": N_("Settled: a new conclusion has been recorded."),
    "routed": N_("Settled: the case has been routed to a partner."),
    "closed": N_("Settled: the case is closed."),
    "gone": N_("Settled: the signal no longer exists."),
}
ACUTE_ESCALATION = N_("*Outside office hours, or when nobody of the municipality can act in time:* call the police "
                      "on 0900-8844 and mention that it is about possible human trafficking. If a life is in "
                      "danger, call 112.")


# --- counts and durations in words: the same on every platform ------------------------------------

def waited(_: Translate, view: Reminder) -> str:
    """How long the case has waited at this reminder's slot: minutes for minute rules, else working days."""
    if view.waited_minutes is not None:
        return _.ngettext("{count} minute", "{count} minutes", view.waited_minutes)
    return _.ngettext("{count} working day", "{count} working days", view.waited_working_days or 0)


def training_places(_: Translate, session: Session, t: Any) -> str:
    """Who is coming to a training: the count, or places taken and the waiting list."""
    from bot.core import training

    counts = training.rsvp_counts(session, t.id or 0)
    if t.capacity is None:
        return _.ngettext("{count} is coming", "{count} are coming", counts["yes"])
    taken = _.ngettext("{yes} of {count} place taken", "{yes} of {count} places taken", t.capacity, yes=counts["yes"])
    return taken + "; " + _.ngettext("{count} on the waiting list", "{count} on the waiting list", counts["waitlist"])


def trained_line(_: Translate, figure: Any, limit: int) -> tuple[str, str]:
    """One municipality's training figures (a `training.TrainedFigure`), in words: its name and "a of b
    network members trained; c people trained in total". Small counts show as "< N", as the stats do."""
    from bot.core.stats import plural, shown

    members = _.ngettext("{trained} of {count} network member trained", "{trained} of {count} network members "
                         "trained", plural(figure.members, limit), count=shown(figure.members, limit),
                         trained=shown(figure.trained_members, limit))
    people = _.ngettext("{count} person trained in total", "{count} people trained in total",
                        plural(figure.trained, limit), count=shown(figure.trained, limit))
    return figure.municipality or _("Regional and partners"), members + "; " + people


def hours_or_days(_: Translate, hours: float | None) -> str:
    """A median time in the figures: hours under two days, else days, one decimal in the language's
    own way ("3,5 uur", "3.5 hours"); None: too few cases to show."""
    from babel.units import format_unit

    if hours is None:
        return _("not shown (too few cases)")
    if hours < 48:
        return format_unit(round(hours, 1), "duration-hour", format="0.0", locale=_.lang)
    return format_unit(round(hours / 24, 1), "duration-day", format="0.0", locale=_.lang)


# --- the figures (Slack's /signaal cijfers and digest, Teams' digest): the same words ---------------

FIGURE_DIMENSIONS = {
    "form": N_("By form"),
    "sector": N_("By sector"),
    "source": N_("By source (how the signal came in)"),
    "target_group": N_("By target group"),
}
FIGURE_OUTCOMES = {
    "geen": N_("No human trafficking"),
    "verder_onderzoek": N_("Further investigation and coordination needed"),
    "wel": N_("Human trafficking"),
    "none": N_("No conclusion yet"),
}


def figure_value(_: Translate, questionnaire: Questionnaire, key: str, value: str) -> str:
    """A breakdown's value in words: a target group, a questionnaire option's label, else as stored."""
    if key == "target_group":
        label = load_classification().target_group_label(value)
        return _(label) if label else value
    if questionnaire.has(key):
        opt = questionnaire.get(key).option(value)
        if opt is not None:
            return _(opt.label)
    return _("Unknown") if value == "unknown" else value


def monthly_figures(session: Session, month: str, settings: Any, at: datetime) -> tuple[date, Any]:
    """The digest's figures: the first day of `month` ("2026-11") and its report as it stood `at`."""
    from bot.core import stats

    year, number = (int(x) for x in month.split("-"))
    first = date(year, number, 1)
    start, end = stats.month_bounds(first, settings.tz)
    return first, stats.compute(session, start, end, at, limit=stats.threshold(settings),
                                cal=stats.calendar_for(settings))


def figures_period(_: Translate, report: Any, tz: Any) -> str:
    """What the figures cover, and that small counts are hidden."""
    from datetime import timedelta

    from babel.dates import format_date

    last_day = (report.end - timedelta(seconds=1)).astimezone(tz).date()
    return _("Signals reported from {start} to {end}. Figures only, never case content; counts below {limit} are "
             "shown as “< {limit}”.", start=format_date(report.start.astimezone(tz).date(), "d MMM", locale=_.lang),
             end=format_date(last_day, "d MMM yyyy", locale=_.lang), limit=report.threshold)


def key_figures(_: Translate, report: Any) -> list[tuple[str, str]]:
    """The headline figures of a period, as (label, value); small counts as "< N" (`report.n`)."""
    n = report.n
    pct = report.routed_percent
    trained = _("not available") if report.trained is None else n(report.trained_total or 0)
    return [
        (_("Signals"), n(report.total)),
        (_("Led to a melding (handed over to a partner)"),
         n(report.routed) + (f" ({pct}%)" if pct is not None else "")),
        (_("Median time to claim"), hours_or_days(_, report.median_claim_hours)),
        (_("Median time to first feedback"), hours_or_days(_, report.median_feedback_hours)),
        (_("Open cases now"), n(report.open)),
        (_("Overdue now"), n(report.overdue)),
        (_("Trained network members"), trained),
        (_("Trainings held"), _.ngettext("{count} training", "{count} trainings", report.trainings_held)),
        (_("Training attendees"), _.ngettext("{count} person", "{count} people",
                                             report.plural(report.training_attendees),
                                             count=report.n(report.training_attendees))),
    ]


def figure_outcomes(_: Translate, report: Any) -> list[tuple[str, str]]:
    return [(_(FIGURE_OUTCOMES[k]), report.n(v)) for k, v in report.outcomes.items()]


# --- closing a case: what is still open, in words --------------------------------------------------

def still_open_lines(_: Translate, left: Any) -> list[str]:
    """`flows.cases.StillOpen` as the lines the close confirmation names."""
    lines = []
    if left.outcomes_expected:
        lines.append(_.ngettext("Outcome still expected from a partner: {count} hand-over",
                                "Outcome still expected from partners: {count} hand-overs", left.outcomes_expected))
    if left.advice_pending:
        lines.append(_.ngettext("Advice still pending: {count} request", "Advice still pending: {count} requests",
                                left.advice_pending))
    if left.feedback_missing:
        lines.append(_("No feedback given; the reporter asked for it"))
    elif left.no_feedback:
        lines.append(_("No feedback given (the reporter did not ask for it)"))
    if left.route_missing:
        lines.append(_("Conclusion \"human trafficking\", but not routed to any partner"))
    return lines


def escalation_words(_: Translate, view: Reminder, municipality: str, channel: str | None) -> tuple[str, str]:
    """An escalation's notification line and text: to the ketenregisseur (no case content) or to the
    backup, pointing at the case card in `channel` (as the platform names the municipality's channel)
    or in this conversation. `municipality` and `channel` come formatted by the edge."""
    waited_for = waited(_, view)
    if view.audience is ReminderFor.KETENREGISSEUR:
        return (_("Escalation: a signal in {municipality} is waiting to be claimed", municipality=municipality),
                _("Signal {reference} in {municipality} has not been claimed, {duration} after it was reported. The "
                  "attention officers have been reminded. As ketenregisseur you see no case content; please contact "
                  "the municipality.", reference=view.reference, municipality=municipality, duration=waited_for))
    summary = _("Escalation: signal {reference} is waiting to be claimed", reference=view.reference)
    if channel:
        return summary, _("Signal {reference} ({municipality}) has not been claimed, {duration} after it was reported. "
                          "You are the backup attention officer: please claim it on the case card in {channel}, or "
                          "make sure the attention officer does.", reference=view.reference,
                          municipality=municipality, duration=waited_for, channel=channel)
    return summary, _("Signal {reference} ({municipality}) has not been claimed, {duration} after it was reported. You "
                      "are the backup attention officer: please claim it on the case card in this conversation, or "
                      "make sure the attention officer does.", reference=view.reference,
                      municipality=municipality, duration=waited_for)
