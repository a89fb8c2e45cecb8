"""The reporting loop end to end: /signaal → triage in the reporter's DM thread → stored → AF pinged.

Everything goes through the bot's real HTTP endpoint with signed requests; what the bot sends is
read back from the fake Slack."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from models import CaseEvent, Signal
from tests.helpers import (
    AF,
    AF_OTHER,
    CASES_CHANNEL,
    DEFAULT_ANSWERS,
    REPORTER,
    answer,
    case_card,
    open_question,
    report,
    root_message,
    signal_status,
    thread_texts,
    wait_question,
    wait_summary,
)
from tests.training_helpers import open_modal
from tests.training_helpers import submit as submit_modal


def stored(r, reference: str) -> Signal:
    with Session(r.core.engine) as session:
        return session.exec(select(Signal).where(Signal.reference == reference)).one()


def test_the_slash_command_answers_privately_and_without_content(running) -> None:
    r = running
    resp = r.driver.slash(REPORTER, text="iemand slaapt op de werkplek", channel_id=CASES_CHANNEL)
    assert resp.status == 200
    # A plain-text ack is shown only to the user (ephemeral), like Slack does.
    assert "in_channel" not in resp.body
    assert "privébericht" in resp.body
    assert "slaapt" not in resp.body
    root = root_message(r)
    assert root["blocks"][0]["text"]["text"].startswith("Signaal S-")
    assert "slaapt" not in root["text"]


@pytest.mark.parametrize("form", ["SU", "AU", "CU", "OV", "unknown"])
def test_each_form_of_exploitation_reaches_the_af_of_breda(running, form: str) -> None:
    r = running
    reference = report(r, answers={"form": form})
    signal = stored(r, reference)
    assert signal.status == "new"
    assert signal.form == form
    assert signal.questionnaire_version == r.core.questionnaire.version
    card = case_card(r, reference)
    assert card["text"].startswith(f"<@{AF}>")
    assert f"Nieuw signaal {reference}" in card["text"]
    # The push preview carries no content; the card itself has everything the AF needs.
    for secret in ("Twee mannen", "Restaurant", "Horeca", "Arbeidsuitbuiting"):
        assert secret not in card["text"]
    blocks = str(card["blocks"])
    for fact in ("Twee mannen slapen", "Restaurant aan de Haven", "Horeca", "Aan de balie", f"<@{REPORTER}>"):
        assert fact in blocks
    with Session(r.core.engine) as session:
        assert session.exec(select(CaseEvent).where(CaseEvent.signal_id == signal.id)).first().kind == "submitted"
    r.fake.wait_for(lambda: "is verstuurd" in thread_texts(r, root_message(r)))


def test_an_acute_signal_tells_the_reporter_to_call_112_and_is_flagged_for_the_af(running) -> None:
    r = running
    reference = report(r, answers={"acute": "yes"})
    root = root_message(r)
    texts = thread_texts(r, root)
    assert "112" in texts
    card = case_card(r, reference)
    assert "ACUUT" in card["text"]
    assert "ACUUT" in card["blocks"][0]["text"]["text"]
    assert stored(r, reference).acute is True


def test_a_minor_involved_gives_the_meldcode_hint_to_reporter_and_af(running) -> None:
    r = running
    reference = report(r, answers={"minor": "yes"})
    assert "Veilig Thuis" in thread_texts(r, root_message(r))
    assert "Veilig Thuis" in str(case_card(r, reference)["blocks"])
    assert stored(r, reference).minor is True


def test_without_a_private_channel_the_af_is_pinged_by_dm(running) -> None:
    r = running
    reference = report(r, answers={"municipality": "Etten-Leur"})
    card = case_card(r, reference, channel=r.fake.dm_channel_for(AF_OTHER))
    assert card["text"].startswith(f"<@{AF_OTHER}>")


def _new_reference(r) -> str:
    return root_message(r)["blocks"][0]["text"]["text"].split()[-1]


def test_network_membership_never_redirects_a_reporters_signals(running) -> None:
    """Issue 13: the AF of Breda adds a colleague from Etten-Leur to the network under Breda. Her next
    signal still goes where she chooses: the question is asked again, pre-filled with her last choice,
    and the summary shows it."""
    r = running
    first = report(r, answers={"municipality": "Etten-Leur"})
    case_card(r, first, channel=r.fake.dm_channel_for(AF_OTHER))
    view = open_modal(r, AF, "netwerk")
    assert submit_modal(r, AF, view, {"member": {"value": REPORTER}, "role": {"value": "trained"},
                                      "municipality": {"value": "Breda"}}) == {}

    r.driver.slash(REPORTER)
    question = wait_question(r, REPORTER, "municipality")
    assert _new_reference(r) != first
    prefill = next(e for b in question["blocks"] if b.get("type") == "actions" for e in b["elements"]
                   if e.get("style") == "primary")
    assert prefill["text"]["text"] == "Etten-Leur"
    assert r.driver.click(REPORTER, question, prefill["action_id"]).status == 200
    for key in ["form", "signals", "acute", "minor", "sector", "source", "description", "location", "feedback"]:
        answer(r, REPORTER, key, DEFAULT_ANSWERS[key])
    summary = wait_summary(r, REPORTER)
    assert "Etten-Leur" in str(summary["blocks"])
    reference = _new_reference(r)
    r.driver.click(REPORTER, summary, "triage:submit")
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    case_card(r, reference, channel=r.fake.dm_channel_for(AF_OTHER))
    assert not [m for m in r.fake.messages_in(CASES_CHANNEL) if reference in str(m)]


def test_the_municipality_is_in_every_summary_and_can_be_changed_there(running) -> None:
    r = running
    report(r)  # her first signal, for Breda; the next one is for another municipality
    report(r, answers={"municipality": "Etten-Leur"}, send=False)
    summary = wait_summary(r, REPORTER)
    assert "Etten-Leur" in str(summary["blocks"])
    edit = next(e for b in summary["blocks"] if b.get("type") == "actions" for e in b["elements"]
                if e.get("action_id") == "triage:edit")
    assert "municipality" in [o["value"] for o in edit["options"]]
    r.driver.click(REPORTER, summary, "triage:edit", selected="municipality")
    answer(r, REPORTER, "municipality", "Breda")

    def new_summary() -> dict | None:
        latest = wait_summary(r, REPORTER)
        return latest if "Breda" in str(latest["blocks"]) else None

    summary = r.fake.wait_for(new_summary)
    reference = _new_reference(r)
    r.driver.click(REPORTER, summary, "triage:submit")
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    case_card(r, reference)  # in Breda's case channel
    assert not [m for m in r.fake.messages_in(r.fake.dm_channel_for(AF_OTHER)) if reference in str(m)]


def test_slash_with_text_prefills_the_description(running) -> None:
    r = running
    reference = report(r, text="Vrouw zonder paspoort werkt in een nagelsalon")
    assert stored(r, reference).description == "Vrouw zonder paspoort werkt in een nagelsalon"
    assert "nagelsalon" in str(case_card(r, reference)["blocks"])


def test_the_reporter_can_change_an_answer_before_sending(running) -> None:
    r = running
    report(r, send=False)
    summary = wait_summary(r, REPORTER)
    r.driver.click(REPORTER, summary, "triage:edit", selected="sector")
    answer(r, REPORTER, "sector", "bouw")
    # A new summary follows; the old one is marked as being changed (its update may come later).
    def new_summary() -> dict | None:
        latest = wait_summary(r, REPORTER)
        return latest if "Bouw" in str(latest["blocks"]) else None

    summary = r.fake.wait_for(new_summary)
    r.driver.click(REPORTER, summary, "triage:submit")
    reference = root_message(r)["blocks"][0]["text"]["text"].split()[-1]
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    assert stored(r, reference).sector == "bouw"


def test_cancelling_sends_nothing_and_forgets_the_text(running) -> None:
    r = running
    report(r, send=False)
    summary = wait_summary(r, REPORTER)
    r.driver.click(REPORTER, summary, "triage:cancel")
    root = root_message(r)
    reference = root["blocks"][0]["text"]["text"].split()[-1]
    r.fake.wait_for(lambda: signal_status(r, reference) == "cancelled")
    r.fake.wait_for(lambda: "geannuleerd" in thread_texts(r, root))
    signal = stored(r, reference)
    assert signal.status == "cancelled" and signal.description is None
    assert not [m for m in r.fake.messages_in(CASES_CHANNEL) if reference in str(m.get("blocks"))]


def _settled_thread(r) -> str:
    """The reporter's signal thread once every queued message and update was delivered."""
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0, timeout=10)
    return thread_texts(r, root_message(r))


