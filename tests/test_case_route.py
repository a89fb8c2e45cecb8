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
    act(r, AF, reference, "route", {"text": "Graag oppakken volgens afspraak."})
    partner = ZOCO
    handover = dm_with(r, partner, reference, "Overdracht")
    r.driver.click(partner, handover, "partner:outcome")
    submit(r, partner, modal_of(r, partner, "partner_outcome"), {"text": "Slachtoffers in opvang geplaatst."})
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
