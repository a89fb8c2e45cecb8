"""Several `signaalbot run` replicas on one PostgreSQL database behind a round-robin proxy, driven
by many reporters and their AF through the whole route while Slack fails now and then, one replica
killed (SIGKILL, its work process too) and started again (issue 18: "replicas, proven"). Used by
tests/test_replicas.py and by `make bench` (bench/replicas.py)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlmodel import Session, col, func, select

from bot.core import inbox, network
from bot.core.clock import Clock
from bot.sandbox.driver import DriverResponse, SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from models import MessageRef, OutboxMessage, Signal
from models.db import make_engine, session_scope, upgrade
from tests.case_helpers import card_actions, events_count, modal_errors, modal_of, signal_row, submit
from tests.helpers import AF, CASES_CHANNEL, case_card, find_block, report

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
SECRET = "test-signing-secret"
TOKEN = "xoxb-test"  # noqa: S105 - the fake's token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RoundRobinProxy:
    """A TCP proxy on loopback: each connection goes to the next replica that accepts it (a load
    balancer that skips a replica that is down)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports, self._next, self._lock = ports, 0, threading.Lock()
        self.active: Counter[int] = Counter()  # open connections per replica port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, name="rr-proxy", daemon=True).start()

    def _backend(self) -> socket.socket | None:
        for _ in range(len(self.ports)):
            with self._lock:
                port = self.ports[self._next % len(self.ports)]
                self._next += 1
            with contextlib.suppress(OSError):
                return socket.create_connection(("127.0.0.1", port), timeout=2)
        return None

    def in_flight(self, port: int) -> int:
        with self._lock:
            return self.active[port]

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        backend = self._backend()
        if backend is None:
            client.close()
            return
        backend.settimeout(None)
        port = backend.getpeername()[1]
        with self._lock:
            self.active[port] += 1

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while chunk := src.recv(65536):
                    dst.sendall(chunk)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=pipe, args=(backend, client), daemon=True)
        back.start()
        pipe(client, backend)
        back.join(timeout=60)
        client.close()
        backend.close()
        with self._lock:
            self.active[port] -= 1

    def stop(self) -> None:
        self._stop.set()
        self.server.close()


class RetryingDriver(SlackDriver):
    """Slack (or the person, for a command) sends a request again when no answer came: the same
    body, so the same delivery key — it must take effect once."""

    retries = 0

    def send_raw(self, body: str, content_type: str, payload: dict[str, Any] | None = None,
                 extra_headers: dict[str, str] | None = None) -> DriverResponse:
        for attempt in range(8):
            try:
                resp = super().send_raw(body, content_type, payload, extra_headers)
                if resp.status < 500:
                    return resp
            except OSError:
                pass
            RetryingDriver.retries += 1
            time.sleep(0.3 * (attempt + 1))
        return super().send_raw(body, content_type, payload, extra_headers)


@dataclass
class _Core:
    engine: Any


@dataclass
class Cluster:
    """What tests/helpers.py needs (`fake`, `driver`, `core.engine`) for N replicas behind the proxy."""

    database_url: str
    fake: FakeSlack
    tmp: Path
    replicas: int = 3
    ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen | None] = field(default_factory=list)
    driver: Any = None
    core: Any = None
    proxy: RoundRobinProxy | None = None

    def start(self) -> Cluster:
        key = Fernet.generate_key().decode()
        from bot.config import Settings
        from bot.runtime import configure_encryption

        configure_encryption(Settings(database_url=self.database_url, data_key=key, data_dir=self.tmp))
        engine = make_engine(self.database_url)
        upgrade(engine)
        with session_scope(engine) as session:
            network.apply(session, network.parse((DATA / "network.yaml").read_text(encoding="utf-8")),
                          Clock().now())
        self.core = _Core(engine)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SIGNAAL_", "DATABASE_URL"))}
        self.env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=self.fake.base_url,
                        DATABASE_URL=self.database_url, SIGNAAL_DATA_KEY=key, SIGNAAL_DATA_DIR=str(self.tmp),
                        HOST="127.0.0.1", SCHEDULER_ENABLED="true")
        self.ports = [free_port() for _ in range(self.replicas)]
        self.procs = [None] * self.replicas
        for i in range(self.replicas):
            self.start_replica(i)
        for i in range(self.replicas):
            self.wait_ready(i)
        self.proxy = RoundRobinProxy(self.ports)
        self.driver = RetryingDriver(f"http://127.0.0.1:{self.proxy.port}/slack/events", SECRET, self.fake)
        return self

    def start_replica(self, i: int) -> None:
        log = (self.tmp / f"replica{i}.log").open("a")
        self.procs[i] = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT,
                                         env={**self.env, "PORT": str(self.ports[i])}, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, i: int, timeout: float = 60) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), urllib.request.urlopen(
                    f"http://127.0.0.1:{self.ports[i]}/livez", timeout=1) as resp:
                if resp.status == 200:
                    return
            proc = self.procs[i]
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"replica {i} exited:\n" + (self.tmp / f"replica{i}.log").read_text())
            time.sleep(0.1)
        raise TimeoutError(f"replica {i} did not start")

    def kill(self, i: int) -> None:
        """SIGKILL the replica's whole process group: the front and its work process."""
        proc = self.procs[i]
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        if self.core is not None:
            self.core.engine.dispose()


