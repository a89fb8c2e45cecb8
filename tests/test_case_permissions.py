"""Never let the wrong person act: AF and backup of the signal's municipality act; partners only on
what was sent to them; the reporter only on their own signal; the ketenregisseur sees no content.
A forged or stale click gets an ephemeral explanation and changes nothing."""

from __future__ import annotations

import json
import threading

from sqlmodel import select

from bot.core import cases as core_cases
from models import Consultation
from models.db import session_scope
from tests.case_helpers import (
    AVIM,
    ZOCO,
    act,
    case_thread,
    click_case,
    dm_with,
    ephemeral_texts,
    events_count,
    forge_click,
    modal_of,
    reporter_replies,
    settle,
    signal_id,
    signal_row,
    submit,
    text_of,
    wait_in,
)
from tests.helpers import AF, AF_OTHER, BACKUP, COLLEAGUE, KETENREGISSEUR, REPORTER, case_card, report


def test_a_colleague_who_is_not_af_cannot_claim(running) -> None:
    r = running
    reference = report(r)
    click_case(r, COLLEAGUE, reference, "claim")
    wait_in(r, lambda: ephemeral_texts(r, COLLEAGUE), "Alleen de aandachtsfunctionaris")
    settle(r)
    assert signal_row(r, reference).claimed_by is None
    assert "case:claim" in text_of(case_card(r, reference))


def test_the_af_of_another_municipality_cannot_claim_or_read(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF_OTHER, reference, "claim")
    click_case(r, AF_OTHER, reference, "timeline")
    wait_in(r, lambda: ephemeral_texts(r, AF_OTHER), "Alleen de aandachtsfunctionaris")
    settle(r)
    assert signal_row(r, reference).claimed_by is None
    assert "Tijdlijn van signaal" not in case_thread(r, reference)


def test_the_ketenregisseur_sees_no_case_content_and_changes_nothing(running) -> None:
    r = running
    reference = report(r)
    click_case(r, KETENREGISSEUR, reference, "timeline")
    click_case(r, KETENREGISSEUR, reference, "claim")
    wait_in(r, lambda: ephemeral_texts(r, KETENREGISSEUR), "ketenregisseur")
    settle(r)
    assert signal_row(r, reference).claimed_by is None
    assert "Tijdlijn van signaal" not in case_thread(r, reference)
    assert "Twee mannen" not in ephemeral_texts(r, KETENREGISSEUR)


def test_the_reporter_cannot_work_the_case(running) -> None:
    r = running
    reference = report(r)
    click_case(r, REPORTER, reference, "claim")
    wait_in(r, lambda: ephemeral_texts(r, REPORTER), "Er is niets gewijzigd")
    assert signal_row(r, reference).claimed_by is None


