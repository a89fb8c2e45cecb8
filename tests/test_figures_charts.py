"""§3.4 figures with charts (issue 15 point 7): the chart data never carries a small count, the PNG
is made without network access, the yearly report's CSV totals equal the database's, `/signaal
cijfers` shows each person only what they may see, and the monthly digest uploads its charts into the
ketenregisseur's DM through the fake Slack's files_upload_v2 endpoints."""

from __future__ import annotations

import csv
import io
import json
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.core import charts, stats
from bot.i18n import translator
from flows.calendar import WorkingCalendar
from models import AuditEntry, Handover, Municipality, Partner, Signal, crypto
from models.db import make_engine, session_scope, upgrade
from tests.helpers import AF, AF_OTHER, COLLEAGUE, KETENREGISSEUR, case_card, report
from tests.privacy_support import FREE_TEXT_BITS, run_cli

AMS = ZoneInfo("Europe/Amsterdam")
CAL = WorkingCalendar()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NL = translator("nl")


def at(y: int, mo: int, d: int, h: int = 10) -> datetime:
    return datetime(y, mo, d, h, 0, tzinfo=AMS).astimezone(UTC)


def month_report(limit: int = 5) -> stats.Report:
    """Three months: January has enough of everything, February a few AU and one SU, March only one."""
    start, end = at(2027, 1, 1, 0), at(2027, 4, 1, 0)
    r = stats.Report(start=start, end=end, now=end, threshold=limit)
    r.months = [stats.MonthFigures("2027-01", 12, 6, {"AU": 8, "SU": 4}, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
                stats.MonthFigures("2027-02", 7, 2, {"AU": 6, "SU": 1}, [2.0, 2.0]),
                stats.MonthFigures("2027-03", 1, 1, {"CU": 1}, [1.0])]
    return r


def test_a_chart_never_draws_a_small_count() -> None:
    r = month_report()
    by_form, share, claim = charts.charts(r, NL, lambda form: form)
    assert by_form.months == ("2027-01", "2027-02", "2027-03")
    drawn = {s.key: s.values for s in by_form.series}
    assert drawn == {"AU": (8, 6, 0), "CU": (0, 0, None), "SU": (None, None, 0)}
    assert set(by_form.hidden) == {("2027-01", "SU"), ("2027-02", "SU"), ("2027-03", "CU")}
    assert share.series[0].values == (50.0, None, None)  # February: only 2 meldingen; March: 1 signal
    r.months[0].routed = 10  # 10 of 12: the two others would be a small number
    assert charts.melding_share(r, NL).series[0].values == (None, None, None)
    assert claim.series[0].values == (3.5, None, None)  # a median over fewer than five claims is not drawn
    assert not [v for v in by_form.visible_values() if 0 < v < r.threshold]
    # With threshold 1 everything is drawn (the data is what the PNG shows).
    by_form_1 = charts.signals_by_form(month_report(limit=1), NL, lambda form: form)
    assert {s.key: s.values for s in by_form_1.series}["SU"] == (4, 1, 0)


def test_the_chart_png_is_made_without_network_access(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_args: object, **_kw: object) -> None:
        raise AssertionError("a chart must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    r = month_report()
    for chart in charts.charts(r, NL, lambda form: form):
        data = charts.png(chart, r.threshold)
        assert data.startswith(PNG_MAGIC) and len(data) > 2000
        from matplotlib.image import imread

        pixels = imread(io.BytesIO(data), format="png")
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100


# --- the yearly report ------------------------------------------------------------------------------


@pytest.fixture
def seeded_year(settings):  # noqa: ANN001, ANN201
    """A year of signals (2027) in three municipalities, spread over the months, some handed over to
    partners (one with an outcome reported back); one signal in 2026 and one unsent draft."""
    crypto.configure(settings.data_key or "")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        munis = [Municipality(name=n) for n in ("Breda", "Etten-Leur", "Zundert")]
        session.add_all([*munis, Partner(key="avim", name="AVIM"), Partner(key="zoco", name="Zorgcoördinatie")])
        session.flush()
        forms, sectors, sources = ("AU", "SU", "CU", "AU"), ("horeca", "bouw", None), ("balie", "huisbezoek")
        for i in range(40):
            month, muni = 1 + i % 12, munis[i % 3]
            sent = at(2027, month, 3 + i % 20)
            s = Signal(reference=f"S-2027-{i + 1:04d}", questionnaire_version="t", description="Geheime tekst",
                       municipality_id=muni.id, status="in_progress", form=forms[i % 4], sector=sectors[i % 3],
                       answers={"source": sources[i % 2]}, submitted_at=sent,
                       claimed_at=sent + timedelta(hours=1 + i % 5), claimed_by=AF,
                       first_feedback_at=sent + timedelta(days=2))
            session.add(s)
            session.flush()
            if i % 3 == 0:
                session.add(Handover(signal_id=s.id, partner_key="avim", routed_at=sent + timedelta(days=1),
                                     outcome="Uitkomst geheim" if i == 0 else None,
                                     outcome_at=sent + timedelta(days=20) if i == 0 else None))
            if i % 5 == 0:
                session.add(Handover(signal_id=s.id, partner_key="zoco", routed_at=sent + timedelta(days=1)))
        session.add(Signal(reference="S-2026-0001", questionnaire_version="t", municipality_id=munis[0].id,
                           status="closed", form="AU", submitted_at=at(2026, 12, 20)))
        session.add(Signal(reference="S-2027-0999", questionnaire_version="t", municipality_id=munis[0].id,
                           status="draft", form="AU"))
    yield engine
    engine.dispose()


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_the_yearly_report_adds_up_to_the_database(seeded_year, settings, monkeypatch, capsys,  # noqa: ANN001
                                                   tmp_path) -> None:
    monkeypatch.setenv("SIGNAAL_STATS_THRESHOLD", "1")  # every count as it is, to add it up
    out = tmp_path / "report"
    code, printed = run_cli(monkeypatch, capsys, settings, "report", "--year", "2027", "--out", str(out),
                            "--at", "2028-01-10T12:00:00+01:00")
    assert code == 0, printed
    names = sorted(p.name for p in out.iterdir())
    assert names == ["figures-2027.csv", "melding_share-2027.png", "report-2027.md", "signals_by_form-2027.png",
                     "time_to_claim-2027.png"]
    for png in out.glob("*.png"):
        assert png.read_bytes().startswith(PNG_MAGIC)
    rows = _csv(out / "figures-2027.csv")

    def value(muni: str, metric: str, month: str = "", dim: str = "", val: str = "") -> int:
        found = [r["count"] for r in rows if (r["municipality"], r["metric"], r["month"], r["dimension"], r["value"])
                 == (muni, metric, month, dim, val)]
        assert len(found) == 1, (muni, metric, month, dim, val, found)
        return int(found[0])

    with Session(seeded_year) as session:
        year = [s for s in session.exec(select(Signal)).all()
                if s.submitted_at and at(2027, 1, 1, 0) <= s.submitted_at < at(2028, 1, 1, 0)]
        names_by_id = {m.id: m.name for m in session.exec(select(Municipality)).all()}
        handovers = session.exec(select(Handover)).all()
    routed = {h.signal_id for h in handovers}
    assert value("", "signals") == len(year) == 40
    assert value("", "led_to_melding") == len([s for s in year if s.id in routed])
    months = [r for r in rows if r["municipality"] == "" and r["metric"] == "signals" and r["month"]
              and not r["dimension"]]
    assert len(months) == 12 and sum(int(r["count"]) for r in months) == len(year)
    per_muni = Counter(names_by_id[s.municipality_id] for s in year)
    for name, count in per_muni.items():
        assert value(name, "signals") == count
    for form, count in Counter(s.form for s in year).items():
        assert value("", "signals", dim="form", val=form) == count
        assert value("", "led_to_melding", dim="form", val=form) == len([s for s in year
                                                                         if s.form == form and s.id in routed])
    for source, count in Counter(s.answers["source"] for s in year).items():
        assert value("", "signals", dim="source", val=source) == count
    assert value("", "signals", dim="sector", val="—") == len([s for s in year if s.sector is None])
    assert value("", "handed_over", dim="partner", val="avim") == len([h for h in handovers
                                                                       if h.partner_key == "avim"])
    assert value("", "outcome_reported", dim="partner", val="avim") == 1
    md = (out / "report-2027.md").read_text(encoding="utf-8")
    assert md.startswith("# Cijfers over signalen van mensenhandel 2027")
    assert "![signals_by_form-2027.png](signals_by_form-2027.png)" in md
    assert "40 signalen" in md and "## Zundert" in md
    everything = md + (out / "figures-2027.csv").read_text(encoding="utf-8")
    assert "Geheime tekst" not in everything and "S-2027" not in everything and "Uitkomst geheim" not in everything
    with Session(seeded_year) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "stats.report_written")).all()


