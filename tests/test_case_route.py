"""The AF works a signal along the meldroute (Bijlage 1, "Stroomschema interne meldroute"): claim,
ask the reporter for more, consult partners, conclude, route, feedback, close — through signed
payloads against the fake Slack."""

from __future__ import annotations

import pytest

from tests.case_helpers import (
    AVIM,
    ZOCO,
    act,
    case_thread,
    click_case,
    dm_with,
    ephemeral_texts,
    modal_errors,
    modal_of,
    reporter_replies,
    reporter_root,
    reporter_thread,
    settle,
    signal_row,
    submit,
    text_of,
    wait_in,
)
from tests.helpers import AF, CASES_CHANNEL, REPORTER, case_card, report

DESCRIPTION = "Twee mannen slapen in de keuken van het restaurant en werken 7 dagen per week."


def _route_suggestion(r, reference: str) -> list[str]:
    """Open the route modal and read which partners it proposes; close it again."""
    click_case(r, AF, reference, "route")
    view = modal_of(r, AF, "case_modal:route")
    block = next(b for b in view["blocks"] if b.get("block_id") == "partners")
    r.fake.close_view(view["id"])
    return [o["value"] for o in block["element"].get("initial_options", [])]


def test_claiming_shows_who_handles_it_and_tells_the_reporter(running) -> None:
    r = running
    reference = report(r)
    click_case(r, AF, reference, "claim")
    wait_in(r, lambda: text_of(case_card(r, reference)), f"In behandeling bij <@{AF}>")
    assert signal_row(r, reference).claimed_by == AF
    replies = wait_in(r, lambda: reporter_thread(r, reference), "opgepakt")
    assert f"<@{AF}>" not in replies  # the reporter hears it is picked up, not by whom
    assert "case:claim" not in text_of(case_card(r, reference))


def test_a_vague_au_signal_advice_from_zoco_then_concluded_wel_suggests_arbeidsinspectie_and_zoco(running) -> None:
    r = running
    reference = report(r, answers={"form": "AU"})
    click_case(r, AF, reference, "claim")
    act(r, AF, reference, "consult", {"partners": ["zoco"], "text": "Herken jij dit patroon bij uitzendbureaus?"})

    # The ZoCo gets a pseudonymised request: no reporter, no description (not ticked).
    request = dm_with(r, ZOCO, reference, "Adviesvraag")
    seen = text_of(request)
    assert "Herken jij dit patroon" in seen and "Breda" in seen
    assert REPORTER not in seen and DESCRIPTION not in seen and "Restaurant aan de Haven" not in seen
    r.driver.click(ZOCO, request, "partner:advice")
    submit(r, ZOCO, modal_of(r, ZOCO, "partner_advice"), {"text": "Lijkt op arbeidsuitbuiting; schakel NLA in."})
    wait_in(r, lambda: case_thread(r, reference), "Lijkt op arbeidsuitbuiting")

    act(r, AF, reference, "conclude", {"conclusion": "wel", "rationale": "Meervoudige afhankelijkheid, bevestigd."})
    thread = wait_in(r, lambda: case_thread(r, reference), "Meervoudige afhankelijkheid, bevestigd.")
    assert "Nederlandse Arbeidsinspectie" in thread and "Zorgcoördinator" in thread
    assert _route_suggestion(r, reference) == ["nla", "zoco"]
    assert signal_row(r, reference).conclusion == "wel"


def test_an_acute_su_signal_suggests_avim_now(running) -> None:
    r = running
    reference = report(r, answers={"form": "SU", "acute": "yes", "sector": "sekswerk"})
    settle(r)
    assert _route_suggestion(r, reference) == ["avim", "zoco"]
    act(r, AF, reference, "route", {"text": "Direct actie nodig."})  # confirms the suggestion as proposed
    handover = dm_with(r, AVIM, reference, "Overdracht")
    seen = text_of(handover)
    assert "Acuut" in seen and "Direct actie nodig." in seen
    assert REPORTER not in seen and DESCRIPTION not in seen
    row = signal_row(r, reference)
    assert row.claimed_by == AF and row.status == "in_progress"  # routing a new case claims it


@pytest.mark.parametrize(("answers", "expected"), [
    ({"form": "SU"}, ["avim", "zoco"]),
    ({"form": "CU", "sector": "drugs"}, ["avim", "zoco"]),
    ({"form": "OV"}, ["avim", "zoco"]),
    ({"form": "CU", "minor": "yes"}, ["avim", "zoco", "veilig-thuis"]),
])
def test_the_route_follows_the_meldroute_per_form(running, answers, expected) -> None:
    r = running
    reference = report(r, answers=answers)
    settle(r)
    assert _route_suggestion(r, reference) == expected