def test_two_afs_clicking_claim_at_once_one_wins_and_the_other_is_told_who_has_it(running) -> None:
    r = running
    reference = report(r)
    settle(r)
    barrier = threading.Barrier(2)

    def claim(user: str) -> None:
        barrier.wait()
        click_case(r, user, reference, "claim")

    threads = [threading.Thread(target=claim, args=(u,)) for u in (AF, BACKUP)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winner = r.fake.wait_for(lambda: signal_row(r, reference).claimed_by)
    assert winner in (AF, BACKUP)
    loser = BACKUP if winner == AF else AF
    wait_in(r, lambda: ephemeral_texts(r, loser), f"<@{winner}> behandelt dit signaal al.")
    assert "behandelt dit signaal al" not in ephemeral_texts(r, winner)
    settle(r)
    assert case_thread(r, reference).count("heeft het signaal opgepakt") == 1


def test_a_claim_race_in_the_core_has_exactly_one_winner(running) -> None:
    r = running
    reference = report(r)
    settle(r)
    sid = signal_id(r, reference)
    barrier = threading.Barrier(2)
    results: dict[str, core_cases.Result] = {}

    def claim(user: str) -> None:
        barrier.wait()
        results[user] = core_cases.claim(r.core, sid, user)

    threads = [threading.Thread(target=claim, args=(u,)) for u in (AF, BACKUP)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [u for u, res in results.items() if res.ok]
    lost = [res for res in results.values() if not res.ok]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].error == "already_claimed" and lost[0].claimed_by == won[0]
    assert signal_row(r, reference).claimed_by == won[0]


def test_a_forged_click_on_a_button_that_is_not_shown_changes_nothing(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF, reference, "claim")
    wait_in(r, lambda: text_of(case_card(r, reference)), "In behandeling bij")
    card = case_card(r, reference)
    sid = str(signal_id(r, reference))
    forge_click(r, AF, card, "case:reopen", sid)
    wait_in(r, lambda: ephemeral_texts(r, AF), "niet afgesloten")
    forge_click(r, AF, card, "case:close", sid)
    wait_in(r, lambda: ephemeral_texts(r, AF), "conclusie")
    row = signal_row(r, reference)
    assert row.status == "in_progress" and row.closed_at is None


def test_a_forged_view_submission_by_a_colleague_changes_nothing(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF, reference, "conclude")
    view = modal_of(r, AF, "case_modal:conclude")
    submit(r, COLLEAGUE, view, {"conclusion": "geen", "rationale": "Ik ben geen AF."})
    wait_in(r, lambda: ephemeral_texts(r, COLLEAGUE), "Alleen de aandachtsfunctionaris")
    row = signal_row(r, reference)
    assert row.conclusion is None and row.claimed_by is None


def test_a_partner_not_involved_cannot_give_advice(running) -> None:
    r = running
    reference = report(r)
    act(r, AF, reference, "consult", {"partners": ["zoco"], "text": "Wat vind jij?"})
    request = dm_with(r, ZOCO, reference, "Adviesvraag")
    r.driver.click(AVIM, request, "partner:advice")  # AVIM was not asked
    wait_in(r, lambda: ephemeral_texts(r, AVIM), "niet naar jouw organisatie")
    assert r.fake.views_for(AVIM) == []
    # Nor can AVIM send advice in ZoCo's name through the core.
    result = core_cases.give_advice(r.core, int(request["blocks"][-1]["block_id"].split(":")[1]), AVIM, "Nee.")
    assert not result.ok and result.error == "denied"
    settle(r)
    assert "Nee." not in case_thread(r, reference)


def test_a_partner_can_only_answer_once(running) -> None:
    r = running
    reference = report(r)
    act(r, AF, reference, "consult", {"partners": ["zoco"], "text": "Wat vind jij?"})
    request = dm_with(r, ZOCO, reference, "Adviesvraag")
    r.driver.click(ZOCO, request, "partner:advice")
    submit(r, ZOCO, modal_of(r, ZOCO, "partner_advice"), {"text": "Eerste advies."})
    wait_in(r, lambda: case_thread(r, reference), "Eerste advies.")
    wait_in(r, lambda: text_of(dm_with(r, ZOCO, reference, "Adviesvraag")), "Advies gegeven door")
    assert "partner:advice" not in text_of(dm_with(r, ZOCO, reference, "Adviesvraag"))
    forge_click(r, ZOCO, request, "partner:advice", request["blocks"][-1]["block_id"].split(":")[1])
    wait_in(r, lambda: ephemeral_texts(r, ZOCO), "al op geantwoord")


def test_only_the_reporter_can_answer_their_question(running) -> None:
    r = running
    reference = report(r)
    act(r, AF, reference, "ask_info", {"text": "Welke dag was dit?"})
    question = r.fake.wait_for(lambda: next((m for m in reporter_replies(r, reference)
                                             if "Welke dag was dit?" in text_of(m)), None))
    r.driver.click(COLLEAGUE, question, "case_reply:answer")
    wait_in(r, lambda: ephemeral_texts(r, COLLEAGUE), "niet jouw signaal")
    assert r.fake.views_for(COLLEAGUE) == []


def test_a_consulted_partner_cannot_open_or_submit_the_afs_record_advice_form(running) -> None:
    """A partner gives advice only on their own consultation (the button in their DM), never through the
    AF's "record advice" form: not with a forged click, not with a forged submission of the AF's form."""
    r = running
    reference = report(r)
    act(r, AF, reference, "consult", {"partners": ["zoco"], "text": "Wat vind jij?"})
    dm_with(r, ZOCO, reference, "Adviesvraag")
    card = case_card(r, reference)
    sid = str(signal_id(r, reference))
    before = events_count(r, reference)
    forge_click(r, ZOCO, card, "case:record_advice", sid)
    wait_in(r, lambda: ephemeral_texts(r, ZOCO), "met de knop in het verzoek")
    assert r.fake.views_for(ZOCO) == []
    # The AF's form, opened by the AF, submitted by the partner: refused at submission, nothing added.
    click_case(r, AF, reference, "record_advice")
    view = modal_of(r, AF, "case_modal:record_advice")
    submit(r, ZOCO, view, {"consultation": "p:zoco", "text": "Extra advies van ZoCo."})
    r.fake.wait_for(lambda: len(r.fake.ephemerals_for(ZOCO)) == 2)
    assert "met de knop in het verzoek" in json.dumps(r.fake.ephemerals_for(ZOCO)[-1], ensure_ascii=False)
    settle(r)
    assert events_count(r, reference) == before
    assert "Extra advies van ZoCo." not in case_thread(r, reference)
    with session_scope(r.core.engine) as session:
        assert len(session.exec(select(Consultation).where(Consultation.signal_id == int(sid))).all()) == 1
