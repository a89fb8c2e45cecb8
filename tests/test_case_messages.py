"""What each person gets to see: partners a pseudonymised summary (the description only when
ticked), the reporter only what the AF sends; modals refuse bad input; the card stays current; and
every step emits the events other modules (reminders) listen to."""

from __future__ import annotations

from datetime import date, timedelta

from bot.core import cases as core_cases
from bot.core import events
from tests.case_helpers import (
    AVIM,
    ZOCO,
    act,
    case_thread,
    click_case,
    dm_with,
    modal_errors,
    modal_of,
    reporter_replies,
    reporter_thread,
    settle,
    signal_id,
    signal_row,
    submit,
    text_of,
    wait_in,
)
from tests.helpers import AF, REPORTER, case_card, report

DESCRIPTION = "Twee mannen slapen in de keuken van het restaurant en werken 7 dagen per week."


def test_partner_dms_are_pseudonymised_and_carry_the_description_only_when_ticked(running) -> None:
    r = running
    reference = report(r)
    act(r, AF, reference, "consult", {"partners": ["zoco"], "text": "Vraag zonder omschrijving."})
    act(r, AF, reference, "consult", {"partners": ["avim"], "text": "Vraag met omschrijving.", "share": ["yes"]})
    zoco = text_of(dm_with(r, ZOCO, reference, "Adviesvraag"))
    avim = text_of(dm_with(r, AVIM, reference, "Adviesvraag"))
    assert DESCRIPTION not in zoco and DESCRIPTION in avim
    for seen in (zoco, avim):
        assert REPORTER not in seen and "Rita" not in seen
        assert "Restaurant aan de Haven" not in seen  # the location is never shared
        assert "Aan de balie" not in seen  # nor how the signal came in
        assert "Arbeidsuitbuiting" in seen and "Horeca" in seen and "Breda" in seen
    # The push preview carries no content.
    request = dm_with(r, ZOCO, reference, "Adviesvraag")
    assert request["text"] == f"Adviesvraag over signaal {reference}"


def test_the_reporter_sees_what_the_af_sent_and_nothing_else(running) -> None:
    r = running
    reference = report(r)
    act(r, AF, reference, "note", {"text": "Notitie: buurman belde ook al."})
    act(r, AF, reference, "message_reporter", {"text": "Dank je, we kijken ernaar. Spreek niemand aan."})
    act(r, AF, reference, "consult", {"partners": ["zoco"], "text": "Zorgvraag voor ZoCo."})
    wait_in(r, lambda: reporter_thread(r, reference), "Spreek niemand aan.")
    settle(r)
    seen = reporter_thread(r, reference)
    assert "buurman belde" not in seen and "Zorgvraag voor ZoCo" not in seen and "Zorgcoördinator" not in seen
    for reply in reporter_replies(r, reference):
        assert "Spreek niemand aan" not in reply["text"]  # never in the push preview
    # The case thread has everything.
    thread = case_thread(r, reference)
    assert "buurman belde" in thread and "Spreek niemand aan" in thread and "Zorgvraag voor ZoCo" in thread


def test_a_conclusion_needs_a_short_rationale(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF, reference, "conclude")
    view = modal_of(r, AF, "case_modal:conclude")
    submit(r, AF, view, {"conclusion": "wel", "rationale": "   "})
    assert "rationale" in modal_errors(r, view)
    submit(r, AF, view, {"conclusion": "wel", "rationale": "x" * 1001})
    assert "1000" in modal_errors(r, view)["rationale"]
    submit(r, AF, view, {"conclusion": "wel", "rationale": "Kort.", "referral": ["yes"], "organisation": "GGD"})
    assert "referral" in modal_errors(r, view)  # a referral to care goes with "geen" only
    submit(r, AF, view, {"conclusion": "geen", "rationale": "Kort.", "referral": ["yes"]})
    assert "organisation" in modal_errors(r, view)
    assert signal_row(r, reference).conclusion is None
    submit(r, AF, view, {"conclusion": "geen", "rationale": "Kort.", "referral": ["yes"], "organisation": "GGD"})
    wait_in(r, lambda: text_of(case_card(r, reference)), "Geen mensenhandel")
    assert signal_row(r, reference).referred_to_care == "GGD"


def test_text_over_the_limit_is_refused_and_kept_in_the_modal(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF, reference, "ask_info")
    view = modal_of(r, AF, "case_modal:ask_info")
    submit(r, AF, view, {"text": "a" * 3001})
    assert "3001" in modal_errors(r, view)["text"]
    assert r.fake.views_for(AF)  # still open, with what was typed
    settle(r)
    assert "aaaa" not in reporter_thread(r, reference)


