"""The case (casus) state machine of the internal meldroute, as data plus pure functions.

A case is one signal (signaal: a reported hunch of trafficking) as the aandachtsfunctionaris
(AF: attention officer) handles it. Plain state in (`CaseView`), plain decision out (`Decision`);
the caller stores the result and writes the case event. Who may act is `flows.permissions`' job.

Claim race: `decide` sees a snapshot, so two AFs can both get ``allowed`` for a claim (or for an
action that claims implicitly). The caller must apply the claim with a conditional update, e.g.
``UPDATE signal SET claimed_by = :me, status = 'in_progress' WHERE id = :id AND claimed_by IS NULL``;
if no row changed, someone else won: reload and report ``Reason.ALREADY_CLAIMED`` with their id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Form(StrEnum):
    """Form of exploitation (vorm van uitbuiting)."""

    SU = "SU"  # seksuele uitbuiting: sexual exploitation
    AU = "AU"  # arbeidsuitbuiting: labour exploitation
    CU = "CU"  # criminele uitbuiting: criminal exploitation
    OV = "OV"  # gedwongen orgaanverwijdering: forced organ removal
    UNKNOWN = "unknown"  # weet ik niet: the reporter cannot tell (a valid answer)


class CaseStatus(StrEnum):
    DRAFT = "draft"  # triage (uitvraag) in progress
    CANCELLED = "cancelled"  # the reporter cancelled the draft
    NEW = "new"  # submitted, not claimed yet
    IN_PROGRESS = "in_progress"  # in behandeling: claimed by an AF or backup
    CLOSED = "closed"  # afgesloten


class CaseAction(StrEnum):
    CLAIM = "claim"  # oppakken
    ASK_INFO = "ask_info"  # meer info vragen: ask the reporter for more
    CONSULT = "consult"  # advies inwinnen: ask a partner's advice
    CONCLUDE = "conclude"  # conclusie vastleggen
    ROUTE = "route"  # doorzetten / melden aan a partner
    FEEDBACK = "feedback"  # terugkoppelen aan melder: feedback to the reporter
    CLOSE = "close"  # afsluiten
    REOPEN = "reopen"  # heropenen
    NOTE = "note"  # interne notitie: internal note
    MESSAGE_REPORTER = "message_reporter"  # bericht aan melder
    TIMELINE = "timeline"  # show the case history (read-only)
    RECORD_ADVICE = "record_advice"  # record a partner's advice by hand
    RECORD_OUTCOME = "record_outcome"  # record a partner's outcome of a hand-over
    SEEN = "seen"  # gezien: the AF saw the reporter's new information (nothing else changes)
    CASE_MEETING = "case_meeting"  # ingebracht in het casusoverleg (Zorg- en Veiligheidshuis), §4
    RELATED = "related"  # gerelateerde signalen: link or unlink possibly related signals
    RECLASSIFY = "reclassify"  # gegevens aanpassen: the AF corrects form, acute, minor, sector, target group


class Conclusion(StrEnum):
    GEEN = "geen"  # geen mensenhandel: no trafficking (refer to care if there are other worries)
    VERDER_ONDERZOEK = "verder_onderzoek"  # verder onderzoek en afstemming nodig: more investigation (care may
    # start already: a referral to care is possible here too)
    WEL = "wel"  # wel mensenhandel: trafficking


class Reason(StrEnum):
    """Why `decide` refused; the edge turns the key into a message."""

    NOT_SUBMITTED = "not_submitted"
    CLOSED = "closed"
    NOT_CLOSED = "not_closed"
    ALREADY_CLAIMED = "already_claimed"
    NEEDS_CONCLUSION = "needs_conclusion"
    FEEDBACK_MISSING = "feedback_missing"
    UNKNOWN_CONCLUSION = "unknown_conclusion"
    RATIONALE_REQUIRED = "rationale_required"
    RATIONALE_TOO_LONG = "rationale_too_long"
    REFERRAL_NOT_WITH_WEL = "referral_not_with_wel"  # care for a victim goes through the meldroute (ZoCo)
    CARE_ORGANISATION_REQUIRED = "care_organisation_required"
    TEXT_TOO_LONG = "text_too_long"
    NOT_ALLOWED = "not_allowed"
    ROUTE_MISSING = "route_missing"  # "wel mensenhandel" closed without a hand-over or a reason why not


RATIONALE_MAX = 1000  # characters, for a conclusion's rationale (onderbouwing)
REASON_TEXT_MAX = 1000  # characters, for the "closing without feedback" reason
ORGANISATION_MAX = 200

_S = CaseStatus
_A = CaseAction

# The transition table: state -> allowed action -> next state. Guards (conclusion present, feedback
# given) live in `decide`; this table only says which doors exist.
_HANDLING: dict[CaseAction, CaseStatus] = {
    _A.ASK_INFO: _S.IN_PROGRESS,
    _A.CONSULT: _S.IN_PROGRESS,
    _A.RECORD_ADVICE: _S.IN_PROGRESS,
    _A.CONCLUDE: _S.IN_PROGRESS,
    _A.ROUTE: _S.IN_PROGRESS,
    _A.RECORD_OUTCOME: _S.IN_PROGRESS,
    _A.FEEDBACK: _S.IN_PROGRESS,
    _A.MESSAGE_REPORTER: _S.IN_PROGRESS,
    _A.NOTE: _S.IN_PROGRESS,
    _A.CASE_MEETING: _S.IN_PROGRESS,
    _A.RELATED: _S.IN_PROGRESS,
    _A.CLOSE: _S.CLOSED,
}
TRANSITIONS: Mapping[CaseStatus, Mapping[CaseAction, CaseStatus]] = MappingProxyType(
    {
        _S.DRAFT: MappingProxyType({}),
        _S.CANCELLED: MappingProxyType({}),
        _S.NEW: MappingProxyType({_A.CLAIM: _S.IN_PROGRESS, _A.TIMELINE: _S.NEW, _A.SEEN: _S.NEW,
                                  _A.RECLASSIFY: _S.NEW, **_HANDLING}),
        _S.IN_PROGRESS: MappingProxyType({_A.TIMELINE: _S.IN_PROGRESS, _A.SEEN: _S.IN_PROGRESS,
                                          _A.RECLASSIFY: _S.IN_PROGRESS, **_HANDLING}),
        # A closed case is corrected after reopening it (the card shows a summary only).
        _S.CLOSED: MappingProxyType({_A.TIMELINE: _S.CLOSED, _A.REOPEN: _S.IN_PROGRESS, _A.SEEN: _S.CLOSED}),
    }
)

# Actions that only read; they never claim a new case (a backup glancing at the history of a
# signal, or marking the reporter's words as seen, must not take it over from the AF).
READ_ONLY: frozenset[CaseAction] = frozenset({_A.TIMELINE, _A.SEEN})
# Actions that never claim a new case either: correcting the classification (a vervanger fixing
# "acuut" on a waiting case) is not taking it over; the acute ladder keeps chasing a claim.
NO_CLAIM: frozenset[CaseAction] = READ_ONLY | {_A.RECLASSIFY}

# Button order follows the meldroute: enrich, advise, conclude, route, outcome, feedback, close.
_ORDER: tuple[CaseAction, ...] = (
    _A.CLAIM,
    _A.ASK_INFO,
    _A.CONSULT,
    _A.RECORD_ADVICE,
    _A.CONCLUDE,
    _A.ROUTE,
    _A.RECORD_OUTCOME,
    _A.CASE_MEETING,
    _A.FEEDBACK,
    _A.MESSAGE_REPORTER,
    _A.NOTE,
    _A.RELATED,
    _A.RECLASSIFY,
    _A.CLOSE,
    _A.REOPEN,
    _A.SEEN,
    _A.TIMELINE,
)


@dataclass(frozen=True)
class CaseView:
    """What the state machine needs to know about a case."""

    status: CaseStatus
    municipality: str
    conclusion: Conclusion | None = None
    claimed_by: str | None = None
    wants_feedback: bool = False  # the melder (reporter) asked for terugkoppeling
    feedback_given: bool = False
    acute: bool = False  # acuut: act now, engage AVIM directly
    minor: bool = False  # a minor (minderjarige) is involved
    minor_possible: bool = False  # "weet ik niet": maybe a minor (a "mogelijk" Veilig Thuis suggestion)
    form: Form = Form.UNKNOWN
    open_consultations: int = 0  # advice asked, not yet recorded
    open_handovers: int = 0  # routed, no outcome recorded yet
    routed: int = 0  # hand-overs made, with or without an outcome
    new_from_reporter: bool = False  # the reporter added or answered something nobody acted on since
    related: int = 0  # signals linked to this one, or possibly related (same address or business)


@dataclass(frozen=True)
class StillOpen:
    """What closing a case leaves undone, for the AF to confirm (`still_open`)."""

    outcomes_expected: int = 0  # hand-overs without an outcome
    advice_pending: int = 0  # consultations without an answer
    feedback_missing: bool = False  # the reporter asked for feedback and had none
    no_feedback: bool = False  # no feedback given at all (asked for or not)
    route_missing: bool = False  # "wel mensenhandel" and no hand-over: a reason why not is needed

    @property
    def anything(self) -> bool:
        return bool(self.outcomes_expected or self.advice_pending or self.no_feedback or self.route_missing)


@dataclass(frozen=True)
class ConclusionRecord:
    """A validated conclusion, ready to store."""

    conclusion: Conclusion
    rationale: str  # onderbouwing
    referred_to_care: bool = False  # with `geen` or `verder_onderzoek`: referred to a (care) organisation
    care_organisation: str | None = None


@dataclass(frozen=True)
class Decision:
    """The outcome of `decide`; when refused, `reason` says why and nothing changes."""

    action: CaseAction
    allowed: bool
    reason: Reason | None = None
    new_status: CaseStatus | None = None
    implicit_claim: bool = False  # the caller must record a claim (conditionally, see module doc)
    claimed_by: str | None = None  # who holds the case, with `already_claimed`
    conclusion: ConclusionRecord | None = None  # set by `conclude`
    no_feedback_reason: str | None = None  # set by `close` when feedback was wanted but not given
    no_route_reason: str | None = None  # set by `close` for "wel mensenhandel" without any hand-over


def available_actions(case: CaseView) -> list[CaseAction]:
    """The actions to offer as buttons for this case, in meldroute order."""
    table = TRANSITIONS[case.status]
    actions = [a for a in _ORDER if a in table and _worth_showing(case, a)]
    if case.acute and _A.ROUTE in actions:
        # Acuut: engage AVIM at once, so hand-over comes first (after claiming).
        actions.remove(_A.ROUTE)
        actions.insert(1 if actions and actions[0] is _A.CLAIM else 0, _A.ROUTE)
    return actions


def _worth_showing(case: CaseView, action: CaseAction) -> bool:
    if action is _A.CLAIM:
        return case.claimed_by is None
    if action is _A.RECORD_ADVICE:
        return case.open_consultations > 0
    if action is _A.RECORD_OUTCOME:
        return case.open_handovers > 0
    if action is _A.CLOSE:
        return case.conclusion is not None
    if action is _A.SEEN:
        return case.new_from_reporter
    if action is _A.RELATED:
        return case.related > 0
    return True


def decide(case: CaseView, action: CaseAction | str, **inputs: Any) -> Decision:
    """Whether `action` may happen on `case` now, and what follows.

    Inputs by action:
      conclude: ``conclusion`` (Conclusion or its value), ``rationale`` (1..1000 chars),
                ``referred_to_care`` (bool, with geen or verder onderzoek, not with wel: a victim's care
                goes through the meldroute), ``care_organisation`` (required if referred);
      close:    ``confirm_no_feedback_reason`` when the reporter wanted feedback and had none;
                ``no_route_reason`` when the conclusion is "wel mensenhandel" and nothing was routed
                (Bijlage 1: "Conclusie: wel mensenhandel → melden aan").
    """
    action = CaseAction(action)
    table = TRANSITIONS[case.status]

    if case.status in (_S.DRAFT, _S.CANCELLED):
        return _refuse(action, Reason.NOT_SUBMITTED)
    if action is _A.REOPEN and case.status is not _S.CLOSED:
        return _refuse(action, Reason.NOT_CLOSED)
    if case.status is _S.CLOSED and action not in table:
        return _refuse(action, Reason.CLOSED)
    if action is _A.CLAIM and (case.claimed_by is not None or case.status is not _S.NEW):
        return _refuse(action, Reason.ALREADY_CLAIMED, claimed_by=case.claimed_by)
    if action not in table:
        return _refuse(action, Reason.NOT_ALLOWED)

    implicit_claim = (
        case.status is _S.NEW and case.claimed_by is None and action is not _A.CLAIM and action not in NO_CLAIM
    )
    new_status = table[action]
    if implicit_claim and new_status is _S.NEW:
        new_status = _S.IN_PROGRESS

    record: ConclusionRecord | None = None
    no_feedback_reason: str | None = None
    no_route_reason: str | None = None
    if action is _A.CONCLUDE:
        checked = _check_conclusion(inputs)
        if isinstance(checked, Reason):
            return _refuse(action, checked)
        record = checked
    elif action is _A.CLOSE:
        if case.conclusion is None:
            return _refuse(action, Reason.NEEDS_CONCLUSION)
        if case.wants_feedback and not case.feedback_given:
            no_feedback_reason = _clean(inputs.get("confirm_no_feedback_reason"))
            if no_feedback_reason is None:
                return _refuse(action, Reason.FEEDBACK_MISSING)
            if len(no_feedback_reason) > REASON_TEXT_MAX:
                return _refuse(action, Reason.TEXT_TOO_LONG)
        if still_open(case).route_missing:
            no_route_reason = _clean(inputs.get("no_route_reason"))
            if no_route_reason is None:
                return _refuse(action, Reason.ROUTE_MISSING)
            if len(no_route_reason) > REASON_TEXT_MAX:
                return _refuse(action, Reason.TEXT_TOO_LONG)

    return Decision(
        action=action,
        allowed=True,
        new_status=new_status,
        implicit_claim=implicit_claim,
        claimed_by=case.claimed_by,
        conclusion=record,
        no_feedback_reason=no_feedback_reason,
        no_route_reason=no_route_reason,
    )


def still_open(case: CaseView) -> StillOpen:
    """What is still open when the AF wants to close: named in the confirmation, so nothing is closed
    by accident. Only `feedback_missing` and `route_missing` block closing without a reason."""
    return StillOpen(
        outcomes_expected=case.open_handovers,
        advice_pending=case.open_consultations,
        feedback_missing=case.wants_feedback and not case.feedback_given,
        no_feedback=not case.feedback_given,
        route_missing=case.conclusion is Conclusion.WEL and case.routed == 0,
    )


def _check_conclusion(inputs: Mapping[str, Any]) -> ConclusionRecord | Reason:
    try:
        conclusion = Conclusion(inputs.get("conclusion"))
    except ValueError:
        return Reason.UNKNOWN_CONCLUSION
    rationale = _clean(inputs.get("rationale"))
    if rationale is None:
        return Reason.RATIONALE_REQUIRED
    if len(rationale) > RATIONALE_MAX:
        return Reason.RATIONALE_TOO_LONG
    referred = bool(inputs.get("referred_to_care", False))
    organisation = _clean(inputs.get("care_organisation"))
    if referred and conclusion is Conclusion.WEL:
        return Reason.REFERRAL_NOT_WITH_WEL
    if referred and organisation is None:
        return Reason.CARE_ORGANISATION_REQUIRED
    if organisation is not None and len(organisation) > ORGANISATION_MAX:
        return Reason.TEXT_TOO_LONG
    return ConclusionRecord(
        conclusion=conclusion,
        rationale=rationale,
        referred_to_care=referred,
        care_organisation=organisation if referred else None,
    )


def _clean(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def _refuse(action: CaseAction, reason: Reason, *, claimed_by: str | None = None) -> Decision:
    return Decision(action=action, allowed=False, reason=reason, claimed_by=claimed_by)