DESCRIPTION_BIT = "slapen in de keuken"  # from DEFAULT_ANSWERS["description"]
LOCATION_BIT = "Restaurant aan de Haven"


def test_after_an_edit_typed_text_shows_only_in_the_newest_summary(running) -> None:
    r = running
    report(r, send=False)
    summary = wait_summary(r, REPORTER)
    r.driver.click(REPORTER, summary, "triage:edit", selected="description")
    answer(r, REPORTER, "description", "Een vrouw werkt zonder contract in de wasserette.")
    r.fake.wait_for(lambda: "wasserette" in str(wait_summary(r, REPORTER)["blocks"]))
    thread = _settled_thread(r)
    assert DESCRIPTION_BIT not in thread, "the replaced description stays in an earlier message"
    # Changing another answer leaves the text in the newest summary only (and the question just asked).
    r.driver.click(REPORTER, wait_summary(r, REPORTER), "triage:edit", selected="sector")
    answer(r, REPORTER, "sector", "bouw")
    r.fake.wait_for(lambda: "Bouw" in str(wait_summary(r, REPORTER)["blocks"]))
    thread = _settled_thread(r)
    assert thread.count("wasserette") == 1 and thread.count(LOCATION_BIT) == 1, thread


def test_cancelling_after_an_edit_leaves_no_typed_text_in_any_earlier_message(running) -> None:
    r = running
    report(r, send=False)
    r.driver.click(REPORTER, wait_summary(r, REPORTER), "triage:edit", selected="location")
    answer(r, REPORTER, "location", "Wasserette op de hoek")
    r.fake.wait_for(lambda: "Wasserette op de hoek" in str(wait_summary(r, REPORTER)["blocks"]))
    r.driver.click(REPORTER, wait_summary(r, REPORTER), "triage:cancel")
    reference = _new_reference(r)
    r.fake.wait_for(lambda: signal_status(r, reference) == "cancelled")
    thread = _settled_thread(r)
    for typed in (DESCRIPTION_BIT, LOCATION_BIT, "Wasserette op de hoek"):
        assert typed not in thread, typed
    assert "geannuleerd" in thread


