"""Issue 14, point 1: acute, honestly and fast. On "acuut = ja" the reporter sees at once whom to call
(112, the police's 0900-8844) and **Nu versturen**, which sends the signal right away with the answers
so far; nothing promises an alert before it is sent. The remaining questions can still be answered
in the same thread, and each answer updates the stored signal and the AF's case card.

Through the bot's real HTTP endpoint with signed requests; what the bot sends is read from the fake Slack."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from models import CaseEvent, Signal
from tests.helpers import (
    CASES_CHANNEL,
    DEFAULT_ANSWERS,
    REPORTER,
    answer,
    case_card,
    open_question,
    root_message,
    signal_status,
    thread_of,
    thread_texts,
    wait_question,
    wait_summary,
)

BEFORE_ACUTE = ["municipality", "form", "signals"]
AFTER_ACUTE = ["minor", "sector", "source", "description", "location", "feedback"]


def stored(r, reference: str) -> Signal:
    with Session(r.core.engine) as session:
        return session.exec(select(Signal).where(Signal.reference == reference)).one()


def reference_of(r) -> str:
    return root_message(r)["blocks"][0]["text"]["text"].split()[-1]


def answer_until_acute(r, answers: dict[str, Any] | None = None) -> dict[str, Any]:
    """/signaal, the questions before 'acute', and "Ja": returns the acute notice with Nu versturen."""
    answers = {**DEFAULT_ANSWERS, **(answers or {})}
    r.driver.slash(REPORTER)
    for key in BEFORE_ACUTE:
        answer(r, REPORTER, key, answers[key])
    answer(r, REPORTER, "acute", "yes")
    wait_question(r, REPORTER, "minor")
    return r.fake.wait_for(lambda: send_now_message(r))


def send_now_message(r) -> dict[str, Any] | None:
    for msg in thread_of(r, root_message(r)):
        for block in msg.get("blocks") or []:
            if block.get("type") == "actions" and any(
                    e.get("action_id") == "triage:send_now" for e in block.get("elements", [])):
                return msg
    return None


def cards_in_channel(r, reference: str) -> list[dict[str, Any]]:
    return [m for m in r.fake.messages_in(CASES_CHANNEL) if reference in str(m.get("blocks"))
            and (not m.get("thread_ts") or m.get("thread_ts") == m.get("ts"))]


def test_acute_yes_shows_112_the_police_number_and_send_now_and_promises_no_alert(running) -> None:
    r = running
    notice = answer_until_acute(r)
    text = str(notice["blocks"])
    assert "112" in text
    assert "Kan het niet wachten en is de aandachtsfunctionaris niet direct bereikbaar? Bel de politie: 0900-8844" \
        in text
    button = next(e for b in notice["blocks"] if b.get("type") == "actions" for e in b["elements"])
    assert button["text"]["text"] == "Nu versturen"
    # Nothing was sent yet, and nothing says it was.
    reference = reference_of(r)
    assert signal_status(r, reference) == "draft"
    assert not cards_in_channel(r, reference)
    thread = thread_texts(r, root_message(r))
    for promise in ("meteen bericht", "krijgt meteen", "alerted"):
        assert promise not in thread


def test_send_now_sends_at_once_and_the_later_answers_update_the_case(running) -> None:
    r = running
    notice = answer_until_acute(r)
    reference = reference_of(r)
    assert r.driver.click(REPORTER, notice, "triage:send_now").status == 200

    # The AF gets the acute case card as for any sent signal, with the answers so far.
    card = case_card(r, reference)
    assert "ACUUT" in card["text"] and "ACUUT" in card["blocks"][0]["text"]["text"]
    assert "Arbeidsuitbuiting" in str(card["blocks"])
    assert "vult de overige vragen nog in" in str(card["blocks"])
    signal = stored(r, reference)
    assert signal.status == "new" and signal.acute is True and signal.submitted_at is not None
    assert signal.minor is False and signal.sector is None and signal.description is None
    with Session(r.core.engine) as session:
        submitted = session.exec(select(CaseEvent).where(CaseEvent.signal_id == signal.id)).one()
        assert submitted.kind == "submitted" and submitted.data["early"] is True

    # The reporter: the notice says it was sent, a true receipt, and the open question asked again below it.
    root = root_message(r)
    r.fake.wait_for(lambda: "Verstuurd naar de aandachtsfunctionaris op" in str(
        r.fake.locate(notice["ts"])[1]["blocks"]))
    assert not send_now_message(r)
    r.fake.wait_for(lambda: "met je antwoorden tot nu toe" in thread_texts(r, root))
    thread = thread_texts(r, root)
    assert "beantwoord de overige vragen hieronder" in thread.lower()
    key, question = open_question(r, REPORTER)
    receipt_at = next(i for i, m in enumerate(thread_of(r, root)) if "met je antwoorden tot nu toe" in str(m))
    assert key == "minor"
    assert [m["ts"] for m in thread_of(r, root)].index(question["ts"]) > receipt_at

    # Each later answer updates the stored signal and the AF's card.
    answer(r, REPORTER, "minor", "yes")
    r.fake.wait_for(lambda: stored(r, reference).minor is True)
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0, timeout=10)
    thread = thread_texts(r, root)
    assert thread.count("(hieronder opnieuw gevraagd)") == 1 and thread.count("✅ *Is er een minderjarige") == 1
    r.fake.wait_for(lambda: "Veilig Thuis" in str(case_card(r, reference)["blocks"]))
    answer(r, REPORTER, "sector", "horeca")
    r.fake.wait_for(lambda: stored(r, reference).sector == "horeca")
    r.fake.wait_for(lambda: "Horeca" in str(case_card(r, reference)["blocks"]))
    answer(r, REPORTER, "source", "balie")
    answer(r, REPORTER, "description", DEFAULT_ANSWERS["description"])
    r.fake.wait_for(lambda: "Twee mannen slapen" in str(case_card(r, reference)["blocks"]))
    answer(r, REPORTER, "location", "")
    answer(r, REPORTER, "feedback", "no")

    # All answered: a thank-you with the complete answers; the case is no longer waiting for answers.
    r.fake.wait_for(lambda: "al je antwoorden zijn toegevoegd" in thread_texts(r, root).lower())
    signal = stored(r, reference)
    assert signal.current_question is None and signal.wants_feedback is False
    assert signal.status == "new" and len(cards_in_channel(r, reference)) == 1  # one card, updated
    r.fake.wait_for(lambda: "vult de overige vragen nog in" not in str(case_card(r, reference)["blocks"]))
    r.fake.wait_for(lambda: open_question(r, REPORTER) is None)
    # Never a summary with Versturen: the signal was sent already.
    assert "triage:submit" not in thread_texts(r, root)


def test_after_send_now_a_thread_reply_answers_the_open_text_question(running) -> None:
    r = running
    notice = answer_until_acute(r)
    reference = reference_of(r)
    r.driver.click(REPORTER, notice, "triage:send_now")
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    for key in ["minor", "sector", "source"]:
        answer(r, REPORTER, key, DEFAULT_ANSWERS[key])
    wait_question(r, REPORTER, "description")
    root = root_message(r)
    r.driver.message(REPORTER, r.fake.locate(root["ts"])[0], "Een jongen slaapt in het magazijn",
                     thread_ts=root["ts"])
    wait_question(r, REPORTER, "location")
    assert stored(r, reference).description == "Een jongen slaapt in het magazijn"
    r.fake.wait_for(lambda: "slaapt in het magazijn" in str(case_card(r, reference)["blocks"]))


def test_sending_normally_after_acute_yes_also_retires_the_send_now_button(running) -> None:
    r = running
    notice = answer_until_acute(r)
    for key in AFTER_ACUTE:
        answer(r, REPORTER, key, DEFAULT_ANSWERS[key])
    reference = reference_of(r)
    r.driver.click(REPORTER, wait_summary(r, REPORTER), "triage:submit")
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    r.fake.wait_for(lambda: send_now_message(r) is None)
    sent_line = str(r.fake.locate(notice["ts"])[1]["blocks"])
    assert "Verstuurd naar de aandachtsfunctionaris op" in sent_line
    # "op {when}" is always a date: Slack's pretty format would read "op vandaag" (issue 14, point 13).
    assert "^{date_short} {time}|" in sent_line and "pretty" not in sent_line
    # A late click on an old copy of the button changes nothing and says why.
    assert r.driver.click(REPORTER, notice, "triage:send_now", stale=True).status == 200
    r.fake.wait_for(lambda: any("al verstuurd" in (e.get("text") or "") for e in r.fake.ephemerals_for(REPORTER)))
    assert len(cards_in_channel(r, reference)) == 1


def test_send_now_never_leaves_the_municipality_open(running) -> None:
    """Wijzigen on the municipality asks it again; Nu versturen then waits for that answer, so a sent
    case can never move to another municipality afterwards."""
    r = running
    notice = answer_until_acute(r)
    for key in AFTER_ACUTE:
        answer(r, REPORTER, key, DEFAULT_ANSWERS[key])
    r.driver.click(REPORTER, wait_summary(r, REPORTER), "triage:edit", selected="municipality")
    wait_question(r, REPORTER, "municipality")
    r.driver.click(REPORTER, notice, "triage:send_now")
    r.fake.wait_for(lambda: any("Deze vraag is verplicht" in (e.get("text") or "")
                                for e in r.fake.ephemerals_for(REPORTER)))
    reference = reference_of(r)
    assert signal_status(r, reference) == "draft" and not cards_in_channel(r, reference)
    answer(r, REPORTER, "municipality", "Breda")
    r.fake.wait_for(lambda: send_now_message(r))
    r.driver.click(REPORTER, r.fake.locate(notice["ts"])[1], "triage:send_now")  # now at the summary: sent
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    case_card(r, reference)
    assert stored(r, reference).current_question is None


def test_after_send_now_a_reply_beside_a_button_question_reaches_the_af_as_added_information(running) -> None:
    r = running
    notice = answer_until_acute(r)
    reference = reference_of(r)
    r.driver.click(REPORTER, notice, "triage:send_now")
    card = case_card(r, reference)
    wait_question(r, REPORTER, "minor")
    root = root_message(r)
    r.driver.message(REPORTER, r.fake.locate(root["ts"])[0], "Ze zijn nu in het pand aan de Haven",
                     thread_ts=root["ts"])
    r.fake.wait_for(lambda: "in het pand aan de Haven" in str(thread_of(r, card)))
    assert open_question(r, REPORTER)[0] == "minor"  # the question stays open for its buttons