@pytest.mark.parametrize("form", ["SU", "AU", "CU", "OV", "unknown"])
def test_one_signal_per_form_travels_the_whole_route(running, form) -> None:
    r = running
    reference = report(r, answers={"form": form})
    root = reporter_root(r, reference)

    # Claim.
    click_case(r, AF, reference, "claim")
    wait_in(r, lambda: reporter_thread(r, reference), "opgepakt")

    # More information from the reporter: a question with an Answer button, the answer in the case thread.
    act(r, AF, reference, "ask_info", {"text": "Hoe laat zag je de mannen vertrekken?"})
    question = r.fake.wait_for(lambda: next((m for m in reporter_replies(r, reference)
                                             if "Hoe laat zag je" in text_of(m)), None))
    r.driver.click(REPORTER, question, "case_reply:answer")
    submit(r, REPORTER, modal_of(r, REPORTER, "case_reporter_answer"), {"text": "Rond 23:00 met een busje."})
    wait_in(r, lambda: case_thread(r, reference), "Rond 23:00 met een busje.")
    wait_in(r, lambda: reporter_thread(r, reference), "Rond 23:00 met een busje.")  # their own answer
    # ...and anything the reporter writes later in their thread.
    r.driver.message(REPORTER, root["channel"] if "channel" in root else r.fake.dm_channel_for(REPORTER),
                     "Ik zag vandaag weer hetzelfde busje.", thread_ts=root["ts"])
    wait_in(r, lambda: case_thread(r, reference), "Ik zag vandaag weer hetzelfde busje.")

    # What the AF types in the case thread stays an internal note.
    card = case_card(r, reference)
    r.driver.message(AF, CASES_CHANNEL, "Intern: eigenaar restaurant al bekend bij ons.", thread_ts=card["ts"])
    wait_in(r, lambda: ephemeral_texts(r, AF), "interne notitie")

    # Advice: TF-RIEC is outside Slack, so the AF records consultation and answer by hand.
    act(r, AF, reference, "consult", {"partners": ["riec"], "text": "Bekend adres?"})
    wait_in(r, lambda: case_thread(r, reference), "Bekend adres?")
    act(r, AF, reference, "record_advice", {"consultation": _open_consultation_option(r, reference),
                                            "text": "RIEC: adres komt voor in ander dossier."})
    wait_in(r, lambda: case_thread(r, reference), "RIEC: adres komt voor in ander dossier.")

    # Conclusion and routing along the meldroute; a partner in Slack reports the outcome.
    act(r, AF, reference, "conclude", {"conclusion": "wel", "rationale": "Signalen bevestigd door RIEC."})
    wait_in(r, lambda: case_thread(r, reference), "Signalen bevestigd door RIEC.")
    # A known form comes with the suggestion ticked; for "weet ik niet" the AF ticks the partners.
    chosen = {"partners": ["zoco", "avim"]} if form == "unknown" else {}
    act(r, AF, reference, "route", {"text": "Graag oppakken volgens afspraak.", **chosen})
    partner = ZOCO
    handover = dm_with(r, partner, reference, "Overdracht")
    r.driver.click(partner, handover, "partner:outcome")
    submit(r, partner, modal_of(r, partner, "partner_outcome"), {"outcome": "zorgtraject_gestart",
                                                                     "text": "Slachtoffers in opvang geplaatst."})
    wait_in(r, lambda: case_thread(r, reference), "Slachtoffers in opvang geplaatst.")
    card_text = wait_in(r, lambda: text_of(case_card(r, reference)), "uitkomst ontvangen")
    assert "Zorgcoördinator" in card_text

    # Feedback, then close.
    act(r, AF, reference, "feedback", {"text": "Dank je wel. Je signaal is doorgezet naar de juiste partners."})
    wait_in(r, lambda: reporter_thread(r, reference), "doorgezet naar de juiste partners")
    settle(r)
    act(r, AF, reference, "close", {})  # routed and fed back: the confirmation names nothing open
    wait_in(r, lambda: text_of(case_card(r, reference)), "Afgesloten:")
    assert signal_row(r, reference).status == "closed"

    # The reporter saw exactly what the AF sent them, nothing more.
    seen = reporter_thread(r, reference)
    for sent in ("Hoe laat zag je de mannen vertrekken?", "doorgezet naar de juiste partners"):
        assert sent in seen
    for internal in ("eigenaar restaurant al bekend", "Bekend adres?", "adres komt voor in ander dossier",
                     "Signalen bevestigd door RIEC", "Graag oppakken", "Slachtoffers in opvang",
                     "RIEC", "Zorgcoördinator", "AVIM", "Arbeidsinspectie", f"<@{AF}>"):
        assert internal not in seen, internal


def _open_consultation_option(r, reference: str) -> str:
    click_case(r, AF, reference, "record_advice")
    view = modal_of(r, AF, "case_modal:record_advice")
    r.fake.close_view(view["id"])
    block = next(b for b in view["blocks"] if b.get("block_id") == "consultation")
    return next(o["value"] for o in block["element"]["options"] if o["value"].startswith("c:"))