def test_typing_in_the_thread_of_a_cancelled_signal_says_it_was_cancelled(running) -> None:
    r = running
    report(r, send=False)
    r.driver.click(REPORTER, wait_summary(r, REPORTER), "triage:cancel")
    root = root_message(r)
    reference = root["blocks"][0]["text"]["text"].split()[-1]
    r.fake.wait_for(lambda: signal_status(r, reference) == "cancelled")
    r.driver.message(REPORTER, r.fake.locate(root["ts"])[0], "Nog iets vergeten", thread_ts=root["ts"])
    r.fake.wait_for(lambda: any("geannuleerd" in (e.get("text") or "") for e in r.fake.ephemerals_for(REPORTER)))


def test_feedback_wish_is_stored(running) -> None:
    r = running
    reference = report(r, answers={"feedback": "no"})
    assert stored(r, reference).wants_feedback is False


def test_status_lists_only_the_reporters_own_signals(running) -> None:
    r = running
    mine = report(r)
    theirs = report(r, user="U0REP00002", answers={"municipality": "Etten-Leur"})
    resp = r.driver.slash(REPORTER, text="status")
    text = resp.body
    assert mine in text and theirs not in text


def test_help_explains_the_bot_and_shows_emergency_numbers(running) -> None:
    resp = running.driver.slash(REPORTER, text="help")
    text = resp.body
    for number in ("112", "0800-2000", "0900-8844", "0800-5151", "0800-7000"):
        assert number in text


def test_a_description_can_be_typed_as_a_thread_reply(running) -> None:
    r = running
    r.driver.slash(REPORTER)
    for key, value in [("municipality", "Breda"), ("form", "CU"), ("signals", []), ("acute", "no"),
                       ("minor", "unknown"), ("sector", "drugs"), ("source", "huisbezoek")]:
        answer(r, REPORTER, key, value)
    wait_question(r, REPORTER, "description")
    root = root_message(r)
    r.driver.message(REPORTER, root["channel"] if "channel" in root else r.fake.locate(root["ts"])[0],
                     "Jongen van 15 haalt pakketjes op bij het station", thread_ts=root["ts"])
    wait_question(r, REPORTER, "location")


def test_a_too_long_description_is_refused_in_the_modal_and_kept(running) -> None:
    r = running
    r.driver.slash(REPORTER)
    for key, value in [("municipality", "Breda"), ("form", "SU"), ("signals", ["freedom"]), ("acute", "no"),
                       ("minor", "no"), ("sector", "sekswerk"), ("source", "controle")]:
        answer(r, REPORTER, key, value)
    msg = wait_question(r, REPORTER, "description")
    r.driver.click(REPORTER, msg, "triage:text")
    view = r.fake.wait_for(lambda: (r.fake.views_for(REPORTER) or [None])[-1])
    long_text = "x" * 3001
    resp = r.driver.submit_view(REPORTER, view["id"], r.driver.fill(view, {"value": long_text}))
    body = resp.json()
    assert body["response_action"] == "errors"
    assert "3001" in body["errors"]["answer"] and "3000" in body["errors"]["answer"]
    # The modal stays open with what was typed; nothing was stored.
    still_open = r.fake.views_for(REPORTER)[-1]
    assert still_open["id"] == view["id"]
    assert still_open["state"]["values"]["answer"]["value"]["value"] == long_text
    assert open_question(r, REPORTER)[0] == "description"


def test_the_loop_works_over_http_and_over_socket_mode(running_both_transports) -> None:
    """Over HTTP (signed requests) and over Socket Mode (envelopes, acks checked within 3 s)."""
    r = running_both_transports
    reference = report(r)
    card = case_card(r, reference)
    assert f"<@{AF}>" in card["text"] and "Twee mannen" not in card["text"]
    root = root_message(r, REPORTER)
    r.fake.wait_for(lambda: "is verstuurd" in thread_texts(r, root))
    if r.driver.transport == "socket":
        acks = r.fake.calls_to("socket_mode_ack")
        assert acks and all(call.ok for call in acks), [call.error for call in acks if not call.ok]