def test_the_yearly_report_hides_small_counts(seeded_year, settings, monkeypatch, capsys,  # noqa: ANN001
                                              tmp_path) -> None:
    code, printed = run_cli(monkeypatch, capsys, settings, "report", "--year", "2027", "--out", str(tmp_path),
                            "--at", "2028-01-10T12:00:00+01:00")
    assert code == 0, printed
    rows = _csv(tmp_path / "figures-2027.csv")
    counts = [r["count"] for r in rows if r["metric"] in {"signals", "led_to_melding", "handed_over"}]
    assert "< 5" in counts
    assert not [c for c in counts if c.isdigit() and 0 < int(c) < 5]
    assert ["", "signals", "2027-01", "", "", "< 5"] in [list(r.values()) for r in rows]  # four in January


# --- /signaal cijfers ------------------------------------------------------------------------------


def figures(r, user: str, text: str = "cijfers") -> str:  # noqa: ANN001
    """What `/signaal <text>` answers `user`: the immediate answer, or — for the figures, counted after
    the ack — the answer that replaces it (an ephemeral by the response_url): its text and blocks."""
    before = len(r.fake.ephemerals_for(user))
    raw = r.driver.slash(user, text=text).body
    if "Even tellen" not in raw:
        return raw if not raw.startswith("{") else json.loads(raw).get("text", "")
    answer = r.fake.wait_for(lambda: [e for e in r.fake.ephemerals_for(user)[before:]
                                      if "Even tellen" not in e.get("text", "")])[-1]
    return answer.get("text", "") + json.dumps(answer.get("blocks", []), ensure_ascii=False)