def reporters(n: int) -> list[str]:
    return [f"U0RPL{i:05d}" for i in range(1, n + 1)]


_AF_AT_WORK = threading.Lock()  # one AF, one modal at a time (as one person works)


def _card_action(c: Cluster, user: str, reference: str, action: str) -> None:
    c.fake.wait_for(lambda: action in card_actions(c, reference))
    card = case_card(c, reference)
    block = find_block(card, "case:")
    assert block is not None
    if any(e.get("action_id") == f"case:{action}" for e in block["elements"]):
        resp = c.driver.click(user, card, f"case:{action}")
    else:
        resp = c.driver.click(user, card, "case:more", selected=f"{action}:{signal_row(c, reference).id}")
    assert resp.status == 200, resp.body


def _modal_step(c: Cluster, reference: str, action: str, answers: dict[str, Any]) -> None:
    with _AF_AT_WORK:
        _card_action(c, AF, reference, action)
        view = modal_of(c, AF, f"case_modal:{action}")
        before = events_count(c, reference)
        submit(c, AF, view, answers)
        assert not modal_errors(c, view), modal_errors(c, view)
    c.fake.wait_for(lambda: events_count(c, reference) > before)


def whole_route(c: Cluster, user: str) -> str:
    """One reporter's signal: reported, claimed, concluded, feedback given, closed."""
    reference = report(c, user, answers={"feedback": "yes"})
    _card_action(c, AF, reference, "claim")
    c.fake.wait_for(lambda: signal_row(c, reference).claimed_by == AF)
    _modal_step(c, reference, "conclude", {"conclusion": "geen", "rationale": "Geen signalen van uitbuiting."})
    _modal_step(c, reference, "feedback", {"text": "Dank je wel voor je signaal; we hebben het bekeken."})
    _modal_step(c, reference, "close", {})  # the confirmation
    c.fake.wait_for(lambda: signal_row(c, reference).status == "closed")
    return reference


@dataclass
class Outcome:
    references: list[str]
    seconds: float
    messages: int
    duplicates: int
    lost: int
    pending: int
    retries: int
    latencies: list[float]


