"""One signal along the whole meldroute, through signed payloads only: reported, claimed, a question
to the reporter (answered with the button), advice from AVIM (given from the reminder), an internal
note, concluded, routed with the description, the outcome from AVIM, feedback, closed — and a network
member answers a training invitation. Used by the privacy tests (retention, logs, opaque ids)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from bot.core import training
from tests.case_helpers import AVIM, act, click_case, dm_with, modal_of, reporter_replies, signal_row, submit
from tests.helpers import AF, KETENREGISSEUR
from tests.privacy_support import FREE_TEXT_BITS
from tests.reminders_support import local, report_at, settle, travel

NET1 = "U0NET00001"
QUESTION = "Hoeveel mensen slapen daar ongeveer?"
ANSWER = "Ik schat een stuk of vier, vooral jonge mannen."
CONSULT = "Kennen jullie de eigenaar van dit adres?"
ADVICE = "De eigenaar is bij ons bekend van eerdere meldingen."
NOTE = "Notitie: de zus van de eigenaar belde anoniem."
RATIONALE = "Meervoudige afhankelijkheid en huisvesting via werkgever."
ROUTE_MESSAGE = "Graag een controle in de komende week."
OUTCOME = "Controle uitgevoerd, twee slachtoffers in opvang."
FEEDBACK = "Dank je wel. We hebben je signaal doorgezet naar de juiste partner."
TYPED = (QUESTION, ANSWER, CONSULT, ADVICE, NOTE, RATIONALE, ROUTE_MESSAGE, OUTCOME, FEEDBACK)
# Every piece of case content in this flow: what the reporter and the AF and partner typed.
CONTENT = FREE_TEXT_BITS + TYPED


@dataclass
class Route:
    reference: str
    training_id: int


def _button_message(r, user: str, action_id: str) -> dict[str, Any]:  # noqa: ANN001
    return r.fake.wait_for(lambda: next((m for m in reversed(r.fake.messages_in(r.fake.dm_channel_for(user)))
                                         if action_id in str(m.get("blocks"))), None))


def whole_route(r) -> Route:  # noqa: ANN001
    reference = report_at(r, local(2027, 4, 5, 10, 0))  # Monday; the reporter wants feedback
    click_case(r, AF, reference, "claim")
    r.fake.wait_for(lambda: signal_row(r, reference).claimed_by == AF)

    act(r, AF, reference, "ask_info", {"text": QUESTION})
    asked = r.fake.wait_for(lambda: next((m for m in reporter_replies(r, reference)
                                          if "case_reply:answer" in str(m.get("blocks"))), None))
    reporter = signal_row(r, reference).reporter_id or ""
    r.driver.click(reporter, asked, "case_reply:answer")
    submit(r, reporter, modal_of(r, reporter, "case_reporter_answer"), {"text": ANSWER})

    act(r, AF, reference, "consult", {"partners": ["avim"], "text": CONSULT, "share": ["yes"]})
    dm_with(r, AVIM, reference, "Adviesvraag")
    travel(r, local(2027, 4, 8, 10, 0))  # three working days: AVIM and the AF are reminded
    reminder = _button_message(r, AVIM, "partner:advice")
    r.driver.click(AVIM, reminder, "partner:advice")
    submit(r, AVIM, modal_of(r, AVIM, "partner_advice"), {"text": ADVICE})

    act(r, AF, reference, "note", {"text": NOTE})
    act(r, AF, reference, "conclude", {"conclusion": "wel", "rationale": RATIONALE})
    act(r, AF, reference, "route", {"partners": ["avim"], "text": ROUTE_MESSAGE, "share": ["yes"]})
    handover = dm_with(r, AVIM, reference, "Overdracht")
    r.driver.click(AVIM, handover, "partner:outcome")
    submit(r, AVIM, modal_of(r, AVIM, "partner_outcome"), {"outcome": "onderzoek_gestart", "text": OUTCOME})
    r.fake.wait_for(lambda: signal_row(r, reference).status == "in_progress")
    act(r, AF, reference, "feedback", {"text": FEEDBACK})
    settle(r)
    act(r, AF, reference, "close", {})  # the confirmation (nothing left open)
    r.fake.wait_for(lambda: signal_row(r, reference).status == "closed")

    made = training.create(r.core, KETENREGISSEUR, training.TrainingInput(
        title="Signalen herkennen", starts=local(2027, 5, 20, 10, 0).astimezone(UTC),
        ends=local(2027, 5, 20, 12, 0).astimezone(UTC), location="Stadskantoor Breda", audience="network"))
    assert made.ok, made
    settle(r)
    invitation = _button_message(r, NET1, "training:yes")
    before = len(r.fake.ephemerals_for(NET1))
    r.driver.click(NET1, invitation, "training:yes")
    r.fake.wait_for(lambda: len(r.fake.ephemerals_for(NET1)) > before)
    settle(r)
    return Route(reference, made.session_id or 0)
