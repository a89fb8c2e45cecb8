"""Issue 15.1 and 15.6 through the in-memory edge, on SQLite and PostgreSQL: the vervanger corrects a
waiting case's details (the reporter's answers stay; the case is not claimed by it); becoming acute
starts the acute ladder and no longer acute stops it; route suggestions and figures follow the AF's
classification; a partner's outcome is chosen from the list and counted by kind."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.core import stats
from bot.core.cases import route_suggestion
from bot.core.testing import TestEdge
from flows.calendar import WorkingCalendar
from models import AuditEntry, CaseEvent, Handover
from models.reminders import Deadline
from tests.core.conftest import AF, ANSWERS, AVIM, BACKUP, REPORTER, START

DETAILS = {"form": "AU", "acute": False, "minor": "no", "sector": "horeca", "target_group": None}


def ladders(edge: TestEdge, reference: str) -> dict[str, str]:
    with Session(edge.engine) as session:
        rows = session.exec(select(Deadline).where(Deadline.signal_id == edge.signal_id(reference))).all()
        return {r.rule_key: r.state for r in rows if r.trigger.startswith("unclaimed")}


def test_the_vervanger_corrects_the_details_and_the_case_follows(edge: TestEdge) -> None:
    reference = edge.report(REPORTER, ANSWERS)
    assert ladders(edge, reference) == {"unclaimed_af": "pending", "unclaimed_backup": "pending",
                                        "unclaimed_ketenregisseur": "pending"}

    # Acute now, sexual exploitation, a sex worker: the backup corrects it without taking the case over.
    fixed = edge.click(BACKUP, "reclassify", reference, **{**DETAILS, "form": "SU", "acute": True,
                                                          "sector": "sekswerk", "target_group": "sekswerker"})
    assert fixed.ok, fixed
    s = edge.signal(reference)
    assert (s.form, s.acute, s.sector, s.target_group, s.status, s.claimed_by) == (
        "SU", True, "sekswerk", "sekswerker", "new", None)
    assert (s.answers["form"], s.answers["acute"], s.answers["sector"]) == ("AU", "no", "horeca")  # on record
    assert (s.classified_by, s.classified_at) == (BACKUP, START)
    assert [x.partner_key for x in route_suggestion(s)] == ["avim", "zoco"]
    assert [x.urgent for x in route_suggestion(s)] == [True, False]
    states = ladders(edge, reference)
    assert states["unclaimed_acute_af"] == "pending" and states["unclaimed_af"] == "cancelled"

    # The acute ladder runs from the correction: 30 minutes later the AF is reminded.
    lines = edge.travel(START + timedelta(minutes=31))
    assert any("unclaimed_acute_af" in line for line in lines), lines

    # No longer acute: the acute ladder stops, the ordinary one counts from the report again.
    assert edge.click(AF, "reclassify", reference, **{**DETAILS, "form": "SU", "sector": "sekswerk",
                                                      "target_group": "sekswerker"}).ok
    states = ladders(edge, reference)
    assert states["unclaimed_acute_escalation"] == "cancelled" and states["unclaimed_af"] == "pending"
    assert edge.signal(reference).claimed_by is None

    with Session(edge.engine) as session:
        sid = edge.signal_id(reference)
        changes = [e.data["changes"] for e in session.exec(select(CaseEvent).where(
            CaseEvent.signal_id == sid, CaseEvent.kind == "reclassified").order_by(CaseEvent.id)).all()]
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "case.reclassified")).all()
    assert changes == [{"form": ["AU", "SU"], "acute": [False, True], "sector": ["horeca", "sekswerk"],
                        "target_group": [None, "sekswerker"]}, {"acute": [True, False]}]
    assert [(a.actor_id, a.data["fields"]) for a in audited] == [
        (BACKUP, ["acute", "form", "sector", "target_group"]), (AF, ["acute"])]

    # The same details again change nothing and write nothing.
    again = edge.click(AF, "reclassify", reference, **{**DETAILS, "form": "SU", "sector": "sekswerk",
                                                       "target_group": "sekswerker"})
    assert not again.ok and again.reason == "nothing_changed"
    # Only the AF or vervanger of the municipality.
    assert not edge.click(AVIM, "reclassify", reference, **DETAILS).ok

    # Figures count the AF's classification.
    with Session(edge.engine) as session:
        report = stats.compute(session, START - timedelta(days=1), START + timedelta(days=1), edge.now(), limit=1,
                               cal=WorkingCalendar())
    assert report.breakdowns["form"] == {"SU": (1, 0)}
    assert report.breakdowns["target_group"] == {"sekswerker": (1, 0)}


def test_a_partner_outcome_is_chosen_from_the_list_and_counted_by_kind(edge: TestEdge) -> None:
    reference = edge.report(REPORTER, ANSWERS)
    assert edge.click(AF, "route", reference, partners=["avim"]).ok
    with Session(edge.engine) as session:
        handover = session.exec(select(Handover)).one()
    refused = edge.report_outcome(AVIM, handover.id or 0, "Vrije tekst alleen.", kind="iets anders")
    assert not refused.ok and refused.reason == "unknown_outcome"
    assert edge.report_outcome(AVIM, handover.id or 0, None, kind="onderzoek_gestart").ok  # the note may be empty
    with Session(edge.engine) as session:
        stored = session.get(Handover, handover.id)
        assert stored is not None and (stored.outcome_kind, stored.outcome) == ("onderzoek_gestart", None)
        report = stats.compute(session, START - timedelta(days=1), START + timedelta(days=1), edge.now(), limit=1,
                               cal=WorkingCalendar())
    avim = next(p for p in report.partners if p.partner == "avim")
    assert (avim.handed_over, avim.outcome_reported, avim.outcomes) == (1, 1, {"onderzoek_gestart": 1})
    assert "partner_outcome:avim:onderzoek_gestart" in [r[0] for r in stats.rows(report)]
