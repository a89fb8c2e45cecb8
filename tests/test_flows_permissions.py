"""Who may do what (beleidsstuk 3.2: the AF gathers all signals; the ketenregisseur monitors)."""

from __future__ import annotations

import pytest

from flows.cases import CaseAction
from flows.permissions import (
    Actor,
    CaseRef,
    Denial,
    Grant,
    ReporterAction,
    Role,
    StatsScope,
    can_act_on_case,
    can_manage_members,
    can_manage_training,
    can_record_for_partner,
    can_view_case_content,
    can_view_stats,
    municipality_audience,
    stats_scope,
)

BREDA_AF = Actor("U_AF", frozenset({Grant(Role.AF, municipality="Breda")}))
BREDA_BACKUP = Actor("U_BACKUP", frozenset({Grant(Role.BACKUP, municipality="Breda")}))
ETTEN_AF = Actor("U_ETTEN", frozenset({Grant(Role.AF, municipality="Etten-Leur")}))
AVIM = Actor("U_AVIM", frozenset({Grant(Role.PARTNER, partner="avim")}))
NLA = Actor("U_NLA", frozenset({Grant(Role.PARTNER, partner="nla")}))
KETENREGISSEUR = Actor("U_KR", frozenset({Grant(Role.KETENREGISSEUR)}))
COLLEAGUE = Actor("U_BALIE", frozenset({Grant(Role.NETWORK, municipality="Breda")}))
REPORTER = Actor("U_MELDER")

SIGNAL = CaseRef(
    municipality="Breda",
    reporter_id="U_MELDER",
    consulted_partners=frozenset({"zoco", "nla"}),
    routed_partners=frozenset({"avim"}),
)


def test_the_role_values_are_the_agreed_keys() -> None:
    assert [r.value for r in Role] == ["af", "backup", "ketenregisseur", "partner", "network", "reporter"]


@pytest.mark.parametrize("action", list(CaseAction))
def test_the_af_and_backup_of_the_municipality_handle_its_signals(action: CaseAction) -> None:
    assert can_act_on_case(BREDA_AF, SIGNAL, action)
    assert can_act_on_case(BREDA_BACKUP, SIGNAL, action)


def test_a_colleague_who_is_not_af_cannot_claim() -> None:
    permission = can_act_on_case(COLLEAGUE, SIGNAL, CaseAction.CLAIM)
    assert not permission.allowed
    assert permission.reason is Denial.NOT_AF_OF_MUNICIPALITY


def test_the_af_of_another_municipality_cannot_claim() -> None:
    assert can_act_on_case(ETTEN_AF, SIGNAL, "claim").reason is Denial.NOT_AF_OF_MUNICIPALITY


def test_the_reporter_cannot_handle_their_own_signal() -> None:
    assert can_act_on_case(REPORTER, SIGNAL, CaseAction.CONCLUDE).reason is Denial.NOT_AF_OF_MUNICIPALITY


@pytest.mark.parametrize("action", list(ReporterAction))
def test_the_reporter_answers_and_adds_to_their_own_signal(action: ReporterAction) -> None:
    assert can_act_on_case(REPORTER, SIGNAL, action)


@pytest.mark.parametrize("actor", [COLLEAGUE, BREDA_AF, KETENREGISSEUR])
def test_nobody_else_acts_as_the_reporter(actor: Actor) -> None:
    assert can_act_on_case(actor, SIGNAL, ReporterAction.ADD_INFO).reason is Denial.NOT_YOUR_SIGNAL


def test_avim_records_the_outcome_of_a_case_handed_to_avim() -> None:
    assert can_record_for_partner(AVIM, SIGNAL, CaseAction.RECORD_OUTCOME, "avim")


def test_a_partner_records_advice_only_when_consulted() -> None:
    assert can_record_for_partner(NLA, SIGNAL, CaseAction.RECORD_ADVICE, "nla")
    assert can_record_for_partner(AVIM, SIGNAL, CaseAction.RECORD_ADVICE, "avim").reason is Denial.PARTNER_NOT_INVOLVED
    assert can_record_for_partner(NLA, SIGNAL, CaseAction.RECORD_OUTCOME, "nla").reason is Denial.PARTNER_NOT_INVOLVED


