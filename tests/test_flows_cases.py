"""The case state machine follows the internal meldroute (beleidsstuk, Bijlage 1)."""

from __future__ import annotations

import pytest

from flows.cases import (
    RATIONALE_MAX,
    TRANSITIONS,
    CaseAction,
    CaseStatus,
    CaseView,
    Conclusion,
    ConclusionRecord,
    Form,
    Reason,
    available_actions,
    decide,
    still_open,
)

A = CaseAction


def case(**overrides: object) -> CaseView:
    values: dict[str, object] = {"status": CaseStatus.NEW, "municipality": "Breda"}
    values.update(overrides)
    return CaseView(**values)  # type: ignore[arg-type]


def in_progress(**overrides: object) -> CaseView:
    return case(**{"status": CaseStatus.IN_PROGRESS, "claimed_by": "U_AF", **overrides})


# --- the constants the rest of the code relies on ------------------------------------------------


def test_the_enum_values_are_the_agreed_keys() -> None:
    assert [f.value for f in Form] == ["SU", "AU", "CU", "OV", "unknown"]
    assert [s.value for s in CaseStatus] == ["draft", "cancelled", "new", "in_progress", "closed"]
    assert [c.value for c in Conclusion] == ["geen", "verder_onderzoek", "wel"]
    assert {a.value for a in CaseAction} == {
        "claim",
        "ask_info",
        "consult",
        "conclude",
        "route",
        "feedback",
        "close",
        "reopen",
        "note",
        "message_reporter",
        "timeline",
        "record_advice",
        "record_outcome",
        "seen",
        "case_meeting",
        "related",
        "reclassify",
    }


def test_every_state_has_a_row_in_the_transition_table() -> None:
    assert set(TRANSITIONS) == set(CaseStatus)
    assert TRANSITIONS[CaseStatus.CLOSED] == {A.TIMELINE: CaseStatus.CLOSED, A.REOPEN: CaseStatus.IN_PROGRESS,
                                              A.SEEN: CaseStatus.CLOSED}


# --- claiming -------------------------------------------------------------------------------------


def test_an_af_claims_a_new_signal() -> None:
    decision = decide(case(), A.CLAIM)
    assert decision.allowed
    assert decision.new_status is CaseStatus.IN_PROGRESS
    assert not decision.implicit_claim


def test_claiming_a_signal_someone_else_claimed_is_refused_with_their_name() -> None:
    decision = decide(in_progress(), A.CLAIM)
    assert not decision.allowed
    assert decision.reason is Reason.ALREADY_CLAIMED
    assert decision.claimed_by == "U_AF"


def test_a_new_signal_with_a_claim_recorded_cannot_be_claimed_again() -> None:
    assert decide(case(claimed_by="U_OTHER"), A.CLAIM).reason is Reason.ALREADY_CLAIMED


@pytest.mark.parametrize("action", [A.ASK_INFO, A.CONSULT, A.ROUTE, A.NOTE, A.MESSAGE_REPORTER, A.FEEDBACK])
def test_handling_a_new_signal_claims_it_implicitly(action: CaseAction) -> None:
    decision = decide(case(), action)
    assert decision.allowed
    assert decision.implicit_claim
    assert decision.new_status is CaseStatus.IN_PROGRESS


def test_concluding_a_new_signal_claims_it_implicitly() -> None:
    decision = decide(case(), A.CONCLUDE, conclusion="wel", rationale="Duidelijk mensenhandel.")
    assert decision.allowed and decision.implicit_claim


def test_looking_at_the_timeline_of_a_new_signal_does_not_claim_it() -> None:
    decision = decide(case(), A.TIMELINE)
    assert decision.allowed
    assert not decision.implicit_claim
    assert decision.new_status is CaseStatus.NEW


def test_actions_on_a_claimed_case_do_not_claim_again() -> None:
    assert not decide(in_progress(), A.NOTE).implicit_claim


# --- drafts and closed cases ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [CaseStatus.DRAFT, CaseStatus.CANCELLED])
@pytest.mark.parametrize("action", list(CaseAction))
def test_nothing_happens_to_a_draft_or_cancelled_signal(status: CaseStatus, action: CaseAction) -> None:
    decision = decide(case(status=status), action)
    assert not decision.allowed
    assert decision.reason is Reason.NOT_SUBMITTED
    assert available_actions(case(status=status)) == []


@pytest.mark.parametrize("action", sorted(set(CaseAction) - {A.TIMELINE, A.REOPEN, A.SEEN}))
def test_a_closed_case_only_shows_its_timeline_or_reopens(action: CaseAction) -> None:
    closed = in_progress(status=CaseStatus.CLOSED, conclusion=Conclusion.GEEN)
    decision = decide(closed, action)
    assert not decision.allowed
    assert decision.reason is Reason.CLOSED


