"""Internal partners (the bestuurlijke aanpak) and the ketenregisseur consulted like a partner (§3.2)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.cases import CaseAction
from flows.data import DataError
from flows.permissions import (
    KETENREGISSEUR_PARTNER,
    Actor,
    CaseRef,
    Denial,
    Grant,
    Role,
    can_act_on_case,
    can_record_for_partner,
    can_view_case_content,
)
from flows.routing import DEFAULT_PATH, KETENREGISSEUR, PartnerKind, consultation_candidates, load_meldroute

KR = Actor("U_KR", frozenset({Grant(Role.KETENREGISSEUR)}))


def region_file(tmp_path: Path, change: object) -> Path:
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path = tmp_path / "meldroute.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_municipalitys_own_departments_and_the_ketenregisseur_are_internal_partners() -> None:
    route = load_meldroute()
    internal = {p.key for p in route.partners if p.kind is PartnerKind.INTERNAL}
    assert internal == {"oov", "vergunningen", "burgerzaken", "werk-inkomen", KETENREGISSEUR}
    assert "Bibob" in route.partner("vergunningen").name_nl
    assert "BRP" in route.partner("burgerzaken").name_nl
    assert "inschrijvingen op één adres" in route.partner("burgerzaken").description_nl
    assert route.partner("avim").kind is PartnerKind.EXTERNAL
    assert route.partner("zoco").kind is PartnerKind.EXTERNAL


def test_internal_partners_can_be_asked_for_advice() -> None:
    keys = [p.key for p in consultation_candidates()]
    assert {"oov", "vergunningen", "burgerzaken", "werk-inkomen", KETENREGISSEUR} <= set(keys)
    assert keys[0] == "zoco"  # the external order of Bijlage 1 comes first


def test_internal_partners_never_enter_the_meldroute_by_themselves() -> None:
    route = load_meldroute()
    suggested = {step.partner for _, steps in route.routes for step in steps} | {s.partner for s in route.acute}
    assert not suggested & {p.key for p in route.partners if p.kind is PartnerKind.INTERNAL}


def test_a_partner_without_kind_is_external(tmp_path: Path) -> None:
    route = load_meldroute(region_file(tmp_path, lambda d: d["partners"]["avim"].pop("kind")))
    assert route.partner("avim").kind is PartnerKind.EXTERNAL


def test_an_unknown_kind_names_file_and_field(tmp_path: Path) -> None:
    path = region_file(tmp_path, lambda d: d["partners"]["oov"].update(kind="intern"))
    with pytest.raises(DataError) as err:
        load_meldroute(path)
    assert "partners.oov.kind" in str(err.value)
    assert "intern" in str(err.value)


def test_the_ketenregisseur_answers_as_the_partner_ketenregisseur_only_when_consulted() -> None:
    assert KETENREGISSEUR_PARTNER == KETENREGISSEUR
    asked = CaseRef("Breda", "U_MELDER", consulted_partners=frozenset({KETENREGISSEUR}))
    not_asked = CaseRef("Breda", "U_MELDER", consulted_partners=frozenset({"zoco"}))
    assert can_record_for_partner(KR, asked, CaseAction.RECORD_ADVICE, KETENREGISSEUR)
    assert can_record_for_partner(KR, not_asked, CaseAction.RECORD_ADVICE, KETENREGISSEUR).reason \
        is Denial.PARTNER_NOT_INVOLVED
    # ... and never for another organisation, nor an outcome, nor the case file or its forms.
    assert not can_record_for_partner(KR, asked, CaseAction.RECORD_ADVICE, "zoco")
    assert not can_record_for_partner(KR, asked, CaseAction.RECORD_OUTCOME, KETENREGISSEUR)
    assert can_act_on_case(KR, asked, CaseAction.NOTE).reason is Denial.AGGREGATES_ONLY
    assert can_view_case_content(KR, asked).reason is Denial.AGGREGATES_ONLY


def test_a_partner_member_is_not_the_ketenregisseur() -> None:
    avim = Actor("U_AVIM", frozenset({Grant(Role.PARTNER, partner="avim")}))
    asked = CaseRef("Breda", "U_MELDER", consulted_partners=frozenset({KETENREGISSEUR}))
    assert KETENREGISSEUR not in avim.partners()
    assert not can_record_for_partner(avim, asked, CaseAction.RECORD_ADVICE, KETENREGISSEUR)
