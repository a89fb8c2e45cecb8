"""Follow-ups are noticed (issue 14, points 7 and 13): the reporter's words @-mention whoever must act,
with a preview that carries no content; the card says there is new information until the AF acts; the
reporter hears of a question and its root message shows it waits; an addition after closing is told
and offers Heropenen; a second claim by the same AF is said to that AF; a passed deadline shows."""

from __future__ import annotations

from typing import Any

from tests.case_helpers import (
    act,
    case_thread,
    click_case,
    ephemeral_texts,
    forge_click,
    modal_of,
    reporter_root,
    settle,
    signal_id,
    signal_row,
    submit,
    text_of,
    wait_in,
)
from tests.helpers import AF, BACKUP, REPORTER, case_card, report, thread_of
from tests.reminders_support import card_of, local, report_at, travel

ADDITION = "Ik zag vanavond weer hetzelfde busje bij het restaurant."
NEW_INFO = "Nieuwe informatie van de melder"


def _write_in_thread(r, reference: str, text: str) -> None:  # noqa: ANN001
    root = reporter_root(r, reference)
    r.driver.message(REPORTER, r.fake.dm_channel_for(REPORTER), text, thread_ts=root["ts"])


def _thread_message(r, reference: str, needle: str) -> dict[str, Any]:  # noqa: ANN001
    return r.fake.wait_for(lambda: next((m for m in thread_of(r, case_card(r, reference))[1:]
                                         if needle in text_of(m)), None))


def test_the_reporters_addition_mentions_the_af_who_claimed_it_without_content_in_the_preview(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF, reference, "claim")
    settle(r)
    assert NEW_INFO not in text_of(case_card(r, reference))
    _write_in_thread(r, reference, ADDITION)
    wait_in(r, lambda: ephemeral_texts(r, REPORTER), "Doorgestuurd naar de aandachtsfunctionaris")
    message = _thread_message(r, reference, ADDITION)
    assert message["text"].startswith(f"<@{AF}> {NEW_INFO} over signaal {reference}")
    assert ADDITION not in message["text"] and f"<@{BACKUP}>" not in message["text"]  # the push preview
    wait_in(r, lambda: text_of(case_card(r, reference)), NEW_INFO)

    # The AF acts (an internal note): the card no longer says so.
    act(r, AF, reference, "note", {"text": "Gezien, neem ik mee in het overleg."})
    r.fake.wait_for(lambda: NEW_INFO not in text_of(case_card(r, reference)))


def test_an_answer_on_an_unclaimed_case_mentions_the_afs_and_the_vervanger(running) -> None:
    r = running
    reference = report(r)
    settle(r)
    _write_in_thread(r, reference, ADDITION)
    message = _thread_message(r, reference, ADDITION)
    assert message["text"].startswith(f"<@{AF}> <@{BACKUP}> {NEW_INFO}")
    assert ADDITION not in message["text"]
    wait_in(r, lambda: text_of(case_card(r, reference)), NEW_INFO)

    # The vervanger saw it: "Gezien" clears the line, and does not take the case from the AF.
    r.driver.click(BACKUP, case_card(r, reference), "case:seen")
    r.fake.wait_for(lambda: NEW_INFO not in text_of(case_card(r, reference)))
    assert "case:seen" not in text_of(case_card(r, reference))
    row = signal_row(r, reference)
    assert row.claimed_by is None and row.status == "new"


