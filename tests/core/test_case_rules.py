"""The case's rules from issue 14, platform-neutral: a hand-over is never sent twice by accident,
"wel mensenhandel" closes only after a hand-over or with a reason why not, the reporter's words are
for whoever must act (the AF who claimed it), and Gezien clears them without claiming."""

from __future__ import annotations

from bot.core.testing import TestEdge
from tests.core.conftest import AF, ANSWERS, AVIM, CASE_PLACE, REPORTER


def _handovers(edge: TestEdge) -> list:
    return [s for s in edge.inbox(AVIM) if s.kind == "partner_handover"]


def test_a_hand_over_goes_once_unless_sent_again_explicitly(edge: TestEdge) -> None:
    reference = edge.report(REPORTER, ANSWERS)
    assert edge.click(AF, "route", reference, partners=["avim"]).ok
    twice = edge.click(AF, "route", reference, partners=["avim"])
    assert not twice.ok and twice.reason == "already_routed" and "AVIM" in twice.data["partners"]
    assert len(_handovers(edge)) == 1
    assert edge.click(AF, "route", reference, partners=["avim"], send_again=True, form_id="f1").ok
    assert not edge.click(AF, "route", reference, partners=["avim"], send_again=True, form_id="f1").ok
    assert len(_handovers(edge)) == 2


def test_wel_mensenhandel_closes_after_a_hand_over_or_with_a_reason(edge: TestEdge) -> None:
    reference = edge.report(REPORTER, {**ANSWERS, "feedback": "no"})
    assert edge.click(AF, "conclude", reference, conclusion="wel", rationale="Duidelijk.").ok
    refused = edge.click(AF, "close", reference)
    assert not refused.ok and refused.reason == "route_missing"
    assert edge.click(AF, "close", reference, no_route_reason="Politie was al betrokken via 112.").ok
    assert edge.signal(reference).status == "closed"


def test_the_reporters_addition_mentions_the_af_who_claimed_it_and_seen_clears_it(edge: TestEdge) -> None:
    reference = edge.report(REPORTER, ANSWERS)
    assert edge.click(AF, "claim", reference).ok
    assert edge.reply(REPORTER, reference, "Nog iets gezien.").ok
    card = next(s for s in edge.place(CASE_PLACE) if s.kind == "case_card")
    added = [s for s in edge.thread(card) if s.kind == "case_event"][-1]
    assert added.data["ref"]["mention"] == [AF]
    seen = edge.click(AF, "seen", reference)
    assert seen.ok and seen.data["seen"] is True
    assert edge.click(AF, "seen", reference).data["seen"] is False  # nothing new any more
