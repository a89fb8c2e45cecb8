"""Issue 14, points 5 and 6: report from any message (the message shortcut **Meld als signaal**, and a
global shortcut), and text is never thrown away (an over-long `/signaal <tekst>` or message text stays
in the draft; the description step shows the limit and the count, its modal pre-filled).

Through the bot's real HTTP endpoint with signed requests; what the bot sends is read from the fake Slack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from bot.slack.reporting import FROM_MESSAGE, START
from models import AuditEntry, CaseEvent, InboxItem, MessageRef, Signal
from tests.helpers import (
    COLLEAGUE,
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

GENERAL = "C0ALGEMEEN"
MANIFEST = Path(__file__).resolve().parent.parent / "slack-app-manifest.yaml"
LONG = ("In de loods aan de Haven slapen zes mannen op matrassen tussen de pallets. " * 70).strip()  # > 3000


def stored(r, reference: str) -> Signal:
    with Session(r.core.engine) as session:
        return session.exec(select(Signal).where(Signal.reference == reference)).one()


def reference_of(r) -> str:
    return root_message(r)["blocks"][0]["text"]["text"].split()[-1]


def colleague_posts(r, text: str) -> dict[str, Any]:
    r.fake.add_channel("algemeen", channel_id=GENERAL, is_private=False, members=[REPORTER, COLLEAGUE])
    r.driver.message(COLLEAGUE, GENERAL, text)
    return next(m for m in r.fake.messages_in(GENERAL) if m.get("text") == text)


def test_the_manifest_offers_both_shortcuts_under_the_ids_the_bot_listens_to() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert shortcuts[FROM_MESSAGE]["type"] == "message" and shortcuts[FROM_MESSAGE]["name"] == "Meld als signaal"
    assert shortcuts[START]["type"] == "global"
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]  # shortcuts need it
    for s in shortcuts.values():
        assert len(s["name"]) <= 24 and len(s["description"]) <= 150


def test_meld_als_signaal_starts_a_signal_with_the_message_text_as_description(running) -> None:
    r = running
    original = colleague_posts(r, "Bij de nagelsalon op de Markt werkt een meisje van ongeveer 15 tot 's nachts & "
                                  "slaapt daar <denk ik>.")
    resp = r.driver.message_shortcut(REPORTER, original, FROM_MESSAGE)
    assert resp.status == 200 and not resp.body.strip()  # acked at once, the work after the ack

    # A new signal in the reporter's DM, its description already filled in: the description is not asked.
    first = r.fake.wait_for(lambda: open_question(r, REPORTER))
    assert first[0] == "municipality"
    reference = reference_of(r)
    signal = stored(r, reference)
    assert signal.description == ("Bij de nagelsalon op de Markt werkt een meisje van ongeveer 15 tot 's nachts & "
                                  "slaapt daar <denk ik>.")
    assert signal.answers.get("description") == "provided"
    # The reporter is reminded that the original stays, and told privately in the channel where to go on.
    root = root_message(r)
    r.fake.wait_for(lambda: "uit het kanaal halen" in thread_texts(r, root))
    r.fake.wait_for(lambda: any("privébericht" in (e.get("text") or "")
                                for e in r.fake.ephemerals_for(REPORTER, GENERAL)))
    # The original message stays where it is, untouched; nobody else in the channel sees anything.
    assert [m["text"] for m in r.fake.messages_in(GENERAL)] == [original["text"]]
    assert not r.fake.ephemerals_for(COLLEAGUE)

    # Nothing of the original message is stored beyond its text: not its channel, author or time.
    with Session(r.core.engine) as session:
        rows = [str(signal.answers), *(str(a.data) + str(a.subject) for a in session.exec(select(AuditEntry)))]
        rows += [str(m.ref) + str(m.conversation) + str(m.recipient) for m in session.exec(select(MessageRef))]
        rows += [str(e.data) for e in session.exec(select(CaseEvent))]
        assert session.exec(select(InboxItem)).first() is not None  # the after-ack work went through the inbox
    for trace in (GENERAL, original["ts"], COLLEAGUE):
        assert not [row for row in rows if trace in row], trace

    # The rest of the triage as usual; the AF gets the text as the description.
    for key in ["municipality", "form", "signals", "acute", "minor", "sector", "source", "location", "feedback"]:
        answer(r, REPORTER, key, DEFAULT_ANSWERS[key])
    summary = wait_summary(r, REPORTER)
    r.driver.click(REPORTER, summary, "triage:submit")
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    assert "nagelsalon op de Markt" in str(case_card(r, reference)["blocks"])


def test_the_global_shortcut_starts_a_signal(running_both_transports) -> None:
    r = running_both_transports
    resp = r.driver.global_shortcut(REPORTER, START)
    assert resp.status == 200 and not resp.body.strip()
    wait_question(r, REPORTER, "municipality")
    reference = reference_of(r)
    assert signal_status(r, reference) == "draft" and stored(r, reference).description is None


def _kept_text_is_offered_to_shorten(r, text: str) -> None:
    """The text is in the draft; the description step comes first and shows the limit and the count; its
    modal opens pre-filled (as far as a Slack input holds) with the whole text shown below; shortened, it
    is kept, and the other questions follow in their order."""
    reference = reference_of(r)
    assert stored(r, reference).description == text  # kept, never thrown away
    question = wait_question(r, REPORTER, "description")
    assert f"{len(text)} tekens" in str(question["blocks"]) and "maximaal 3000" in str(question["blocks"])
    r.driver.click(REPORTER, question, "triage:text")
    view = r.fake.wait_for(lambda: (r.fake.views_for(REPORTER) or [None])[-1])
    prefilled = view["blocks"][0]["element"]["initial_value"]
    assert prefilled == text[:3000]
    shown = "".join(b["text"]["text"] for b in view["blocks"][1:] if b.get("type") == "section")
    assert text[-200:] in shown  # the whole text, its end too
    assert str(len(text)) in str(view["blocks"])
    # Saving it unshortened is refused with the count; the modal keeps what was typed.
    body = r.driver.submit_view(REPORTER, view["id"], r.driver.fill(view, {"value": text})).json()
    assert body["response_action"] == "errors" and str(len(text)) in body["errors"]["answer"]
    shortened = text[:2000]
    assert r.driver.submit_view(REPORTER, view["id"], r.driver.fill(view, {"value": shortened})).status == 200
    wait_question(r, REPORTER, "municipality")
    assert stored(r, reference).description == shortened
    for key in ["municipality", "form", "signals", "acute", "minor", "sector", "source", "location", "feedback"]:
        answer(r, REPORTER, key, DEFAULT_ANSWERS[key])
    summary = wait_summary(r, REPORTER)
    assert "tekens" not in str(summary["blocks"]) and text[:1500] in str(summary["blocks"])
    r.driver.click(REPORTER, summary, "triage:submit")
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    assert stored(r, reference).description == shortened


def test_an_over_long_slash_text_is_kept_and_offered_to_shorten_with_the_limit_and_count(running) -> None:
    r = running
    assert len(LONG) > 3000
    resp = r.driver.slash(REPORTER, text=LONG)
    assert resp.status == 200 and "slapen" not in resp.body
    r.fake.wait_for(lambda: open_question(r, REPORTER))
    _kept_text_is_offered_to_shorten(r, LONG)


def test_an_over_long_message_is_kept_too(running) -> None:
    r = running
    original = colleague_posts(r, LONG)
    r.driver.message_shortcut(REPORTER, original, FROM_MESSAGE)
    r.fake.wait_for(lambda: open_question(r, REPORTER))
    _kept_text_is_offered_to_shorten(r, LONG)


def test_a_short_slash_text_still_prefills_without_a_note(running) -> None:
    r = running
    reference = report(r, text="Vrouw zonder paspoort werkt in een nagelsalon")
    assert stored(r, reference).description == "Vrouw zonder paspoort werkt in een nagelsalon"
    assert "tekens" not in thread_texts(r, root_message(r))
