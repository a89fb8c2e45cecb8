"""Issue 15.1, 15.2, 15.6 as pure rules: the AF's classification, minors ("weet ik niet"), structured
partner outcomes, and a referral to care beside "verder onderzoek"."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import questionnaire
from flows.cases import CaseAction, CaseStatus, CaseView, Conclusion, Form, Reason, decide
from flows.classification import (
    Classification,
    Minor,
    Problem,
    check_outcome,
    load_classification,
    minor_of,
    minor_of_answer,
    reclassify,
)
from flows.data import DataError
from flows.permissions import Actor, CaseRef, Denial, Grant, Role, can_act_on_case
from flows.routing import JEUGDZORG, VEILIG_THUIS, consultation_candidates, load_meldroute, preselected, suggest_route

SECTORS = [o.key for o in questionnaire.load().get("sector").options]
START = Classification(Form.AU, acute=False, minor=Minor.NO, sector="horeca", target_group=None)


def change(**kw: object) -> object:
    values: dict[str, object] = {"form": "AU", "acute": False, "minor": "no", "sector": "horeca", "target_group": None}
    values.update(kw)
    return reclassify(START, sectors=SECTORS, **values)  # type: ignore[arg-type]


# --- the lists are data --------------------------------------------------------------------------------


def test_the_target_groups_and_outcomes_of_the_issue_are_the_data() -> None:
    data = load_classification()
    assert [c.key for c in data.target_groups] == ["arbeidsmigrant", "minderjarige", "lvb",
                                                   "asielzoeker_statushouder", "sekswerker", "anders", "unknown"]
    assert [c.key for c in data.partner_outcomes] == ["onderzoek_gestart", "zorgtraject_gestart",
                                                      "bestuurlijke_maatregel", "geen_vervolg", "onbekend"]


def test_a_classification_file_with_a_key_twice_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "classification.yaml"
    path.write_text("version: 1\ntarget_groups:\n  - {key: a, label: A}\n  - {key: a, label: B}\n"
                    "partner_outcomes:\n  - {key: x, label: X}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"target_groups\[1\]\.key: 'a' appears twice"):
        load_classification(path)


# --- 15.1 the AF's classification --------------------------------------------------------------------


def test_a_correction_says_field_by_field_what_changes() -> None:
    result = change(form="SU", target_group="sekswerker", sector="sekswerk")
    assert not isinstance(result, Problem)
    assert result.changes == {"form": ("AU", "SU"), "sector": ("horeca", "sekswerk"),
                              "target_group": (None, "sekswerker")}
    assert not result.acute_started and not result.acute_stopped


def test_becoming_acute_starts_the_acute_ladder_and_no_longer_acute_stops_it() -> None:
    started = change(acute=True)
    assert not isinstance(started, Problem) and started.acute_started and not started.acute_stopped
    back = reclassify(started.classification, form="AU", acute=False, minor="no", sector="horeca",
                      target_group=None, sectors=SECTORS)
    assert not isinstance(back, Problem) and back.acute_stopped and not back.acute_started


@pytest.mark.parametrize(("kw", "problem"), [
    ({"form": "XX"}, Problem.UNKNOWN_FORM),
    ({"minor": "maybe"}, Problem.UNKNOWN_MINOR),
    ({"sector": "ruimtevaart"}, Problem.UNKNOWN_SECTOR),
    ({"target_group": "toerist"}, Problem.UNKNOWN_TARGET_GROUP),
    ({}, Problem.NOTHING_CHANGED),
])
def test_a_correction_outside_the_lists_or_without_a_change_is_refused(kw: dict, problem: Problem) -> None:
    assert change(**kw) is problem


def test_correcting_the_details_never_claims_a_waiting_case() -> None:
    decision = decide(CaseView(status=CaseStatus.NEW, municipality="Breda"), CaseAction.RECLASSIFY)
    assert decision.allowed and not decision.implicit_claim and decision.new_status is CaseStatus.NEW
    closed = CaseView(status=CaseStatus.CLOSED, municipality="Breda", conclusion=Conclusion.GEEN)
    assert decide(closed, CaseAction.RECLASSIFY).reason is Reason.CLOSED  # reopen first


def test_only_the_af_or_vervanger_of_the_municipality_corrects_the_details() -> None:
    case = CaseRef(municipality="Breda", reporter_id="U_REP", routed_partners=frozenset({"avim"}))
    assert can_act_on_case(Actor("U_AF", frozenset({Grant(Role.AF, "Breda")})), case, CaseAction.RECLASSIFY)
    assert can_act_on_case(Actor("U_BU", frozenset({Grant(Role.BACKUP, "Breda")})), case, CaseAction.RECLASSIFY)
    other = can_act_on_case(Actor("U_X", frozenset({Grant(Role.AF, "Etten-Leur")})), case, CaseAction.RECLASSIFY)
    assert other.reason is Denial.NOT_AF_OF_MUNICIPALITY
    partner = can_act_on_case(Actor("U_P", frozenset({Grant(Role.PARTNER, partner="avim")})), case,
                              CaseAction.RECLASSIFY)
    assert partner.reason is Denial.PARTNER_RECORDS_ONLY
    assert not can_act_on_case(Actor("U_REP"), case, CaseAction.RECLASSIFY)


# --- 15.2 minors ----------------------------------------------------------------------------------------


def test_minor_is_three_valued() -> None:
    assert [minor_of_answer(a) for a in ("yes", "no", "unknown", None)] == [Minor.YES, Minor.NO, Minor.UNKNOWN,
                                                                           Minor.NO]
    assert (minor_of(True, False), minor_of(False, True), minor_of(False, False)) == (Minor.YES, Minor.UNKNOWN,
                                                                                      Minor.NO)


def test_maybe_a_minor_suggests_veilig_thuis_as_possible_and_never_ticks_it() -> None:
    suggestions = suggest_route(Form.AU, acute=False, minor=False, minor_possible=True)
    vt = next(s for s in suggestions if s.partner_key == VEILIG_THUIS)
    assert vt.possible and vt.reason == "route_minor_possible_meldcode"
    assert VEILIG_THUIS not in preselected(Form.AU, suggestions)
    assert preselected(Form.AU, suggestions) == ["nla", "zoco"]


def test_a_minor_for_sure_is_not_a_possible_one() -> None:
    suggestions = suggest_route(Form.AU, acute=False, minor=True, minor_possible=True)
    vt = next(s for s in suggestions if s.partner_key == VEILIG_THUIS)
    assert not vt.possible and vt.reason == "route_minor_meldcode"
    assert VEILIG_THUIS in preselected(Form.AU, suggestions)
    assert VEILIG_THUIS not in [s.partner_key for s in suggest_route(Form.AU, acute=False, minor=False)]


def test_a_region_file_without_minor_possible_still_loads(tmp_path: Path) -> None:
    text = Path("flows/meldroute.yaml").read_text(encoding="utf-8")
    cut = text.split("  minor_possible:")[0] + "\nconsultation: [zoco]\n"
    path = tmp_path / "meldroute.yaml"
    path.write_text(cut, encoding="utf-8")
    route = load_meldroute(path)
    assert route.minor_possible == ()
    assert VEILIG_THUIS not in [s.partner_key for s in suggest_route(Form.SU, False, False, route,
                                                                     minor_possible=True)]


def test_the_youth_partner_is_in_the_default_partner_data_and_can_be_consulted() -> None:
    route = load_meldroute()
    assert route.partner(JEUGDZORG).name_nl.startswith("Jeugdzorg")
    assert JEUGDZORG in [p.key for p in consultation_candidates()]


def test_the_questionnaire_knows_weet_ik_niet_of_a_minor_and_a_missing_young_person() -> None:
    q = questionnaire.load()
    notices = {n.kind: n for n in q.get("minor").notices}
    assert set(notices) == {"minor", "minor_unknown"}
    assert notices["minor_unknown"].when.holds({"minor": "unknown"}, {})
    assert not notices["minor_unknown"].when.holds({"minor": "yes"}, {})
    # The meldcode is for professionals who work with youth, not told to every reporter as if it bound them.
    assert "Do you work with young people" in notices["minor"].text
    assert q.get("signals").option("missing_from_care") is not None


# --- 15.6 outcomes and referral to care ------------------------------------------------------------------


def test_an_outcome_is_one_of_the_list() -> None:
    assert check_outcome("zorgtraject_gestart") == "zorgtraject_gestart"
    assert check_outcome("vrij tekstje") is Problem.UNKNOWN_OUTCOME
    assert check_outcome(None) is Problem.UNKNOWN_OUTCOME


@pytest.mark.parametrize("conclusion", ["geen", "verder_onderzoek"])
def test_a_referral_to_care_goes_with_geen_and_with_verder_onderzoek(conclusion: str) -> None:
    view = CaseView(status=CaseStatus.IN_PROGRESS, municipality="Breda", claimed_by="U_AF")
    decision = decide(view, CaseAction.CONCLUDE, conclusion=conclusion, rationale="r", referred_to_care=True,
                      care_organisation="Wijkteam Breda")
    assert decision.allowed and decision.conclusion is not None
    assert decision.conclusion.referred_to_care and decision.conclusion.care_organisation == "Wijkteam Breda"
