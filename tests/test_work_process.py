"""`signaalbot run` in HTTP mode: two processes. The front verifies and acks; the forked work process
does the work those acks start, the outbox and the jobs (bot/workproc.py). Run as a user runs it: the
real command in a subprocess, signed requests to its port, the fake Slack Web API."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, col, select

from bot.core import inbox, network, people
from bot.core.clock import Clock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from models import OutboxMessage
from models.db import make_engine, session_scope, upgrade
from tests.case_helpers import card_actions, click_on_card, events_count, modal_errors, modal_of, signal_row, submit
from tests.conftest import DATA, SECRET, TOKEN
from tests.helpers import AF, REPORTER, case_card, open_question, report

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Served:
    """What tests/helpers.py needs of a running bot (`core.engine`, `fake`, `driver`), plus the process."""

    proc: subprocess.Popen
    fake: FakeSlack
    driver: SlackDriver
    core: object
    log: Path

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []


class _Core:
    def __init__(self, engine: object) -> None:
        self.engine = engine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float = 20.0, what: str = "condition"):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise TimeoutError(what)


@contextlib.contextmanager
def _held(pid: int) -> Iterator[None]:
    """The work process paused: what the front forwards waits in the pipe."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _outbox_settled(served: Served) -> bool:
    """Nothing to deliver and no acked work waiting: the work process holds no write lock (the front
    stores each ack's work, so on SQLite it must not be paused in the middle of a write)."""
    with Session(served.core.engine) as session:  # type: ignore[attr-defined]
        return session.exec(select(OutboxMessage.id).where(
            col(OutboxMessage.status).in_(["pending", "sending"]))).first() is None and inbox.unfinished(
            served.core.engine) == 0  # type: ignore[attr-defined]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture
def served(database_url: str, fake: FakeSlack, tmp_path: Path) -> Iterator[Served]:
    key = Fernet.generate_key().decode()
    from bot.config import Settings
    from bot.runtime import configure_encryption

    configure_encryption(Settings(database_url=database_url, data_key=key, data_dir=tmp_path))
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        network.apply(session, network.parse((DATA / "network.yaml").read_text(encoding="utf-8")), Clock().now())
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SIGNAAL_", "DATABASE_URL"))}
    env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.base_url,
               DATABASE_URL=database_url, SIGNAAL_DATA_KEY=key, SIGNAAL_DATA_DIR=str(tmp_path), HOST="127.0.0.1",
               PORT=str(port), SCHEDULER_ENABLED="false")
    log = tmp_path / "bot.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        _wait(lambda: _healthy(f"http://127.0.0.1:{port}/healthz") or proc.poll() is not None, 60, "start")
        assert proc.poll() is None, log.read_text()
        driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SECRET, fake)
        yield Served(proc, fake, driver, _Core(engine), log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        engine.dispose()


def test_the_front_acks_and_the_work_process_does_the_work(served: Served) -> None:
    children = _wait(served.children, what="the work process")
    assert len(children) == 1, children
    work = children[0]

    # The whole route works through the two processes: triage, submit, the case card to the AF.
    reference = report(served)  # type: ignore[arg-type]
    assert case_card(served, reference)  # type: ignore[arg-type]

    # While the work process is paused, acks still come at once, and nothing of the work happens...
    served.fake.wait_for(lambda: _outbox_settled(served))  # (what the route queued last is not in flight)
    with _held(work):
        before = len(served.fake.calls_to("chat.postMessage"))
        started = time.monotonic()
        resp = served.driver.slash(REPORTER)
        assert resp.status == 200
        assert time.monotonic() - started < 2.0
        time.sleep(1.0)
        assert len(served.fake.calls_to("chat.postMessage")) == before
    # ...and once it runs again, the reporter gets the first question.
    served.fake.wait_for(lambda: open_question(served, REPORTER))  # type: ignore[arg-type]

    # Stopping the front stops both.
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(30) == 0, served.log.read_text()
    _wait(lambda: not Path(f"/proc/{work}").exists() or "Z" in Path(f"/proc/{work}/stat").read_text().split()[2],
          10, "the work process to stop")


def test_a_case_step_is_answered_before_it_is_done_and_done_by_the_work_process(served: Served) -> None:
    """In HTTP mode Slack gets its answer when the front's listener returns. Claim and a modal's
    submission are done after that answer, by the work process. The modal itself still opens from the
    front (its trigger_id expires 3 s after the click), but nothing of the step is done there."""
    work = _wait(served.children, what="the work process")[0]
    reference = report(served)  # type: ignore[arg-type]
    card = case_card(served, reference)  # type: ignore[arg-type]
    with session_scope(served.core.engine) as session:  # type: ignore[attr-defined]
        people.remember_locale(session, AF, "nl-NL", Clock().now())  # known: the front need not learn it

    served.fake.wait_for(lambda: _outbox_settled(served))
    with _held(work):
        assert served.driver.click(AF, card, "case:claim").status == 200
        assert signal_row(served, reference).status == "new"  # type: ignore[arg-type]
    served.fake.wait_for(lambda: signal_row(served, reference).status == "in_progress")  # type: ignore[arg-type]
    served.fake.wait_for(lambda: "ask_info" in card_actions(served, reference))  # type: ignore[arg-type]

    served.fake.wait_for(lambda: _outbox_settled(served))
    with _held(work):
        assert click_on_card(served, AF, reference, "ask_info").status == 200
        view = modal_of(served, AF, "case_modal:ask_info")  # type: ignore[arg-type]
        before = events_count(served, reference)  # type: ignore[arg-type]
        submit(served, AF, view, {"text": "Om welk restaurant aan de Haven gaat het?"})  # type: ignore[arg-type]
        assert not modal_errors(served, view)  # type: ignore[arg-type]
        assert events_count(served, reference) == before  # type: ignore[arg-type]
    served.fake.wait_for(lambda: events_count(served, reference) > before)  # type: ignore[arg-type]

    # The Home tab too: views.publish needs no trigger_id, so the work process builds and publishes it.
    served.fake.wait_for(lambda: _outbox_settled(served))
    published = len(served.fake.calls_to("views.publish"))
    with _held(work):
        assert served.driver.app_home_opened(AF).status == 200
        assert len(served.fake.calls_to("views.publish")) == published
    served.fake.wait_for(lambda: len(served.fake.calls_to("views.publish")) > published)


def test_when_the_work_process_dies_the_front_does_the_work(served: Served) -> None:
    work = _wait(served.children, what="the work process")[0]
    os.kill(work, signal.SIGKILL)
    _wait(lambda: "this process does the work from now on" in served.log.read_text(), 10, "the take-over")

    reference = report(served)  # type: ignore[arg-type]
    assert case_card(served, reference)  # type: ignore[arg-type]
    assert served.proc.poll() is None