def test_a_question_reaches_the_reporter_and_their_signal_shows_it_waits_until_answered(running) -> None:
    r = running
    reference = report(r)
    question = "Welke dag van de week zie je het busje meestal?"
    act(r, AF, reference, "ask_info", {"text": question})
    dm = r.fake.messages_in(r.fake.dm_channel_for(REPORTER))
    notice = r.fake.wait_for(lambda: next((m for m in r.fake.messages_in(r.fake.dm_channel_for(REPORTER))
                                           if not m.get("thread_ts") and "heeft een vraag over je signaal"
                                           in text_of(m)), None))
    assert reference in text_of(notice) and question not in text_of(notice)  # a top-level DM: it notifies
    assert dm is not None
    wait_in(r, lambda: text_of(reporter_root(r, reference)), "heeft je een vraag gesteld")

    # Answered in the thread: the root no longer says a question waits; the AF is mentioned.
    _write_in_thread(r, reference, "Meestal op dinsdag.")
    message = _thread_message(r, reference, "Meestal op dinsdag.")
    assert message["text"].startswith(f"<@{AF}> {NEW_INFO}")  # asking claimed the case
    r.fake.wait_for(lambda: "heeft je een vraag gesteld" not in text_of(reporter_root(r, reference)))


def test_an_addition_after_closing_tells_the_reporter_and_offers_the_af_to_reopen(running) -> None:
    r = running
    reference = report(r, answers={"feedback": "no"})
    act(r, AF, reference, "conclude", {"conclusion": "geen", "rationale": "Geen aanwijzingen."})
    act(r, AF, reference, "close", {})
    r.fake.wait_for(lambda: signal_row(r, reference).status == "closed")
    settle(r)
    _write_in_thread(r, reference, ADDITION)
    told = wait_in(r, lambda: ephemeral_texts(r, REPORTER), "Dit signaal is afgesloten")
    assert "doorgegeven aan de aandachtsfunctionaris" in told
    message = _thread_message(r, reference, ADDITION)
    assert message["text"].startswith(f"<@{AF}> {NEW_INFO}") and ADDITION not in message["text"]
    assert "case:reopen" in text_of(message)
    card = wait_in(r, lambda: text_of(case_card(r, reference)), NEW_INFO)
    assert ADDITION not in card  # the closed card stays a summary

    r.driver.click(AF, message, "case:reopen")
    r.fake.wait_for(lambda: signal_row(r, reference).status == "in_progress")
    wait_in(r, lambda: case_thread(r, reference), "heeft het signaal heropend")


def test_claiming_twice_is_said_to_you_and_a_colleague_hears_who_has_it(running) -> None:
    r = running
    reference = report(r)
    card = case_card(r, reference)
    click_case(r, AF, reference, "claim")
    r.fake.wait_for(lambda: signal_row(r, reference).claimed_by == AF)
    sid = str(signal_id(r, reference))
    forge_click(r, AF, card, "case:claim", sid)  # a double click on the old card
    wait_in(r, lambda: ephemeral_texts(r, AF), "Je hebt dit signaal al opgepakt.")
    assert "behandelt dit signaal al" not in ephemeral_texts(r, AF)
    forge_click(r, BACKUP, card, "case:claim", sid)
    wait_in(r, lambda: ephemeral_texts(r, BACKUP), f"<@{AF}> behandelt dit signaal al.")


def test_a_passed_deadline_shows_te_laat_on_the_card(running) -> None:
    r = running
    monday = local(2027, 4, 5, 10, 0)
    reference = report_at(r, monday)
    card = text_of(card_of(r, reference))
    assert "Volgende:" in card and "Te laat" not in card
    travel(r, local(2027, 4, 6, 10, 30))  # the claim reminder went out: a working day has passed
    # The sweep that sends the reminder redraws the card: nothing else needs to happen on the case.
    card = wait_in(r, lambda: text_of(card_of(r, reference)), "Te laat")
    assert "signaal oppakken (termijn: " in card


def test_routing_to_the_zoco_reads_well_in_dutch(running) -> None:
    r = running
    reference = report(r, answers={"form": "AU"})
    act(r, AF, reference, "consult", {"partners": ["zoco"], "text": "Herken jij dit?"})
    thread = wait_in(r, lambda: case_thread(r, reference), "vroeg advies bij: Zorgcoördinator")
    assert " op vandaag" not in thread
    click_case(r, AF, reference, "route")
    view = modal_of(r, AF, "case_modal:route")
    submit(r, AF, view, {"partners": ["zoco"]})
    wait_in(r, lambda: case_thread(r, reference), "doorgezet naar: Zorgcoördinator")
