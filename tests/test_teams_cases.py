"""Teams, the case (issue 17): the AF works a case from its card in the municipality's channel —
claim, ask the reporter, conclude, route, feedback, close — through the fake Bot Connector, with
signed activities over real HTTP; the reporter answers from the question's card in their 1:1 chat and
sees the feedback. A click by anyone else is refused with a card and changes nothing; a click Teams
delivers twice takes effect once. No notification (`summary`) carries case content."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.core.clock import Clock
from bot.sandbox.fake_teams import FakeTeams
from models import AuditEntry, CaseEvent, Handover, InboxItem, MessageRef, OutboxMessage, Signal
from models.db import session_scope
from models.related import SignalLink
from tests.teams_support import (
    AF_AAD,
    ANSWERS,
    CHANNEL,
    REPORTER_29,
    REPORTER_AAD,
    REPORTER_CHAT,
    TeamsRun,
    card_of,
    inputs_of,
    start_teams_bot,
    texts,
    wait_for,
)
from tests.teams_support import fake_teams as fake_teams  # noqa: F401 - fixtures
from tests.teams_support import teams_run as teams_run  # noqa: F401
from tests.test_teams_endpoint import report_in_teams

AF_29 = "29:1af-teams-id-0000002"
QUESTION = "Op welke dagen zag je de mannen daar?"
REPLY = "Elke dinsdag en vrijdag, laat in de avond."
RATIONALE = "Meerdere signalen van uitbuiting in de horeca."
FEEDBACK = "Dank je wel voor je signaal; we hebben het doorgezet naar de juiste partner."


def action_of(card: dict[str, Any], verb: str) -> dict[str, Any] | None:
    """The Action.Execute with `verb` on the card, also inside a form (Action.ShowCard), or the button that
    opens the dialog at step `verb` (an Action.Submit with task/fetch)."""
    for action in card.get("actions") or []:
        if action.get("type") == "Action.Execute" and action.get("verb") == verb:
            return action
        if action.get("type") == "Action.Submit" and (action.get("data") or {}).get("verb") == verb:
            return action
        if action.get("type") == "Action.ShowCard":
            found = action_of(action.get("card") or {}, verb)
            if found is not None:
                return found
    return None


def case_card(run: TeamsRun) -> dict[str, Any]:
    return card_of(run.teams.cards(CHANNEL)[0])


def card_id(run: TeamsRun) -> str:
    return next(iter(run.teams.activities[CHANNEL]))


def af_click(run: TeamsRun, verb: str, data: dict[str, Any], *, sender: tuple[str, str] = (AF_29, AF_AAD),
             activity_id: str | None = None, **inputs: Any) -> httpx.Response:
    """Action.Execute on the case card, in the channel's reply chain of the card, as Teams sends it."""
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": {**data, **inputs}}, "trigger": "manual"}
    activity = run.activity("invoke", name="adaptiveCard/action", value=value,
                            conversation=f"{CHANNEL};messageid={card_id(run)}", conversation_type="channel",
                            sender=sender)
    activity["from"]["name"] = "Anna Aandacht" if sender[1] == AF_AAD else activity["from"]["name"]
    if activity_id:
        activity["id"] = activity_id
    resp = run.send(activity)
    assert resp.status_code == 200, resp.text
    return resp


def signal(run: TeamsRun) -> Signal:
    with Session(run.bot.core.engine) as session:
        return session.exec(select(Signal)).one()


def events(run: TeamsRun, kind: str) -> list[CaseEvent]:
    with Session(run.bot.core.engine) as session:
        return list(session.exec(select(CaseEvent).where(CaseEvent.kind == kind)).all())


def test_the_af_works_a_teams_case_from_its_card_and_the_reporter_answers_and_hears_back(
        database_url: str, fake: Any, fake_teams: FakeTeams) -> None:
    clock = Clock()  # the wall clock, until the retention period is made to pass at the end
    run = start_teams_bot(database_url, fake, fake_teams, clock=clock)
    try:
        whole_route(run, clock)
    finally:
        run.stop()


