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
    assert "terwijl de melder erom vroeg" in str(view["blocks"])
    submit(r, AF, view, {"reason": ""})
    assert "reason" in modal_errors(r, view)
    assert signal_row(r, reference).status == "in_progress"
    submit(r, AF, view, {"reason": "Melder is uit dienst; niet meer bereikbaar."})
    card = wait_in(r, lambda: text_of(case_card(r, reference)), "Afgesloten:")
    assert "Afgesloten zonder terugkoppeling" in card
    assert "Doorverwezen naar zorg: Wijkteam Breda-Noord" in card
    assert "Twee mannen" not in card  # the closed card is a compact summary, no content
    row = signal_row(r, reference)
    assert row.status == "closed" and row.no_feedback_reason == "Melder is uit dienst; niet meer bereikbaar."
    wait_in(r, lambda: case_thread(r, reference), "Melder is uit dienst")


def test_after_feedback_closing_asks_only_a_confirmation(running) -> None:
    r = running
    reference = report(r)
    act(r, AF, reference, "conclude", {"conclusion": "geen", "rationale": "Geen signalen."})
    act(r, AF, reference, "feedback", {"text": "Dank je wel, we hebben je signaal bekeken."})
    wait_in(r, lambda: reporter_thread(r, reference), "we hebben je signaal bekeken")
    assert signal_row(r, reference).first_feedback_at is not None
    settle(r)
    click_case(r, AF, reference, "close")
    view = modal_of(r, AF, "case_modal:close")
    assert "Er staat niets meer open" in str(view["blocks"])
    assert not [b for b in view["blocks"] if b["type"] == "input"]  # nothing to explain
    assert signal_row(r, reference).status == "in_progress"  # the click alone closes nothing
    submit(r, AF, view, {})
    wait_in(r, lambda: text_of(case_card(r, reference)), "Terugkoppeling gegeven:")
    assert r.fake.views_for(AF) == []


def test_a_reporter_who_wanted_no_feedback_does_not_hold_up_closing(running) -> None:
    r = running
    reference = report(r, answers={"feedback": "no"})
    act(r, AF, reference, "conclude", {"conclusion": "geen", "rationale": "Geen aanwijzingen."})
    settle(r)
    click_case(r, AF, reference, "close")
    view = modal_of(r, AF, "case_modal:close")
    assert "de melder vroeg er niet om" in str(view["blocks"])  # named, but it does not hold closing up
    submit(r, AF, view, {})
    card = wait_in(r, lambda: text_of(case_card(r, reference)), "Afgesloten:")
    assert "vroeg niet om terugkoppeling" in card


def test_reopening_reverses_closing(running) -> None:
    r = running
    reference = report(r, answers={"feedback": "no"})
    act(r, AF, reference, "conclude", {"conclusion": "geen", "rationale": "Geen aanwijzingen."})
    settle(r)
    act(r, AF, reference, "close", {})
    wait_in(r, lambda: text_of(case_card(r, reference)), "Afgesloten:")
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


def test_closing_names_what_is_still_open_and_wel_needs_a_hand_over_or_a_reason(running) -> None:
    r = running
    reference = report(r, answers={"form": "SU"})  # the reporter asked for feedback
    act(r, AF, reference, "consult", {"partners": ["riec"], "text": "Kennen jullie dit adres?"})
    act(r, AF, reference, "conclude", {"conclusion": "wel", "rationale": "Duidelijke signalen."})
    settle(r)
    click_case(r, AF, reference, "close")
    view = modal_of(r, AF, "case_modal:close")
    blocks = str(view["blocks"])
    assert "Nog geen advies binnen: 1 adviesvraag staat open" in blocks
    assert "terwijl de melder erom vroeg" in blocks
    assert "nog niet doorgezet naar een partner" in blocks and "*Doorzetten*" in blocks
    submit(r, AF, view, {"reason": "Melder is uit dienst."})  # no reason why not routed
    assert "route_reason" in modal_errors(r, view)
    assert signal_row(r, reference).status == "in_progress"
    r.fake.close_view(view["id"])

    # Route it; now the confirmation names the outcome still expected, and no route reason is asked.
    act(r, AF, reference, "route", {"text": "Graag oppakken."})
    settle(r)
    click_case(r, AF, reference, "close")
    view = modal_of(r, AF, "case_modal:close")
    blocks = str(view["blocks"])
    assert "Nog geen uitkomst van partners: 2 overdrachten wachten erop" in blocks
    assert "route_reason" not in blocks and "nog niet doorgezet" not in blocks
    submit(r, AF, view, {"reason": "Melder is uit dienst."})
    r.fake.wait_for(lambda: signal_row(r, reference).status == "closed")


def test_wel_closed_without_hand_over_keeps_the_reason_why_not(running) -> None:
    r = running
    reference = report(r, answers={"feedback": "no"})
    act(r, AF, reference, "conclude", {"conclusion": "wel", "rationale": "Duidelijke signalen."})
    # The core holds the rule too: a close without the reason (a forged or stale form) changes nothing.
    from bot.core import cases as core_cases
    from tests.case_helpers import signal_id

    refused = core_cases.close(r.core, signal_id(r, reference), AF)
    assert not refused.ok and refused.reason == "route_missing"
    settle(r)
    act(r, AF, reference, "close", {"route_reason": "Slachtoffer is al bij de politie bekend; AVIM is op de hoogte."})
    r.fake.wait_for(lambda: signal_row(r, reference).status == "closed")
    wait_in(r, lambda: case_thread(r, reference), "niet doorgezet naar een partner, omdat")
    wait_in(r, lambda: case_thread(r, reference), "AVIM is op de hoogte")
