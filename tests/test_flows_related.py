"""Possibly related signals, as pure rules: which location tokens two signals share (issue 15,
point 3), who may link them, and when the card offers the action."""

from __future__ import annotations

import pytest

from flows.cases import CaseAction, CaseStatus, CaseView, available_actions, decide
from flows.permissions import Actor, CaseRef, Denial, Grant, Role, can_link_signals
from flows.related import MatchKind, Token, fold, tokens


def kinds_and_values(text: str) -> set[tuple[str, str]]:
    return {(t.kind.value, t.value) for t in tokens(text)}


@pytest.mark.parametrize(("a", "b"), [
    ("Hoofdstraat 12a, Breda", "hoofdstraat 12-A"),
    ("Hoofdstraat 12 A", "bij de HOOFDSTRAAT 12a boven de winkel"),
    ("Grote Markt 5", "op de grote markt 5"),
    ("Café 't Hoekje, Ginnekenweg 200", "ginnekenweg 200 (achterom)"),
    ("4811 AB, nr. 12", "4811AB 12"),
])
def test_the_same_address_written_differently_matches(a: str, b: str) -> None:
    shared = {t for t in tokens(a) & tokens(b) if t.kind is MatchKind.ADDRESS}
    assert shared, (tokens(a), tokens(b))


def test_a_different_number_or_street_does_not_match() -> None:
    assert not tokens("Hoofdstraat 12") & tokens("Hoofdstraat 14")
    assert not tokens("Hoofdstraat 12") & tokens("Kerkstraat 12")


@pytest.mark.parametrize(("a", "b"), [
    ("nagelstudio Lucky Nails", "bij de nagelstudio 'Lucky Nails' in het centrum"),
    ("Jansen Bouw B.V.", "uitzendbureau via jansen bouw bv"),
    ("Snackbar De Gouden Draak", "de gouden draak v.o.f."),
])
def test_the_same_business_matches(a: str, b: str) -> None:
    shared = {t for t in tokens(a) & tokens(b) if t.kind is MatchKind.BUSINESS}
    assert shared, (tokens(a), tokens(b))


def test_a_postcode_is_a_weaker_hint_of_its_own_kind() -> None:
    assert kinds_and_values("4811 AB Breda") == {("postcode", "4811ab")}
    assert Token(MatchKind.POSTCODE, "4811ab").material() != Token(MatchKind.BUSINESS, "4811ab").material()


@pytest.mark.parametrize("text", ["", "   ", None, "er wonen 12 mensen", "op de weg 2", "ergens in het centrum",
                                  "aan de straat 4"])
def test_vague_places_give_no_tokens(text: str | None) -> None:
    assert tokens(text) == frozenset()


def test_folding_drops_accents_case_and_punctuation() -> None:
    assert fold("Café Zuid-Oost, Nr. 3!") == "cafe zuid oost nr 3"


BREDA = CaseRef("Breda", "U_REP")
BREDA_2 = CaseRef("Breda", "U_REP2")
ETTEN = CaseRef("Etten-Leur", "U_REP3")


def test_the_af_of_the_municipality_links_its_own_signals() -> None:
    af = Actor("U_AF", frozenset({Grant(Role.AF, municipality="Breda")}))
    backup = Actor("U_B", frozenset({Grant(Role.BACKUP, municipality="Breda")}))
    assert can_link_signals(af, BREDA, BREDA_2)
    assert can_link_signals(backup, BREDA, BREDA_2)


def test_signals_of_two_municipalities_are_never_linked_even_by_who_handles_both() -> None:
    both = Actor("U_AF", frozenset({Grant(Role.AF, municipality="Breda"), Grant(Role.AF, municipality="Etten-Leur")}))
    assert can_link_signals(both, BREDA, ETTEN).reason is Denial.OTHER_MUNICIPALITY
    only_breda = Actor("U_AF", frozenset({Grant(Role.AF, municipality="Breda")}))
    assert can_link_signals(only_breda, BREDA, ETTEN).reason is Denial.NOT_AF_OF_MUNICIPALITY


@pytest.mark.parametrize("actor", [
    Actor("U_KR", frozenset({Grant(Role.KETENREGISSEUR)})),
    Actor("U_AVIM", frozenset({Grant(Role.PARTNER, partner="avim")})),
    Actor("U_REP"),
])
def test_nobody_else_links(actor: Actor) -> None:
    assert not can_link_signals(actor, BREDA, BREDA_2)


def test_the_card_offers_related_signals_only_when_there_are_some() -> None:
    quiet = CaseView(status=CaseStatus.IN_PROGRESS, municipality="Breda", claimed_by="U_AF")
    assert CaseAction.RELATED not in available_actions(quiet)
    busy = CaseView(status=CaseStatus.IN_PROGRESS, municipality="Breda", claimed_by="U_AF", related=2)
    assert CaseAction.RELATED in available_actions(busy)
    closed = CaseView(status=CaseStatus.CLOSED, municipality="Breda", related=2)
    assert CaseAction.RELATED not in available_actions(closed)


@pytest.mark.parametrize("action", [CaseAction.CASE_MEETING, CaseAction.RELATED])
def test_a_case_meeting_or_a_link_is_handling_a_new_case_claims_it(action: CaseAction) -> None:
    new = CaseView(status=CaseStatus.NEW, municipality="Breda")
    decision = decide(new, action)
    assert decision.allowed and decision.implicit_claim and decision.new_status is CaseStatus.IN_PROGRESS
    assert not decide(CaseView(status=CaseStatus.CLOSED, municipality="Breda"), action).allowed


@pytest.mark.parametrize("text", ["Nagelstudio Lucky Nails, Hoofdstraat 12", "nagelstudio Lucky Nails Hoofdstraat 12",
                                  "Ze werkt bij nagelstudio Lucky Nails. Daar slaapt ze ook."])
def test_a_business_name_ends_at_a_comma_a_street_or_the_end_of_a_sentence(text: str) -> None:
    assert {t.value for t in tokens(text) if t.kind is MatchKind.BUSINESS} == {"lucky nails"}
