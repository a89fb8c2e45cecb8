"""Privacy over everything the features do together: a case that went the whole route (claim,
question to the reporter, advice from a partner after a reminder, note, conclusion, hand-over,
outcome, feedback, close) and a training answer. Nothing of its content ends up in the logs, in
block ids, button values, metadata or push previews; an access request shows the case actions and
the training answers; and once its retention period is over no free text is left anywhere — not in
any table, not in the bot's Slack messages (the partner's DMs included) — while the counts stay."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import JSON, String, Text, select
from sqlmodel import Session

from bot.core import datamap, stats
from flows.retention import add_months
from models import Signal
from models.base import EncryptedText
from tests.case_helpers import AVIM
from tests.helpers import AF, CASES_CHANNEL, REPORTER
from tests.privacy_support import everything_in_slack, run_cli, signal
from tests.test_privacy_logs import SENT_BY_BOT, _opaque_parts
from tests.whole_route import ANSWER, CONTENT, FEEDBACK, NET1, NOTE, whole_route

TOMBSTONE_NL = "Gegevens verwijderd volgens bewaartermijn."


def _texts_in_database(engine) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """(table, column, value) of every text, encrypted text and JSON value in every table (decrypted)."""
    found = []
    with Session(engine) as session:
        for table in datamap.tables():
            columns = [c for c in table.columns if isinstance(c.type, String | Text | EncryptedText | JSON)]
            if not columns:
                continue
            for row in session.execute(select(*columns)).mappings().all():
                for column in columns:
                    value = row[column.name]
                    if value:
                        found.append((table.name, column.name, value if isinstance(value, str)
                                      else json.dumps(value, ensure_ascii=False)))
    return found


def test_the_whole_route_keeps_content_out_of_logs_ids_values_metadata_and_previews(running, caplog) -> None:
    r = running
    caplog.set_level(logging.DEBUG)
    whole_route(r)
    for user in (AF, AVIM, NET1, REPORTER):
        r.driver.app_home_opened(user)
        r.fake.wait_for(lambda u=user: r.fake.home_view(u))
    assert caplog.records
    assert [bit for bit in CONTENT if bit in caplog.text] == []

    calls = [c for c in r.fake.calls if c.method in SENT_BY_BOT]
    leaks = [(c.method, part) for c in calls for part in _opaque_parts(c.args) if any(b in part for b in CONTENT)]
    assert leaks == []
    previews = [(c.method, c.args.get("text")) for c in calls
                if any(bit in str(c.args.get("text", "")) for bit in CONTENT)]
    assert previews == []
    # The content did reach the places it belongs (so the scan above could have failed).
    assert NOTE in everything_in_slack(r.fake, CASES_CHANNEL)
    assert FEEDBACK in everything_in_slack(r.fake, r.fake.dm_channel_for(REPORTER))


def test_an_access_request_shows_the_case_actions_and_training_answers(running, settings, monkeypatch, capsys,
                                                                       tmp_path) -> None:
    r = running
    route = whole_route(r)

    def export(person: str) -> dict:
        out = tmp_path / f"{person}.json"
        code, text = run_cli(monkeypatch, capsys, settings, "export", "--person", person, "--out", str(out))
        assert code == 0, text
        return json.loads(out.read_text(encoding="utf-8"))["tables"]

    af = export(AF)
    assert {"claimed", "info_requested", "consulted", "note", "concluded", "routed", "feedback", "closed"} <= {
        e["kind"] for e in af["caseevent"]}
    assert af["consultation"] and af["handover"]
    avim = export(AVIM)
    assert [c["answer"] for c in avim["consultation"]] and [h["outcome"] for h in avim["handover"]]
    reporter = export(REPORTER)
    kinds = {e["kind"] for e in reporter["caseevent"]}
    assert {"reporter_answer", "info_requested", "feedback"} <= kinds and "note" not in kinds
    assert any(e["text"] == ANSWER for e in reporter["caseevent"])
    member = export(NET1)
    assert [(a["session_id"], a["status"]) for a in member["trainingrsvp"]] == [(route.training_id, "yes")]
    organiser = export("U0KR000001")
    assert [t["id"] for t in organiser["trainingsession"]] == [route.training_id]


def test_a_case_that_went_the_whole_route_leaves_no_free_text_after_the_purge(running, settings) -> None:
    r = running
    route = whole_route(r)
    reference = route.reference
    before = _texts_in_database(r.core.engine)
    assert {bit for _t, _c, value in before for bit in CONTENT if bit in value} == set(CONTENT)  # the scan sees it
    partner_dm = r.fake.dm_channel_for(AVIM)
    assert ADVICE_SEEN(r, partner_dm)

    closed = signal(r.core.engine, reference).closed_at
    assert closed is not None
    due = add_months(closed, 24) + timedelta(days=1)  # "wel mensenhandel": 24 months
    r.core.clock.set(due)
    lines = r.bot.run_due(due)
    assert any(line.startswith(f"retention: purged {reference}") for line in lines), lines
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0)

    leftovers = [(t, c) for t, c, value in _texts_in_database(r.core.engine) if any(b in value for b in CONTENT)]
    assert leftovers == []
    with Session(r.core.engine) as session:
        sid = session.exec(select(Signal.id).where(Signal.reference == reference)).scalar_one()
        for table in datamap.signal_tables():
            for column in [*datamap.encrypted_columns(table), *datamap.person_columns(table)]:
                values = session.execute(select(column).where(table.c.signal_id == sid)).scalars().all()
                assert all(v in (None, "anonymous") for v in values), (table.name, column.name, values)

    slack = everything_in_slack(r.fake, CASES_CHANNEL, r.fake.dm_channel_for(REPORTER), partner_dm)
    assert [bit for bit in CONTENT if bit in slack] == []
    partner_messages = r.fake.messages_in(partner_dm)
    tombstones = [m for m in partner_messages if m.get("text") == TOMBSTONE_NL]
    assert len(tombstones) >= 2  # the request for advice and the hand-over

    with Session(r.core.engine) as session:
        s = session.exec(select(Signal).where(Signal.reference == reference)).scalar_one()
        report_ = stats.compute(session, s.submitted_at - timedelta(days=1), s.submitted_at + timedelta(days=1),
                                due, limit=1, cal=stats.calendar_for(settings))
    assert (report_.total, report_.routed, report_.outcomes["wel"]) == (1, 1, 1)
    assert len(report_.claim_hours) == 1 and len(report_.feedback_hours) == 1


def ADVICE_SEEN(r, channel: str) -> bool:  # noqa: ANN001, N802
    from tests.whole_route import ADVICE, CONSULT

    text = everything_in_slack(r.fake, channel)
    return CONSULT in text and ADVICE in text


def test_training_answers_go_after_the_session_and_attendance_is_anonymised_later(running) -> None:
    from bot.core import training
    from models.training import TrainingAttendance, TrainingRsvp, TrainingSent
    from tests.reminders_support import local, settle

    r = running
    route = whole_route(r)
    r.core.clock.set(local(2027, 5, 20, 13, 0))
    assert training.record_attendance(r.core, route.training_id, "U0KR000001", [NET1], []).ok
    settle(r)

    def rows(model) -> list:  # noqa: ANN001
        with Session(r.core.engine) as session:
            return list(session.exec(select(model).where(model.session_id == route.training_id)).scalars().all())

    # Within 30 days of the session the answers are still there (the attendance list needs them).
    r.bot.run_due(local(2027, 6, 10, 9, 0))
    assert rows(TrainingRsvp) and rows(TrainingSent)
    lines = r.bot.run_due(local(2027, 6, 21, 9, 0))
    assert any("training:" in line and "answer(s) deleted" in line for line in lines), lines
    assert rows(TrainingRsvp) == [] and rows(TrainingSent) == []
    assert [a.user_id for a in rows(TrainingAttendance)] == [NET1]  # who attended stays, by name, for now
    r.bot.run_due(local(2029, 5, 21, 9, 0))  # 24 months after the session
    [attended] = rows(TrainingAttendance)
    assert attended.user_id is None and attended.recorded_by is None and attended.anon_key
