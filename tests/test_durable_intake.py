"""Nothing acknowledged is lost: what Slack got a 200 for is in the inbox before the 200 goes back,
runs once, and survives a kill -9 of every bot process (bot/core/inbox.py). The same delivery twice
takes effect once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, col, select

from bot.core import inbox, network
from bot.core.clock import Clock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from models import InboxItem, OutboxMessage
from models.db import make_engine, session_scope, upgrade
from tests.case_helpers import click_on_card, events_count, modal_of, signal_row
from tests.conftest import DATA, SECRET, TOKEN
from tests.helpers import AF, answer, case_card, open_question, report
from tests.test_work_process import _Core, _free_port, _healthy, _wait

ROOT = Path(__file__).resolve().parent.parent
FORM = "application/x-www-form-urlencoded"
REPORTERS = ["U0REP00001", "U0REP00002", "U0COLL0001"]
NEW_REPORTERS = ["U0NET00001", "U0NET00002", "U0ZOCO0001"]


class Bot:
    """`signaalbot run` (HTTP mode: the front and its work process) as a user runs it, restartable."""

    def __init__(self, database_url: str, fake: FakeSlack, tmp_path: Path) -> None:
        self.key = Fernet.generate_key().decode()
        from bot.config import Settings
        from bot.runtime import configure_encryption

        configure_encryption(Settings(database_url=database_url, data_key=self.key, data_dir=tmp_path))
        self.engine = make_engine(database_url)
        upgrade(self.engine)
        with session_scope(self.engine) as session:
            network.apply(session, network.parse((DATA / "network.yaml").read_text(encoding="utf-8")),
                          Clock().now())
        self.port = _free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SIGNAAL_", "DATABASE_URL"))}
        self.env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.base_url,
                        DATABASE_URL=database_url, SIGNAAL_DATA_KEY=self.key, SIGNAAL_DATA_DIR=str(tmp_path),
                        HOST="127.0.0.1", PORT=str(self.port), SCHEDULER_ENABLED="false")
        self.fake, self.tmp = fake, tmp_path
        self.core = _Core(self.engine)
        self.driver = SlackDriver(f"http://127.0.0.1:{self.port}/slack/events", SECRET, fake)
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.log = self.tmp / f"bot-{self.starts}.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        _wait(lambda: _healthy(f"http://127.0.0.1:{self.port}/healthz") or self.proc.poll() is not None, 60,
              "start")
        assert self.proc.poll() is None, self.log.read_text()

    def work_process(self) -> int:
        assert self.proc is not None
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        children = _wait(lambda: [int(p) for p in path.read_text().split()] if path.exists() else [],
                         what="the work process")
        return children[0]

    def kill_all(self) -> None:
        """kill -9 of every bot process: no chance to finish anything."""
        assert self.proc is not None
        work = self.work_process()
        os.kill(work, signal.SIGKILL)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        _wait(lambda: not Path(f"/proc/{work}").exists() or " Z " in Path(f"/proc/{work}/stat").read_text(), 10,
              "the work process to die")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.engine.dispose()


@pytest.fixture
def bot(database_url: str, fake: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    b = Bot(database_url, fake, tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def _settled(b: Bot) -> bool:
    """No delivery or inbox work under way (so a paused process holds no SQLite write lock)."""
    with Session(b.engine) as session:
        busy = session.exec(select(OutboxMessage.id).where(col(OutboxMessage.status).in_(["pending", "sending"])))
        return busy.first() is None and inbox.unfinished(b.engine) == 0


def _questions(b: Bot, user: str) -> list[str]:
    """The keys of every question the bot posted in the user's DM, in order (a repeat would show)."""
    dm = b.fake.dm_channel_for(user)
    keys = []
    for call in b.fake.calls_to("chat.postMessage"):
        if not call.ok or call.args.get("channel") not in (dm, user):
            continue
        blocks = call.args.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        for block in blocks:
            if block.get("type") == "actions" and block.get("block_id", "").startswith("q:"):
                keys.append(block["block_id"].split(":")[2])
    return keys


def _roots(b: Bot, user: str) -> int:
    dm = b.fake.dm_channel_for(user)
    return sum(1 for m in b.fake.messages_in(dm)
               if (not m.get("thread_ts") or m.get("thread_ts") == m.get("ts"))
               and (m.get("blocks") or [{}])[0].get("type") == "header")


