"""Teams (issue 17): what the scheduled jobs and the AF's requests send to people in Teams arrives as
cards in their 1:1 chat (opened through the connector) — reminders, escalations, a request for advice
answered from its card, a training invitation answered with Ik kom — and a person the bot cannot reach
(the app not installed for them) is listed by `network show` and reported to the ketenregisseur once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.core import cases, reach
from bot.core import training as core_training
from bot.core.clock import Clock
from bot.core.training import TrainingInput
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.fake_teams import FakeTeams
from models import Consultation, Handover, Identity, MessageRef, Signal
from models.reminders import Deadline
from models.training import TrainingAttendance, TrainingRsvp, TrainingSession
from tests.teams_support import (
    AF_AAD,
    ANSWERS,
    CHANNEL,
    REPORTER_AAD,
    TeamsRun,
    card_of,
    start_teams_bot,
    texts,
    wait_for,
)
from tests.teams_support import fake_teams as fake_teams  # noqa: F401 - fixtures
from tests.test_teams_endpoint import report_in_teams

BACKUP_AAD = "0b5e1c2a-4444-4a4a-9b9b-000000000004"
KR_AAD = "0b5e1c2a-5555-4a4a-9b9b-000000000005"
PARTNER_AAD = "0b5e1c2a-6666-4a4a-9b9b-000000000006"
MEMBER_AAD = "0b5e1c2a-7777-4a4a-9b9b-000000000007"
ABSENT_AAD = "0b5e1c2a-8888-4a4a-9b9b-000000000008"  # the app is not installed for this member
NETWORK = f"""
municipalities:
  - name: Zundert
    aandachtsfunctionarissen: [teams:{AF_AAD}]
    backup: [teams:{BACKUP_AAD}]
    channel: teams:{CHANNEL}
regional:
  ketenregisseur: [teams:{KR_AAD}]
partners:
  - key: avim
    name: AVIM (politie)
    members: [teams:{PARTNER_AAD}]
network: [teams:{AF_AAD}, teams:{MEMBER_AAD}, teams:{ABSENT_AAD}]
"""
TUESDAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # office hours; the bot's clock, not today's date


@pytest.fixture
def clock() -> Clock:
    c = Clock()
    c.set(TUESDAY)
    return c


@pytest.fixture
def run(database_url: str, fake: FakeSlack, fake_teams: FakeTeams, clock: Clock) -> Iterator[TeamsRun]:
    fake_teams.not_installed.add(ABSENT_AAD)
    r = start_teams_bot(database_url, fake, fake_teams, network_yaml=NETWORK, clock=clock)
    try:
        yield r
    finally:
        r.stop()


def chat_of(run: TeamsRun, aad: str) -> str:
    return wait_for(lambda: run.teams.chat_with(aad))


def card_in(run: TeamsRun, conversation: str, needle: str) -> dict[str, Any]:
    """The newest activity in `conversation` whose card shows `needle` (as it is now)."""
    return wait_for(lambda: next((a for a in reversed(run.teams.cards(conversation)) if needle in texts(card_of(a))),
                                 None))


def click_as(run: TeamsRun, aad: str, action: dict[str, Any], **inputs: Any) -> str:
    """Action.Execute on a card in `aad`'s 1:1 chat with the bot, as that person: what the answer says."""
    value = {"action": {"type": "Action.Execute", "verb": action["verb"], "data": {**action["data"], **inputs}},
             "trigger": "manual"}
    activity = run.activity("invoke", conversation=chat_of(run, aad), sender=(f"29:1{aad[:12]}-teams", aad),
                            name="adaptiveCard/action", value=value)
    resp = run.send(activity)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["value"])


def action(activity: dict[str, Any], verb: str) -> dict[str, Any]:
    found = [a for a in card_of(activity).get("actions") or [] if a.get("verb") == verb]
    assert found, f"no {verb} on the card"
    return found[0]


def no_content(activity: dict[str, Any]) -> None:
    preview = activity.get("summary", "") + activity.get("text", "")
    for content in (ANSWERS["description"], ANSWERS["location"], "Restaurant", "keuken"):
        assert content not in preview


