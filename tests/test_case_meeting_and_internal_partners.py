"""The casusoverleg (§4) as a case step, and internal partners and the ketenregisseur consulted like a
partner (§3.2; issue 15, point 5). End to end through signed requests against the fake Slack."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Text, select, type_coerce
from sqlmodel import Session

from models import AuditEntry, CaseEvent, Consultation
from tests.case_helpers import (
    act,
    case_thread,
    click_case,
    dm_with,
    modal_errors,
    modal_of,
    settle,
    signal_row,
    submit,
    text_of,
    wait_in,
)
from tests.helpers import AF, KETENREGISSEUR, REPORTER, case_card, report

OUTCOME = "Afgesproken: gemeente zet Bibob-toets in, ZoCo neemt contact op met de bewoners."


def _today(r):  # noqa: ANN001, ANN202
    return r.core.clock.now().astimezone(r.core.settings.tz).date()


def test_a_case_meeting_is_recorded_with_date_and_outcome_on_card_thread_and_timeline(running) -> None:
    r = running
    reference = report(r)
    held = _today(r) - timedelta(days=2)
    act(r, AF, reference, "case_meeting", {"held_on": held.isoformat(), "text": OUTCOME})
    settle(r)
    date_text = held.strftime("%d-%m-%Y")
    card = wait_in(r, lambda: text_of(case_card(r, reference)), "Ingebracht in het casusoverleg")
    assert f"op {date_text}" in card and "Bibob-toets" in card
    thread = wait_in(r, lambda: case_thread(r, reference), OUTCOME)
    assert "Zorg- en Veiligheidshuis" in thread

    click_case(r, AF, reference, "timeline")
    wait_in(r, lambda: case_thread(r, reference), f"Ingebracht in het casusoverleg (Zorg- en Veiligheidshuis) "
                                                   f"{date_text}")

    row = signal_row(r, reference)
    assert row.claimed_by == AF  # recording it is handling the case
    with Session(r.core.engine) as session:
        stored = session.exec(select(type_coerce(CaseEvent.text, Text)).where(
            CaseEvent.signal_id == row.id, CaseEvent.kind == "case_meeting")).one()[0]
        assert stored and "Bibob" not in stored  # encrypted at rest
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "case.case_meeting",
                                                        AuditEntry.signal_id == row.id)).all()
        assert len(audited) == 1
    # The reporter hears nothing of it.
    assert "casusoverleg" not in text_of({"blocks": r.fake.messages_in(r.fake.dm_channel_for(REPORTER))})


def test_a_case_meeting_date_in_the_future_is_refused_at_the_field(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF, reference, "case_meeting")
    view = modal_of(r, AF, "case_modal:case_meeting")
    submit(r, AF, view, {"held_on": (_today(r) + timedelta(days=1)).isoformat(), "text": OUTCOME})
    errors = modal_errors(r, view)
    assert "toekomst" in errors.get("held_on", "")
    with Session(r.core.engine) as session:
        assert not session.exec(select(CaseEvent).where(CaseEvent.kind == "case_meeting")).all()


def test_the_ketenregisseur_is_consulted_like_a_partner_with_a_pseudonymised_summary(running) -> None:
    r = running
    reference = report(r, answers={"location": "Hoofdstraat 12"})
    act(r, AF, reference, "consult", {"partners": ["ketenregisseur"],
                                      "text": "Speelt dit adres ook in andere gemeenten?"})
    request = dm_with(r, KETENREGISSEUR, reference, "Adviesvraag")
    seen = text_of(request)
    assert "Speelt dit adres ook in andere gemeenten?" in seen
    assert REPORTER not in seen and "Hoofdstraat" not in seen and "Twee mannen slapen" not in seen
    r.driver.click(KETENREGISSEUR, request, "partner:advice")
    submit(r, KETENREGISSEUR, modal_of(r, KETENREGISSEUR, "partner_advice"),
           {"text": "Ja, ook in Etten-Leur: breng het in het casusoverleg in."})
    wait_in(r, lambda: case_thread(r, reference), "breng het in het casusoverleg in")
    with Session(r.core.engine) as session:
        c = session.exec(select(Consultation).where(Consultation.partner_key == "ketenregisseur")).one()[0]
        assert c.answered_by == KETENREGISSEUR and not c.manual


def test_the_consult_form_offers_internal_partners_marked_as_internal(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF, reference, "consult")
    view = modal_of(r, AF, "case_modal:consult")
    block = next(b for b in view["blocks"] if b.get("block_id") == "partners")
    options = {o["value"]: o for o in block["element"]["options"]}
    for key in ("oov", "vergunningen", "burgerzaken", "werk-inkomen", "ketenregisseur"):
        assert options[key]["description"]["text"].startswith("intern"), key
    assert "Bibob" in options["vergunningen"]["text"]["text"]
    assert not options["avim"]["description"]["text"].startswith("intern")


def test_the_network_overview_names_the_ketenregisseur_as_who_answers_for_that_partner(running) -> None:
    from bot.core import network

    with Session(running.core.engine) as session:
        lines = network.describe(session)
    line = next(line for line in lines if line.startswith("partner ketenregisseur"))
    assert KETENREGISSEUR in line and "outside Slack" not in line
    assert any(line.startswith("partner oov") and "outside Slack" in line for line in lines)