def run(c: Cluster, n_reporters: int = 30, workers: int = 6, kill: int | None = 1,
        flaky: bool = True, wait: float = 240.0) -> Outcome:
    """Drive `n_reporters` through the whole route at once; kill replica `kill` when a third is done
    and start it again; let Slack fail now and then meanwhile. Then wait until all is delivered."""
    for user in reporters(n_reporters):
        c.fake.add_user(user.lower(), user_id=user, real_name=f"Reporter {user[-3:]}", email=f"{user.lower()}@x.nl")
    original = c.fake.wait_for
    c.fake.wait_for = lambda predicate, timeout=15.0, interval=0.05: original(predicate, max(timeout, wait), interval)
    stop, done = threading.Event(), Counter()
    latencies: list[float] = []
    timed = c.driver.send_raw

    def send_raw(*args: Any, **kwargs: Any) -> DriverResponse:
        t0 = time.perf_counter()
        try:
            return timed(*args, **kwargs)
        finally:
            latencies.append(time.perf_counter() - t0)

    c.driver.send_raw = send_raw

    def slack_fails() -> None:
        rnd, last = random.Random(18), 0  # noqa: S311
        while not stop.wait(0.2):  # now and then: one failure per 15 calls or so, never a queue of them
            method = "chat.postMessage" if rnd.random() < 0.5 else "chat.update"
            if len(c.fake.calls) - last >= 15 and not c.fake.injections_pending(method):
                last = len(c.fake.calls)
                if method == "chat.postMessage":
                    c.fake.fail_next(method, status=500)
                else:
                    c.fake.fail_next(method, error="ratelimited", retry_after=1)

    def chaos() -> None:
        while not stop.is_set() and done["routes"] < max(1, n_reporters // 3):
            time.sleep(0.1)
        if kill is not None and not stop.is_set():
            assert c.proxy is not None
            deadline = time.monotonic() + 10  # kill it with a request of someone's on its way in it
            while c.proxy.in_flight(c.ports[kill]) == 0 and time.monotonic() < deadline:
                time.sleep(0.001)
            c.kill(kill)
            time.sleep(1.0)
            c.start_replica(kill)

    threads = [threading.Thread(target=chaos, daemon=True)]
    if flaky:
        threads.append(threading.Thread(target=slack_fails, daemon=True))
    for t in threads:
        t.start()
    started = time.monotonic()

    def one(user: str) -> str:
        reference = whole_route(c, user)
        done["routes"] += 1
        return reference

    try:
        with ThreadPoolExecutor(workers) as pool:
            references = list(pool.map(one, reporters(n_reporters)))
    finally:
        stop.set()
        c.fake.wait_for = original
        c.driver.send_raw = timed
    if kill is not None:
        c.wait_ready(kill)
    settle(c, wait)
    seconds = time.monotonic() - started
    duplicates, messages = count_duplicates(c)
    return Outcome(references, seconds, messages, duplicates, lost(c, references), pending(c),
                   RetryingDriver.retries, latencies)


def pending(c: Cluster) -> int:
    with Session(c.core.engine) as session:
        waiting = session.exec(select(func.count()).select_from(OutboxMessage).where(
            col(OutboxMessage.status).in_(["pending", "sending"]))).one()
    return int(waiting) + inbox.unfinished(c.core.engine)


def settle(c: Cluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pending(c):
        time.sleep(0.5)


def count_duplicates(c: Cluster) -> tuple[int, int]:
    """(messages posted more than once, messages posted): every post carries its MessageRef's marker."""
    seen: Counter[int] = Counter()
    for message in c.fake.all_messages():
        ref = ((message.get("metadata") or {}).get("event_payload") or {}).get("ref")
        if ref is not None:
            seen[ref] += 1
    return sum(n - 1 for n in seen.values() if n > 1), sum(seen.values())


def lost(c: Cluster, references: list[str]) -> int:
    """Signals that did not reach their AF exactly once, or whose reporter did not get the feedback,
    or messages the bot recorded as posted that Slack does not have."""
    missing = 0
    cards: Counter[str] = Counter()
    for message in c.fake.messages_in(CASES_CHANNEL):
        for ref in references:
            if ref in str(message.get("blocks")):
                cards[ref] += 1
    missing += sum(1 for ref in references if cards[ref] == 0)
    with Session(c.core.engine) as session:
        statuses = dict(session.exec(select(Signal.reference, Signal.status)).all())
        posted = set(session.exec(select(MessageRef.id).where(col(MessageRef.message_id).is_not(None))).all())
    missing += sum(1 for ref in references if statuses.get(ref) != "closed")
    in_slack = {((m.get("metadata") or {}).get("event_payload") or {}).get("ref") for m in c.fake.all_messages()}
    missing += len(posted - in_slack)
    return missing


def with_cluster(database_url: str, fake: FakeSlack, tmp: Path, replicas: int,
                 body: Callable[[Cluster], Any]) -> Any:
    c = Cluster(database_url, fake, tmp, replicas)
    try:
        c.start()
        return body(c)
    finally:
        c.stop()


def describe(c: Cluster) -> str:
    """What is still waiting, for a failure message (no content: states, errors, ages)."""
    from models import InboxItem

    lines = []
    with Session(c.core.engine) as session:
        for item in session.exec(select(OutboxMessage).where(col(OutboxMessage.status) != "sent")).all():
            lines.append(f"outbox #{item.id} {item.op} {item.status} attempts={item.attempts} "
                         f"error={item.last_error} locked_until={item.locked_until} next={item.next_attempt_at}")
        for row in session.exec(select(InboxItem).where(col(InboxItem.done_at).is_(None))).all():
            lines.append(f"inbox #{row.id} {row.work} attempts={row.attempts} error={row.last_error} "
                         f"claimed_until={row.claimed_until} received={row.received_at}")
    return "\n".join(lines) or "nothing waiting"
