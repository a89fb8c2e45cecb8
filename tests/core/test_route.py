"""One signal along the whole meldroute through the in-memory edge: reported, claimed, a question to
the reporter and their answer, advice asked from AVIM (reminded when overdue, then given), an
internal note, concluded, routed to AVIM with its outcome, feedback, closed, and purged when its
retention is over. At each step: who got which message where, and the state of the case."""

from __future__ import annotations

from typing import Any

from bot.core.testing import Shown, TestEdge, dm
from tests.core.conftest import (
    AF,
    AF_ELSEWHERE,
    ANSWERS,
    AVIM,
    CASE_PLACE,
    DESCRIPTION,
    LOCATION,
    REPORTER,
    ZOCO,
    local,
)

QUESTION = "Hoeveel mensen slapen daar ongeveer?"
ANSWER = "Ik schat een stuk of vier, vooral jonge mannen."
CONSULT = "Kennen jullie de eigenaar van dit adres?"
ADVICE = "De eigenaar is bij ons bekend van eerdere meldingen."
NOTE = "Notitie: de zus van de eigenaar belde anoniem."
RATIONALE = "Meervoudige afhankelijkheid en huisvesting via werkgever."
ROUTE_MESSAGE = "Graag een controle in de komende week."
OUTCOME = "Controle uitgevoerd, twee slachtoffers in opvang."
FEEDBACK = "Dank je wel. We hebben je signaal doorgezet naar de juiste partner."

# What only the AF's private place may hold (the reporter sees their own words and what the AF sent them).
CASE_FILE = (DESCRIPTION, LOCATION, ANSWER, ADVICE, NOTE, RATIONALE, OUTCOME, FEEDBACK, QUESTION, REPORTER)
NEVER_TO_THE_REPORTER = (CONSULT, ADVICE, NOTE, RATIONALE, ROUTE_MESSAGE, OUTCOME)


def kinds(shown: list[Shown]) -> list[str]:
    return [s.kind for s in shown]


def newest(shown: list[Shown], kind: str) -> Shown:
    return [s for s in shown if s.kind == kind][-1]


def events_in(shown: list[Shown]) -> list[str]:
    return [s.data["event"]["kind"] for s in shown if "event" in s.data]


def has(data: dict[str, Any], **expected: Any) -> bool:
    return data.items() >= expected.items()


def holds(data: list[dict[str, Any]], text: str) -> bool:
    return any(text in repr(d) for d in data)


def state(edge: TestEdge, reference: str) -> tuple[str, str | None, str | None]:
    s = edge.signal(reference)
    return s.status, s.claimed_by, s.conclusion


def card(edge: TestEdge) -> Shown:
    cards = [s for s in edge.place(CASE_PLACE) if s.kind == "case_card"]
    assert len(cards) == 1, kinds(edge.place(CASE_PLACE))
    return cards[0]


