"""Issue 14, the reporter's side: drafts are never silently lost, a signal can be cancelled at any
point, a typo of a command is a question, a plain DM gets an answer, the privacy notice is true and
a double click on Versturen answers in the second person.

Everything goes through the bot's real HTTP endpoint with signed requests; what the bot sends is
read back from the fake Slack."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import Session, col, select

from models import AuditEntry, InboxItem, Signal
from tests.helpers import (
    CASES_CHANNEL,
    REPORTER,
    answer,
    open_question,
    report,
    root_message,
    signal_status,
    thread_of,
    thread_texts,
    wait_question,
    wait_summary,
)

UNTRUE = ("Alleen jij en de aandachtsfunctionaris", "Only you and the attention officer")
HONEST = ("vervanger", "zonder je naam", "ketenregisseur")


def _reference(r) -> str:
    return root_message(r)["blocks"][0]["text"]["text"].split()[-1]


def _stored(r, reference: str) -> Signal:
    with Session(r.core.engine) as session:
        return session.exec(select(Signal).where(Signal.reference == reference)).one()


def _latest_ephemeral(r, containing: str) -> dict:
    def found() -> dict | None:
        hits = [e for e in r.fake.ephemerals_for(REPORTER) if containing in json.dumps(e, ensure_ascii=False)]
        return hits[-1] if hits else None

    return r.fake.wait_for(found)


def _all_work_done(r) -> bool:
    """Every acknowledged request's after-ack work has run (the durable inbox is empty)."""
    with Session(r.core.engine) as session:
        return session.exec(select(InboxItem).where(col(InboxItem.done_at).is_(None))).first() is None


def _active_actions(msg: dict) -> list[dict]:
    return [e for b in msg.get("blocks") or [] if b.get("type") == "actions" for e in b["elements"]]


def _draft_until_acute(r) -> str:
    r.driver.slash(REPORTER)
    answer(r, REPORTER, "municipality", "Breda")
    answer(r, REPORTER, "form", "AU")
    answer(r, REPORTER, "signals", ["conditions"])
    wait_question(r, REPORTER, "acute")
    return _reference(r)


# -- point 2: /signaal with a draft open ----------------------------------------------------------

def test_signaal_with_a_draft_open_asks_to_continue_and_continuing_asks_the_open_question_again(running) -> None:
    r = running
    first = _draft_until_acute(r)
    resp = r.driver.slash(REPORTER)
    assert resp.status == 200
    choice = _latest_ephemeral(r, "opnieuw beginnen")
    assert first in choice["text"]
    asked_before = wait_question(r, REPORTER, "acute")
    assert r.driver.click(REPORTER, choice, "triage:draft_continue").status == 200

    def asked_again() -> dict | None:
        current = open_question(r, REPORTER)
        return current[1] if current and current[0] == "acute" and current[1]["ts"] != asked_before["ts"] else None

    again = r.fake.wait_for(asked_again)
    assert _reference(r) == first, "no second signal was started"
    # The earlier asking lost its buttons: only the newest one can be answered.
    r.fake.wait_for(lambda: not _active_actions(r.fake.locate(asked_before["ts"])[1]))
    assert _active_actions(again)
    with Session(r.core.engine) as session:
        assert len(session.exec(select(Signal).where(Signal.reporter_id == REPORTER)).all()) == 1
    answer(r, REPORTER, "acute", "no")
    wait_question(r, REPORTER, "minor")


def test_continuing_a_draft_at_its_summary_shows_the_summary_again_and_it_can_be_sent(running) -> None:
    r = running
    reference = report(r, send=False)
    before = wait_summary(r, REPORTER)
    r.driver.slash(REPORTER)
    r.driver.click(REPORTER, _latest_ephemeral(r, "opnieuw beginnen"), "triage:draft_continue")
    again = r.fake.wait_for(lambda: (lambda s: s if s["ts"] != before["ts"] else None)(wait_summary(r, REPORTER)))
    r.fake.wait_for(lambda: "hieronder opnieuw getoond" in str(r.fake.locate(before["ts"])[1]["blocks"]))
    r.driver.click(REPORTER, again, "triage:submit")
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")


def test_starting_anew_cancels_the_open_draft_properly(running) -> None:
    r = running
    first = _draft_until_acute(r)
    r.driver.slash(REPORTER)
    choice = _latest_ephemeral(r, "opnieuw beginnen")
    restart = next(e for e in _active_actions(choice) if e["action_id"] == "triage:draft_restart")
    assert first in restart["confirm"]["text"]["text"], "the confirm dialog names what is cancelled"
    assert r.driver.click(REPORTER, choice, "triage:draft_restart").status == 200
    r.fake.wait_for(lambda: signal_status(r, first) == "cancelled")
    r.fake.wait_for(lambda: _reference(r) != first)
    wait_question(r, REPORTER, "municipality")
    # The old draft is not silently dropped: its thread says it was cancelled, and the purge of
    # abandoned drafts (flows/retention.yaml) takes the rest; what was typed is gone at once.
    old_root = next(m for m in r.fake.messages_in(r.fake.dm_channel_for(REPORTER))
                    if (m.get("blocks") or [{}])[0].get("text", {}).get("text", "").endswith(first))
    r.fake.wait_for(lambda: "geannuleerd" in thread_texts(r, old_root))
    with Session(r.core.engine) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "signal.cancelled",
                                                     AuditEntry.subject == first)).first() is not None