def test_figures_in_slack_per_role(running, monkeypatch) -> None:  # noqa: ANN001
    r = running
    r.core.clock.set(at(2027, 4, 12))
    reference = report(r)  # Breda
    case_card(r, reference)
    r.core.clock.set(at(2027, 4, 20))

    af = figures(r, AF)
    assert "Cijfers — Breda" in af and "Etten-Leur" not in af
    assert "&lt; 5 signalen" in af and "Arbeidsuitbuiting" in af and "Per bron" in af
    assert reference not in af and not any(bit in af for bit in FREE_TEXT_BITS)

    other = figures(r, AF_OTHER)
    assert "Cijfers — Etten-Leur" in other and "*Signalen*\\n0" in other and "Breda" not in other

    region = figures(r, KETENREGISSEUR, "cijfers 2027-04")
    assert "Cijfers — Regio" in region and "&lt; 5 signalen" in region

    refused = figures(r, COLLEAGUE)
    assert "Deze cijfers zien alleen aandachtsfunctionarissen" in refused and "Signalen" not in refused
    assert "Geef een jaar of een maand" in figures(r, AF, "cijfers maart")
    with Session(r.core.engine) as session:
        viewed = session.exec(select(AuditEntry).where(AuditEntry.action == "stats.viewed")).all()
    assert {e.actor_id for e in viewed} == {AF, AF_OTHER, KETENREGISSEUR}


def test_figures_with_the_threshold_at_one_show_exact_plurals(running, monkeypatch) -> None:  # noqa: ANN001
    r = running
    monkeypatch.setenv("SIGNAAL_STATS_THRESHOLD", "1")
    r.core.clock.set(at(2027, 4, 12))
    case_card(r, report(r))
    r.core.clock.set(at(2027, 4, 20))
    body = figures(r, AF, "cijfers 2027")
    assert "1 signaal, waarvan 0 leidden tot een melding" in body


# --- the digest's charts through files_upload_v2 ---------------------------------------------------


def _charts_message(r) -> list[dict]:  # noqa: ANN001
    return [m for m in r.fake.messages_in(KETENREGISSEUR) if m.get("files")]


def test_the_digest_uploads_its_charts_to_the_ketenregisseurs_dm(running) -> None:  # noqa: ANN001
    r = running
    r.core.clock.set(at(2027, 4, 12))
    reference = report(r)
    case_card(r, reference)
    r.fake.fail_next("files.completeUploadExternal", status=500)  # a hiccup: the outbox tries again
    moment = at(2027, 5, 3, 9)
    r.core.clock.set(moment)
    assert f"digest: digest for 2027-04 to {KETENREGISSEUR}" in r.bot.run_due(moment)
    r.fake.wait_for(lambda: [c for c in r.fake.calls_to("files.completeUploadExternal") if not c.ok])
    r.core.clock.set(moment + timedelta(minutes=5))
    r.bot.worker.kick()
    message = r.fake.wait_for(lambda: _charts_message(r))[0]
    assert [f["name"] for f in message["files"]] == ["signals_by_form.png", "melding_share.png", "time_to_claim.png"]
    assert message["text"].startswith("Grafieken van de laatste twaalf maanden, tot en met april 2027")
    gets = r.fake.calls_to("files.getUploadURLExternal")
    assert {c.args["filename"] for c in gets} >= {"signals_by_form.png"} and all(c.ok for c in gets)
    uploads = [c for c in r.fake.calls_to("(upload)") if c.ok]
    assert len(uploads) >= 3
    complete = [c for c in r.fake.calls_to("files.completeUploadExternal") if c.ok]
    assert len(complete) == 1 and complete[0].args["channel_id"] == r.fake.dm_channel_for(KETENREGISSEUR)
    for f in message["files"]:
        content, mimetype = r.fake.file_content(f["id"], viewer=KETENREGISSEUR)
        assert mimetype == "image/png" and content is not None and content.startswith(PNG_MAGIC)
        assert r.fake.file_content(f["id"], viewer=AF) == (None, "")  # not shared with the AF
    everything = str(message)
    assert reference not in everything and not any(bit in everything for bit in FREE_TEXT_BITS)
    assert len(_charts_message(r)) == 1  # once