def test_the_whole_route_tells_each_person_only_their_part(edge: TestEdge) -> None:
    # Reported: the reporter's DM holds the questions, the summary and the receipt; the case card with
    # the case goes to Breda's private case place, mentioning its AF. Nowhere else.
    reference = edge.report(REPORTER, ANSWERS)
    assert edge.signal(reference).status == "new"
    assert kinds(edge.inbox(REPORTER))[-2:] == ["summary", "receipt"]
    assert card(edge).data["ref"]["mention"] == [AF]
    assert card(edge).data["case"] == {"status": "new", "claimed_by": None, "conclusion": None,
                                       "description": DESCRIPTION, "location": LOCATION}
    assert edge.conversations() == {dm(REPORTER), CASE_PLACE}

    # Another municipality's AF may not take it; Breda's AF claims it.
    refused = edge.click(AF_ELSEWHERE, "claim", reference)
    assert not refused.ok and refused.error == "denied"
    assert edge.click(AF, "claim", reference).ok
    assert (edge.signal(reference).status, edge.signal(reference).claimed_by) == ("in_progress", AF)
    assert card(edge).data["case"]["claimed_by"] == AF
    assert events_in(edge.inbox(REPORTER)) == ["claimed"]
    assert events_in(edge.thread(card(edge))) == ["claimed"]

    # A question to the reporter, in their own signal thread; their answer lands in the case thread.
    assert edge.click(AF, "ask_info", reference, question=QUESTION).ok
    asked = newest(edge.inbox(REPORTER), "reporter_event")
    assert asked.data["event"]["kind"] == "info_requested" and asked.data["event"]["text"] == QUESTION
    assert asked.thread == edge.inbox(REPORTER)[0].message  # a reply under the signal's root
    assert edge.reply(REPORTER, reference, ANSWER, question=asked.data["event"]["id"]).ok
    assert has(newest(edge.thread(card(edge)), "case_event").data["event"], kind="reporter_answer", text=ANSWER)
    assert not edge.reply(REPORTER, reference, "nog een keer", question=asked.data["event"]["id"]).ok

    # Advice from AVIM, without the description: a brief in the DM of AVIM's member, nothing to ZoCo.
    assert edge.click(AF, "consult", reference, partners=["avim"], question=CONSULT).ok
    brief = newest(edge.inbox(AVIM), "partner_consultation")
    assert has(brief.data["consultation"], partner="avim", question=CONSULT, include_description=False,
               answered=False)
    assert edge.inbox(ZOCO) == []

    # Three working days later AVIM's member and the AF are reminded; then the advice comes.
    lines = edge.travel(local(2027, 4, 8, 10, 1))
    assert any("advice_unanswered" in line for line in lines), lines
    assert newest(edge.inbox(AVIM), "reminder_partner").data["deadline"]["rule"] == "advice_unanswered"
    assert newest(edge.thread(card(edge)), "reminder").data["ref"]["mention"] == [AF]
    assert edge.advise(AVIM, brief.data["consultation"]["id"], ADVICE).ok
    assert state(edge, reference) == ("in_progress", AF, None)
    assert newest(edge.inbox(AVIM), "partner_consultation").data["consultation"]["answered"]
    assert newest(edge.thread(card(edge)), "case_event").data["event"]["text"] == ADVICE
    assert not edge.advise(ZOCO, brief.data["consultation"]["id"], "ik ook").ok  # not ZoCo's to answer

    # An internal note stays on the case: not in the reporter's DM, not even in the case thread.
    assert edge.click(AF, "note", reference, text=NOTE).ok
    assert not any(holds(edge.ever_shown(c), NOTE) for c in edge.conversations())

    assert edge.click(AF, "conclude", reference, conclusion="wel", rationale=RATIONALE).ok
    assert state(edge, reference) == ("in_progress", AF, "wel")
    assert card(edge).data["case"]["conclusion"] == "wel"

    # Routed to AVIM: the hand-over in the member's DM, the outcome reported back in the case thread.
    assert edge.click(AF, "route", reference, partners=["avim"], message=ROUTE_MESSAGE).ok
    handover = newest(edge.inbox(AVIM), "partner_handover")
    assert handover.data["handover"]["partner"] == "avim" and handover.data["event"]["text"] == ROUTE_MESSAGE
    assert handover.data["ref"]["description"] is False
    assert state(edge, reference) == ("in_progress", AF, "wel")
    assert edge.report_outcome(AVIM, handover.data["handover"]["id"], OUTCOME, kind="zorgtraject_gestart").ok
    assert newest(edge.thread(card(edge)), "case_event").data["event"]["text"] == OUTCOME

    # Feedback to the reporter, then closed.
    early = edge.click(AF, "close", reference)  # the reporter asked for feedback: none was given yet
    assert not early.ok and early.error == "refused"
    assert edge.click(AF, "feedback", reference, text=FEEDBACK).ok
    assert has(newest(edge.inbox(REPORTER), "reporter_event").data["event"], kind="feedback", text=FEEDBACK)
    assert edge.click(AF, "close", reference).ok
    assert state(edge, reference) == ("closed", AF, "wel")
    assert card(edge).data["case"]["status"] == "closed"

    # Who saw what, over the whole route.
    assert edge.conversations() == {dm(REPORTER), CASE_PLACE, dm(AVIM)}
    reporter_saw = edge.ever_shown(dm(REPORTER))
    assert events_in(edge.inbox(REPORTER)) == ["claimed", "info_requested", "feedback"]
    assert not [text for text in NEVER_TO_THE_REPORTER if holds(reporter_saw, text)]
    assert all(s.data["event"]["visible_to_reporter"] for s in edge.inbox(REPORTER) if "event" in s.data)
    assert {s.kind for s in edge.inbox(AVIM)} == {"partner_consultation", "reminder_partner", "partner_handover"}
    partner_saw = edge.ever_shown(dm(AVIM))
    assert holds(partner_saw, CONSULT) and holds(partner_saw, ROUTE_MESSAGE)  # what the AF wrote to AVIM
    assert not [text for text in CASE_FILE if holds(partner_saw, text)]


