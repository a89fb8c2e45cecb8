"""Teams, the case (issue 17): a click on the case card that the core refuses is told in the answer to
the click itself (the invoke's response, seen by the clicker only), in the clicker's language — an
attention officer of another municipality, a claim that came too late, a form without its text — and
not told a second time as a card. The click's work still asks the core: a denial is in the audit log
once, and nothing changes. A normal click is still answered at once and works; a refusal found only
when the step runs (the case changed after the answer) still comes as a card. Through the fake Bot
Connector, with signed activities over real HTTP."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.sandbox.fake_teams import FakeTeams
from bot.teams.edge import essentials
from models import AuditEntry, CaseEvent, InboxItem, MessageRef, Signal
from tests.teams_support import ANSWERS, CHANNEL, TeamsRun, card_of, start_teams_bot, texts, wait_for
from tests.teams_support import fake_teams as fake_teams  # noqa: F401 - fixtures
from tests.test_teams_cases import action_of, card_id, case_card
from tests.test_teams_endpoint import report_in_teams

AF = ("29:1af-zundert-000000001", "0b5e1c2a-2222-4a4a-9b9b-000000000002", "Anna Aandacht")
BACKUP = ("29:1backup-zundert-00000002", "0b5e1c2a-4444-4a4a-9b9b-000000000004", "Bert Backup")
OTHER_AF = ("29:1af-rucphen-000000003", "0b5e1c2a-5555-4a4a-9b9b-000000000005", "Olga Overkant")
NETWORK = f"""
municipalities:
  - name: Zundert
    aandachtsfunctionarissen: [teams:{AF[1]}]
    backup: [teams:{BACKUP[1]}]
    channel: teams:{CHANNEL}
  - name: Rucphen
    aandachtsfunctionarissen: [teams:{OTHER_AF[1]}]
regional:
  ketenregisseur: [U0KR000001]
partners:
  - key: avim
    name: AVIM (politie)
    members: []
network: [teams:{AF[1]}, teams:{BACKUP[1]}, teams:{OTHER_AF[1]}]
"""
MESSAGE = "application/vnd.microsoft.activity.message"


def start(database_url: str, fake: Any, fake_teams: FakeTeams) -> tuple[TeamsRun, dict[str, Any]]:
    """The bot, the app in Zundert's team, and a signal for Zundert with its case card: (run, Oppakken)."""
    run = start_teams_bot(database_url, fake, fake_teams, network_yaml=NETWORK)
    run.add_to_team()
    report_in_teams(run, {**ANSWERS, "municipality": "Zundert"})
    claim = wait_for(lambda: run.teams.cards(CHANNEL) and action_of(case_card(run), "case.claim"))
    return run, claim


def click_activity(run: TeamsRun, who: tuple[str, str, str], verb: str, data: dict[str, Any], locale: str = "nl-NL",
                   **inputs: Any) -> dict[str, Any]:
    """Action.Execute on the case card in the channel, as Teams sends it (inputs merged into the data)."""
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": {**data, **inputs}}, "trigger": "manual"}
    activity = run.activity("invoke", name="adaptiveCard/action", value=value,
                            conversation=f"{CHANNEL};messageid={card_id(run)}", conversation_type="channel",
                            sender=(who[0], who[1]), locale=locale)
    activity["from"]["name"] = who[2]
    return activity


def click(run: TeamsRun, who: tuple[str, str, str], verb: str, data: dict[str, Any], locale: str = "nl-NL",
          **inputs: Any) -> str:
    """The click, and what its answer tells the clicker."""
    resp = run.send(click_activity(run, who, verb, data, locale, **inputs))
    return answer(resp)


def answer(resp: httpx.Response) -> str:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["statusCode"] == 200 and body["type"] == MESSAGE, body
    return str(body["value"])


def signal(run: TeamsRun) -> Signal:
    with Session(run.bot.core.engine) as session:
        return session.exec(select(Signal)).one()