def signal_id(run: TeamsRun) -> int:
    with Session(run.bot.core.engine) as session:
        found = session.exec(select(Signal.id)).one()
    assert found is not None
    return found


def test_an_unclaimed_signal_reminds_the_af_in_the_channel_and_escalates_in_their_chats(
        run: TeamsRun, clock: Clock) -> None:
    run.add_to_team()
    reference = report_in_teams(run, ANSWERS)
    wait_for(lambda: run.teams.cards(CHANNEL))

    clock.set(TUESDAY + timedelta(days=1, hours=1))  # one working day later
    run.bot.run_due()
    reminder = card_in(run, CHANNEL, "nog niemand heeft het opgepakt")
    card = card_of(reminder)
    assert reference in texts(card) and card["msteams"]["entities"][0]["mentioned"]["id"] == AF_AAD
    assert [a["data"]["until"] for a in card["actions"] if a["verb"] == "snooze"] == ["tomorrow", "3_working_days"]
    assert reference in reminder["summary"]
    no_content(reminder)
    # In the case card's reply chain, not a new post in the channel.
    assert run.teams.posted(f"{CHANNEL};messageid={_root(run)}")

    clock.set(TUESDAY + timedelta(days=2, hours=1))
    run.bot.run_due()
    backup = card_in(run, chat_of(run, BACKUP_AAD), "vervanger van de aandachtsfunctionaris")
    assert reference in texts(card_of(backup)) and "Zundert" in texts(card_of(backup))
    no_content(backup)

    clock.set(TUESDAY + timedelta(days=3, hours=1))
    run.bot.run_due()
    kr = card_in(run, chat_of(run, KR_AAD), "ketenregisseur")
    shown = texts(card_of(kr))
    assert reference in shown and "Zundert" in shown
    for content in (ANSWERS["description"], ANSWERS["location"], "horeca"):
        assert content not in shown  # the ketenregisseur sees no case content
    no_content(kr)


def _root(run: TeamsRun) -> str:
    with Session(run.bot.core.engine) as session:
        card = session.exec(select(MessageRef).where(MessageRef.kind == "case_card",
                                                     MessageRef.conversation == CHANNEL)).first()
    assert card is not None and card.message_id
    return card.message_id


def test_a_partner_in_teams_gives_advice_from_the_card(run: TeamsRun) -> None:
    run.add_to_team()
    reference = report_in_teams(run, ANSWERS)
    sid = signal_id(run)
    af = f"teams:{AF_AAD}"
    assert cases.claim(run.bot.core, sid, af).ok
    assert cases.consult(run.bot.core, sid, af, ["avim"], "Is dit adres bij jullie bekend?").ok

    chat = chat_of(run, PARTNER_AAD)
    request = card_in(run, chat, "Is dit adres bij jullie bekend?")
    assert reference in texts(card_of(request)) and ANSWERS["description"] not in texts(card_of(request))
    assert "Rita" not in texts(card_of(request))  # the reporter is not shared with a partner
    no_content(request)
    give = action(request, "advice")
    assert any(i.get("id") == "answer" for i in card_of(request)["body"])

    # Someone who is not of the partner cannot answer with the same button (check_partner first): the
    # answer to the click says why not (tests/test_teams_refusals_cards.py), no card.
    resp = run.click("advice", give["data"], answer="Ik weet het niet")
    assert resp.status_code == 200 and resp.json()["value"] not in ("Ontvangen.", "")
    with Session(run.bot.core.engine) as session:
        assert session.exec(select(Consultation)).one().answered_at is None

    click_as(run, PARTNER_AAD, give, answer="Ja, bekend bij de wijkagent.")
    answered = card_in(run, chat, "Ja, bekend bij de wijkagent.")
    assert not [a for a in card_of(answered).get("actions") or [] if a.get("verb") == "advice"]
    with Session(run.bot.core.engine) as session:
        c = session.exec(select(Consultation)).one()
        assert c.answer == "Ja, bekend bij de wijkagent." and c.answered_by == f"teams:{PARTNER_AAD}"