def test_a_description_after_signaal_starts_anew_with_it_and_names_the_open_draft(running) -> None:
    r = running
    first = _draft_until_acute(r)
    text = "Meisje werkt elke nacht in de nagelsalon. " * 60  # also when it is long (2,520 characters)
    resp = r.driver.slash(REPORTER, text=text.strip())
    assert "nagelsalon" not in resp.body
    r.fake.wait_for(lambda: _reference(r) != first)
    assert _stored(r, _reference(r)).description == text.strip()
    dm = r.fake.dm_channel_for(REPORTER)

    def named() -> dict | None:
        return next((m for m in r.fake.messages_in(dm) if not m.get("thread_ts") and "nog niet verstuurd" in
                     (m.get("text") or "") and first in m["text"]), None)

    notice = r.fake.wait_for(named)
    assert "nagelsalon" not in json.dumps(notice)
    assert signal_status(r, first) == "draft"
    r.driver.click(REPORTER, notice, "triage:stop")
    r.fake.wait_for(lambda: signal_status(r, first) == "cancelled")


# -- point 3: cancel at any point -------------------------------------------------------------------

def test_every_question_offers_cancel_with_a_confirm_dialog_and_cancelling_there_sends_nothing(running) -> None:
    r = running
    r.driver.slash(REPORTER)
    for key, value in [("municipality", "Breda"), ("form", "SU"), ("signals", ["freedom"]), ("acute", "no"),
                       ("minor", "no"), ("sector", "sekswerk"), ("source", "controle"),
                       ("description", "Vrouw wordt elke avond opgehaald"), ("location", ""), ("feedback", "yes")]:
        msg = wait_question(r, REPORTER, key)
        cancel = next((e for e in _active_actions(msg) if e.get("action_id") == "triage:stop"), None)
        assert cancel is not None, f"no Cancel under {key}"
        assert cancel["confirm"]["confirm"]["text"] == "Ja, annuleren"
        answer(r, REPORTER, key, value)
    wait_summary(r, REPORTER)
    reference = _reference(r)
    assert signal_status(r, reference) == "draft"

    r.driver.slash(REPORTER)  # a second draft, cancelled halfway with the button
    r.driver.click(REPORTER, _latest_ephemeral(r, "opnieuw beginnen"), "triage:draft_restart")
    r.fake.wait_for(lambda: _reference(r) != reference)
    second = _reference(r)
    answer(r, REPORTER, "municipality", "Breda")
    msg = wait_question(r, REPORTER, "form")
    assert r.driver.click(REPORTER, msg, "triage:stop").status == 200
    r.fake.wait_for(lambda: signal_status(r, second) == "cancelled")
    r.fake.wait_for(lambda: "Geannuleerd" in str(r.fake.locate(msg["ts"])[1]["blocks"]))
    root = root_message(r)
    r.fake.wait_for(lambda: "geannuleerd" in thread_texts(r, root))
    assert _stored(r, second).description is None
    assert not [m for m in r.fake.messages_in(CASES_CHANNEL) if second in str(m)]


def test_a_signal_sent_early_offers_no_cancel_under_its_open_questions(running) -> None:
    """Nu versturen (acute) sent it: what was sent cannot be taken back, so its remaining questions
    have no Annuleren."""
    from tests.test_reporting_acute import answer_until_acute

    r = running
    notice = answer_until_acute(r)
    reference = _reference(r)
    while_draft = wait_question(r, REPORTER, "minor")
    assert [e for e in _active_actions(while_draft) if e.get("action_id") == "triage:stop"]
    r.driver.click(REPORTER, notice, "triage:send_now")
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    msg = r.fake.wait_for(lambda: (lambda m: m if m["ts"] != while_draft["ts"] else None)(
        wait_question(r, REPORTER, "minor")))
    assert _active_actions(msg), "the open question can still be answered"
    assert not [e for e in _active_actions(msg) if e.get("action_id") == "triage:stop"]


def test_the_nudge_of_an_idle_draft_offers_annuleren_there(running) -> None:
    from tests.reminders_support import local, travel
    from tests.test_reminders_drafts import bot_replies, start_draft

    r = running
    reference = start_draft(r, local(2027, 4, 9, 16, 0), "acute")
    travel(r, local(2027, 4, 12, 16, 0))  # a working day later: the idle nudge (bot.core.draft_nudges)
    nudge = r.fake.wait_for(lambda: next((m for m in bot_replies(r, reference)
                                          if "nog niet verstuurd" in json.dumps(m, ensure_ascii=False)), None))
    assert r.driver.click(REPORTER, nudge, "triage:stop").status == 200
    r.fake.wait_for(lambda: signal_status(r, reference) == "cancelled")