def test_routing_records_each_hand_over_with_its_expected_outcome_date(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF, reference, "route")
    view = modal_of(r, AF, "case_modal:route")
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    submit(r, AF, view, {"expected": yesterday})
    assert "expected" in modal_errors(r, view)
    submit(r, AF, view, {"partners": ["nla", "zoco"], "expected": "2099-03-02", "text": "Graag afstemmen."})
    card = wait_in(r, lambda: text_of(case_card(r, reference)), ": doorgezet")
    assert "Nederlandse Arbeidsinspectie" in card and "uitkomst uiterlijk" in card
    assert "Volgende:" in card  # the next due date
    thread = wait_in(r, lambda: case_thread(r, reference), "Graag afstemmen.")
    assert "niet in Slack" in thread  # the NLA has no members in Slack: the AF contacts them
    # The AF records the outcome of the NLA by hand.
    click_case(r, AF, reference, "record_outcome")
    view = modal_of(r, AF, "case_modal:record_outcome")
    handover = next(b for b in view["blocks"] if b.get("block_id") == "handover")["element"]["options"][0]["value"]
    submit(r, AF, view, {"handover": handover, "outcome": "onderzoek_gestart", "text": "NLA start een inspectie."})
    wait_in(r, lambda: case_thread(r, reference), "NLA start een inspectie.")
    wait_in(r, lambda: text_of(case_card(r, reference)), "uitkomst ontvangen")


def test_every_step_emits_the_agreed_events(running) -> None:
    r = running
    reference = report(r)
    settle(r)
    sid = signal_id(r, reference)
    seen: list[tuple[str, frozenset[str]]] = []
    names = [events.CLAIMED, events.CONSULTED, events.ADVICE_RECEIVED, events.ROUTED, events.OUTCOME_RECORDED,
             events.CONCLUDED, events.FEEDBACK_GIVEN, events.CLOSED, events.REOPENED]
    handlers = {}
    for name in names:
        def handler(session, _name=name, **kwargs):  # noqa: ANN001, ANN003
            seen.append((_name, frozenset(kwargs)))
        handlers[name] = handler
        events.subscribe(name, handler)
    try:
        core = r.core
        assert core_cases.claim(core, sid, AF).ok
        consulted = core_cases.consult(core, sid, AF, ["zoco"], "Advies?")
        assert core_cases.give_advice(core, consulted.data["consultations"][0], ZOCO, "Advies.").ok
        routed = core_cases.route(core, sid, AF, ["avim"])
        assert core_cases.record_outcome(core, routed.data["handovers"][0], AVIM, "Opgepakt door politie.",
                                         kind="onderzoek_gestart").ok
        assert core_cases.conclude(core, sid, AF, "wel", "Bevestigd.").ok
        assert core_cases.feedback(core, sid, AF, "Dank je wel.").ok
        assert core_cases.close(core, sid, AF).ok
        assert core_cases.reopen(core, sid, AF).ok
    finally:
        for name, handler in handlers.items():
            events._handlers[name].remove(handler)
    assert [n for n, _ in seen] == names
    base = {"signal", "now", "actor"}
    extra = {events.CONSULTED: {"consultation"}, events.ADVICE_RECEIVED: {"consultation"},
             events.ROUTED: {"handover"}, events.OUTCOME_RECORDED: {"handover"}}
    for name, kwargs in seen:
        assert kwargs == base | extra.get(name, set()), name


def test_the_expected_outcome_defaults_to_ten_working_days(running) -> None:
    r = running
    reference = report(r)
    settle(r)
    routed = core_cases.route(r.core, signal_id(r, reference), AF, ["zoco"])
    assert routed.ok
    from sqlmodel import Session

    from models import Handover

    with Session(r.core.engine) as session:
        h = session.get(Handover, routed.data["handovers"][0])
        assert h is not None and h.expected_outcome_at is not None
        cal = core_cases.calendar(r.core)
        assert cal.working_days_between(h.routed_at, h.expected_outcome_at) == 10


def test_a_reply_typed_in_the_reporters_thread_answers_the_open_question(running) -> None:
    r = running
    reference = report(r)
    act(r, AF, reference, "ask_info", {"text": "Was er een busje?"})
    question = r.fake.wait_for(lambda: next((m for m in reporter_replies(r, reference)
                                             if "Was er een busje?" in text_of(m)), None))
    r.driver.message(REPORTER, r.fake.dm_channel_for(REPORTER), "Ja, een wit busje.",
                     thread_ts=question["thread_ts"])
    wait_in(r, lambda: case_thread(r, reference), "De melder antwoordde")
    wait_in(r, lambda: reporter_thread(r, reference), "Je antwoord")
    r.fake.wait_for(lambda: "case_reply:answer" not in text_of(
        next(m for m in reporter_replies(r, reference) if "Was er een busje?" in text_of(m))))