def whole_route(run: TeamsRun, clock: Clock) -> None:
    teams = run.teams
    run.add_to_team()
    reference = report_in_teams(run, ANSWERS)
    wait_for(lambda: teams.cards(CHANNEL))

    # Oppakken: a button on the card; the card is updated in place and offers the next steps.
    claim = wait_for(lambda: action_of(case_card(run), "case.claim"))
    assert action_of(case_card(run), "case.close") is None  # no conclusion yet: the core offers no Sluiten
    af_click(run, "case.claim", claim["data"])
    wait_for(lambda: action_of(case_card(run), "case.claim") is None and "Anna Aandacht" in texts(case_card(run)))
    assert signal(run).claimed_by == f"teams:{AF_AAD}"
    wait_for(lambda: any("opgepakt" in texts(card_of(a)) for a in teams.cards(REPORTER_CHAT)))

    # Vraag aan melder: the form's input, sent with the form's button.
    ask = action_of(case_card(run), "case.ask_info")
    assert "ask_info_text" in inputs_of(case_card(run))
    af_click(run, "case.ask_info", ask["data"], ask_info_text=QUESTION)
    count = len(teams.cards(REPORTER_CHAT))
    _, question, answer = run.card_with(REPORTER_CHAT, "case.reporter_answer")
    assert QUESTION in texts(question) and "reply" in inputs_of(question)

    # The reporter answers from the card in their 1:1 chat; the answer reaches the case thread.
    resp = run.click("case.reporter_answer", answer["data"], reply=REPLY)
    assert resp.status_code == 200
    wait_for(lambda: any(REPLY in texts(card_of(a)) for a in teams.cards(CHANNEL)[1:]))
    chain = f"{CHANNEL};messageid={card_id(run)}"
    thread = [r for r in teams.received if r.method == "POST" and r.conversation == chain]
    assert thread and all(r.status == 201 for r in thread)  # replies in the card's reply chain
    wait_for(lambda: not any(action_of(card_of(a), "case.reporter_answer") for a in teams.cards(REPORTER_CHAT)))
    assert any(REPLY in texts(card_of(a)) for a in teams.cards(REPORTER_CHAT)[:count + 2])

    # Conclusie, with the choices and a rationale.
    conclude = action_of(case_card(run), "case.conclude")
    choices = [c["value"] for c in inputs_of(case_card(run))["conclude_conclusion"]["choices"]]
    assert choices == ["geen", "verder_onderzoek", "wel"]
    af_click(run, "case.conclude", conclude["data"], conclude_conclusion="wel", conclude_rationale=RATIONALE,
             conclude_referral="false", conclude_organisation="")
    wait_for(lambda: signal(run).conclusion == "wel")

    # Doorzetten: the meldroute's partners from the core, pre-ticked for a known form.
    wait_for(lambda: action_of(case_card(run), "case.close"))
    route = action_of(case_card(run), "case.route")
    partners = inputs_of(case_card(run))["route_partners"]
    assert "avim" in [c["value"] for c in partners["choices"]]
    af_click(run, "case.route", route["data"], route_partners="avim",
             route_expected=inputs_of(case_card(run))["route_expected"]["value"], route_text="", route_share="false")

    def routed() -> list[Handover]:
        with Session(run.bot.core.engine) as session:
            return list(session.exec(select(Handover)).all())
    assert [h.partner_key for h in wait_for(routed)] == ["avim"]

    # Terugkoppeling: the reporter sees it in their chat.
    wait_for(lambda: "AVIM" in texts(case_card(run)))
    feedback = action_of(case_card(run), "case.feedback")
    assert inputs_of(case_card(run))["feedback_text"]["value"]  # a kind first draft
    af_click(run, "case.feedback", feedback["data"], feedback_text=FEEDBACK)
    wait_for(lambda: any(FEEDBACK in texts(card_of(a)) for a in teams.cards(REPORTER_CHAT)))

    # Tijdlijn: every step so far, in the thread; what people wrote only as an excerpt in a TextRun.
    af_click(run, "case.timeline", action_of(case_card(run), "case.timeline")["data"])
    timeline = wait_for(lambda: [a for a in teams.cards(CHANNEL)[1:] if "Tijdlijn" in a.get("summary", "")])
    assert FEEDBACK[:40] in texts(card_of(timeline[0])) and "AVIM" in texts(card_of(timeline[0]))

    # Sluiten: nothing is left open that needs a reason; the card keeps a summary and offers Heropenen.
    wait_for(lambda: signal(run).first_feedback_at is not None)
    close = action_of(case_card(run), "case.close")
    af_click(run, "case.close", close["data"])
    wait_for(lambda: action_of(case_card(run), "case.reopen"))
    assert signal(run).status == "closed"
    assert ANSWERS["description"] not in texts(case_card(run))

    # No notification carried any of it; every post and update was taken; nothing failed.
    for activity in teams.cards(CHANNEL) + teams.cards(REPORTER_CHAT):
        preview = activity.get("summary", "") + activity.get("text", "")
        for content in (QUESTION, REPLY, RATIONALE, FEEDBACK, ANSWERS["description"], ANSWERS["location"]):
            assert content not in preview
    assert reference in texts(case_card(run))
    assert all(r.status < 300 for r in teams.received if r.method in ("POST", "PUT") and r.conversation)
    with Session(run.bot.core.engine) as session:
        assert session.exec(select(func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.status == "failed")).one() == 0

    # The retention period ends: every message of the case, in the channel's thread and in the reporter's
    # chat, becomes the tombstone in place.
    from bot.core import retention

    closed_at = signal(run).closed_at
    assert closed_at is not None
    clock.set(closed_at + timedelta(days=25 * 31))  # "wel mensenhandel": 24 months after closing
    assert retention.purge(run.bot.core, clock.now(), actor="test")

    def left() -> list[str]:
        return [content for activity in teams.cards(CHANNEL) + teams.cards(REPORTER_CHAT)
                for content in (QUESTION, REPLY, RATIONALE, FEEDBACK, ANSWERS["description"], ANSWERS["location"])
                if content in texts(card_of(activity))]
    wait_for(lambda: not left(), timeout=30)