def _handovers(r, reference: str) -> list[str]:  # noqa: ANN001
    from sqlmodel import col, select

    from models import Handover
    from models.db import session_scope

    sid = signal_row(r, reference).id
    with session_scope(r.core.engine) as session:
        return list(session.exec(select(Handover.partner_key).where(Handover.signal_id == sid)
                                 .order_by(col(Handover.id))).all())


def _handover_dms(r, user: str, reference: str) -> int:  # noqa: ANN001
    return sum(1 for msg in r.fake.messages_in(r.fake.dm_channel_for(user))
               if reference in text_of(msg) and "Overdracht" in text_of(msg) and not msg.get("thread_ts"))


def test_a_weet_ik_niet_form_pre_ticks_nobody_and_lists_the_suggestions_with_reasons(running) -> None:
    r = running
    reference = report(r, answers={"form": "unknown", "acute": "no"})
    settle(r)
    assert _route_suggestion(r, reference) == []  # one click must not hand an unclear signal to the police
    click_case(r, AF, reference, "route")
    view = modal_of(r, AF, "case_modal:route")
    blocks = str(view["blocks"])
    assert "Zorgcoördinator" in blocks and "de zorgcoördinator helpt de vorm te bepalen" in blocks
    assert "AVIM (politie)" in blocks and "zodra het duidelijk mensenhandel is" in blocks
    assert "niemand aangevinkt" in blocks
    submit(r, AF, view, {"text": "Graag advies."})  # nobody ticked: the form says so, nothing is sent
    assert "partners" in modal_errors(r, view)
    assert _handovers(r, reference) == []
    submit(r, AF, view, {"partners": ["zoco"], "text": "Graag advies."})
    r.fake.wait_for(lambda: _handovers(r, reference) == ["zoco"])


def test_doorzetten_lists_who_has_it_and_never_sends_the_same_hand_over_twice_by_accident(running) -> None:
    from bot.core import cases as core_cases
    from bot.sandbox.fake_slack import element_state, initial_state_values
    from tests.case_helpers import card_actions, modal_errors, signal_id

    r = running
    reference = report(r, answers={"form": "SU"})
    act(r, AF, reference, "route", {"text": "Graag oppakken."})  # AVIM and ZoCo, as suggested
    r.fake.wait_for(lambda: _handovers(r, reference) == ["avim", "zoco"])
    settle(r)
    card = text_of(case_card(r, reference))
    assert f"In behandeling bij <@{AF}>" in card and "Opgepakt (" in card and "AVIM (politie): doorgezet" in card
    assert " op <!date" not in card  # no "op vandaag"
    assert "route" in card_actions(r, reference)

    # Doorzetten again: it lists who has the hand-over, ticks nobody, and refuses them without "Send again".
    click_case(r, AF, reference, "route")
    view = modal_of(r, AF, "case_modal:route")
    blocks = str(view["blocks"])
    assert "Al doorgezet naar" in blocks and "AVIM (politie) (" in blocks
    partners = next(b for b in view["blocks"] if b.get("block_id") == "partners")
    assert partners["element"].get("initial_options", []) == []
    submit(r, AF, view, {"partners": ["avim"]})
    assert "Al doorgezet naar AVIM (politie)" in modal_errors(r, view)["partners"]
    settle(r)
    assert _handovers(r, reference) == ["avim", "zoco"] and _handover_dms(r, AVIM, reference) == 1

    # The core decides again (a stale or forged form): refused, nothing sent.
    again = core_cases.route(r.core, signal_id(r, reference), AF, ["avim"])
    assert not again.ok and again.reason == "already_routed"

    # Chosen explicitly: sent once more — and a second submission of the same form sends nothing.
    answers = {"partners": ["avim"], "again": ["yes"], "text": "Nieuwe informatie: zie de beschrijving."}
    # The same form once more with one letter changed (a double click while typing): another delivery
    # to Slack and to the inbox, the same form to the core.
    values = initial_state_values(view["blocks"])
    for block in view["blocks"]:
        if block.get("block_id") in answers and block.get("type") == "input":
            values.setdefault(block["block_id"], {})[block["element"]["action_id"]] = element_state(
                block["element"], {**answers, "text": answers["text"] + "!"}[block["block_id"]])
    stale = {**r.fake.view(view["id"]), "state": {"values": values}}
    submit(r, AF, view, answers)
    r.fake.wait_for(lambda: _handovers(r, reference) == ["avim", "zoco", "avim"])
    payload = r.driver._interaction_base("view_submission", AF)
    payload.update(view=stale, response_urls=[])
    assert r.driver._send_interaction(payload).status == 200
    wait_in(r, lambda: ephemeral_texts(r, AF), "Dit formulier is al verstuurd")
    settle(r)
    assert _handovers(r, reference) == ["avim", "zoco", "avim"]
    r.fake.wait_for(lambda: _handover_dms(r, AVIM, reference) == 2)
