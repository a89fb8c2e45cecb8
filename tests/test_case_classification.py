"""Issue 15.1, 15.2 and 15.6 end to end, through signed requests against the fake Slack: the AF
corrects a case's details on its card, a minor "weet ik niet", and outcomes chosen from a list."""

from __future__ import annotations

from sqlmodel import select

from models import Handover
from models.db import session_scope
from tests.case_helpers import (
    AVIM,
    act,
    case_thread,
    click_case,
    dm_with,
    modal_errors,
    modal_of,
    reporter_thread,
    settle,
    signal_row,
    submit,
    text_of,
    wait_in,
)
from tests.helpers import AF, REPORTER, case_card, report


def route_modal(r, reference: str) -> tuple[list[str], str]:
    """The route modal's pre-ticked partners and its text; closed again."""
    click_case(r, AF, reference, "route")
    view = modal_of(r, AF, "case_modal:route")
    block = next(b for b in view["blocks"] if b.get("block_id") == "partners")
    r.fake.close_view(view["id"])
    return [o["value"] for o in block["element"].get("initial_options", [])], str(view["blocks"])


def test_the_af_corrects_the_details_and_the_route_follows(running) -> None:
    r = running
    reference = report(r, answers={"form": "AU", "sector": "horeca"})
    settle(r)
    card = case_card(r, reference)
    assert "Gegevens zoals de melder ze gaf." in text_of(card)
    assert r.driver.click(AF, card, "case:reclassify").status == 200
    view = modal_of(r, AF, "case_modal:reclassify")
    initial = {b["block_id"]: (b["element"].get("initial_option") or {}).get("value") for b in view["blocks"]
               if b.get("type") == "input"}
    assert initial == {"form": "AU", "acute": "no", "minor": "no", "sector": "horeca", "target_group": None}
    submit(r, AF, view, {"form": "SU", "sector": "sekswerk", "target_group": "sekswerker"})
    assert not modal_errors(r, view)

    thread = wait_in(r, lambda: case_thread(r, reference), "heeft de gegevens aangepast")
    assert "Arbeidsuitbuiting → Seksuele uitbuiting" in thread and "Sekswerker" in thread
    card_text = wait_in(r, lambda: text_of(case_card(r, reference)), "Gegevens aangepast door")
    assert "Doelgroep" in card_text and "de melder antwoordde" in card_text
    row = signal_row(r, reference)
    assert (row.form, row.sector, row.target_group, row.answers["form"]) == ("SU", "sekswerk", "sekswerker", "AU")
    assert row.claimed_by is None  # correcting is not claiming
    assert route_modal(r, reference)[0] == ["avim", "zoco"]  # SU: AVIM first, not the labour inspectorate
    assert "aangepast" not in reporter_thread(r, reference)  # the reporter is not told (nor bothered)


def test_a_minor_weet_ik_niet_has_its_own_notice_and_a_possible_veilig_thuis(running) -> None:
    r = running
    reference = report(r, answers={"form": "CU", "minor": "unknown"})
    seen = wait_in(r, lambda: reporter_thread(r, reference), "Weet je niet of de persoon jonger is dan 18")
    assert "Werk je met jongeren" not in seen
    card = wait_in(r, lambda: text_of(case_card(r, reference)), "Misschien een minderjarige")
    assert "de meldcode geldt" not in card
    ticked, text = route_modal(r, reference)
    assert ticked == ["avim", "zoco"]  # Veilig Thuis is suggested as "mogelijk", never ticked in advance
    assert "Veilig Thuis* — mogelijk" in text
    assert signal_row(r, reference).minor_possible is True


def test_a_minor_involved_tells_youth_professionals_about_the_meldcode(running) -> None:
    r = running
    reference = report(r, answers={"minor": "yes"})
    seen = wait_in(r, lambda: reporter_thread(r, reference), "Werk je met jongeren")
    assert "Weet je niet of" not in seen


def test_a_partner_chooses_the_outcome_from_the_list(running) -> None:
    r = running
    reference = report(r, answers={"form": "SU"})
    act(r, AF, reference, "route", {"text": "Graag oppakken."})
    handover = dm_with(r, AVIM, reference, "Overdracht")
    r.driver.click(AVIM, handover, "partner:outcome")
    view = modal_of(r, AVIM, "partner_outcome")
    submit(r, AVIM, view, {"text": "Alleen tekst."})
    assert "outcome" in modal_errors(r, view)  # a kind from the list is needed; the note is optional
    submit(r, AVIM, view, {"outcome": "bestuurlijke_maatregel"})
    thread = wait_in(r, lambda: case_thread(r, reference), "Bestuurlijke maatregel")
    assert "(geen toelichting)" in thread
    with session_scope(r.core.engine) as session:
        stored = session.exec(select(Handover).where(Handover.partner_key == "avim")).one()
        assert (stored.outcome_kind, stored.outcome) == ("bestuurlijke_maatregel", None)
    wait_in(r, lambda: text_of(dm_with(r, AVIM, reference, "Overdracht")), "Bestuurlijke maatregel")


def test_a_referral_to_care_goes_with_further_investigation_too(running) -> None:
    r = running
    reference = report(r)
    act(r, AF, reference, "conclude", {"conclusion": "verder_onderzoek", "rationale": "Eerst afstemmen.",
                                       "referral": ["yes"], "organisation": "Wijkteam Breda"})
    wait_in(r, lambda: case_thread(r, reference), "Wijkteam Breda")
    row = signal_row(r, reference)
    assert (row.conclusion, row.referred_to_care) == ("verder_onderzoek", "Wijkteam Breda")
    assert REPORTER not in case_thread(r, reference).split("Wijkteam Breda")[-1]
