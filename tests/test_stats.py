"""Monitoring (§3.4): signals per municipality × form × sector, outcomes, the share that led to a
melding, median times, open and overdue; aggregates only, small counts as "< N"; and the monthly
digest to the ketenregisseur on the first working day of the month, once."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.core import stats
from bot.core.digest import first_working_day
from flows.calendar import WorkingCalendar
from models import AuditEntry, Handover, Municipality, Partner, Signal, crypto
from models.db import make_engine, session_scope, upgrade
from tests.helpers import KETENREGISSEUR, case_card, report
from tests.privacy_support import FREE_TEXT_BITS, run_cli

AMS = ZoneInfo("Europe/Amsterdam")
CAL = WorkingCalendar()
MONDAY = datetime(2027, 3, 1, 9, 0, tzinfo=AMS).astimezone(UTC)  # Monday 1 March 2027, 09:00
NOW = datetime(2027, 3, 4, 12, 0, tzinfo=AMS).astimezone(UTC)  # Thursday
MARCH = (datetime(2027, 3, 1, tzinfo=AMS).astimezone(UTC), datetime(2027, 4, 1, tzinfo=AMS).astimezone(UTC))


@pytest.fixture
def figures_db(settings):  # noqa: ANN001, ANN201
    """Eight signals in March (six AU/horeca in Breda, two CU in Etten-Leur), one open from
    February, one unsent draft."""
    crypto.configure(settings.data_key or "")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    h = timedelta(hours=1)
    with session_scope(engine) as session:
        breda, etten = Municipality(name="Breda"), Municipality(name="Etten-Leur")
        session.add_all([breda, etten, Partner(key="avim", name="AVIM")])
        session.flush()
        n = 0

        def add(**kw: object) -> Signal:
            nonlocal n
            n += 1
            s = Signal(reference=f"S-2027-{n:04d}", questionnaire_version="t", description="Geheime tekst", **kw)
            session.add(s)
            session.flush()
            return s

        conclusions = ["geen", "geen", "wel", None, None, None]
        for i in range(6):
            concl = conclusions[i]
            s = add(municipality_id=breda.id, status="closed" if concl else "in_progress", form="AU", sector="horeca",
                    submitted_at=MONDAY, claimed_at=MONDAY + (i + 1) * h, claimed_by="U0AF000001",
                    first_feedback_at=MONDAY + (i + 1) * 24 * h, conclusion=concl)
            if i < 3:
                session.add(Handover(signal_id=s.id, partner_key="avim"))
        for _ in range(2):
            add(municipality_id=etten.id, status="new", form="CU", submitted_at=MONDAY)
        add(municipality_id=breda.id, status="new", form="SU", sector="horeca", submitted_at=MONDAY - 20 * 24 * h)
        add(municipality_id=breda.id, status="draft")
    yield engine
    engine.dispose()


def test_figures_for_a_month_with_small_counts_hidden(figures_db) -> None:
    with Session(figures_db) as session:
        report_ = stats.compute(session, *MARCH, NOW, limit=5, cal=CAL)
    assert report_.total == 8
    assert report_.groups == [("Breda", "AU", "horeca", 6), ("Etten-Leur", "CU", "—", 2)]
    assert report_.outcomes == {"geen": 2, "verder_onderzoek": 0, "wel": 1, "none": 5}
    assert report_.routed == 3 and report_.routed_percent == 38
    assert report_.median_claim_hours == 3.5
    assert report_.median_feedback_hours == 84
    assert report_.open == 6  # three Breda cases in progress, two new in Etten-Leur, one from February
    assert report_.overdue == 3  # the unclaimed ones, more than one working day after the report
    table = dict(((m, metric), v) for metric, m, _f, _s, v in stats.rows(report_))
    assert table[("", "signals")] == "8"
    assert table[("Breda", "signals")] == "6"
    assert table[("Etten-Leur", "signals")] == "< 5"
    assert table[("", "led_to_melding")] == "< 5"
    assert table[("", "outcome:geen")] == "< 5"
    assert table[("", "trained_network_members")] == "0"  # nobody trained (tests/test_figures_and_home_seams.py)


def test_a_higher_threshold_hides_more_and_drops_medians_of_few_cases(figures_db) -> None:
    with Session(figures_db) as session:
        report_ = stats.compute(session, *MARCH, NOW, limit=10, cal=CAL)
    assert report_.n(report_.total) == "< 10"
    assert report_.median_claim_hours is None and report_.routed_percent is None
    assert stats.threshold(stats.Settings(extra={"SIGNAAL_STATS_THRESHOLD": "10"})) == 10
    assert stats.threshold(stats.Settings()) == 5


def test_one_municipalitys_figures(figures_db) -> None:
    with Session(figures_db) as session:
        report_ = stats.compute(session, *MARCH, NOW, limit=5, cal=CAL, municipalities=frozenset({"Etten-Leur"}))
    assert (report_.total, report_.open, report_.routed) == (2, 2, 0)


def test_the_stats_command_gives_the_same_figures_as_csv(figures_db, settings, monkeypatch, capsys) -> None:
    code, out = run_cli(monkeypatch, capsys, settings, "stats", "--from", "2027-03-01", "--to", "2027-03-31",
                        "--format", "csv")
    assert code == 0, out
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["metric", "municipality", "form", "sector", "value"]
    assert ["signals", "", "", "", "8"] in rows
    assert ["signals", "Etten-Leur", "CU", "—", "< 5"] in rows
    assert "Geheime tekst" not in out and "S-2027" not in out
    code, table = run_cli(monkeypatch, capsys, settings, "stats", "--from", "2027-03-01", "--to", "2027-03-31")
    assert code == 0 and "median_time_to_claim" in table and "3.5 h" in table
    with Session(figures_db) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "stats.viewed")).all()


def test_the_first_working_day_of_the_month() -> None:
    assert first_working_day(datetime(2027, 5, 20).date(), CAL).isoformat() == "2027-05-03"  # 1 May is a Saturday
    assert first_working_day(datetime(2027, 1, 9).date(), CAL).isoformat() == "2027-01-04"  # 1 Jan is a holiday
    assert first_working_day(datetime(2027, 6, 9).date(), CAL).isoformat() == "2027-06-01"


def _digests(r) -> list[dict]:  # noqa: ANN001
    return [m for m in r.fake.messages_in(KETENREGISSEUR) if "Maandcijfers" in (m.get("text") or "")]


def test_the_ketenregisseur_gets_last_months_figures_on_the_first_working_day_once(running) -> None:
    r = running

    def at(day: int, month: int, hour: int) -> list[str]:
        moment = datetime(2027, month, day, hour, 0, tzinfo=AMS).astimezone(UTC)
        r.core.clock.set(moment)
        return [line for line in r.bot.run_due(moment) if line.startswith("digest")]

    r.core.clock.set(datetime(2027, 4, 12, 10, 0, tzinfo=AMS).astimezone(UTC))
    reference = report(r)
    case_card(r, reference)
    assert at(30, 4, 10) == []  # the last day of April
    assert at(3, 5, 7) == []  # first working day of May, before office hours
    assert at(3, 5, 9) == [f"digest: digest for 2027-04 to {KETENREGISSEUR}"]
    assert at(3, 5, 11) == [] and at(4, 5, 9) == []  # once a month
    assert at(20, 5, 9) == []
    digest = r.fake.wait_for(lambda: _digests(r))
    assert len(digest) == 1
    content = digest[0]["text"] + str(digest[0]["blocks"])
    assert "Maandcijfers april 2027" in content
    assert "< 5" in content  # one signal: shown as fewer than five
    assert reference not in content and not any(bit in content for bit in FREE_TEXT_BITS)
    # The bot was down on Tuesday 1 June: it catches up the next working day.
    assert at(2, 6, 9) == [f"digest: digest for 2027-05 to {KETENREGISSEUR}"]
    with Session(r.core.engine) as session:
        sent = session.exec(select(AuditEntry).where(AuditEntry.action == "stats.digest_sent")).all()
    assert [e.data["month"] for e in sent] == ["2027-04", "2027-05"]