def test_durations_are_written_the_languages_way() -> None:
    from bot.core.presenters import hours_or_days as duration

    assert duration(NL, 3.5) == "3,5 uur" and duration(translator("en"), 3.5) == "3.5 hours"
    assert duration(NL, 84) == "3,5 dagen" and duration(NL, None) == "niet getoond (te weinig casussen)"


def test_the_report_command_refuses_a_year_it_cannot_mean(settings, monkeypatch, capsys, tmp_path) -> None:  # noqa: ANN001
    code, printed = run_cli(monkeypatch, capsys, settings, "report", "--year", "26", "--out", str(tmp_path))
    assert code != 0 and "--year takes a year such as 2026" in printed
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("reached_slack", [True, False])
def test_charts_whose_process_died_after_slack_took_them_are_not_uploaded_twice(running, reached_slack) -> None:  # noqa: ANN001
    """As for any post (tests/test_outbox_recovery.py): the attempt that uploaded died before recording
    it; the next one, after the lease, finds the file message by its comment and file names."""
    from bot.core import outbox
    from bot.core.outbox import OutboxWorker
    from models import MessageRef, OutboxMessage

    r = running
    r.bot.worker.stop()
    deliver, clock = r.bot.worker.deliver, r.bot.core.clock
    r.fake.ensure_user(KETENREGISSEUR)  # the clock stays near the fake's own (history is searched from then)
    with session_scope(r.core.engine) as session:
        msg = outbox.post(session, template="digest_charts", kind="digest_charts", recipient=KETENREGISSEUR,
                          ref={"month": "2027-04"}, contains_details=False, now=clock.now())
    with session_scope(r.core.engine) as session:  # the dying attempt: leased, and (maybe) uploaded
        [item] = [i for i in session.exec(select(OutboxMessage).where(OutboxMessage.message_ref_id == msg.id))]
        assert OutboxWorker._lease(session, item.id, "post", msg.id, r.bot.worker.now())
    with session_scope(r.core.engine) as session:
        if reached_slack:
            deliver(session, "post", session.get(MessageRef, msg.id))
        session.rollback()  # …and the process died before recording it
    with session_scope(r.core.engine) as session:  # its lease runs out
        session.get(OutboxMessage, item.id).locked_until = r.bot.worker.now() - timedelta(seconds=1)
    assert len(_charts_message(r)) == (1 if reached_slack else 0)
    outcomes = r.bot.worker.drain()
    assert [(o, m.id) for o, m, _ in outcomes if m.id == msg.id] == [("sent", msg.id)]
    (message,) = _charts_message(r)
    with Session(r.core.engine) as session:
        stored = session.get(MessageRef, msg.id)
        assert stored is not None and stored.message_id == message["files"][0]["id"]


def test_the_figures_show_target_groups_and_outcome_kinds_with_small_counts_hidden() -> None:
    from bot.core import yearreport
    from bot.slack.stats_views import breakdown_blocks
    from flows import questionnaire

    now = datetime(2027, 3, 4, tzinfo=UTC)
    report = stats.Report(start=now, end=now, now=now, threshold=5)
    report.breakdowns = {"target_group": {"arbeidsmigrant": (7, 6), "lvb": (2, 1)}}
    report.partners = [stats.PartnerFigure("avim", "AVIM", handed_over=9, outcome_reported=8,
                                           outcomes={"onderzoek_gestart": 6, "geen_vervolg": 2})]
    text = str(breakdown_blocks(translator("nl"), report, questionnaire.load()))
    assert "Per doelgroep" in text and "Arbeidsmigrant: 7 signalen, waarvan 6" in text
    assert "Iemand met een licht verstandelijke beperking (LVB): &lt; 5 signalen" in text
    assert "onderzoek gestart: 6" in text and "geen vervolg: &lt; 5" in text
    rows = yearreport.csv_rows("Breda", report)
    assert ("Breda", "partner_outcome:geen_vervolg", "", "partner", "avim", "< 5") in rows
    assert ("Breda", "signals", "", "target_group", "lvb", "< 5") in rows
