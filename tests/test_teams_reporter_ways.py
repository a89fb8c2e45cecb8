"""Teams, the reporter's other ways in (issue 17): the message extension "Meld als signaal" on a message
elsewhere opens the triage's dialog at once, the message's text as the signal's description (nothing of
the message stays in the inbox; the signal's first card goes to the reporter's 1:1 chat); the words info, help and
status in the 1:1 chat; a near-miss is a suggestion, not a signal; and a reporter adds information to
a sent signal from the start card, which reaches the AF's case thread. Through the fake Bot Connector."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from bot.teams.edge import message_text
from models import AuditEntry, CaseEvent, InboxItem, Signal
from models.teams import TeamsConversation
from tests.teams_support import (
    ANSWERS,
    CHANNEL,
    REPORTER_AAD,
    REPORTER_CHAT,
    TeamsRun,
    button,
    card_of,
    dialog_of,
    inputs_of,
    texts,
    wait_for,
)
from tests.teams_support import fake_teams as fake_teams  # noqa: F401 - fixtures
from tests.teams_support import teams_run as teams_run  # noqa: F401
from tests.test_teams_cases import action_of, card_id
from tests.test_teams_endpoint import report_in_teams

GROUP_CHAT = "19:overleg-balie-team@thread.v2"
MESSAGE_HTML = ("<p>Bij de balie vertelde een vrouw dat ze &amp; haar zus <b>geen paspoort</b> meer hebben;"
                "<br>de werkgever &quot;bewaart&quot; ze.</p><p>Ze wonen boven de zaak &lt;Havenstraat&gt;.</p>")
MESSAGE_TEXT = ("Bij de balie vertelde een vrouw dat ze & haar zus geen paspoort meer hebben;\n"
                "de werkgever \"bewaart\" ze.\n\nZe wonen boven de zaak <Havenstraat>.")
ADDITION = "Ze zei er later nog bij dat de werkgever ook haar loon inhoudt."


def from_message(run: TeamsRun, html: str, *, command: str = "signal_from_message") -> Any:
    """… → Meld als signaal on a message in a group chat, as Teams sends it (a fetchTask invoke)."""
    value = {"commandId": command, "commandContext": "message", "context": {"theme": "default"},
             "messagePayload": {"id": "1701000000000", "messageType": "message", "importance": "normal",
                                "createdDateTime": "2026-12-01T09:58:00Z", "locale": "nl-NL",
                                "from": {"user": {"id": "someone-else", "displayName": "Collega Bart"}},
                                "body": {"contentType": "html", "content": html}, "attachments": [], "mentions": []}}
    return run.send(run.activity("invoke", name="composeExtension/fetchTask", value=value,
                                 conversation=GROUP_CHAT, conversation_type="groupChat"))


def say(run: TeamsRun, text: str) -> None:
    assert run.send(run.activity("message", text=text)).status_code == 200


def _inbox(run: TeamsRun) -> list[InboxItem]:
    with Session(run.bot.core.engine) as session:
        return list(session.exec(select(InboxItem)).all())


def test_a_messages_html_becomes_the_text_a_person_reads() -> None:
    assert message_text({"body": {"contentType": "html", "content": MESSAGE_HTML}}) == MESSAGE_TEXT
    assert message_text({"body": {"contentType": "text", "content": "  gewoon  tekst "}}) == "gewoon tekst"
    assert message_text({"body": {"content": "<script>x()</script><div>a&nbsp;b</div>"}}) == "a b"
    assert message_text(None) == message_text({}) == ""


def test_meld_als_signaal_on_a_message_opens_the_dialog_with_the_description_filled_in(teams_run: TeamsRun) -> None:
    teams = teams_run.teams
    teams_run.add_to_team()  # the bot knows the tenant's serviceUrl; the reporter never wrote to it
    resp = from_message(teams_run, MESSAGE_HTML)
    # The dialog opens at once: the note about the message, and the first question (not the description).
    card = dialog_of(resp)
    assert "Teams-bericht" in texts(card) and button(card, "answer")["data"]["q"] != "description"
    with Session(teams_run.bot.core.engine) as session:
        signal = session.exec(select(Signal)).one()
        assert signal.status == "draft" and signal.reporter_id == f"teams:{REPORTER_AAD}"
        assert signal.description == MESSAGE_TEXT
        assert signal.answers.get("description") == "provided"
        # The group chat is not the reporter's chat with the bot, and is not kept.
        kept = select(TeamsConversation).where(TeamsConversation.conversation_id == GROUP_CHAT)
        assert session.exec(kept).first() is None
        started = session.exec(select(AuditEntry).where(AuditEntry.action == "signal.started")).one()
        assert started.data.get("from_message") is True and started.data.get("dialog") is True
    # The signal's first card goes to the reporter's 1:1 chat (opened by the bot), with Verder gaan.
    chat = wait_for(lambda: teams.chat_with(REPORTER_AAD))
    wait_for(lambda: any(action_of(card_of(a), "resume") for a in teams.cards(chat)))
    assert not teams.posted(GROUP_CHAT)  # nothing is said where the message is
    # The work is done and nothing of the message is left in the inbox.
    # (two items: the app added to the team, and the message extension's invoke)
    wait_for(lambda: len(rows := _inbox(teams_run)) == 2 and all(row.done_at for row in rows))
    assert all(row.args is None for row in _inbox(teams_run))

    # The rest of the questions in the dialog; the summary shows the message's text as the description.
    summary = card
    for _ in range(20):
        step = button(summary, "answer")
        if step is None:
            break
        value = ANSWERS[step["data"]["q"]]
        summary = dialog_of(teams_run.submit(step, answer=",".join(value) if isinstance(value, list) else value))
    assert button(summary, "submit") is not None and "geen paspoort" in texts(summary)

    # Another message extension's invoke is not taken (and has no effect).
    assert from_message(teams_run, "<p>iets</p>", command="something_else").status_code == 501
    with Session(teams_run.bot.core.engine) as session:
        assert len(session.exec(select(Signal)).all()) == 1


def test_meld_als_signaal_on_a_message_without_text_asks_for_the_description(teams_run: TeamsRun) -> None:
    say(teams_run, "hallo")  # the reporter's chat is known
    card = dialog_of(from_message(teams_run, "<p> <img src=\"x.png\"> </p>"))
    assert "geen tekst" in texts(card)
    with Session(teams_run.bot.core.engine) as session:
        assert session.exec(select(Signal)).one().description is None


def test_meld_als_signaal_with_text_over_the_limit_asks_to_shorten_it_first(teams_run: TeamsRun) -> None:
    """The text is kept in the draft (never thrown away): the description is asked first, its field
    filled in with the text, saying how long it is and the limit; the original message is not stored."""
    say(teams_run, "hallo")
    long_text = "Lang verhaal. " * 300
    card = dialog_of(from_message(teams_run, f"<p>{long_text}</p>"))
    step = button(card, "answer")
    assert step["data"]["q"] == "description"
    assert inputs_of(card)["answer"]["value"] == long_text.strip()
    assert str(len(long_text.strip())) in texts(card) and "3000" in texts(card)
    card = dialog_of(teams_run.submit(step, answer="Lang verhaal, kort gemaakt."))
    assert button(card, "answer")["data"]["q"] != "description"
    with Session(teams_run.bot.core.engine) as session:
        assert session.exec(select(Signal)).one().description == "Lang verhaal, kort gemaakt."


def test_info_help_and_status_in_the_chat_and_a_near_miss_is_a_question(teams_run: TeamsRun) -> None:
    teams = teams_run.teams
    say(teams_run, "Info")
    info = wait_for(lambda: next((card_of(a) for a in teams.cards(REPORTER_CHAT)
                                  if "Mensenhandel: wat je moet weten" in texts(card_of(a))), None))
    section = teams_run.bot.core.knowledge.sections[0]
    assert len(info["body"]) > len(teams_run.bot.core.knowledge.sections)
    assert section.key and action_of(info, "start") is not None

    say(teams_run, "hulp")
    help_card = wait_for(lambda: next((card_of(a) for a in teams.cards(REPORTER_CHAT)
                                       if "Meld als signaal" in texts(card_of(a))), None))
    assert "/signaal" not in texts(help_card) and "112" in texts(help_card)

    say(teams_run, "status")
    empty = wait_for(lambda: next((card_of(a) for a in teams.cards(REPORTER_CHAT)
                                   if "nog geen signalen" in texts(card_of(a))), None))
    assert action_of(empty, "start") is not None

    # "stauts": not a signal, not the start card alone: a suggestion that shows the status when clicked.
    count = len(teams.cards(REPORTER_CHAT))
    say(teams_run, "stauts")
    _, card, word = teams_run.card_with(REPORTER_CHAT, "word", since=count)
    assert word["data"] == {"w": "status"} and "status" in texts(card) and action_of(card, "start") is not None
    count = len(teams.cards(REPORTER_CHAT))
    teams_run.click("word", word["data"])
    wait_for(lambda: any("nog geen signalen" in texts(card_of(a)) for a in teams.cards(REPORTER_CHAT)[count:]))
    with Session(teams_run.bot.core.engine) as session:
        assert session.exec(select(Signal)).all() == []
        assert len(session.exec(select(AuditEntry).where(AuditEntry.action == "signal.list_own")).all()) == 2

    # Anything else: the start card, without a suggestion; and every item's stored work is emptied once done.
    count = len(teams.cards(REPORTER_CHAT))
    say(teams_run, "Ik zag iets vreemds bij de bakker")
    _, card, _start = teams_run.card_with(REPORTER_CHAT, "start", since=count)
    assert action_of(card, "word") is None and "bakker" not in texts(card)
    wait_for(lambda: len(rows := _inbox(teams_run)) == 6 and all(row.done_at for row in rows))
    assert all(row.args is None for row in _inbox(teams_run))


def test_only_the_word_is_stored_in_the_inbox(teams_run: TeamsRun) -> None:
    from bot.teams.edge import essentials

    activity = teams_run.activity("message", text="Ik zag iets vreemds bij de bakker")
    args = essentials(activity, {})
    assert "bakker" not in repr(args) and args["word"] == "" and args["suggest"] == ""
    assert essentials(teams_run.activity("message", text=" Status? "), {})["word"] == "status"
    assert essentials(teams_run.activity("message", text="hlp"), {})["suggest"] == "help"


def test_a_reporter_adds_information_to_a_sent_signal_and_the_af_gets_it(teams_run: TeamsRun) -> None:
    teams = teams_run.teams
    teams_run.add_to_team()
    reference = report_in_teams(teams_run, ANSWERS)
    wait_for(lambda: teams.cards(CHANNEL))

    # status lists it.
    say(teams_run, "status")
    wait_for(lambda: any(reference in texts(card_of(a)) and "Verstuurd" in texts(card_of(a))
                         for a in teams.cards(REPORTER_CHAT)))

    # Any other message: the start card offers an addition to the open signal.
    count = len(teams.cards(REPORTER_CHAT))
    say(teams_run, "ik weet nog iets")
    card = wait_for(lambda: next((card_of(a) for a in teams.cards(REPORTER_CHAT)[count:]
                                  if action_of(card_of(a), "add_info")), None))
    add = action_of(card, "add_info")
    assert add is not None and action_of(card, "start") is not None
    form = next(a for a in card["actions"] if a.get("type") == "Action.ShowCard")
    assert reference in form["title"] and "addition" in inputs_of(card)
    teams_run.click("add_info", add["data"], addition=ADDITION)

    # The AF's case thread gets it; the reporter sees it was sent.
    wait_for(lambda: any(ADDITION in texts(card_of(a)) for a in teams.cards(CHANNEL)[1:]))
    chain = f"{CHANNEL};messageid={card_id(teams_run)}"
    assert any(r.conversation == chain and ADDITION in str(r.body) for r in teams.received if r.method == "POST")
    wait_for(lambda: any(ADDITION in texts(card_of(a)) and "ontvangen" in texts(card_of(a))
                         for a in teams.cards(REPORTER_CHAT)))
    with Session(teams_run.bot.core.engine) as session:
        [added] = session.exec(select(CaseEvent).where(CaseEvent.kind == "reporter_message")).all()
        assert added.text == ADDITION
    for activity in teams.posted(CHANNEL):
        assert ADDITION not in activity.body.get("summary", "")

    # Someone else's click with that signal's id changes nothing: the core refuses it.
    other = teams_run.activity("invoke", name="adaptiveCard/action", conversation="a:1other-chat",
                               sender=("29:1other", "0b5e1c2a-9999-4a4a-9b9b-000000000009"),
                               value={"action": {"type": "Action.Execute", "verb": "add_info",
                                                 "data": {**add["data"], "addition": "vals"}}})
    resp = teams_run.send(other)  # told in the answer to the click (tests/test_teams_refusals_cards.py)
    assert resp.status_code == 200 and resp.json()["value"].startswith("Dit is niet jouw signaal.")
    with Session(teams_run.bot.core.engine) as session:
        assert len(session.exec(select(CaseEvent).where(CaseEvent.kind == "reporter_message")).all()) == 1