def test_a_kill_9_after_the_acks_loses_nothing_and_doubles_nothing(bot: Bot) -> None:
    b = bot
    for user in REPORTERS:  # three reporters halfway: each has a first question waiting
        assert b.driver.slash(user).status == 200
        b.fake.wait_for(lambda u=user: open_question(b, u))  # type: ignore[arg-type]
    first = {user: open_question(b, user)[0] for user in REPORTERS}  # type: ignore[arg-type, index]
    b.fake.wait_for(lambda: _settled(b))

    # The work process is paused: the acks come, the work waits. Then every bot process is killed.
    work = b.work_process()
    os.kill(work, signal.SIGSTOP)
    for user in REPORTERS:
        answer(b, user, first[user], "Breda" if first[user] == "municipality" else "AU")  # type: ignore[arg-type]
    for user in NEW_REPORTERS:
        assert b.driver.slash(user).status == 200
    time.sleep(0.5)
    assert all(_questions(b, user) == [first[user]] for user in REPORTERS)  # nothing was done yet
    b.kill_all()
    # Stored before the acks: in the inbox (on SQLite in its staging file), none of it done.
    assert inbox.unfinished(b.engine) == len(REPORTERS) + len(NEW_REPORTERS)

    # Restarted: every reporter gets their next step, once.
    b.start()
    for user in REPORTERS:
        b.fake.wait_for(lambda u=user: len(_questions(b, u)) >= 2, timeout=30)
    for user in NEW_REPORTERS:
        b.fake.wait_for(lambda u=user: open_question(b, u), timeout=30)  # type: ignore[arg-type]
    b.fake.wait_for(lambda: _settled(b), timeout=30)
    time.sleep(1.0)  # time for anything done twice to show
    for user in REPORTERS:
        keys = _questions(b, user)
        assert len(keys) == 2 and keys[0] == first[user] and keys[1] != first[user], keys
    for user in NEW_REPORTERS:
        assert _roots(b, user) == 1 and len(_questions(b, user)) == 1, _questions(b, user)


def _resend(r, resp) -> int:  # noqa: ANN001
    """The very same delivery once more (as a retry or a doubled request)."""
    return r.driver.send_raw(urlencode({"payload": json.dumps(resp.payload)}), FORM, payload=resp.payload).status


def _inbox_idle(r) -> bool:  # noqa: ANN001
    return inbox.unfinished(r.core.engine) == 0


def test_the_same_view_submission_twice_is_stored_once(running) -> None:
    r = running
    reference = report(r)
    card = case_card(r, reference)
    assert r.driver.click(AF, card, "case:claim").status == 200
    r.fake.wait_for(lambda: signal_row(r, reference).status == "in_progress")
    assert click_on_card(r, AF, reference, "ask_info").status == 200
    view = modal_of(r, AF, "case_modal:ask_info")
    before = events_count(r, reference)
    resp = r.driver.submit_view(AF, view["id"], r.driver.fill(view, {"value": "Om welk restaurant gaat het?"}))
    assert resp.status == 200
    r.fake.wait_for(lambda: events_count(r, reference) == before + 1)
    assert _resend(r, resp) == 200
    r.fake.wait_for(lambda: _inbox_idle(r))
    time.sleep(0.3)
    assert events_count(r, reference) == before + 1


def test_the_same_click_twice_takes_effect_once(running) -> None:
    r = running
    reference = report(r)
    card = case_card(r, reference)
    resp = r.driver.click(AF, card, "case:claim")
    assert resp.status == 200
    r.fake.wait_for(lambda: signal_row(r, reference).status == "in_progress")
    r.fake.wait_for(lambda: _inbox_idle(r))
    answers_before = len(r.fake.ephemerals_for(AF, card.get("channel") or r.fake.locate(card["ts"])[0]))
    assert _resend(r, resp) == 200
    time.sleep(0.5)
    assert _inbox_idle(r)
    assert len(r.fake.ephemerals_for(AF, r.fake.locate(card["ts"])[0])) == answers_before
    with Session(r.core.engine) as session:
        keys = [i.dedupe_key for i in session.exec(select(InboxItem)).all() if i.dedupe_key.startswith("action:")]
    assert len(keys) == len(set(keys))


