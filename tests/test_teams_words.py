"""Teams (issue 17): the words training, netwerk and cijfers in the bot's 1:1 chat — what Slack's
`/signaal training`, `netwerk` and `cijfers` give, with the core's permissions and audit — the help
that lists them, walk-ins on the attendance card (Teams' people picker), and the digest's charts as
images inside a card that stays within Teams' message limit."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.core import training as core_training
from bot.core.clock import Clock
from bot.core.training import TrainingInput
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.fake_teams import FakeTeams
from bot.teams.network_cards import MESSAGE_LIMIT
from models import AuditEntry, Handover, Municipality, Person, Signal
from models.training import TrainingAttendance, TrainingSession
from tests.teams_support import AF_AAD, TeamsRun, card_of, start_teams_bot, texts, wait_for
from tests.teams_support import fake_teams as fake_teams  # noqa: F401 - fixtures
from tests.test_teams_network import KR_AAD, MEMBER_AAD, NETWORK, TUESDAY

NEWCOMER_AAD = "0b5e1c2a-9999-4a4a-9b9b-000000000009"  # not in the network file: added from Teams


@pytest.fixture
def clock() -> Clock:
    c = Clock()
    c.set(TUESDAY)
    return c


@pytest.fixture
def run(database_url: str, fake: FakeSlack, fake_teams: FakeTeams, clock: Clock) -> Iterator[TeamsRun]:
    r = start_teams_bot(database_url, fake, fake_teams, network_yaml=NETWORK, clock=clock)
    RUN.append(r)
    try:
        yield r
    finally:
        RUN.remove(r)
        r.stop()


RUN: list[TeamsRun] = []


def chat(aad: str) -> str:
    """The person's 1:1 chat with the bot: the one the bot opened, else one they start by writing."""
    return (RUN[-1].teams.chat_with(aad) if RUN else None) or f"a:1chat-with-{aad[-6:]}"


def say(run: TeamsRun, aad: str, words: str, locale: str = "nl-NL") -> None:
    activity = run.activity("message", conversation=chat(aad), sender=(f"29:1{aad[-6:]}", aad), text=words)
    activity["locale"] = locale
    assert run.send(activity).status_code == 200


def click(run: TeamsRun, aad: str, act: dict[str, Any], **inputs: Any) -> None:
    value = {"action": {"type": "Action.Execute", "verb": act["verb"], "data": {**act["data"], **inputs}},
             "trigger": "manual"}
    activity = run.activity("invoke", conversation=chat(aad), sender=(f"29:1{aad[-6:]}", aad),
                            name="adaptiveCard/action", value=value)
    assert run.send(activity).status_code == 200


def card_in(run: TeamsRun, conversation: str, needle: str, since: int = 0) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        shown = run.teams.cards(conversation)[since:]
        return next((a for a in reversed(shown) if needle in texts(card_of(a))), None)
    return wait_for(found)


def count(run: TeamsRun, aad: str) -> int:
    return len(run.teams.cards(chat(aad)))