def test_a_training_invitation_in_teams_is_answered_with_ik_kom(run: TeamsRun, clock: Clock) -> None:
    run.add_to_team()  # the bot learns the tenant's address
    result = core_training.create(run.bot.core, f"teams:{KR_AAD}", TrainingInput(
        title="Signalen herkennen", starts=TUESDAY + timedelta(days=14), ends=TUESDAY + timedelta(days=14, hours=2),
        location="Stadhuis Zundert", audience="network"))
    assert result.ok, result
    chat = chat_of(run, MEMBER_AAD)
    invite = card_in(run, chat, "Signalen herkennen")
    assert "Stadhuis Zundert" in texts(card_of(invite))
    yes = next(a for a in card_of(invite)["actions"] if a.get("verb") == "rsvp" and a["data"]["answer"] == "yes")

    click_as(run, MEMBER_AAD, yes)
    card_in(run, chat, "Je komt")  # the invitation is redrawn in place with the answer
    with Session(run.bot.core.engine) as session:
        rsvp = session.exec(select(TrainingRsvp).where(TrainingRsvp.user_id == f"teams:{MEMBER_AAD}")).one()
        assert rsvp.status == "yes"


def test_the_organiser_records_attendance_on_the_request_in_teams(run: TeamsRun, clock: Clock) -> None:
    run.add_to_team()
    starts = TUESDAY + timedelta(days=1)
    assert core_training.create(run.bot.core, f"teams:{KR_AAD}", TrainingInput(
        title="Signalen herkennen", starts=starts, ends=starts + timedelta(hours=2), location="Stadhuis Zundert",
        audience="network")).ok
    member = f"teams:{MEMBER_AAD}"
    yes = action(card_in(run, chat_of(run, MEMBER_AAD), "Signalen herkennen"), "rsvp")
    assert yes["data"]["answer"] == "yes"
    click_as(run, MEMBER_AAD, yes)
    card_in(run, chat_of(run, MEMBER_AAD), "Je komt")
    assert core_training.rsvp(run.bot.core, core_training_id(run), f"teams:{AF_AAD}", "yes").ok

    clock.set(starts + timedelta(hours=3))  # the training is over
    run.bot.run_due()
    kr = chat_of(run, KR_AAD)
    _i, card, record = run.card_with(kr, "attendance")
    form = next(i for i in card["body"] if i.get("id") == "attended")
    assert sorted(c["value"] for c in form["choices"]) == sorted([member, f"teams:{AF_AAD}"])

    # Only an organiser may record it (the member cannot, with the same button): the answer says why.
    assert "plannen trainingen" in click_as(run, MEMBER_AAD, record, attended=member)
    click_as(run, KR_AAD, record, attended=member)
    card_in(run, kr, "Aanwezigheid opgeslagen: er was 1 persoon")  # the request is redrawn with what was saved
    with Session(run.bot.core.engine) as session:
        rows = session.exec(select(TrainingAttendance)).all()
        assert [(r.user_id, r.walk_in) for r in rows] == [(member, False)]


def core_training_id(run: TeamsRun) -> int:
    with Session(run.bot.core.engine) as session:
        found = session.exec(select(TrainingSession.id)).one()
    assert found is not None
    return found


def test_a_person_the_bot_cannot_reach_is_listed_and_reported_to_the_ketenregisseur_once(
        run: TeamsRun, clock: Clock) -> None:
    run.add_to_team()
    assert core_training.create(run.bot.core, f"teams:{KR_AAD}", TrainingInput(
        title="Signalen herkennen", starts=TUESDAY + timedelta(days=14), ends=TUESDAY + timedelta(days=14, hours=2),
        location="Stadhuis Zundert", audience="network")).ok
    card_in(run, chat_of(run, MEMBER_AAD), "Signalen herkennen")  # the others got theirs
    refused = wait_for(lambda: [r for r in run.teams.received if r.path == "/v3/conversations" and r.status == 403])
    assert refused[0].body["members"] == [{"id": ABSENT_AAD}]

    def marked() -> bool:
        with Session(run.bot.core.engine) as session:
            return bool(reach.unreachable(session))
    wait_for(marked)
    with Session(run.bot.core.engine) as session:
        lines = reach.describe(session)
    assert len(lines) == 2 and f"teams:{ABSENT_AAD}" in lines[1] and "teams" in lines[1]

    clock.set(TUESDAY + timedelta(minutes=5))
    assert any("unreachable" in line for line in run.bot.run_due())
    kr_chat = chat_of(run, KR_AAD)
    report = card_in(run, kr_chat, ABSENT_AAD)
    assert "niet installeren" not in report.get("summary", "") and ABSENT_AAD not in report.get("summary", "")
    clock.set(TUESDAY + timedelta(minutes=10))
    assert not any("unreachable" in line for line in run.bot.run_due())  # told once, not per run
    with Session(run.bot.core.engine) as session:
        reports = session.exec(select(MessageRef).where(MessageRef.template == "unreachable_report")).all()
    assert len(reports) == 1

    # Once they write to the bot, they are reachable again: no longer listed.
    absent_chat = "a:1absent-member-wrote-to-the-bot"
    run.send(run.activity("message", conversation=absent_chat, sender=("29:1absent-member-000", ABSENT_AAD)))

    def cleared() -> bool:
        with Session(run.bot.core.engine) as session:
            return not session.exec(select(Identity).where(col(Identity.unreachable_since).is_not(None))).all()
    wait_for(cleared)