def test_seen_is_offered_only_for_new_information_and_never_claims() -> None:
    assert A.SEEN not in available_actions(in_progress())
    assert A.SEEN in available_actions(in_progress(new_from_reporter=True))
    assert available_actions(in_progress(status=CaseStatus.CLOSED, conclusion=Conclusion.GEEN,
                                          new_from_reporter=True)) == [A.REOPEN, A.SEEN, A.TIMELINE]
    seen = decide(case(new_from_reporter=True), A.SEEN)  # a new case: seeing it does not take it
    assert seen.allowed and not seen.implicit_claim and seen.new_status is CaseStatus.NEW


def test_a_closed_case_can_be_reopened() -> None:
    closed = in_progress(status=CaseStatus.CLOSED, conclusion=Conclusion.GEEN)
    assert decide(closed, A.REOPEN).new_status is CaseStatus.IN_PROGRESS
    assert decide(closed, A.TIMELINE).allowed
    assert available_actions(closed) == [A.REOPEN, A.TIMELINE]


def test_only_a_closed_case_can_be_reopened() -> None:
    assert decide(in_progress(), A.REOPEN).reason is Reason.NOT_CLOSED
    assert decide(case(), A.REOPEN).reason is Reason.NOT_CLOSED


# --- conclusions ----------------------------------------------------------------------------------


def test_a_conclusion_needs_a_rationale() -> None:
    assert decide(in_progress(), A.CONCLUDE, conclusion="wel").reason is Reason.RATIONALE_REQUIRED
    assert decide(in_progress(), A.CONCLUDE, conclusion="wel", rationale="  ").reason is Reason.RATIONALE_REQUIRED


def test_a_rationale_is_at_most_1000_characters() -> None:
    ok = decide(in_progress(), A.CONCLUDE, conclusion="geen", rationale="x" * RATIONALE_MAX)
    too_long = decide(in_progress(), A.CONCLUDE, conclusion="geen", rationale="x" * (RATIONALE_MAX + 1))
    assert ok.allowed
    assert too_long.reason is Reason.RATIONALE_TOO_LONG


def test_an_unknown_conclusion_is_refused() -> None:
    assert decide(in_progress(), A.CONCLUDE, conclusion="misschien", rationale="?").reason is Reason.UNKNOWN_CONCLUSION
    assert decide(in_progress(), A.CONCLUDE, rationale="?").reason is Reason.UNKNOWN_CONCLUSION


def test_no_trafficking_with_other_worries_refers_to_a_care_organisation() -> None:
    decision = decide(
        in_progress(),
        A.CONCLUDE,
        conclusion=Conclusion.GEEN,
        rationale="Slecht werkgeverschap, geen uitbuiting.",
        referred_to_care=True,
        care_organisation="Wijkteam Breda",
    )
    assert decision.allowed
    assert decision.conclusion == ConclusionRecord(
        conclusion=Conclusion.GEEN,
        rationale="Slecht werkgeverschap, geen uitbuiting.",
        referred_to_care=True,
        care_organisation="Wijkteam Breda",
    )


def test_a_referral_names_the_organisation() -> None:
    decision = decide(in_progress(), A.CONCLUDE, conclusion="geen", rationale="r", referred_to_care=True)
    assert decision.reason is Reason.CARE_ORGANISATION_REQUIRED


def test_a_referral_belongs_to_the_conclusion_no_trafficking() -> None:
    decision = decide(
        in_progress(), A.CONCLUDE, conclusion="wel", rationale="r", referred_to_care=True, care_organisation="X"
    )
    assert decision.reason is Reason.REFERRAL_NOT_WITH_WEL


def test_a_conclusion_can_be_revised_while_in_progress() -> None:
    revised = decide(in_progress(conclusion=Conclusion.VERDER_ONDERZOEK), A.CONCLUDE, conclusion="wel", rationale="r")
    assert revised.allowed
    assert revised.conclusion is not None and revised.conclusion.conclusion is Conclusion.WEL


# --- closing --------------------------------------------------------------------------------------


def test_closing_needs_a_conclusion() -> None:
    assert decide(in_progress(), A.CLOSE).reason is Reason.NEEDS_CONCLUSION
    assert decide(case(), A.CLOSE).reason is Reason.NEEDS_CONCLUSION


def test_closing_a_concluded_case() -> None:
    decision = decide(in_progress(conclusion=Conclusion.WEL, routed=1), A.CLOSE)
    assert decision.allowed
    assert decision.new_status is CaseStatus.CLOSED