def answer(resp: httpx.Response) -> str:
    """The invoke's answer, shown to the clicker only: a message (Universal Actions' response)."""
    body = resp.json()
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.activity.message", body
    return str(body["value"])


def refusal_cards(run: TeamsRun) -> int:
    """Refusals queued as a card in someone's 1:1 chat (a refusal found only when the step ran)."""
    with Session(run.bot.core.engine) as session:
        return len(session.exec(select(MessageRef).where(MessageRef.template == "teams_refusal")).all())


def work_done(run: TeamsRun) -> None:
    """Every click's work ran to its end (this process runs it: no work process in the tests)."""
    with Session(run.bot.core.engine) as session:
        wait_for(lambda: session.exec(select(func.count()).select_from(InboxItem)
                                      .where(col(InboxItem.done_at).is_(None))).one() == 0)
    wait_for(lambda: not run.bot.intake.work.busy())


def test_a_click_on_the_case_card_by_someone_else_is_refused_in_its_answer_and_changes_nothing(
        teams_run: TeamsRun) -> None:
    run, teams = teams_run, teams_run.teams
    run.add_to_team()
    report_in_teams(run, ANSWERS)
    wait_for(lambda: teams.cards(CHANNEL))
    claim = wait_for(lambda: action_of(case_card(run), "case.claim"))
    # The reporter (not an AF of Zundert) sends the card's click as if they were in the channel.
    said = [answer(af_click(run, "case.claim", claim["data"], sender=(REPORTER_29, REPORTER_AAD))),
            answer(af_click(run, "case.note", claim["data"], sender=(REPORTER_29, REPORTER_AAD), note_text="vals"))]
    assert all(words.startswith("Alleen de aandachtsfunctionaris") and "niets gewijzigd" in words for words in said)
    work_done(run)
    s = signal(run)
    assert s.claimed_by is None and s.status == "new" and events(run, "note") == []
    with Session(run.bot.core.engine) as session:
        denied = session.exec(select(AuditEntry).where(AuditEntry.action == "case.denied")).all()
    assert [d.actor_id for d in denied] == [f"teams:{REPORTER_AAD}"] * 2  # each click once
    assert refusal_cards(run) == 0  # told in the answer: not again as a card
    assert action_of(case_card(run), "case.claim") is not None  # the card still offers Oppakken