def test_a_partner_in_teams_reports_the_outcome_of_a_hand_over_from_the_card(run: TeamsRun) -> None:
    run.add_to_team()
    reference = report_in_teams(run, ANSWERS)
    sid = signal_id(run)
    af = f"teams:{AF_AAD}"
    assert cases.claim(run.bot.core, sid, af).ok
    assert cases.route(run.bot.core, sid, af, ["avim"], message="Graag vóór vrijdag bekijken.").ok

    chat = chat_of(run, PARTNER_AAD)
    handover = card_in(run, chat, "Graag vóór vrijdag bekijken.")
    shown = texts(card_of(handover))
    assert reference in shown and ANSWERS["description"] not in shown and ANSWERS["location"] not in shown
    no_content(handover)
    kinds = next(i for i in card_of(handover)["body"] if i.get("id") == "kind")
    assert "onderzoek_gestart" in [c["value"] for c in kinds["choices"]]
    report = action(handover, "outcome")

    click_as(run, PARTNER_AAD, report, kind="onderzoek_gestart", answer="Controle gepland.")
    done = card_in(run, chat, "Controle gepland.")
    assert not [a for a in card_of(done).get("actions") or [] if a.get("verb") == "outcome"]
    with Session(run.bot.core.engine) as session:
        h = session.exec(select(Handover)).one()
        assert h.outcome_kind == "onderzoek_gestart" and h.outcome == "Controle gepland."
        assert h.outcome_by == f"teams:{PARTNER_AAD}"


def test_an_unanswered_request_for_advice_reminds_the_partner_who_answers_from_the_reminder(
        run: TeamsRun, clock: Clock) -> None:
    run.add_to_team()
    reference = report_in_teams(run, ANSWERS)
    sid = signal_id(run)
    af = f"teams:{AF_AAD}"
    assert cases.claim(run.bot.core, sid, af).ok
    assert cases.consult(run.bot.core, sid, af, ["avim"], "Bekend adres?").ok
    chat = chat_of(run, PARTNER_AAD)
    card_in(run, chat, "Bekend adres?")

    clock.set(TUESDAY + timedelta(days=3, hours=1))  # three working days later
    run.bot.run_due()
    reminder = card_in(run, chat, "wacht nog op antwoord")
    assert reference in texts(card_of(reminder)) and "Bekend adres?" not in texts(card_of(reminder))
    no_content(reminder)
    click_as(run, PARTNER_AAD, action(reminder, "advice"), answer="Nee, niet bekend.")
    card_in(run, chat, "Afgehandeld: het advies is vastgelegd")  # the reminder is redrawn: settled
    with Session(run.bot.core.engine) as session:
        assert session.exec(select(Consultation)).one().answer == "Nee, niet bekend."