@pytest.mark.parametrize("action", list(CaseAction))
def test_a_partner_uses_no_case_form_not_even_the_afs_record_advice(action: CaseAction) -> None:
    """The case card's forms (record advice and outcome by hand too) are the AF's and backup's only."""
    assert can_act_on_case(NLA, SIGNAL, action).reason is Denial.PARTNER_RECORDS_ONLY
    assert can_act_on_case(AVIM, SIGNAL, action).reason is Denial.PARTNER_RECORDS_ONLY
    outsider = Actor("U_VT", frozenset({Grant(Role.PARTNER, partner="veilig_thuis")}))
    assert can_act_on_case(outsider, SIGNAL, action).reason is Denial.PARTNER_NOT_INVOLVED


def test_a_partner_records_only_for_their_own_organisation() -> None:
    both = CaseRef("Breda", "U_MELDER", routed_partners=frozenset({"avim", "zoco"}))
    assert can_record_for_partner(AVIM, both, CaseAction.RECORD_OUTCOME, "avim")
    assert not can_record_for_partner(AVIM, both, CaseAction.RECORD_OUTCOME, "zoco")
    assert can_act_on_case(BREDA_AF, both, CaseAction.RECORD_OUTCOME)  # the AF by hand, on the card
    assert not can_record_for_partner(BREDA_AF, both, CaseAction.RECORD_OUTCOME, "zoco")  # not in zoco's name
    assert not can_record_for_partner(AVIM, both, CaseAction.CONCLUDE, "avim")


@pytest.mark.parametrize("action", list(CaseAction))
def test_the_ketenregisseur_sees_aggregates_only_and_cannot_act(action: CaseAction) -> None:
    assert can_act_on_case(KETENREGISSEUR, SIGNAL, action).reason is Denial.AGGREGATES_ONLY


def test_case_content_is_for_the_af_and_backup_only() -> None:
    assert can_view_case_content(BREDA_AF, SIGNAL)
    assert can_view_case_content(BREDA_BACKUP, SIGNAL)
    assert can_view_case_content(KETENREGISSEUR, SIGNAL).reason is Denial.AGGREGATES_ONLY
    assert can_view_case_content(REPORTER, SIGNAL).reason is Denial.REPORTER_VIEW_ONLY
    assert can_view_case_content(AVIM, SIGNAL).reason is Denial.PARTNER_RECORDS_ONLY
    assert can_view_case_content(ETTEN_AF, SIGNAL).reason is Denial.NOT_AF_OF_MUNICIPALITY


def test_the_ketenregisseur_never_sees_content_even_with_a_network_role() -> None:
    both = Actor("U_KR", frozenset({Grant(Role.KETENREGISSEUR), Grant(Role.NETWORK, municipality="Breda")}))
    assert not can_view_case_content(both, SIGNAL)


def test_the_ketenregisseur_plans_training_for_anyone() -> None:
    assert can_manage_training(KETENREGISSEUR, "network")
    assert can_manage_training(KETENREGISSEUR, municipality_audience("Breda"))


def test_an_af_plans_training_for_their_own_municipality_only() -> None:
    assert municipality_audience("Breda") == "municipality:Breda"
    assert can_manage_training(BREDA_AF, "municipality:Breda")
    assert can_manage_training(BREDA_BACKUP, "municipality:Breda")
    assert can_manage_training(BREDA_AF, "municipality:Etten-Leur").reason is Denial.NOT_TRAINING_MANAGER
    assert not can_manage_training(BREDA_AF, "network")
    assert not can_manage_training(COLLEAGUE, "municipality:Breda")


def test_members_are_managed_by_the_af_of_the_municipality_or_the_ketenregisseur() -> None:
    assert can_manage_members(BREDA_AF, "Breda")
    assert can_manage_members(KETENREGISSEUR, "Breda")
    assert can_manage_members(ETTEN_AF, "Breda").reason is Denial.NOT_AF_OF_MUNICIPALITY
    assert not can_manage_members(AVIM, "Breda")


def test_statistics_are_for_the_ketenregisseur_and_the_afs() -> None:
    assert can_view_stats(KETENREGISSEUR)
    assert can_view_stats(BREDA_AF)
    assert can_view_stats(COLLEAGUE).reason is Denial.NO_STATS_ROLE
    assert not can_view_stats(AVIM)
    assert stats_scope(KETENREGISSEUR) == StatsScope(region=True)
    assert stats_scope(BREDA_AF) == StatsScope(region=False, municipalities=frozenset({"Breda"}))


def test_grants_carry_what_their_role_needs() -> None:
    with pytest.raises(ValueError):
        Grant(Role.AF)
    with pytest.raises(ValueError):
        Grant(Role.PARTNER)
    with pytest.raises(ValueError):
        Grant(Role.REPORTER, municipality="Breda")