def test_a_case_click_teams_delivers_twice_takes_effect_once(teams_run: TeamsRun) -> None:
    run, teams = teams_run, teams_run.teams
    run.add_to_team()
    report_in_teams(run, ANSWERS)
    wait_for(lambda: teams.cards(CHANNEL))
    claim = wait_for(lambda: action_of(case_card(run), "case.claim"))
    af_click(run, "case.claim", claim["data"])
    note = wait_for(lambda: action_of(case_card(run), "case.note"))
    same = uuid.uuid4().hex
    af_click(run, "case.note", note["data"], activity_id=same, note_text="Eerst bellen met de inspectie.")
    af_click(run, "case.note", note["data"], activity_id=same, note_text="Eerst bellen met de inspectie.")
    # A later click, done after both deliveries were stored: once it shows, the doubled one had its chance.
    af_click(run, "case.note", note["data"], note_text="Daarna het dossier bijwerken.")
    wait_for(lambda: any("Daarna het dossier" in texts(card_of(a)) for a in teams.cards(CHANNEL)[1:]))
    assert sorted(e.text or "" for e in events(run, "note")) == ["Daarna het dossier bijwerken.",
                                                             "Eerst bellen met de inspectie."]
    assert sum("Eerst bellen" in texts(card_of(a)) for a in teams.cards(CHANNEL)) == 1


def test_advice_and_an_outcome_from_partners_outside_the_bot_are_recorded_from_the_card(teams_run: TeamsRun) -> None:
    run, teams = teams_run, teams_run.teams
    run.add_to_team()
    report_in_teams(run, ANSWERS)
    wait_for(lambda: teams.cards(CHANNEL))
    claim = wait_for(lambda: action_of(case_card(run), "case.claim"))
    af_click(run, "case.claim", claim["data"])
    consult = wait_for(lambda: action_of(case_card(run), "case.consult"))
    af_click(run, "case.consult", consult["data"], consult_partners="avim", consult_text="Kennen jullie dit adres?",
             consult_share="false")
    # AVIM has nobody the bot can reach: the thread says so, and the card now offers Record advice.
    wait_for(lambda: any("Kennen jullie dit adres?" in texts(card_of(a)) for a in teams.cards(CHANNEL)[1:]))
    record = wait_for(lambda: action_of(case_card(run), "case.record_advice"))
    asked = [c for c in inputs_of(case_card(run))["record_advice_from"]["choices"] if c["value"].startswith("c:")]
    assert len(asked) == 1 and "AVIM" in asked[0]["title"]
    af_click(run, "case.record_advice", record["data"], record_advice_from=asked[0]["value"],
             record_advice_text="Bekend adres; wij pakken het op.")
    wait_for(lambda: any("Bekend adres" in texts(card_of(a)) for a in teams.cards(CHANNEL)[1:]))
    wait_for(lambda: action_of(case_card(run), "case.record_advice") is None)

    route = action_of(case_card(run), "case.route")
    af_click(run, "case.route", route["data"], route_partners="avim", route_share="false")
    # The same form clicked again (a stale card, a double click: another invoke) sends nothing twice.
    af_click(run, "case.route", route["data"], route_partners="avim", route_share="false")
    outcome = wait_for(lambda: action_of(case_card(run), "case.record_outcome"))
    handover = inputs_of(case_card(run))["record_outcome_handover"]["choices"][0]["value"]
    kinds = [c["value"] for c in inputs_of(case_card(run))["record_outcome_outcome"]["choices"]]
    assert kinds  # the list from flows/classification.yaml
    af_click(run, "case.record_outcome", outcome["data"], record_outcome_handover=handover,
             record_outcome_outcome=kinds[0], record_outcome_text="")
    wait_for(lambda: action_of(case_card(run), "case.record_outcome") is None)
    with Session(run.bot.core.engine) as session:
        h = session.exec(select(Handover)).one()
    assert h.outcome_kind == kinds[0] and h.outcome_by == f"teams:{AF_AAD}"
    assert len(events(run, "advice")) == 1 and len(events(run, "outcome")) == 1
    assert len(events(run, "routed")) == 1