def test_a_partner_sees_the_description_only_when_the_af_shares_it(edge: TestEdge) -> None:
    reference = edge.report(REPORTER, ANSWERS)
    edge.click(AF, "claim", reference)
    assert edge.click(AF, "consult", reference, partners=["avim"], question=CONSULT).ok
    assert newest(edge.inbox(AVIM), "partner_consultation").data["consultation"]["include_description"] is False
    assert edge.click(AF, "consult", reference, partners=["zoco"], question=CONSULT, include_description=True).ok
    assert newest(edge.inbox(ZOCO), "partner_consultation").data["consultation"]["include_description"] is True
    assert newest(edge.inbox(AVIM), "partner_consultation").data["consultation"]["include_description"] is False
    # What the core's presenter gives each partner to show (bot.core.presenters.partner_brief).
    assert newest(edge.inbox(ZOCO), "partner_consultation").data["shown"]["description"] == DESCRIPTION
    assert newest(edge.inbox(AVIM), "partner_consultation").data["shown"]["description"] is None
    assert not holds(edge.ever_shown(dm(AVIM)), DESCRIPTION) and not holds(edge.ever_shown(dm(AVIM)), LOCATION)


def test_nothing_of_the_case_reaches_a_place_other_than_the_case_place(edge: TestEdge) -> None:
    """Every place (not a DM) that got a message is the municipality's own case place, and what
    content went to a DM went to the reporter, the AF or a partner member asked by the AF."""
    reference = edge.report(REPORTER, ANSWERS)
    edge.travel(local(2027, 4, 9, 10, 1))  # the unclaimed ladder up to the ketenregisseur
    edge.click(AF, "claim", reference)
    edge.click(AF, "consult", reference, partners=["avim"], question=CONSULT)
    places = {c for c in edge.conversations() if not c.startswith("dm:")}
    assert places == {CASE_PLACE}
    for conversation in edge.conversations() - {CASE_PLACE, dm(REPORTER)}:
        assert not holds(edge.ever_shown(conversation), DESCRIPTION), conversation
        assert not holds(edge.ever_shown(conversation), LOCATION), conversation


def test_a_municipality_without_a_case_place_gets_its_cards_by_dm(edge: TestEdge) -> None:
    reference = edge.report(REPORTER, {**ANSWERS, "municipality": "Etten-Leur"})
    [card_dm] = [s for s in edge.inbox(AF_ELSEWHERE) if s.kind == "case_card"]
    assert card_dm.data["reference"] == reference and card_dm.data["ref"]["mention"] == [AF_ELSEWHERE]
    assert edge.place(CASE_PLACE) == [] and edge.inbox(AF) == []  # not Breda's
    assert edge.click(AF, "claim", reference).error == "denied"
    assert edge.click(AF_ELSEWHERE, "claim", reference).ok
    assert [s.data["event"]["kind"] for s in edge.thread(card_dm)] == ["claimed"]


def test_a_cancelled_draft_keeps_nothing_of_what_was_typed(edge: TestEdge) -> None:
    reference = edge.report(REPORTER, ANSWERS, send=False)
    assert newest(edge.inbox(REPORTER), "summary").data["answers"]["description"] == DESCRIPTION
    assert edge.cancel(REPORTER, reference).ok
    assert (edge.signal(reference).status, edge.signal(reference).description) == ("cancelled", None)
    assert not holds([s.data for s in edge.inbox(REPORTER)], DESCRIPTION)
    assert edge.conversations() == {dm(REPORTER)}  # nobody else ever heard of it