def form_action(card: dict[str, Any], verb: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Action.ShowCard (anywhere on the card) whose form has `verb`: (its form card, that action)."""
    def walk(actions: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for a in actions:
            if a.get("type") == "Action.ShowCard":
                for inner in a["card"].get("actions") or []:
                    if inner.get("verb") == verb:
                        yield a["card"], inner
                yield from walk(a["card"].get("actions") or [])
    sets = [e.get("actions") or [] for e in card.get("body") or [] if e.get("type") == "ActionSet"]
    found = [x for actions in [card.get("actions") or [], *sets] for x in walk(actions)]
    assert found, f"no form with {verb} on the card"
    return found[0]


def audited(run: TeamsRun, action: str) -> list[AuditEntry]:
    with Session(run.bot.core.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


# ------------------------------------------------------------------------------ help


def test_help_lists_the_new_words_in_dutch_and_in_english(run: TeamsRun) -> None:
    say(run, MEMBER_AAD, "help")
    dutch = texts(card_of(card_in(run, chat(MEMBER_AAD), "**cijfers**")))
    assert "**training** — trainingen bekijken" in dutch and "**netwerk** — het netwerk" in dutch
    assert "“cijfers 2026-03”" in dutch
    say(run, KR_AAD, "help", locale="en-US")
    english = texts(card_of(card_in(run, chat(KR_AAD), "**cijfers** — figures")))
    assert "**training** — trainings: see them" in english and "**netwerk** — the network" in english
    # A near miss suggests the word, and the suggestion works.
    before = count(run, MEMBER_AAD)
    say(run, MEMBER_AAD, "trainig")
    start = card_of(card_in(run, chat(MEMBER_AAD), "Bedoelde je “training”", since=before))
    assert any(a.get("data") == {"w": "training"} for a in start["actions"])


# ------------------------------------------------------------------------------ training


def test_the_ketenregisseur_plans_a_training_from_teams_and_the_network_is_invited(run: TeamsRun) -> None:
    run.add_to_team()
    say(run, KR_AAD, "training")
    card = card_of(card_in(run, chat(KR_AAD), "Trainingen"))
    form, plan = form_action(card, "training_plan")
    audiences = next(i for i in form["body"] if i.get("id") == "n_audience")
    assert "network" in [c["value"] for c in audiences["choices"]]
    inputs = {"n_title": "Signalen herkennen", "n_starts_date": "2026-12-15", "n_starts_time": "10:00",
              "n_ends_date": "2026-12-15", "n_ends_time": "12:00", "n_location": "Stadhuis Zundert",
              "n_url": "", "n_audience": "network", "n_capacity": ""}

    # What is wrong is said, and nothing is planned.
    before = count(run, KR_AAD)
    click(run, KR_AAD, plan, **{**inputs, "n_ends_time": "09:00"})
    refusal = texts(card_of(card_in(run, chat(KR_AAD), "Nog niet opgeslagen", since=before)))
    assert "Het einde moet na het begin liggen." in refusal
    with Session(run.bot.core.engine) as session:
        assert session.exec(select(TrainingSession)).all() == []

    click(run, KR_AAD, plan, **inputs)
    card_in(run, chat(KR_AAD), "De training is gepland")
    with Session(run.bot.core.engine) as session:
        t = session.exec(select(TrainingSession)).one()
        assert (t.title, t.audience, t.organiser_id) == ("Signalen herkennen", "network", f"teams:{KR_AAD}")
        assert t.starts_at == datetime(2026, 12, 15, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
    member_chat = wait_for(lambda: run.teams.chat_with(MEMBER_AAD))
    invite = card_in(run, member_chat, "Signalen herkennen")
    assert invite["summary"] == "Nieuwe training: Signalen herkennen"

    # The organiser changes it from the same word's card.
    say(run, KR_AAD, "training")
    mine = card_of(card_in(run, chat(KR_AAD), "Trainingen die jij organiseert"))
    _form, change = form_action(mine, "training_change")
    prefix = change["data"]["p"]
    click(run, KR_AAD, change, **{prefix + "title": "Signalen herkennen (nieuw)", prefix + "starts_date": "2026-12-15",
                                  prefix + "starts_time": "10:00", prefix + "ends_date": "2026-12-15",
                                  prefix + "ends_time": "12:30", prefix + "location": "Stadhuis Zundert",
                                  prefix + "capacity": "20"})
    card_in(run, chat(KR_AAD), "De training is gewijzigd")
    with Session(run.bot.core.engine) as session:
        t = session.exec(select(TrainingSession)).one()
        assert (t.title, t.capacity) == ("Signalen herkennen (nieuw)", 20)


def test_a_member_sees_the_trainings_but_cannot_plan_one(run: TeamsRun, clock: Clock) -> None:
    run.add_to_team()
    assert core_training.create(run.bot.core, f"teams:{KR_AAD}", TrainingInput(
        title="Signalen herkennen", starts=TUESDAY + timedelta(days=14), ends=TUESDAY + timedelta(days=14, hours=2),
        location="Stadhuis Zundert", audience="network")).ok
    card_in(run, wait_for(lambda: run.teams.chat_with(MEMBER_AAD)), "Signalen herkennen")  # the invitation
    say(run, MEMBER_AAD, "training")
    card = card_of(card_in(run, chat(MEMBER_AAD), "Trainingen voor jou"))
    assert "Signalen herkennen" in texts(card) and not card.get("actions")  # no form to plan one
    assert "training_plan" not in json.dumps(card)
    # A forged click of the form is refused by the core, with what to do.
    before = count(run, MEMBER_AAD)
    click(run, MEMBER_AAD, {"verb": "training_plan", "data": {"p": "n_"}}, n_title="Eigen training",
          n_starts_date="2026-12-20", n_starts_time="10:00", n_ends_date="2026-12-20", n_ends_time="11:00",
          n_location="Thuis", n_audience="network")
    card_in(run, chat(MEMBER_AAD), "plannen trainingen", since=before)
    with Session(run.bot.core.engine) as session:
        assert [t.title for t in session.exec(select(TrainingSession)).all()] == ["Signalen herkennen"]


# ------------------------------------------------------------------------------ netwerk


def test_an_af_manages_the_network_from_teams_and_others_are_refused(run: TeamsRun) -> None:
    say(run, MEMBER_AAD, "netwerk")
    card_in(run, chat(MEMBER_AAD), "Alleen de ketenregisseur en aandachtsfunctionarissen beheren het netwerk. "
                                   "Moet er iemand bij of af?")
    assert audited(run, "member.listed") == []

    say(run, AF_AAD, "netwerk")
    card = card_of(card_in(run, chat(AF_AAD), "Netwerkleden"))
    assert audited(run, "member.listed")
    form, save = form_action(card, "member_save")
    picker = next(i for i in form["body"] if i.get("id") == "member")
    assert picker["choices.data"] == {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
    municipality = next(i for i in form["body"] if i.get("id") == "municipality")
    assert [c["value"] for c in municipality["choices"]] == ["Zundert"]  # an AF: their own municipality only

    click(run, AF_AAD, save, member=NEWCOMER_AAD, role="trained", municipality="Zundert", partner="")
    card_in(run, chat(AF_AAD), "staat in het netwerk.")
    newcomer = f"teams:{NEWCOMER_AAD}"
    with Session(run.bot.core.engine) as session:
        person = session.exec(select(Person).where(Person.user_id == newcomer)).one()
        assert person.in_network and person.network_role == "trained"

    before = count(run, AF_AAD)
    say(run, AF_AAD, "netwerk")
    card = card_of(card_in(run, chat(AF_AAD), "Netwerkleden", since=before))
    form, remove = form_action(card, "member_remove")
    leaving = next(i for i in form["body"] if i.get("id") == "leaving")
    assert newcomer in [c["value"] for c in leaving["choices"]]
    click(run, AF_AAD, remove, leaving=newcomer)
    card_in(run, chat(AF_AAD), "is uit het netwerk verwijderd")
    with Session(run.bot.core.engine) as session:
        assert not session.exec(select(Person).where(Person.user_id == newcomer)).one().in_network

    # The member's forged click changes nothing.
    before = count(run, MEMBER_AAD)
    click(run, MEMBER_AAD, save, member=NEWCOMER_AAD, role="trained", municipality="Zundert")
    card_in(run, chat(MEMBER_AAD), "beheren het netwerk", since=before)
    with Session(run.bot.core.engine) as session:
        assert not session.exec(select(Person).where(Person.user_id == newcomer)).one().in_network


# ------------------------------------------------------------------------------ cijfers


def add_signals(run: TeamsRun, months: int = 12, per_month: int = 14) -> None:
    """A realistic year: every month a dozen signals or more of several forms and sectors, most claimed,
    some handed over (with the outcomes partners report)."""
    forms, sectors = ["AU", "SU", "CU", "AU", "unknown"], ["horeca", "landbouw", "bouw", "schoonmaak", None]
    with Session(run.bot.core.engine) as session:
        zundert = session.exec(select(Municipality).where(Municipality.name == "Zundert")).one()
        n = 0
        for back in range(1, months + 1):
            month_start = datetime(2026, 12, 1, 9, tzinfo=UTC) - timedelta(days=30 * back)
            for i in range(per_month + back % 4):
                n += 1
                at = month_start + timedelta(days=i % 25, hours=i % 5)
                s = Signal(reference=f"S-2026-{n:04d}", questionnaire_version="t", description="Geheime tekst",
                           municipality_id=zundert.id, status="in_progress", form=forms[i % 5],
                           sector=sectors[i % 5], submitted_at=at, claimed_at=at + timedelta(hours=1 + i % 7),
                           claimed_by=f"teams:{AF_AAD}", answers={"source": ["balie", "collega", "media"][i % 3]})
                session.add(s)
                session.flush()
                if i % 3 == 0:
                    session.add(Handover(signal_id=s.id, partner_key="avim", outcome_kind="geen" if i % 2 else None))
        session.commit()


def test_cijfers_shows_an_af_their_municipality_and_is_audited(run: TeamsRun) -> None:
    add_signals(run, months=2)
    say(run, MEMBER_AAD, "cijfers")
    card_in(run, chat(MEMBER_AAD), "Deze cijfers zien alleen aandachtsfunctionarissen (van hun eigen gemeente)")
    assert audited(run, "stats.viewed") == []

    say(run, AF_AAD, "cijfers 2026-11")
    figures = card_in(run, chat(AF_AAD), "Cijfers — Zundert")
    assert "Geheime tekst" not in json.dumps(figures) and "S-2026-" not in json.dumps(figures)
    assert figures["summary"] == "Cijfers"
    [entry] = audited(run, "stats.viewed")
    assert entry.actor_id == f"teams:{AF_AAD}" and entry.subject == "2026-11-01..2026-11-30"

    say(run, AF_AAD, "cijfers maart")
    card_in(run, chat(AF_AAD), "Geef een jaar of een maand, bijvoorbeeld “cijfers 2026”")
    say(run, KR_AAD, "cijfers 2026")
    card_in(run, chat(KR_AAD), "Cijfers — Regio")


# ------------------------------------------------------------------------------ training cijfers


def trained_in_october(run: TeamsRun, *aads: str) -> None:
    """A training two months before the bot's clock, attended by these people (their municipality: Zundert)."""
    with Session(run.bot.core.engine) as session:
        zundert = session.exec(select(Municipality).where(Municipality.name == "Zundert")).one()
        t = TrainingSession(title="Signalen herkennen", starts_at=TUESDAY - timedelta(days=60),
                            ends_at=TUESDAY - timedelta(days=60, hours=-2), location="Stadhuis Zundert",
                            audience="network")
        session.add(t)
        session.flush()
        for aad in aads:
            session.add(TrainingAttendance(session_id=t.id, user_id=f"teams:{aad}", municipality_id=zundert.id))
        session.commit()


def test_training_cijfers_shows_who_was_trained_to_those_who_may_see_it(run: TeamsRun) -> None:
    trained_in_october(run, AF_AAD, MEMBER_AAD)
    # A member is refused kindly, told whom to ask, and nothing is recorded; their training card has no button.
    say(run, MEMBER_AAD, "training cijfers")
    refusal = texts(card_of(card_in(run, chat(MEMBER_AAD), "Deze cijfers zien alleen aandachtsfunctionarissen")))
    assert "Vraag het aan de aandachtsfunctionaris van je gemeente of aan de ketenregisseur." in refusal
    assert audited(run, "training.figures_viewed") == []
    say(run, MEMBER_AAD, "training")
    member_card = card_of(card_in(run, chat(MEMBER_AAD), "Trainingen"))
    assert "training cijfers" not in json.dumps(member_card)

    # The AF sees their municipality: small counts as "< 5", and the look is audited.
    say(run, AF_AAD, "training cijfers")
    figures = card_in(run, chat(AF_AAD), "Getraind in de afgelopen 12 maanden")
    facts = [f for e in card_of(figures)["body"] if e.get("type") == "FactSet" for f in e["facts"]]
    assert [f["title"] for f in facts] == ["Zundert"]
    assert facts[0]["value"].startswith("< 5 van ") and "< 5 mensen getraind in totaal" in facts[0]["value"]
    assert figures["summary"] == "Getraind in de afgelopen 12 maanden"
    [entry] = audited(run, "training.figures_viewed")
    assert entry.actor_id == f"teams:{AF_AAD}" and entry.data == {"municipalities": ["Zundert"]}

    # The ketenregisseur clicks the button on the (English) training card: the region.
    say(run, KR_AAD, "training", locale="en-US")
    card = card_of(card_in(run, chat(KR_AAD), "Trainings"))
    button = next(a for a in card["actions"] if a.get("title") == "Training figures")
    before = count(run, KR_AAD)
    click(run, KR_AAD, button)  # the click's activity says nl-NL: the answer is in Dutch
    region = card_of(card_in(run, chat(KR_AAD), "Getraind in de afgelopen 12 maanden", since=before))
    assert "Zundert" in texts(region) and "mensen getraind in totaal" in json.dumps(region)
    assert [e.data for e in audited(run, "training.figures_viewed")][-1] == {"municipalities": "region"}


def test_training_cijfers_is_in_the_help_and_a_near_miss_suggests_it(run: TeamsRun) -> None:
    say(run, AF_AAD, "help")
    dutch = texts(card_of(card_in(run, chat(AF_AAD), "**training cijfers**")))
    assert "**training cijfers** — wie in de afgelopen 12 maanden een training volgde, per gemeente" in dutch
    say(run, KR_AAD, "help", locale="en-US")
    english = texts(card_of(card_in(run, chat(KR_AAD), "**training cijfers** — who was trained")))
    assert "per municipality" in english
    for typo in ("training cijfrs", "trainingscijfes"):
        before = count(run, AF_AAD)
        say(run, AF_AAD, typo)
        start = card_of(card_in(run, chat(AF_AAD), "Bedoelde je “training cijfers”", since=before))
        button = next(a for a in start["actions"] if a.get("data") == {"w": "training cijfers"})
        assert button["title"] == "Trainingscijfers"
    click(run, AF_AAD, button)
    card_in(run, chat(AF_AAD), "Getraind in de afgelopen 12 maanden")
    assert len(audited(run, "training.figures_viewed")) == 1


# ------------------------------------------------------------------------------ the digest's charts


def test_the_digests_charts_reach_teams_as_images_within_the_message_limit(run: TeamsRun) -> None:
    run.add_to_team()
    add_signals(run)
    run.bot.run_due()  # the first working day of December, in office hours: November's digest
    kr = wait_for(lambda: run.teams.chat_with(KR_AAD))
    charts = card_in(run, kr, "Grafieken van de laatste twaalf maanden")
    images = [e for e in card_of(charts)["body"] if e.get("type") == "Image"]
    assert len(images) == 3 and all(i["url"].startswith("data:image/png;base64,") for i in images)
    assert all(i["altText"] for i in images)
    posted = [r.body for r in run.teams.posted(kr) if r.body and "Grafieken" in json.dumps(r.body)]
    assert posted and all(len(json.dumps(body).encode()) <= MESSAGE_LIMIT for body in posted)
    assert "Geheime tekst" not in json.dumps(posted) and "Grafieken" in charts["summary"]
    assert "Niet elke grafiek" not in texts(card_of(charts))  # all three fit


# ------------------------------------------------------------------------------ walk-ins


def test_the_organiser_adds_walk_ins_on_the_attendance_card(run: TeamsRun, clock: Clock) -> None:
    run.add_to_team()
    starts = TUESDAY + timedelta(days=1)
    assert core_training.create(run.bot.core, f"teams:{KR_AAD}", TrainingInput(
        title="Signalen herkennen", starts=starts, ends=starts + timedelta(hours=2), location="Stadhuis Zundert",
        audience="network")).ok
    with Session(run.bot.core.engine) as session:
        sid = session.exec(select(TrainingSession.id)).one()
    assert core_training.rsvp(run.bot.core, sid, f"teams:{MEMBER_AAD}", "yes").ok
    clock.set(starts + timedelta(hours=3))
    run.bot.run_due()
    kr = wait_for(lambda: run.teams.chat_with(KR_AAD))
    _i, card, record = run.card_with(kr, "attendance")
    picker = next(i for i in card["body"] if i.get("id") == "walk_ins")
    assert picker["isMultiSelect"] and picker["choices.data"]["dataset"] == "graph.microsoft.com/users"

    # The ketenregisseur clicks in the chat the request came in; a walk-in nobody invited is picked.
    walk_in = str(uuid.UUID(NEWCOMER_AAD)).upper()  # Teams may send the object id in capitals
    value = {"action": {"type": "Action.Execute", "verb": "attendance",
                        "data": {**record["data"], "attended": f"teams:{MEMBER_AAD}", "walk_ins": walk_in}}}
    resp = run.send(run.activity("invoke", conversation=kr, sender=("29:1kr", KR_AAD), name="adaptiveCard/action",
                                 value=value))
    assert resp.status_code == 200
    redrawn = card_in(run, kr, "Aanwezigheid opgeslagen: er waren 2 mensen")
    with Session(run.bot.core.engine) as session:
        rows = {(r.user_id, r.walk_in) for r in session.exec(select(TrainingAttendance)).all()}
    assert rows == {(f"teams:{MEMBER_AAD}", False), (f"teams:{NEWCOMER_AAD}", True)}
    # The redrawn card starts its picker with the walk-in.
    picker = next(i for i in card_of(redrawn)["body"] if i.get("id") == "walk_ins")
    assert picker["value"] == NEWCOMER_AAD