def test_the_monthly_digest_reaches_a_ketenregisseur_in_teams_with_figures_only(run: TeamsRun) -> None:
    run.add_to_team()
    report_in_teams(run, ANSWERS)  # a signal this month; the digest covers last month
    run.bot.run_due()  # the first working day of the month, in office hours
    kr = chat_of(run, KR_AAD)
    digest = card_in(run, kr, "Maandcijfers november 2026")
    assert "Signalen" in texts(card_of(digest)) and digest["summary"] == "Maandcijfers november 2026"
    charts = card_in(run, kr, "Grafieken")  # as images in the card (tests/test_teams_words.py: within the limit)
    assert [e["type"] for e in card_of(charts)["body"]].count("Image") == 3
    for activity in (digest, charts):
        no_content(activity)


def test_the_af_snoozes_a_reminder_in_their_own_chat(database_url: str, fake: FakeSlack, fake_teams: FakeTeams,
                                                    clock: Clock) -> None:
    """A municipality without a Teams channel: the case card and its reminder go to the AF's 1:1 chat,
    where the Snooze buttons are taken."""
    without_channel = NETWORK.replace(f"    channel: teams:{CHANNEL}\n", "")
    run = start_teams_bot(database_url, fake, fake_teams, network_yaml=without_channel, clock=clock)
    try:
        reference = report_in_teams(run, ANSWERS)
        chat = chat_of(run, AF_AAD)
        card_in(run, chat, ANSWERS["description"])

        clock.set(TUESDAY + timedelta(days=1, hours=1))
        run.bot.run_due()
        reminder = card_in(run, chat, "nog niemand heeft het opgepakt")
        assert reference in texts(card_of(reminder))
        tomorrow = next(a for a in card_of(reminder)["actions"] if a.get("verb") == "snooze"
                        and a["data"]["until"] == "tomorrow")
        click_as(run, AF_AAD, tomorrow)
        snoozed = card_in(run, chat, "💤")
        assert not [a for a in card_of(snoozed).get("actions") or [] if a.get("verb") == "snooze"]
        with Session(run.bot.core.engine) as session:
            deadline = session.exec(select(Deadline).where(Deadline.rule_key == "unclaimed_af")).one()
            assert deadline.snoozed and deadline.snoozed_by == f"teams:{AF_AAD}"
    finally:
        run.stop()


def unclaimed_reminder_in_the_channel(run: TeamsRun, clock: Clock) -> dict[str, Any]:
    """A signal reported in Teams and left unclaimed for a day: the AF's reminder in the case card's thread
    in the channel; its "Morgen" (snooze) button."""
    run.add_to_team()
    report_in_teams(run, ANSWERS)
    wait_for(lambda: run.teams.cards(CHANNEL))
    clock.set(TUESDAY + timedelta(days=1, hours=1))
    run.bot.run_due()
    reminder = card_in(run, CHANNEL, "nog niemand heeft het opgepakt")
    return next(a for a in card_of(reminder)["actions"] if a.get("verb") == "snooze"
                and a["data"]["until"] == "tomorrow")


def test_the_af_snoozes_a_reminder_in_the_case_cards_thread_in_the_channel(run: TeamsRun, clock: Clock) -> None:
    """The reminder is a reply in the case card's thread in the municipality's channel: its Snooze is
    taken there (a click in a channel, from the AF), and the same click by the reporter is refused."""
    tomorrow = unclaimed_reminder_in_the_channel(run, clock)

    def click_in_channel(aad: str) -> str:
        value = {"action": {"type": "Action.Execute", "verb": "snooze", "data": tomorrow["data"]}, "trigger": "manual"}
        activity = run.activity("invoke", conversation=f"{CHANNEL};messageid={_root(run)}",
                                conversation_type="channel", sender=(f"29:1{aad[:12]}-teams", aad),
                                name="adaptiveCard/action", value=value)
        resp = run.send(activity)
        assert resp.status_code == 200
        return str(resp.json()["value"])

    def snoozed() -> bool:
        with Session(run.bot.core.engine) as session:
            return session.exec(select(Deadline).where(Deadline.rule_key == "unclaimed_af")).one().snoozed

    # Not theirs to snooze: told why in the answer to the click (tests/test_teams_refusals_cards.py).
    assert click_in_channel(REPORTER_AAD).startswith("Jij hebt dit signaal gemeld.") and not snoozed()
    assert click_in_channel(AF_AAD) == "Ontvangen."
    wait_for(snoozed)
    card_in(run, CHANNEL, "💤")