def test_work_claimed_by_a_process_that_died_is_done_once_without_a_restart(running) -> None:
    engine = running.core.engine
    # Acknowledged work, claimed by a runner that then died: nobody takes it while its lease runs...
    item_id = inbox.record(engine, "trigger:dead-runner", "x", [])
    assert item_id is not None and inbox.claim(engine, item_id) is not None
    assert inbox.claim(engine, item_id) is None
    ran: list[int] = []

    def work(*_args) -> None:  # noqa: ANN002
        ran.append(1)
        with session_scope(engine) as session:  # the work's effect: the item is done in this transaction
            session.add(InboxItem(dedupe_key="the-effect", work="y", done_at=inbox.now()))

    recovery = inbox.Recovery(engine, lambda _name: work, every=0.05).start()
    try:
        time.sleep(0.3)
        assert ran == []
        # ...and once it ran out, the running bot's recovery does it, once.
        with session_scope(engine) as session:
            session.get(InboxItem, item_id).claimed_until = inbox.now() - timedelta(seconds=1)
        running.fake.wait_for(lambda: _inbox_done(engine, item_id))
        time.sleep(0.3)
    finally:
        recovery.stop()
    assert ran == [1]


def _inbox_done(engine, item_id: int) -> bool:  # noqa: ANN001
    with Session(engine) as session:
        row = session.get(InboxItem, item_id)
        return row is not None and row.done_at is not None and row.args is None


def test_failing_work_is_retried_then_parked_and_its_text_stays_encrypted(running, monkeypatch, caplog) -> None:
    engine = running.core.engine
    monkeypatch.setattr(inbox, "BACKOFF", (timedelta(0),))
    item_id = inbox.record(engine, "trigger:failing", "x", [{"text": "Geheime beschrijving"}])
    attempts: list[int] = []

    def fails(*_args) -> None:  # noqa: ANN002
        attempts.append(1)
        raise RuntimeError("boom")

    recovery = inbox.Recovery(engine, lambda _name: fails, every=0.02)
    recovery.started = inbox.now() + timedelta(seconds=1)  # as after a restart: recover at once
    recovery.start()
    try:
        running.fake.wait_for(lambda: len(attempts) >= inbox.MAX_ATTEMPTS)
        time.sleep(0.2)
    finally:
        recovery.stop()
    assert len(attempts) == inbox.MAX_ATTEMPTS
    with Session(engine) as session:
        row = session.get(InboxItem, item_id)
        assert row.failed_at is not None and row.last_error.startswith("RuntimeError at test_durable_intake.py:")
    with engine.connect() as conn:
        from sqlalchemy import text

        raw = conn.execute(text("SELECT args FROM inboxitem WHERE id = :i"), {"i": item_id}).scalar()
    assert raw.startswith("gAAAA") and "Geheime" not in raw
    assert "Geheime" not in caplog.text


def test_delivery_keys_tell_a_repeat_from_a_new_request() -> None:
    from bot.slack.common import delivery_key

    view = {"type": "view_submission", "user": {"id": AF},
            "view": {"id": "V1", "hash": "h1", "state": {"values": {"b": {"value": {"value": "eerste"}}}}}}
    corrected = {**view, "view": {**view["view"], "state": {"values": {"b": {"value": {"value": "tweede"}}}}}}
    assert delivery_key(view) == delivery_key(json.loads(json.dumps(view)))
    assert delivery_key(view) != delivery_key(corrected)
    click = {"type": "block_actions", "user": {"id": AF}, "actions": [{"action_ts": "1.2", "action_id": "a"}]}
    again = {**click, "actions": [{"action_ts": "1.3", "action_id": "a"}]}
    assert delivery_key(click) != delivery_key(again)
    assert delivery_key({"type": "event_callback", "event_id": "Ev1"}) == "event:Ev1"
    assert delivery_key({"command": "/signaal", "trigger_id": "t1"}) == "trigger:t1"
    assert delivery_key({"type": "url_verification"}) is None


def test_work_handed_on_by_work_gets_the_same_keys_when_it_runs_again(running) -> None:
    engine = running.core.engine
    item_id = inbox.record(engine, "trigger:parent", "x", [])
    seen: list[list[str | None]] = []

    def work() -> None:
        seen.append([inbox.child_key(), inbox.child_key()])
        raise RuntimeError("crash before the effect")

    for _ in range(2):
        item = inbox.claim(engine, item_id)
        assert item is not None
        inbox.run(engine, item, lambda _name: work)
        with session_scope(engine) as session:  # its backoff over
            session.get(InboxItem, item_id).claimed_until = inbox.now() - timedelta(seconds=1)
    assert seen == [[f"item:{item_id}#1", f"item:{item_id}#2"]] * 2
    assert inbox.child_key() is None


