"""The meldroute (Bijlage 1): which partner a case goes to, per form of exploitation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.cases import Form
from flows.data import DataError
from flows.routing import (
    DEFAULT_PATH,
    consultation_candidates,
    load_meldroute,
    preselected,
    split_handovers,
    suggest_route,
)


def partners(form: str, acute: bool = False, minor: bool = False) -> list[str]:
    return [s.partner_key for s in suggest_route(form, acute, minor)]


def test_the_packaged_meldroute_is_valid_and_knows_all_partners() -> None:
    route = load_meldroute()
    assert {p.key for p in route.partners} >= {"avim", "zoco", "nla", "riec", "veilig-thuis", "comensha"}
    assert route.partner("nla").name_nl == "Nederlandse Arbeidsinspectie"


def test_an_su_signal_suggests_avim_first_and_zoco_second() -> None:
    suggestions = suggest_route(Form.SU, acute=False, minor=False)
    assert [(s.partner_key, s.order, s.priority) for s in suggestions] == [("avim", 1, 1), ("zoco", 2, 2)]
    assert not any(s.urgent for s in suggestions)


def test_au_signal_suggests_arbeidsinspectie_and_zoco() -> None:
    suggestions = suggest_route(Form.AU, acute=False, minor=False)
    assert [s.partner_key for s in suggestions] == ["nla", "zoco"]
    assert {s.priority for s in suggestions} == {1}  # "SZW en ZoCo": together


def test_a_cu_signal_suggests_avim_and_zoco_together() -> None:
    suggestions = suggest_route(Form.CU, acute=False, minor=False)
    assert [(s.partner_key, s.priority) for s in suggestions] == [("avim", 1), ("zoco", 1)]


def test_an_ov_signal_suggests_avim_first_and_zoco_second() -> None:
    assert partners("OV") == ["avim", "zoco"]
    assert [s.priority for s in suggest_route("OV", False, False)] == [1, 2]


def test_an_unknown_form_asks_zoco_for_advice_and_names_avim() -> None:
    suggestions = suggest_route(Form.UNKNOWN, acute=False, minor=False)
    assert [s.partner_key for s in suggestions] == ["zoco", "avim"]
    assert "advice" in suggestions[0].reason


def test_an_acute_su_signal_suggests_avim_now() -> None:
    first, *rest = suggest_route(Form.SU, acute=True, minor=False)
    assert (first.partner_key, first.urgent, first.order) == ("avim", True, 1)
    assert first.reason == "route_acute_engage_avim_now"
    assert [s.partner_key for s in rest] == ["zoco"]  # AVIM once, not twice


def test_an_acute_au_signal_puts_avim_before_the_labour_inspectorate() -> None:
    suggestions = suggest_route(Form.AU, acute=True, minor=False)
    assert [s.partner_key for s in suggestions] == ["avim", "nla", "zoco"]
    assert [s.urgent for s in suggestions] == [True, False, False]
    assert [s.order for s in suggestions] == [1, 2, 3]


def test_a_signal_about_a_minor_also_goes_to_veilig_thuis() -> None:
    assert partners("SU", minor=True) == ["avim", "veilig-thuis", "zoco"]
    assert partners("AU", minor=True) == ["nla", "zoco", "veilig-thuis"]


def test_an_acute_signal_about_a_minor() -> None:
    assert partners("CU", acute=True, minor=True) == ["avim", "zoco", "veilig-thuis"]


def test_an_unknown_form_pre_ticks_nobody_not_even_the_police() -> None:
    for acute, minor in ((False, False), (True, False), (False, True)):
        suggestion = suggest_route(Form.UNKNOWN, acute=acute, minor=minor)
        assert suggestion and preselected(Form.UNKNOWN, suggestion) == []


@pytest.mark.parametrize("form", [Form.SU, Form.AU, Form.CU, Form.OV])
def test_a_known_form_pre_ticks_the_meldroute_suggestion(form: Form) -> None:
    suggestion = suggest_route(form, acute=False, minor=False)
    assert preselected(form, suggestion) == [s.partner_key for s in suggestion]


def test_a_hand_over_is_never_sent_twice_unless_chosen_explicitly() -> None:
    assert split_handovers(["avim", "zoco"], {"avim"}, send_again=False) == (["zoco"], ["avim"])
    assert split_handovers(["avim", "zoco"], {"avim"}, send_again=True) == (["avim", "zoco"], [])
    assert split_handovers(["nla"], set(), send_again=False) == (["nla"], [])


def test_suggestions_never_name_a_partner_twice() -> None:
    for form in Form:
        for acute in (False, True):
            for minor in (False, True):
                keys = partners(form, acute, minor)
                assert len(keys) == len(set(keys))


def test_a_vague_signal_can_be_discussed_with_zoco_avim_arbeidsinspectie_and_riec() -> None:
    keys = [p.key for p in consultation_candidates()]
    assert keys[:4] == ["zoco", "avim", "nla", "riec"]
    assert "comensha" in keys


# --- a region's own file ----------------------------------------------------------------------


def region_file(tmp_path: Path, change: object) -> Path:
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path = tmp_path / "meldroute.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_region_can_supply_its_own_meldroute(tmp_path: Path) -> None:
    def add_fairwork(data: dict) -> None:
        data["partners"]["fairwork"] = {
            "name_nl": "FairWork",
            "name_en": "FairWork",
            "description_nl": "x",
            "description_en": "x",
        }
        data["routes"]["AU"].append({"partner": "fairwork", "priority": 2, "reason": "route_au_fairwork"})

    route = load_meldroute(region_file(tmp_path, add_fairwork))
    assert [s.partner_key for s in suggest_route("AU", False, False, route)] == ["nla", "zoco", "fairwork"]


def test_an_unknown_partner_in_a_route_names_file_and_field(tmp_path: Path) -> None:
    path = region_file(tmp_path, lambda d: d["routes"]["SU"][0].update(partner="avimm"))
    with pytest.raises(DataError) as err:
        load_meldroute(path)
    assert str(path) in str(err.value)
    assert "routes.SU[0].partner" in str(err.value)
    assert "avimm" in str(err.value)


def test_a_missing_form_is_an_error(tmp_path: Path) -> None:
    path = region_file(tmp_path, lambda d: d["routes"].pop("OV"))
    with pytest.raises(DataError, match=r"routes\.OV: is missing"):
        load_meldroute(path)


@pytest.mark.parametrize("priority", [0, -1, "first", True, 1.5])
def test_a_bad_priority_is_an_error(tmp_path: Path, priority: object) -> None:
    path = region_file(tmp_path, lambda d: d["routes"]["CU"][1].update(priority=priority))
    with pytest.raises(DataError, match=r"routes\.CU\[1\]\.priority"):
        load_meldroute(path)


def test_a_misspelt_field_is_an_error(tmp_path: Path) -> None:
    path = region_file(tmp_path, lambda d: d["routes"]["CU"][0].update(prority=1))
    with pytest.raises(DataError, match=r"routes\.CU\[0\]: unknown key"):
        load_meldroute(path)


def test_an_unknown_consultation_partner_is_an_error(tmp_path: Path) -> None:
    path = region_file(tmp_path, lambda d: d["consultation"].insert(6, "fiod"))
    with pytest.raises(DataError, match=r"consultation\[6\]: unknown partner 'fiod'"):
        load_meldroute(path)


def test_a_partner_without_a_name_is_an_error(tmp_path: Path) -> None:
    path = region_file(tmp_path, lambda d: d["partners"]["riec"].pop("name_nl"))
    with pytest.raises(DataError, match=r"partners\.riec\.name_nl: is missing"):
        load_meldroute(path)


def test_a_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        load_meldroute(tmp_path / "nope.yaml")


def test_broken_yaml_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "meldroute.yaml"
    path.write_text("partners: [unclosed", encoding="utf-8")
    with pytest.raises(DataError, match="not valid YAML"):
        load_meldroute(path)