def test_wel_mensenhandel_needs_a_hand_over_or_a_reason_why_not_before_closing() -> None:
    # Bijlage 1: "Conclusie: wel mensenhandel -> melden aan".
    unrouted = in_progress(conclusion=Conclusion.WEL)
    assert decide(unrouted, A.CLOSE).reason is Reason.ROUTE_MISSING
    assert decide(unrouted, A.CLOSE, no_route_reason="   ").reason is Reason.ROUTE_MISSING
    assert decide(unrouted, A.CLOSE, no_route_reason="x" * 1001).reason is Reason.TEXT_TOO_LONG
    why = decide(unrouted, A.CLOSE, no_route_reason="Slachtoffer wil geen aangifte; ZoCo al betrokken.")
    assert why.allowed and why.no_route_reason == "Slachtoffer wil geen aangifte; ZoCo al betrokken."
    assert decide(in_progress(conclusion=Conclusion.WEL, routed=2, open_handovers=2), A.CLOSE).allowed
    # Other conclusions need no hand-over.
    assert decide(in_progress(conclusion=Conclusion.GEEN), A.CLOSE).allowed
    assert decide(in_progress(conclusion=Conclusion.VERDER_ONDERZOEK), A.CLOSE).allowed


def test_still_open_names_what_closing_leaves_undone() -> None:
    left = still_open(in_progress(conclusion=Conclusion.WEL, open_handovers=2, open_consultations=1,
                                  wants_feedback=True))
    assert (left.outcomes_expected, left.advice_pending, left.feedback_missing, left.no_feedback,
            left.route_missing) == (2, 1, True, True, True)
    done = still_open(in_progress(conclusion=Conclusion.GEEN, feedback_given=True, wants_feedback=True))
    assert not done.anything
    unasked = still_open(in_progress(conclusion=Conclusion.GEEN))
    assert unasked.no_feedback and not unasked.feedback_missing and unasked.anything


def test_closing_without_the_feedback_the_reporter_asked_for_needs_a_reason() -> None:
    waiting = in_progress(conclusion=Conclusion.GEEN, wants_feedback=True)
    refused = decide(waiting, A.CLOSE)
    assert refused.reason is Reason.FEEDBACK_MISSING
    confirmed = decide(waiting, A.CLOSE, confirm_no_feedback_reason="Melder is uit dienst.")
    assert confirmed.allowed
    assert confirmed.no_feedback_reason == "Melder is uit dienst."


def test_closing_after_feedback_needs_no_reason() -> None:
    done = in_progress(conclusion=Conclusion.GEEN, wants_feedback=True, feedback_given=True)
    assert decide(done, A.CLOSE).allowed


# --- buttons --------------------------------------------------------------------------------------


def test_a_new_signal_offers_claim_first() -> None:
    actions = available_actions(case())
    assert actions[0] is A.CLAIM
    assert A.CLOSE not in actions
    assert A.REOPEN not in actions


def test_an_acute_signal_offers_routing_right_after_claim() -> None:
    assert available_actions(case(acute=True))[:2] == [A.CLAIM, A.ROUTE]
    assert available_actions(in_progress(acute=True))[0] is A.ROUTE


def test_buttons_follow_the_meldroute_for_a_case_in_progress() -> None:
    actions = available_actions(in_progress(conclusion=Conclusion.WEL, open_consultations=1, open_handovers=1))
    assert actions == [
        A.ASK_INFO,
        A.CONSULT,
        A.RECORD_ADVICE,
        A.CONCLUDE,
        A.ROUTE,
        A.RECORD_OUTCOME,
        A.CASE_MEETING,  # ingebracht in het casusoverleg (§4)
        A.FEEDBACK,
        A.MESSAGE_REPORTER,
        A.NOTE,
        A.RECLASSIFY,
        A.CLOSE,
        A.TIMELINE,
    ]


def test_recording_advice_or_an_outcome_is_offered_only_when_one_is_awaited() -> None:
    actions = available_actions(in_progress())
    assert A.RECORD_ADVICE not in actions
    assert A.RECORD_OUTCOME not in actions
    assert A.CLOSE not in actions  # no conclusion yet


def test_every_offered_action_is_allowed() -> None:
    views = [
        case(),
        case(acute=True),
        in_progress(conclusion=Conclusion.GEEN, open_consultations=2, open_handovers=1),
        in_progress(status=CaseStatus.CLOSED, conclusion=Conclusion.WEL),
    ]
    for view in views:
        for action in available_actions(view):
            if action is A.CONCLUDE:
                continue  # needs inputs
            assert decide(view, action).allowed, (view, action)


def test_actions_may_be_given_as_strings() -> None:
    assert decide(case(), "claim").action is A.CLAIM