def test_parked_work_shows_in_healthz_and_the_inbox_command_and_can_be_run_again(running, settings, monkeypatch,
                                                                                    capsys) -> None:
    import urllib.error
    import urllib.request

    from tests.privacy_support import run_cli

    engine = running.core.engine
    item_id = inbox.record(engine, "trigger:parked", "bot.slack.x:_work", [])
    with session_scope(engine) as session:
        row = session.get(InboxItem, item_id)
        row.failed_at, row.attempts, row.last_error = inbox.now(), inbox.MAX_ATTEMPTS, "RuntimeError"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{running.server.url}/healthz", timeout=5)
    body = json.loads(err.value.read())
    assert err.value.code == 503 and body["inbox"] == {"failed": 1}
    assert "1 acknowledged request(s) could not be carried out" in body["reason"]

    code, out = run_cli(monkeypatch, capsys, settings, "inbox")
    assert code == 0 and f"#{item_id} failed _work" in out and "reason=RuntimeError" in out
    assert "inbox retry --failed" in out
    code, out = run_cli(monkeypatch, capsys, settings, "inbox", "retry")
    assert code == 2
    code, out = run_cli(monkeypatch, capsys, settings, "inbox", "retry", "--failed")
    assert code == 0 and "Requeued 1 request(s)" in out

    ran: list[int] = []
    recovery = inbox.Recovery(engine, lambda _name: lambda: ran.append(1), every=0.05).start()
    try:
        running.fake.wait_for(lambda: _inbox_done(engine, item_id))
    finally:
        recovery.stop()
    assert ran == [1]
    with urllib.request.urlopen(f"{running.server.url}/healthz", timeout=5) as resp:
        assert resp.status == 200


def test_a_retried_event_is_handled_once(running) -> None:
    r = running
    resp = r.driver.app_home_opened(AF)
    assert resp.status == 200
    r.fake.wait_for(lambda: r.fake.calls_to("views.publish"))
    r.fake.wait_for(lambda: _inbox_idle(r))
    published = len(r.fake.calls_to("views.publish"))
    assert r.driver.send_event(resp.payload, retry_num=1).status == 200  # Slack's retry of the same event
    time.sleep(0.5)
    assert _inbox_idle(r)
    assert len(r.fake.calls_to("views.publish")) == published


def test_a_run_that_finds_its_item_done_by_another_undoes_its_own_effect(running) -> None:
    from models import Person

    engine = running.core.engine
    item_id = inbox.record(engine, "trigger:twice", "x", [])
    item = inbox.claim(engine, item_id)
    assert item is not None

    def work() -> None:
        with engine.begin() as conn:  # meanwhile another runner (its lease ran out) did it and marked it done
            conn.execute(inbox.T.update().where(inbox.T.c.id == item_id).values(done_at=inbox.now(), claim="other"))
        with session_scope(engine) as session:
            session.add(Person(user_id="U0DOUBLE01", name="Ans"))

    inbox.run(engine, item, lambda _name: work)
    with Session(engine) as session:
        assert session.exec(select(Person).where(Person.user_id == "U0DOUBLE01")).first() is None


def test_the_stored_item_reads_back_as_written_and_a_repeat_is_not_stored(database_url) -> None:
    """The ack path's prepared insert (driver cursor, the columns' own bind processors) writes what the
    ORM reads: the arguments encrypted at rest, aware UTC times; a repeated delivery key gives None."""
    from models import crypto

    crypto.configure(Fernet.generate_key().decode())
    engine = make_engine(database_url)
    upgrade(engine)
    before = inbox.now()
    first, repeat, other = inbox.store(engine, [("key-1", "triage.start", ["C1", {"text": "Straat 1 Breda"}]),
                                                ("key-1", "triage.start", ["C1", {"text": "twice"}]),
                                                ("key-2", "cases.claim", [7])])
    assert first is not None and other is not None and repeat is None
    assert inbox.record(engine, "key-2", "cases.claim", [7]) is None
    with Session(engine) as session:
        item = session.get(InboxItem, first)
        assert item is not None and item.work == "triage.start" and item.attempts == 0
        assert json.loads(item.args or "") == ["C1", {"text": "Straat 1 Breda"}]
        assert before <= item.received_at <= inbox.now() and item.received_at.utcoffset() == timedelta(0)
        raw = session.connection().exec_driver_sql(f"SELECT args FROM inboxitem WHERE id = {int(first)}").scalar()
    engine.dispose()
    assert "Breda" not in raw and crypto.decrypt(raw) == json.dumps(["C1", {"text": "Straat 1 Breda"}],
                                                                    separators=(",", ":"), ensure_ascii=False)


