"""Retention through the in-memory edge: when a case's period is over, the daily sweep (the clock
moved) removes its content from the database and every delivered message that showed details
becomes a tombstone, wherever it was shown."""

from __future__ import annotations

from datetime import timedelta

from bot.core.testing import TestEdge, dm
from flows.retention import add_months
from tests.core.conftest import AF, ANSWERS, AVIM, CASE_PLACE, DESCRIPTION, LOCATION, REPORTER

RATIONALE = "Geen aanwijzingen voor uitbuiting na gesprek met de werkgever."
FEEDBACK = "Dank je wel, we hebben ernaar gekeken."
ADVICE = "Bij ons niet bekend."
CONTENT = (DESCRIPTION, LOCATION, RATIONALE, FEEDBACK, ADVICE)


def purged_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("retention: purged")]


def shown_now(edge: TestEdge) -> str:
    return repr([s.data for s in edge.deliverer.shown.values()])


def closed_case(edge: TestEdge) -> str:
    reference = edge.report(REPORTER, ANSWERS)
    assert edge.click(AF, "claim", reference).ok
    assert edge.click(AF, "consult", reference, partners=["avim"], question="Bekend?").ok
    [brief] = [s for s in edge.inbox(AVIM) if s.kind == "partner_consultation"]
    assert edge.advise(AVIM, brief.data["consultation"]["id"], ADVICE).ok
    assert edge.click(AF, "conclude", reference, conclusion="geen", rationale=RATIONALE).ok
    assert edge.click(AF, "feedback", reference, text=FEEDBACK).ok
    assert edge.click(AF, "close", reference).ok
    return reference


def test_a_closed_case_is_purged_after_its_period_and_its_messages_become_tombstones(edge: TestEdge) -> None:
    reference = closed_case(edge)
    closed_at = edge.signal(reference).closed_at
    assert closed_at is not None
    assert all(text in shown_now(edge) for text in (DESCRIPTION, RATIONALE, FEEDBACK))

    # "geen" is kept six months after closing; not a day less.
    assert purged_lines(edge.travel(add_months(closed_at, 6) - timedelta(days=1))) == []
    assert edge.signal(reference).description == DESCRIPTION

    lines = edge.travel(add_months(closed_at, 6) + timedelta(days=1))
    assert purged_lines(lines) and reference in purged_lines(lines)[0], lines
    s = edge.signal(reference)
    assert s.purged_at is not None
    assert (s.description, s.location, s.reporter_id, s.claimed_by) == (None, None, None, None)
    assert (s.form, s.sector, s.conclusion, s.status) == ("AU", "horeca", "geen", "closed")  # the counts stay

    # Whatever showed details, in the case place, the reporter's DM and the partner's DM, is a tombstone.
    [card] = [m for m in edge.place(CASE_PLACE) if m.kind == "case_card"]
    assert card.redacted and card.data == {"kind": "tombstone"}
    assert card.ops[-1] == "redact"  # no update follows a tombstone
    assert [m for m in edge.inbox(REPORTER) if m.kind == "summary"][0].redacted
    assert all(m.redacted for m in edge.inbox(AVIM) if m.kind == "partner_consultation")
    assert not [text for text in CONTENT if text in shown_now(edge)]
    assert {dm(REPORTER), CASE_PLACE, dm(AVIM)} <= edge.conversations()

    # Once: the next days purge nothing more, and nothing is shown again.
    assert purged_lines(edge.travel(add_months(closed_at, 6) + timedelta(days=2))) == []
    assert all(s.ops[-1] == "redact" for s in edge.deliverer.shown.values() if s.redacted)


def test_an_open_case_is_kept_and_an_abandoned_draft_goes_after_30_days(edge: TestEdge) -> None:
    kept = edge.report(REPORTER, ANSWERS)
    draft = edge.report(REPORTER, ANSWERS, send=False)
    assert edge.signal(draft).status == "draft"
    started = edge.now()

    assert edge.purge(dry_run=True) == []
    edge.core.clock.set(started + timedelta(days=29))
    assert edge.purge() == []
    edge.core.clock.set(started + timedelta(days=31))
    assert [c.reference for c in edge.purge(dry_run=True)] == [draft]
    assert edge.signal(draft).answers != {}  # a dry run changes nothing
    assert [(c.reference, c.reason) for c in edge.purge()] == [(draft, "abandoned_draft")]
    assert edge.signal(draft).answers == {} and edge.signal(draft).description is None
    assert edge.signal(kept).description == DESCRIPTION and edge.signal(kept).purged_at is None
    summaries = [m for m in edge.inbox(REPORTER) if m.kind == "summary"]
    assert [m.data.get("reference") for m in summaries if not m.redacted] == [kept]

