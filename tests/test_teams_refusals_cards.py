"""Teams (issue 17): a click on the other cards — a reminder's Snooze, a partner's Advies geven /
Uitkomst doorgeven, a training's attendance, the reporter's Nu versturen and Aanvulling — that the core
refuses is told in the answer to the click itself, in the clicker's language, as the case card's clicks
are (tests/test_teams_refusals.py): no card in their 1:1 chat as well, the denial in the audit log once,
nothing changed. The same click by who may is answered "Ontvangen." and works. Through the fake Bot
Connector, with signed activities over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.core import cases
from bot.core import training as core_training
from bot.core.clock import Clock
from bot.core.training import TrainingInput
from models import AuditEntry, CaseEvent, Consultation, MessageRef, OutboxMessage, Signal
from models.reminders import Deadline
from models.training import TrainingAttendance
from tests.teams_support import (
    AF_AAD,
    ANSWERS,
    CHANNEL,
    REPORTER_AAD,
    REPORTER_CHAT,
    TeamsRun,
    card_of,
    texts,
    wait_for,
)
from tests.teams_support import fake_teams as fake_teams  # noqa: F401 - fixtures
from tests.test_teams_endpoint import report_in_teams
from tests.test_teams_network import (
    KR_AAD,
    MEMBER_AAD,
    PARTNER_AAD,
    TUESDAY,
    _root,
    action,
    card_in,
    chat_of,
    core_training_id,
    signal_id,
    unclaimed_reminder_in_the_channel,
)
from tests.test_teams_network import clock as clock  # noqa: F401 - fixtures
from tests.test_teams_network import run as run  # noqa: F401 - fixtures
from tests.test_teams_refusals import MESSAGE, work_done


def said(resp: Any) -> str:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["statusCode"] == 200 and body["type"] == MESSAGE, body
    return str(body["value"])


def click(run: TeamsRun, aad: str, act: dict[str, Any], *, conversation: str | None = None,
          conversation_type: str = "personal", locale: str = "nl-NL", **inputs: Any) -> str:
    """Action.Execute as that person (in their 1:1 chat unless `conversation`): what the answer says."""
    value = {"action": {"type": "Action.Execute", "verb": act["verb"], "data": {**act["data"], **inputs}},
             "trigger": "manual"}
    activity = run.activity("invoke", conversation=conversation or chat_of(run, aad),
                            conversation_type=conversation_type, sender=(f"29:1{aad[:12]}-teams", aad),
                            name="adaptiveCard/action", value=value, locale=locale)
    return said(run.send(activity))


def settled(run: TeamsRun) -> None:
    """The stored clicks' work done and everything the outbox had delivered: a card counted after this is
    not one still on its way from an earlier step (nor is one a refused click would wrongly post missed)."""
    work_done(run)

    def delivered() -> bool:
        with Session(run.bot.core.engine) as session:
            return session.exec(select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.status).in_(["pending", "sending"]),
                col(OutboxMessage.next_attempt_at) <= run.bot.core.clock.now())).one() == 0
    wait_for(delivered)


def refusal_cards(run: TeamsRun) -> int:
    with Session(run.bot.core.engine) as session:
        return len(session.exec(select(MessageRef).where(MessageRef.template == "teams_refusal")).all())


def audit(run: TeamsRun, action_name: str) -> list[AuditEntry]:
    with Session(run.bot.core.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action_name)).all())


def test_a_snooze_by_someone_who_may_not_is_told_in_the_answer(run: TeamsRun, clock: Clock) -> None:
    tomorrow = unclaimed_reminder_in_the_channel(run, clock)
    thread = f"{CHANNEL};messageid={_root(run)}"

    def snoozed() -> bool:
        with Session(run.bot.core.engine) as session:
            return session.exec(select(Deadline).where(Deadline.rule_key == "unclaimed_af")).one().snoozed

    settled(run)

    before = len(run.teams.cards(REPORTER_CHAT))
    answer = click(run, REPORTER_AAD, tomorrow, conversation=thread, conversation_type="channel")
    assert answer.startswith("Jij hebt dit signaal gemeld. De aandachtsfunctionaris behandelt het. Er is niets "
                             "gewijzigd."), answer
    settled(run)
    assert not snoozed()
    assert [e.actor_id for e in audit(run, "reminder.snooze_denied")] == [f"teams:{REPORTER_AAD}"]  # once
    assert refusal_cards(run) == 0 and len(run.teams.cards(REPORTER_CHAT)) == before
    # In English for an English Teams: the same words as the card said before.
    answer_en = click(run, REPORTER_AAD, tomorrow, conversation=thread, conversation_type="channel", locale="en-GB")
    assert answer_en.startswith("You reported this signal; the attention officer handles it."), answer_en

    assert click(run, AF_AAD, tomorrow, conversation=thread, conversation_type="channel") == "Ontvangen."
    wait_for(snoozed)
    settled(run)
    assert len(audit(run, "reminder.snooze_denied")) == 2 and refusal_cards(run) == 0


def test_advice_from_someone_not_of_the_partner_is_told_in_the_answer(run: TeamsRun) -> None:
    run.add_to_team()
    report_in_teams(run, ANSWERS)
    sid = signal_id(run)
    af = f"teams:{AF_AAD}"
    assert cases.claim(run.bot.core, sid, af).ok
    assert cases.consult(run.bot.core, sid, af, ["avim"], "Is dit adres bij jullie bekend?").ok
    give = action(card_in(run, chat_of(run, PARTNER_AAD), "Is dit adres bij jullie bekend?"), "advice")

    settled(run)

    before = len(run.teams.cards(REPORTER_CHAT))
    answer = click(run, REPORTER_AAD, give, conversation=REPORTER_CHAT, answer="Ik weet het niet")
    assert answer not in ("Ontvangen.", "") and "Is dit adres" not in answer
    settled(run)
    with Session(run.bot.core.engine) as session:
        assert session.exec(select(Consultation)).one().answered_at is None
    assert [(e.actor_id, e.subject) for e in audit(run, "case.denied")] == [(f"teams:{REPORTER_AAD}", "record_advice")]
    assert refusal_cards(run) == 0 and len(run.teams.cards(REPORTER_CHAT)) == before

    assert click(run, PARTNER_AAD, give, answer="Ja, bekend bij de wijkagent.") == "Ontvangen."
    card_in(run, chat_of(run, PARTNER_AAD), "Ja, bekend bij de wijkagent.")
    # The same button again: answered already, said in the answer (not a denial: nothing audited).
    assert click(run, PARTNER_AAD, give, answer="Nog eens") == "Hier is al op geantwoord. Er is niets gewijzigd."
    settled(run)
    with Session(run.bot.core.engine) as session:
        assert session.exec(select(Consultation)).one().answer == "Ja, bekend bij de wijkagent."
    assert len(audit(run, "case.denied")) == 1 and refusal_cards(run) == 0


def test_attendance_recorded_by_someone_who_does_not_organise_is_told_in_the_answer(
        run: TeamsRun, clock: Clock) -> None:
    run.add_to_team()
    starts = TUESDAY + timedelta(days=1)
    assert core_training.create(run.bot.core, f"teams:{KR_AAD}", TrainingInput(
        title="Signalen herkennen", starts=starts, ends=starts + timedelta(hours=2), location="Stadhuis Zundert",
        audience="network")).ok
    member = f"teams:{MEMBER_AAD}"
    assert core_training.rsvp(run.bot.core, core_training_id(run), member, "yes").ok
    clock.set(starts + timedelta(hours=3))
    run.bot.run_due()
    _i, _card, record = run.card_with(chat_of(run, KR_AAD), "attendance")

    settled(run)

    before = len(run.teams.cards(chat_of(run, MEMBER_AAD)))
    assert click(run, MEMBER_AAD, record, attended=member) == (
        "Alleen de ketenregisseur en aandachtsfunctionarissen plannen trainingen; een aandachtsfunctionaris alleen "
        "voor de eigen gemeente.")
    settled(run)
    with Session(run.bot.core.engine) as session:
        assert session.exec(select(TrainingAttendance)).all() == []
    assert [e.actor_id for e in audit(run, "training.denied")] == [member]  # once
    assert refusal_cards(run) == 0 and len(run.teams.cards(chat_of(run, MEMBER_AAD))) == before

    assert click(run, KR_AAD, record, attended=member) == "Ontvangen."
    card_in(run, chat_of(run, KR_AAD), "Aanwezigheid opgeslagen: er was 1 persoon")
    assert len(audit(run, "training.denied")) == 1


def test_the_reporters_own_buttons_refused_are_told_in_the_answer(run: TeamsRun) -> None:
    """Nu versturen on a signal already sent, an addition without text, and someone else's addition."""
    run.add_to_team()
    report_in_teams(run, ANSWERS)
    sid = signal_id(run)
    settled(run)
    before = len(run.teams.cards(REPORTER_CHAT))
    assert click(run, REPORTER_AAD, {"verb": "send_now", "data": {"s": sid}}, conversation=REPORTER_CHAT).startswith(
        "Dit signaal is al verstuurd.")
    add = {"verb": "add_info", "data": {"s": sid}}
    assert click(run, REPORTER_AAD, add, conversation=REPORTER_CHAT, addition="   ") == "Schrijf eerst iets."
    other = "0b5e1c2a-9999-4a4a-9b9b-000000000009"
    assert click(run, other, add, conversation="a:1other-chat", addition="vals").startswith(
        "Dit is niet jouw signaal.")
    settled(run)
    assert refusal_cards(run) == 0 and len(run.teams.cards(REPORTER_CHAT)) == before
    assert not run.teams.posted("a:1other-chat")
    assert [e.subject for e in audit(run, "case.denied")] == ["add_info"]  # once

    assert click(run, REPORTER_AAD, add, conversation=REPORTER_CHAT, addition="Ook een busje.") == "Ontvangen."
    wait_for(lambda: any("Ook een busje." in texts(card_of(a)) for a in run.teams.cards(CHANNEL)[1:]))
    with Session(run.bot.core.engine) as session:
        assert [e.text for e in session.exec(select(CaseEvent).where(CaseEvent.kind == "reporter_message"))] == [
            "Ook een busje."]
        assert session.get(Signal, sid).status == "new"


def test_no_refusal_said_in_teams_speaks_of_slacks_ways() -> None:
    """A thread, /signaal, a Slack workspace: Teams has none of them (1:1 chats have no threads, there are
    no slash commands). Every refusal of the core that speaks of them is said otherwise in Teams, in both
    languages."""
    import re

    from bot.core.result import DENIALS, MESSAGES, REFUSALS
    from bot.i18n import translator
    from bot.teams.cards import teams_words

    slackish = re.compile(r"thread|/signaal|slack", re.IGNORECASE)
    for language in ("nl", "en"):
        _ = translator(language)
        for msgid in {*MESSAGES.values(), *DENIALS.values(), *REFUSALS.values()}:
            said = _(teams_words(msgid))
            assert not slackish.search(said), (language, msgid, said)