OTHER = "S-TEAMS-OTHER"
OTHER_STORY = "Een ander verhaal dat nooit op deze kaart mag staan."
PLACE = "Restaurant De Haven, Hoofdstraat 12, 4881 AB Zundert"
MEETING = "Afgesproken: de inspectie gaat langs; de gemeente informeert de woningcorporatie."


def row(run: TeamsRun, signal_id: int) -> Signal:
    with Session(run.bot.core.engine) as session:
        found = session.get(Signal, signal_id)
        assert found is not None
        return found


def links(run: TeamsRun) -> list[SignalLink]:
    with Session(run.bot.core.engine) as session:
        return list(session.exec(select(SignalLink)).all())


def told(run: TeamsRun, words: str) -> bool:
    """A card with these words in a 1:1 chat the bot opened (the AF's: a refusal)."""
    return any(words in texts(card_of(a)) for chat in run.teams.conversations for a in run.teams.cards(chat))


def another_signal_about_the_same_place(run: TeamsRun, first: Signal) -> int:
    """A second sent signal of the same municipality that names the same place (indexed as on sending)."""
    from bot.core import related

    with session_scope(run.bot.core.engine) as session:
        other = Signal(reference=OTHER, reporter_id=first.reporter_id, municipality_id=first.municipality_id,
                       status="new", questionnaire_version=first.questionnaire_version, form=first.form,
                       location=PLACE, description=OTHER_STORY, submitted_at=first.submitted_at)
        session.add(other)
        session.flush()
        related.index(session, other)
        assert other.id is not None
        return other.id