def test_typing_stop_in_the_thread_offers_cancel_and_is_never_taken_as_an_answer(running) -> None:
    r = running
    r.driver.slash(REPORTER)
    for key, value in [("municipality", "Breda"), ("form", "CU"), ("signals", []), ("acute", "no"),
                       ("minor", "unknown"), ("sector", "drugs"), ("source", "huisbezoek")]:
        answer(r, REPORTER, key, value)
    wait_question(r, REPORTER, "description")
    root = root_message(r)
    reference = _reference(r)
    channel = r.fake.locate(root["ts"])[0]
    r.driver.message(REPORTER, channel, "annuleren", thread_ts=root["ts"])
    offer = _latest_ephemeral(r, "annuleren")
    assert reference in offer["text"]
    assert _stored(r, reference).description is None, "'annuleren' is not a description"
    assert open_question(r, REPORTER)[0] == "description"
    r.driver.click(REPORTER, offer, "triage:stop")
    r.fake.wait_for(lambda: signal_status(r, reference) == "cancelled")


# -- point 4: unknown words, help, a plain DM ---------------------------------------------------------

def test_a_typo_of_a_command_is_a_question_not_a_signal(running) -> None:
    r = running
    resp = r.driver.slash(REPORTER, text="stauts")
    assert resp.status == 200
    assert "Bedoelde je `status`?" in resp.body
    for command in ("status", "training", "netwerk", "info", "help"):
        assert f"/signaal {command}" in resp.body
    with Session(r.core.engine) as session:
        assert session.exec(select(Signal)).first() is None
    # A single word that is no command's typo is a description as before.
    reference = report(r, text="nagelsalon")
    assert _stored(r, reference).description == "nagelsalon"


def test_help_lists_every_command_how_to_cancel_and_who_sees_what(running) -> None:
    body = running.driver.slash(REPORTER, text="help").body
    for command in ("status", "training", "netwerk", "info", "cijfers", "help"):
        assert f"`/signaal {command}`" in body
    for alias in ("trainingen", "network", "hulp", "figures"):
        assert f"`/signaal {alias}`" not in body, "each command once, by its first name"
    assert "Annuleren" in body and "stop" in body
    for honest in HONEST:
        assert honest in body
    for untrue in UNTRUE:
        assert untrue not in body


def test_a_plain_dm_gets_a_short_answer_once_a_day_without_echoing_it(running) -> None:
    r = running
    dm = r.fake.dm_channel_for(REPORTER)
    r.driver.message(REPORTER, dm, "hallo, ik wil iets melden over mijn buurman")

    def hints() -> list[dict]:
        return [e for e in r.fake.ephemerals_for(REPORTER, dm) if "/signaal" in json.dumps(e)]

    r.fake.wait_for(lambda: hints() or None)
    assert "buurman" not in json.dumps(hints())
    assert not [m for m in r.fake.messages_in(dm) if m.get("bot_id")], "nothing of the bot's stays behind"
    r.driver.message(REPORTER, dm, "hallo?")
    r.fake.wait_for(lambda: _all_work_done(r), timeout=10)
    assert len(hints()) == 1, "once per conversation per day"
    r.core.clock.advance(timedelta(days=1))
    r.driver.message(REPORTER, dm, "hallo?")
    r.fake.wait_for(lambda: len(hints()) == 2 or None)


# -- point 11: an honest privacy notice --------------------------------------------------------------

def test_the_first_message_of_a_signal_says_honestly_who_sees_what(running) -> None:
    r = running
    r.driver.slash(REPORTER)
    root = root_message(r)
    text = json.dumps(root["blocks"], ensure_ascii=False)
    for honest in HONEST:
        assert honest in text
    for untrue in UNTRUE:
        assert untrue not in text
    # The push preview stays content-free.
    assert "vervanger" not in root["text"]


# -- point 13: a double click on Versturen ---------------------------------------------------------

def test_a_second_click_on_send_says_this_signal_was_already_sent(running) -> None:
    r = running
    reference = report(r, send=False)
    summary = wait_summary(r, REPORTER)
    r.driver.click(REPORTER, summary, "triage:submit")

    def receipts() -> list[dict]:
        return [m for m in thread_of(r, root_message(r)) if f"{reference} is verstuurd" in (m.get("text") or "")]

    r.fake.wait_for(lambda: receipts() or None)
    r.driver.click(REPORTER, summary, "triage:submit", stale=True)
    second = _latest_ephemeral(r, "al verstuurd")
    assert second["text"] == "Dit signaal is al verstuurd. Wil je iets toevoegen? Reageer dan in deze thread."
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0, timeout=10)
    assert len(receipts()) == 1