def test_storing_waits_for_another_processs_write_on_sqlite(tmp_path) -> None:
    """SQLite has one writer: a direct store into the inbox table (what the work process does when it
    admits staged work) retries while another process holds the write lock — the driver's own
    'database is locked' from the prepared insert too — and succeeds once it is free."""
    import sqlite3
    import threading

    from models import crypto

    crypto.configure(Fernet.generate_key().decode())
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's write transaction
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    try:
        [item_id] = inbox.store(engine, [("locked-1", "triage.start", [])])
        waited = time.monotonic() - started
    finally:
        release.join()
        other.close()
        engine.dispose()
    assert item_id is not None and waited >= 0.25


def test_the_ack_never_waits_for_the_databases_write_lock_on_sqlite(tmp_path) -> None:
    """The acknowledging process stages work in a file of its own (inbox.Staging): while the work
    process holds the database's write lock, the writer stores at once; the runner admits it later."""
    import sqlite3

    from models import crypto

    crypto.configure(Fernet.generate_key().decode())
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the work process is writing, for as long as it takes
    try:
        started = time.monotonic()
        [staged] = inbox.Writer(engine).submit([("busy-1", "triage.start", ["C1"])]).result(timeout=10)
        assert staged is not None and time.monotonic() - started < 0.2
        assert inbox.Writer(engine).submit([("busy-1", "triage.start", ["C1"])]).result(timeout=10) == [None]
        assert inbox.unfinished(engine) == 1  # durable, not done
    finally:
        other.execute("COMMIT")
        other.close()
    # A crash lost the hand-over: the recovery admits it (staged before it started) into the inbox table.
    assert inbox.admit_staged(engine, inbox.now() + timedelta(seconds=1)) == 1
    assert inbox.Staging.of(engine).count() == 0 and inbox.unfinished(engine) == 1
    [item] = inbox.claim_due(engine, inbox.now() + timedelta(seconds=1))
    assert (item.work, item.args) == ("triage.start", ["C1"])
    engine.dispose()


def test_a_busy_runner_leaves_its_own_backlog_to_its_queue(database_url) -> None:
    """Work handed over long ago but still queued in this process (a backlog) is not 'lost': the
    recovery of a busy process does not take it (it would run twice, once rolled back) — only what is
    older than the process and what a lease let go. When the process is idle, it is taken."""
    from models import crypto

    crypto.configure(Fernet.generate_key().decode())
    engine = make_engine(database_url)
    upgrade(engine)
    started = inbox.now() - timedelta(minutes=5)
    [before, queued, leased] = inbox.store(engine, [("old", "w", []), ("queued", "w", []), ("leased", "w", [])])
    with session_scope(engine) as session:
        session.get(InboxItem, before).received_at = started - timedelta(seconds=1)  # before this process
        session.get(InboxItem, queued).received_at = inbox.now() - inbox.GRACE * 3  # handed over long ago
        leased_row = session.get(InboxItem, leased)
        leased_row.received_at, leased_row.claim = started + timedelta(seconds=1), "dead-runner"
        leased_row.claimed_until = inbox.now() - timedelta(seconds=1)
    assert sorted(i.id for i in inbox.claim_due(engine, started, busy=True)) == [before, leased]
    assert [i.id for i in inbox.claim_due(engine, started, busy=False)] == [queued]
    engine.dispose()


def test_a_stopped_writer_stores_what_waited_then_lets_go_of_its_thread_and_refuses_more(database_url) -> None:
    """Bot.stop closes the inbox writer: what was submitted is stored first, its thread ends (a stopped bot
    keeps no thread or database connection), and a request after that fails rather than being acked."""
    from models import crypto

    crypto.configure(Fernet.generate_key().decode())
    engine = make_engine(database_url)
    upgrade(engine)
    writer = inbox.Writer(engine)
    stored = writer.submit([("close-1", "triage.start", ["C1"])])
    writer.close()
    assert stored.result(timeout=10)[0] is not None
    assert not [t for t in writer._threads if t.is_alive()]
    assert not any(t.name == "inbox-writer" and t.is_alive() and getattr(t, "_target", None) == writer._loop
                   for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit([("close-2", "triage.start", ["C1"])]).result(timeout=10)
    engine.dispose()