def test_the_af_corrects_the_details_links_a_related_signal_and_records_a_case_meeting_from_the_card(
        teams_run: TeamsRun) -> None:
    run, teams = teams_run, teams_run.teams
    run.add_to_team()
    reference = report_in_teams(run, {**ANSWERS, "location": PLACE})
    wait_for(lambda: teams.cards(CHANNEL))
    first = signal(run)
    other_id = another_signal_about_the_same_place(run, first)
    claim = wait_for(lambda: action_of(case_card(run), "case.claim"))
    af_click(run, "case.claim", claim["data"])
    wait_for(lambda: action_of(case_card(run), "case.claim") is None)

    # Gegevens aanpassen: the lists of the questionnaire and flows/classification.yaml, pre-filled.
    fix = wait_for(lambda: action_of(case_card(run), "case.reclassify"))
    inputs = inputs_of(case_card(run))
    assert [inputs[f"reclassify_{k}"].get("value") for k in ("form", "acute", "minor", "sector", "target_group")] \
        == ["AU", "no", "no", "horeca", None]
    assert "schoonmaak" in [c["value"] for c in inputs["reclassify_sector"]["choices"]]
    assert "arbeidsmigrant" in [c["value"] for c in inputs["reclassify_target_group"]["choices"]]
    af_click(run, "case.reclassify", fix["data"], reclassify_form="AU", reclassify_acute="no",
             reclassify_minor="no", reclassify_sector="schoonmaak", reclassify_target_group="arbeidsmigrant")
    wait_for(lambda: row(run, first.id or 0).sector == "schoonmaak")
    fixed = row(run, first.id or 0)
    assert fixed.target_group == "arbeidsmigrant" and fixed.classified_by == f"teams:{AF_AAD}"
    assert fixed.answers["sector"] == "horeca"  # the reporter's own answer stays on record
    wait_for(lambda: "Schoonmaak" in texts(case_card(run)))
    assert inputs_of(case_card(run))["reclassify_sector"]["value"] == "schoonmaak"
    wait_for(lambda: any("Schoonmaak" in texts(card_of(a)) and "Horeca" in texts(card_of(a))
                         for a in teams.cards(CHANNEL)[1:]))  # the step in the thread: before → after
    assert len(events(run, "reclassified")) == 1
    # What the core refuses is told in the answer to the click, as on the other forms: nothing changed.
    said = answer(af_click(run, "case.reclassify", fix["data"], reclassify_form="AU", reclassify_acute="no",
                           reclassify_minor="no", reclassify_sector="schoonmaak",
                           reclassify_target_group="arbeidsmigrant"))
    assert said == "Er is niets veranderd: de gegevens waren al zo."
    assert len(events(run, "reclassified")) == 1

    # Mogelijk verwante signalen: the core's list (reference, date, state), none ticked yet.
    assert "1 mogelijk gerelateerd signaal" in texts(case_card(run))
    related = action_of(case_card(run), "case.related")
    choices = inputs_of(case_card(run))["related_links"]
    assert [c["value"] for c in choices["choices"]] == [str(other_id)] and "value" not in choices
    assert OTHER in choices["choices"][0]["title"] and related["data"]["shown"] == [other_id]
    af_click(run, "case.related", related["data"], related_links=str(other_id))
    wait_for(lambda: len(links(run)) == 1)
    wait_for(lambda: f"Gekoppeld aan {OTHER}" in texts(case_card(run)))
    assert inputs_of(case_card(run))["related_links"]["value"] == str(other_id)  # pre-ticked: the current link
    assert [e.data["reference"] for e in events(run, "linked")] == [OTHER, reference]  # both sides' timelines
    # Unticked: the link is undone.
    af_click(run, "case.related", action_of(case_card(run), "case.related")["data"], related_links="")
    wait_for(lambda: not links(run))
    wait_for(lambda: f"Gekoppeld aan {OTHER}" not in texts(case_card(run)))
    assert len(events(run, "unlinked")) == 2

    # Casusoverleg: today in the bot's timezone by default, and what came of it.
    meeting = action_of(case_card(run), "case.case_meeting")
    held_on = inputs_of(case_card(run))["case_meeting_held_on"]
    today = run.bot.core.clock.now().astimezone(run.bot.core.settings.tz).date()
    assert held_on["value"] == today.isoformat() == held_on["max"]
    tomorrow = (today + timedelta(days=1)).isoformat()
    said = answer(af_click(run, "case.case_meeting", meeting["data"], case_meeting_held_on=tomorrow,
                           case_meeting_text=MEETING))
    assert said == "De datum van het casusoverleg kan niet in de toekomst liggen."
    assert events(run, "case_meeting") == []
    af_click(run, "case.case_meeting", meeting["data"], case_meeting_held_on=held_on["value"],
             case_meeting_text=MEETING)
    wait_for(lambda: events(run, "case_meeting"))
    [ev] = events(run, "case_meeting")
    assert ev.signal_id == first.id and ev.text == MEETING and ev.data["held_on"] == today.isoformat()
    wait_for(lambda: MEETING in texts(case_card(run)) and today.strftime("%d-%m-%Y") in texts(case_card(run)))
    wait_for(lambda: any(MEETING in texts(card_of(a)) for a in teams.cards(CHANNEL)[1:]))

    # Nothing of the other signal's content, and no case content in any notification.
    for activity in teams.cards(CHANNEL):
        assert OTHER_STORY not in texts(card_of(activity))
        preview = activity.get("summary", "") + activity.get("text", "")
        assert MEETING not in preview and "Schoonmaak" not in preview