def audit(run: TeamsRun, action: str) -> list[AuditEntry]:
    with Session(run.bot.core.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def refusal_cards(run: TeamsRun) -> int:
    with Session(run.bot.core.engine) as session:
        return len(session.exec(select(MessageRef).where(MessageRef.template == "teams_refusal")).all())


def work_done(run: TeamsRun) -> None:
    """Every stored click's work ran to its end (in this process: the tests have no work process)."""
    def idle() -> bool:
        with Session(run.bot.core.engine) as session:
            open_items = session.exec(select(func.count()).select_from(InboxItem)
                                      .where(col(InboxItem.done_at).is_(None))).one()
        return open_items == 0 and not run.bot.intake.work.busy()
    wait_for(idle)


def test_an_af_of_another_municipality_is_told_in_the_answer_and_nothing_changes(
        database_url: str, fake: Any, fake_teams: FakeTeams) -> None:
    run, claim = start(database_url, fake, fake_teams)
    try:
        said = click(run, OTHER_AF, "case.claim", claim["data"])
        assert said == ("Alleen de aandachtsfunctionaris (AF) van de gemeente van dit signaal en de vervanger "
                        "kunnen dit doen. Er is niets gewijzigd.")
        # In their language: the same refusal for a click from an English Teams, on a form this time.
        said_en = click(run, OTHER_AF, "case.note", claim["data"], locale="en-GB", note_text="vals")
        assert said_en == ("Only the attention officers (AF and backup) of this signal's municipality can do this. "
                           "Nothing was changed.")
        work_done(run)
        s = signal(run)
        assert s.claimed_by is None and s.status == "new"
        with Session(run.bot.core.engine) as session:
            assert session.exec(select(CaseEvent).where(CaseEvent.kind.in_(["claimed", "note"]))).all() == []  # type: ignore[attr-defined]
        denied = audit(run, "case.denied")
        assert [(d.actor_id, d.subject) for d in denied] == [(f"teams:{OTHER_AF[1]}", "claim"),
                                                             (f"teams:{OTHER_AF[1]}", "note")]  # once per click
        assert refusal_cards(run) == 0  # told in the answer: no card in their 1:1 chat as well
        assert action_of(case_card(run), "case.claim") is not None
    finally:
        run.stop()


def test_a_claim_after_the_backup_took_the_case_is_told_who_has_it(
        database_url: str, fake: Any, fake_teams: FakeTeams) -> None:
    run, claim = start(database_url, fake, fake_teams)
    try:
        assert click(run, BACKUP, "case.claim", claim["data"]) == "Ontvangen."
        wait_for(lambda: signal(run).claimed_by == f"teams:{BACKUP[1]}")
        # The AF's card was not redrawn yet (or she clicks twice): the claim comes too late.
        said = click(run, AF, "case.claim", claim["data"])
        assert said == "Bert Backup behandelt dit signaal al."
        for content in (ANSWERS["description"], ANSWERS["location"], signal(run).reference):
            assert content not in said  # who has it, and nothing of the case
        work_done(run)
        assert signal(run).claimed_by == f"teams:{BACKUP[1]}"
        assert audit(run, "case.denied") == []  # not a denial: the case moved on
        assert len(audit(run, "case.claimed")) == 1
        assert refusal_cards(run) == 0
        # Her own second click says so, as such.
        assert click(run, BACKUP, "case.claim", claim["data"]) == "Je hebt dit signaal al opgepakt."
    finally:
        run.stop()


def test_a_normal_click_is_answered_at_once_and_works_and_a_form_without_its_text_is_told(
        database_url: str, fake: Any, fake_teams: FakeTeams) -> None:
    run, claim = start(database_url, fake, fake_teams)
    try:
        started = time.perf_counter()
        said = click(run, AF, "case.claim", claim["data"])
        took = time.perf_counter() - started
        assert said == "Ontvangen." and took < 5  # answered before the work (a generous bound: shared machines)
        wait_for(lambda: signal(run).claimed_by == f"teams:{AF[1]}")
        wait_for(lambda: action_of(case_card(run), "case.claim") is None)
        note = wait_for(lambda: action_of(case_card(run), "case.note"))
        assert click(run, AF, "case.note", note["data"], note_text="   ") == "Schrijf eerst iets."
        assert click(run, AF, "case.note", note["data"], note_text="Eerst bellen met de inspectie.") == "Ontvangen."
        wait_for(lambda: any("Eerst bellen" in texts(card_of(a)) for a in run.teams.cards(CHANNEL)[1:]))
        work_done(run)
        with Session(run.bot.core.engine) as session:
            notes = session.exec(select(CaseEvent).where(CaseEvent.kind == "note")).all()
        assert [n.text for n in notes] == ["Eerst bellen met de inspectie."]
        assert refusal_cards(run) == 0 and audit(run, "case.denied") == []
    finally:
        run.stop()


def test_a_refusal_found_only_when_the_step_runs_still_comes_as_a_card(
        database_url: str, fake: Any, fake_teams: FakeTeams) -> None:
    """The click was answered "Ontvangen." (the core allowed it then); before its work ran, the backup
    claimed the case. The work finds the refusal and tells it as a card in the AF's 1:1 chat."""
    run, claim = start(database_url, fake, fake_teams)
    try:
        late = click_activity(run, AF, "case.claim", claim["data"])
        assert click(run, BACKUP, "case.claim", claim["data"]) == "Ontvangen."
        wait_for(lambda: signal(run).claimed_by == f"teams:{BACKUP[1]}")
        late["id"] = uuid.uuid4().hex
        # The AF's click as its work receives it when the core allowed it at the answer (nothing told).
        run.bot.teams.on_activity(essentials(late, {}))
        assert refusal_cards(run) == 1
        wait_for(lambda: any("Bert Backup behandelt dit signaal al." in texts(card_of(a))
                             for chat in run.teams.conversations if chat != CHANNEL and not chat.startswith(CHANNEL)
                             for a in run.teams.cards(chat)))
        assert signal(run).claimed_by == f"teams:{BACKUP[1]}"
    finally:
        run.stop()
