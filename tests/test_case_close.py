"""Afsluiten needs a conclusion, and feedback when the reporter wanted it (or a reason why not);
the card becomes a compact summary; heropenen reverses it; the timeline shows every step."""

from __future__ import annotations

from tests.case_helpers import (
    act,
    card_actions,
    case_thread,
    click_case,
    modal_errors,
    modal_of,
    reporter_thread,
    settle,
    signal_row,
    submit,
    text_of,
    wait_in,
)
from tests.helpers import AF, BACKUP, case_card, report


def test_closing_needs_a_conclusion(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF, reference, "claim")
    wait_in(r, lambda: text_of(case_card(r, reference)), "In behandeling bij")
    assert "close" not in card_actions(r, reference)  # the button is not offered before a conclusion
    act(r, AF, reference, "conclude", {"conclusion": "verder_onderzoek", "rationale": "Nog te vaag."})
    r.fake.wait_for(lambda: "close" in card_actions(r, reference))


def test_closing_without_the_wanted_feedback_asks_why_and_keeps_the_reason(running) -> None:
    r = running
    reference = report(r)  # the reporter asked for feedback
    act(r, AF, reference, "conclude", {"conclusion": "geen", "rationale": "Slecht werkgeverschap, geen uitbuiting.",
                                       "referral": ["yes"], "organisation": "Wijkteam Breda-Noord"})
    wait_in(r, lambda: text_of(case_card(r, reference)), "Geen mensenhandel")
    click_case(r, AF, reference, "close")
    view = modal_of(r, AF, "case_modal:close")
    assert "heeft die nog niet gekregen" in str(view["blocks"])
    submit(r, AF, view, {"reason": ""})
    assert "reason" in modal_errors(r, view)
    assert signal_row(r, reference).status == "in_progress"
    submit(r, AF, view, {"reason": "Melder is uit dienst; niet meer bereikbaar."})
    card = wait_in(r, lambda: text_of(case_card(r, reference)), "Afgesloten op")
    assert "Afgesloten zonder terugkoppeling" in card
    assert "Doorverwezen naar zorg: Wijkteam Breda-Noord" in card
    assert "Twee mannen" not in card  # the closed card is a compact summary, no content
    row = signal_row(r, reference)
    assert row.status == "closed" and row.no_feedback_reason == "Melder is uit dienst; niet meer bereikbaar."
    wait_in(r, lambda: case_thread(r, reference), "Melder is uit dienst")


def test_after_feedback_the_case_closes_at_once(running) -> None:
    r = running
    reference = report(r)
    act(r, AF, reference, "conclude", {"conclusion": "wel", "rationale": "Duidelijke signalen."})
    act(r, AF, reference, "feedback", {"text": "Dank je wel, we hebben je signaal doorgezet."})
    wait_in(r, lambda: reporter_thread(r, reference), "we hebben je signaal doorgezet")
    assert signal_row(r, reference).first_feedback_at is not None
    settle(r)
    click_case(r, AF, reference, "close")
    wait_in(r, lambda: text_of(case_card(r, reference)), "Terugkoppeling gegeven op")
    assert r.fake.views_for(AF) == []


def test_a_reporter_who_wanted_no_feedback_does_not_hold_up_closing(running) -> None:
    r = running
    reference = report(r, answers={"feedback": "no"})
    act(r, AF, reference, "conclude", {"conclusion": "geen", "rationale": "Geen aanwijzingen."})
    settle(r)
    click_case(r, AF, reference, "close")
    card = wait_in(r, lambda: text_of(case_card(r, reference)), "Afgesloten op")
    assert "vroeg niet om terugkoppeling" in card


def test_reopening_reverses_closing(running) -> None:
    r = running
    reference = report(r, answers={"feedback": "no"})
    act(r, AF, reference, "conclude", {"conclusion": "geen", "rationale": "Geen aanwijzingen."})
    settle(r)
    click_case(r, AF, reference, "close")
    wait_in(r, lambda: text_of(case_card(r, reference)), "Afgesloten op")
    assert card_actions(r, reference) == ["reopen", "timeline"]
    click_case(r, BACKUP, reference, "reopen")
    wait_in(r, lambda: case_thread(r, reference), "heeft het signaal heropend")
    r.fake.wait_for(lambda: "ask_info" in card_actions(r, reference))
    row = signal_row(r, reference)
    assert row.status == "in_progress" and row.closed_at is None and row.conclusion == "geen"


def test_the_timeline_shows_every_step_with_actor_and_time(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF, reference, "claim")
    act(r, AF, reference, "ask_info", {"text": "Wanneer was dit?"})
    act(r, AF, reference, "consult", {"partners": ["zoco"], "text": "Advies graag."})
    act(r, AF, reference, "conclude", {"conclusion": "wel", "rationale": "Bevestigd."})
    act(r, AF, reference, "feedback", {"text": "Dank je wel voor je melding."})
    settle(r)
    click_case(r, AF, reference, "timeline")
    timeline = wait_in(r, lambda: case_thread(r, reference), "Tijdlijn van signaal")
    timeline = timeline[timeline.index("Tijdlijn van signaal"):]
    steps = ["Signaal verstuurd door de melder", "Opgepakt", "Melder om meer informatie gevraagd",
             "Advies gevraagd", "Conclusie vastgelegd", "Terugkoppeling aan de melder"]
    positions = [timeline.index(step) for step in steps]
    assert positions == sorted(positions)
    assert f"<@{AF}>" in timeline and "de melder" in timeline and "<!date^" in timeline
    assert "Zorgcoördinator" in timeline and "Wel mensenhandel" in timeline


def test_the_feedback_draft_is_kind_and_fits_the_conclusion(running) -> None:
    r = running
    reference = report(r)
    act(r, AF, reference, "conclude", {"conclusion": "geen", "rationale": "Intern: eigenaar is familie."})
    settle(r)
    click_case(r, AF, reference, "feedback")
    view = modal_of(r, AF, "case_modal:feedback")
    draft = next(b for b in view["blocks"] if b.get("block_id") == "text")["element"]["initial_value"]
    assert "geen aanwijzingen voor mensenhandel" in draft and reference in draft
    assert "eigenaar is familie" not in draft