def test_a_forged_correction_of_the_details_is_refused_and_changes_nothing(teams_run: TeamsRun) -> None:
    run, teams = teams_run, teams_run.teams
    run.add_to_team()
    report_in_teams(run, ANSWERS)
    wait_for(lambda: teams.cards(CHANNEL))
    fix = wait_for(lambda: action_of(case_card(run), "case.reclassify"))  # offered before claiming, too
    said = [answer(af_click(run, "case.reclassify", fix["data"], sender=(REPORTER_29, REPORTER_AAD),
                            reclassify_form="SU", reclassify_acute="yes", reclassify_minor="yes",
                            reclassify_sector="", reclassify_target_group="")),
            answer(af_click(run, "case.case_meeting", fix["data"], sender=(REPORTER_29, REPORTER_AAD),
                            case_meeting_held_on="2020-01-01", case_meeting_text="vals"))]
    assert all("niets gewijzigd" in words for words in said), said
    work_done(run)
    assert refusal_cards(run) == 0
    s = signal(run)
    assert (s.form, s.acute, s.minor, s.classified_at) == ("AU", False, False, None)
    assert events(run, "reclassified") == [] and events(run, "case_meeting") == []
    with Session(run.bot.core.engine) as session:
        denied = session.exec(select(AuditEntry).where(AuditEntry.action == "case.denied")).all()
    assert [d.actor_id for d in denied] == [f"teams:{REPORTER_AAD}"] * 2


def test_every_case_action_the_core_may_offer_is_drawn_on_the_teams_card_or_named_as_not_yet() -> None:
    """A new case action makes this fail until the Teams card draws it (with a verb the edge knows) or
    docs/teams.md names it as not yet there."""
    from bot.teams import case_cards
    from bot.teams.edge import CASE_VERBS
    from flows.cases import CaseAction

    drawn = set(case_cards.ON_CLICK) | set(case_cards.FORMS)
    assert drawn == set(case_cards.ACTION_LABELS)
    assert drawn | case_cards.NOT_YET == set(CaseAction) and not drawn & case_cards.NOT_YET
    assert {case_cards.verb_of(a) for a in drawn} | {case_cards.REPORTER_ANSWER} == set(CASE_VERBS)


def test_a_case_card_in_the_afs_own_chat_is_worked_there_and_its_thread_follows_below_it(teams_run: TeamsRun) -> None:
    """The app is not in the municipality's team: the card went to the AF's 1:1 chat (no threads there),
    its buttons work the same, and the case's steps follow below the card in that chat."""
    run, teams = teams_run, teams_run.teams
    report_in_teams(run, ANSWERS)
    created = wait_for(lambda: [r for r in teams.received if r.path == "/v3/conversations" and r.status == 201])
    chat = next(iter(teams.conversations))
    assert created and chat != CHANNEL
    claim = wait_for(lambda: teams.cards(chat) and action_of(card_of(teams.cards(chat)[0]), "case.claim"))
    value = {"action": {"type": "Action.Execute", "verb": "case.claim", "data": claim["data"]}, "trigger": "manual"}
    activity = run.activity("invoke", name="adaptiveCard/action", value=value, conversation=chat,
                            sender=(AF_29, AF_AAD))
    assert run.send(activity).status_code == 200
    wait_for(lambda: action_of(card_of(teams.cards(chat)[0]), "case.claim") is None)
    assert signal(run).claimed_by == f"teams:{AF_AAD}"
    below = wait_for(lambda: teams.cards(chat)[1:])
    assert "opgepakt" in texts(card_of(below[0]))
    into_chat = [r.conversation or "" for r in teams.received if (r.conversation or "").startswith(chat)]
    assert into_chat and all(";messageid=" not in c for c in into_chat)  # a 1:1 chat has no reply chains
