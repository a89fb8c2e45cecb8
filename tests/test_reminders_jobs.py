"""`signaalbot jobs run-due --at` and `jobs list` from the command line — and two bot processes
sweeping the same due reminders on PostgreSQL, which must send each reminder exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from bot.cli import main
from bot.config import Settings
from bot.core import events, triage
from models import Municipality, Signal
from models.db import session_scope
from models.reminders import Deadline, SentReminder
from tests.conftest import SECRET, TOKEN, start_bot
from tests.helpers import CASES_CHANNEL, KETENREGISSEUR
from tests.reminders_support import deadlines, dms, local, reminders_in_thread, report_at, sent, settle, travel

ROOT = Path(__file__).resolve().parent.parent


def cli_env(settings: Settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.database_url, "SIGNAAL_DATA_KEY": settings.data_key or "",
            "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": settings.slack_api_url,
            "SCHEDULER_ENABLED": "false"}


def test_jobs_list_shows_the_sweep_and_the_next_reminder(running, settings, monkeypatch, tmp_path, capsys) -> None:
    reference = report_at(running, local(2027, 3, 25, 15, 0), feedback="no")
    # `jobs list` reads its own clock: frozen a minute after the report, so that the reminder it names
    # is still ahead whatever today's date is.
    from bot.core.clock import Clock

    frozen = Clock()
    frozen.set(local(2027, 3, 25, 15, 1))
    monkeypatch.setattr("bot.runtime.Clock", lambda: frozen)
    monkeypatch.chdir(tmp_path)
    for key, value in cli_env(settings).items():
        monkeypatch.setenv(key, value)
    assert main(["jobs", "list"]) == 0
    out = capsys.readouterr().out
    assert "sweep: every 60 s" in out and "reminders" in out
    assert f"reminders: next reminder 2027-03-30 15:00 CEST: unclaimed_af for {reference}" in out


def test_jobs_run_due_prints_what_it_sent(running, settings, monkeypatch, tmp_path, capsys) -> None:
    reference = report_at(running, local(2027, 3, 25, 15, 0), feedback="no")
    monkeypatch.chdir(tmp_path)
    for key, value in cli_env(settings).items():
        monkeypatch.setenv(key, value)
    assert main(["jobs", "run-due", "--at", "2027-03-30T14:59"]) == 0
    assert "sent" not in capsys.readouterr().out
    assert main(["jobs", "run-due", "--at", "2027-03-30T15:00"]) == 0
    out = capsys.readouterr().out
    assert f"reminders: sent unclaimed_af for {reference} (due 2027-03-30 15:00) to thread U0AF000001" in out
    assert "outbox: sent post reminder" in out
    assert main(["jobs", "run-due", "--at", "2027-03-30T15:01"]) == 0
    assert "reminders: sent" not in capsys.readouterr().out


def _many_unclaimed_signals(r, count: int) -> list[str]:  # noqa: ANN001
    """`count` signals submitted on the Thursday before Easter, their case cards posted."""
    at = local(2027, 3, 25, 15, 0)
    r.core.clock.set(at)
    references = []
    with session_scope(r.core.engine) as session:
        breda = session.exec(select(Municipality).where(Municipality.name == "Breda")).one()
        for _ in range(count):
            signal = Signal(reference=triage.next_reference(session, 2027), reporter_id="U0REP00001",
                            municipality_id=breda.id, status="new", questionnaire_version="test", form="AU",
                            description="Twee mannen slapen in de keuken.", wants_feedback=False,
                            created_at=at, updated_at=at, submitted_at=at)
            session.add(signal)
            session.flush()
            triage.notify_handlers(session, signal, breda, at)
            events.emit(session, events.SUBMITTED, signal=signal, now=at)
            references.append(signal.reference)
    r.bot.worker.kick()
    settle(r)
    return references


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_bot_processes_send_each_reminder_once(settings, fake, tmp_path) -> None:
    r = start_bot(settings, fake)
    try:
        references = _many_unclaimed_signals(r, 60)
    finally:
        r.stop()
    cards = {m["ts"] for m in fake.messages_in(CASES_CHANNEL) if not m.get("thread_ts")}
    assert len(cards) == 60
    before = len(fake.calls_to("chat.postMessage"))

    env = {**os.environ, **cli_env(settings), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "bot.cli", "jobs", "run-due", "--at", "2027-03-30T15:00"]
    processes = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=90) for p in processes]
    for p, (out, err) in zip(processes, outputs, strict=True):
        assert p.returncode == 0, err

    # Every signal's thread got exactly one reminder, whichever process sent it.
    posts = fake.calls_to("chat.postMessage")[before:]
    assert all(call.ok for call in posts)
    per_thread = Counter(call.args.get("thread_ts") for call in posts)
    assert set(per_thread) == cards
    assert set(per_thread.values()) == {1}
    reported = [line for out, _ in outputs for line in out.splitlines() if line.startswith("reminders: sent")]
    assert len(reported) == 60
    assert {line.split()[4] for line in reported} == set(references)
    with Session(r.core.engine) as session:
        assert session.exec(select(func.count()).select_from(SentReminder)).one() == 60


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_processes_catching_up_send_the_escalation_and_the_afs_reminder_once(settings, fake, tmp_path) -> None:
    """Back after Easter with all three rungs due: each case gets the AF's reminder in its thread and
    one escalation to the ketenregisseur — once each, whichever of two processes sends them."""
    r = start_bot(settings, fake)
    try:
        references = _many_unclaimed_signals(r, 30)
    finally:
        r.stop()
    cards = {m["ts"] for m in fake.messages_in(CASES_CHANNEL) if not m.get("thread_ts")}
    before = len(fake.calls_to("chat.postMessage"))
    escalations = len(dms(r, KETENREGISSEUR))

    env = {**os.environ, **cli_env(settings), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "bot.cli", "jobs", "run-due", "--at", "2027-04-02T09:00"]
    processes = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=90) for p in processes]
    for p, (out, err) in zip(processes, outputs, strict=True):
        assert p.returncode == 0, err

    posts = fake.calls_to("chat.postMessage")[before:]
    assert all(call.ok for call in posts)
    in_threads = Counter(call.args.get("thread_ts") for call in posts if call.args.get("thread_ts"))
    assert set(in_threads) == cards and set(in_threads.values()) == {1}
    assert len(dms(r, KETENREGISSEUR)) - escalations == len(references)
    reported = [line.split()[2] for out, _ in outputs for line in out.splitlines()
                if line.startswith("reminders: sent")]
    assert Counter(reported) == {"unclaimed_af": 30, "unclaimed_ketenregisseur": 30}
    with Session(r.core.engine) as session:
        assert session.exec(select(func.count()).select_from(SentReminder)).one() == 60


def test_a_slot_in_the_sent_log_is_never_sent_again(running) -> None:
    """As if another process sent this slot a moment ago: the unique sent-log row is what counts."""
    r = running
    reference = report_at(r, local(2027, 3, 25, 15, 0), feedback="no")
    af_rung = deadlines(r, reference)["unclaimed_af"]
    with session_scope(r.core.engine) as session:
        session.add(SentReminder(deadline_id=af_rung.id or 0, signal_id=af_rung.signal_id, rule_key="unclaimed_af",
                                 subject_id=0, slot_at=af_rung.due_at))
    assert sent(travel(r, local(2027, 3, 30, 15, 0))) == []
    assert deadlines(r, reference)["unclaimed_af"].state == "sent"
    assert reminders_in_thread(r, reference) == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_reminder_locked_by_another_process_is_skipped_not_sent_twice(running) -> None:
    r = running
    reference = report_at(r, local(2027, 3, 25, 15, 0), feedback="no")
    af_rung = deadlines(r, reference)["unclaimed_af"]
    other = Session(r.core.engine)
    try:
        # Another bot process is busy with this reminder: it holds the row lock.
        other.exec(select(Deadline).where(Deadline.id == af_rung.id).with_for_update()).one()
        assert sent(travel(r, local(2027, 3, 30, 15, 0))) == []
        # It sends and commits; this sweep does not send the same slot again.
        other.add(SentReminder(deadline_id=af_rung.id or 0, signal_id=af_rung.signal_id, rule_key="unclaimed_af",
                               subject_id=0, slot_at=af_rung.due_at))
        locked = other.get(Deadline, af_rung.id)
        assert locked is not None
        locked.state = "sent"
        other.add(locked)
        other.commit()
    finally:
        other.close()
    assert sent(travel(r, local(2027, 3, 30, 15, 1))) == []
    assert reminders_in_thread(r, reference) == []
