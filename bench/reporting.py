"""Parts 2 and 3 — time to first question and triage throughput: 12 reporters (threads in the bench
process, person-like: they click what the bot posted, type free text in the modal, press Send), each
doing complete triages against the project bot over signed HTTP requests (SlackDriver) for a fixed
window. The FakeSlack records every Web API call with its time (`Call.time`): the first question of a
signal "reaches Slack" at the time of its chat.postMessage."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict
from typing import Any

from bench.common import (
    ANSWERS,
    CLIENTS,
    SECRET,
    SLASH_TEXT,
    Metric,
    Part,
    Scratch,
    get_json,
    percentile,
    reporters,
)
from bench.harness import make_fake, start_project
from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack, MessageEvent

CASES = "C0AFCASES1"
FIRST_Q = re.compile(r"^q:(\d+):[^:]+:1$")
TTFQ_TARGET_MS = 300.0
WAIT = 30.0


class Inbox:
    """What the bot posted, routed per DM channel as it happens (FakeSlack.on_message)."""

    def __init__(self, fake: FakeSlack) -> None:
        self.cond = threading.Condition()
        self.posted: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.cards: set[str] = set()
        self.arrived: dict[str, float] = {}  # message ts → time.time() it was posted
        self.unsubscribe = fake.on_message(self._on)

    def _on(self, event: MessageEvent) -> None:
        if event.kind != "posted" or event.message.get("user") not in (None, "U0BOT00001"):
            return
        with self.cond:
            if event.channel == CASES:
                header = ((event.message.get("blocks") or [{}])[0].get("text") or {}).get("text", "")
                self.cards.update(w for w in header.split() if w.startswith("S-"))
            else:
                self.posted[event.channel].append(event.message)
                self.arrived[event.message.get("ts", "")] = time.time()
            self.cond.notify_all()

    def next_posted(self, channel: str, index: int, match) -> tuple[int, dict[str, Any]]:  # noqa: ANN001
        """The first message posted in `channel` at position ≥ index that `match`es."""
        deadline = time.monotonic() + WAIT
        with self.cond:
            while True:
                msgs = self.posted[channel]
                for i in range(index, len(msgs)):
                    if match(msgs[i]):
                        return i + 1, msgs[i]
                index = len(msgs)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"nothing matching was posted in {channel} within {WAIT}s")
                self.cond.wait(left)

    def wait_card(self, reference: str) -> None:
        deadline = time.monotonic() + WAIT
        with self.cond:
            while reference not in self.cards:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no case card for {reference} within {WAIT}s")
                self.cond.wait(left)


def _actions(msg: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    return next((b for b in msg.get("blocks") or [] if b.get("type") == "actions"
                 and b.get("block_id", "").startswith(prefix)), None)


class Reporter:
    def __init__(self, user: str, fake: FakeSlack, driver: SlackDriver, inbox: Inbox) -> None:
        self.user, self.fake, self.driver, self.inbox = user, fake, driver, inbox
        self.dm = fake.dm_channel_for(user)
        self.cursor = 0
        self.sent: dict[int, float] = {}  # signal id → time.time() the slash command was sent
        self.completed: list[float] = []
        self.next_ms: list[float] = []  # an answer's last request sent → the next question posted
        self.errors: list[str] = []
        self.t_answer = 0.0

    def _ok(self, resp) -> None:  # noqa: ANN001
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {resp.body[:200]}")

    def one_signal(self) -> None:
        t_send = time.time()
        self._ok(self.driver.slash(self.user))
        self.cursor, msg = self.inbox.next_posted(self.dm, self.cursor, lambda m: _actions(m, "q:"))
        sid = int(_actions(msg, "q:")["block_id"].split(":")[1])
        self.sent[sid] = t_send
        reference = None
        while True:
            block = _actions(msg, f"q:{sid}:")
            if block is None:  # the summary
                self._ok(self.driver.click(self.user, msg, "triage:submit"))
                break
            self.answer(msg, block)
            self.cursor, msg = self.inbox.next_posted(
                self.dm, self.cursor, lambda m: _actions(m, f"q:{sid}:") or _actions(m, f"sum:{sid}:"))
            with self.inbox.cond:
                self.next_ms.append((self.inbox.arrived[msg["ts"]] - self.t_answer) * 1000)
        root = self.fake.locate(msg["thread_ts"])[1]
        reference = root["blocks"][0]["text"]["text"].split()[-1]
        self.inbox.wait_card(reference)
        self.completed.append(time.time())

    def answer(self, msg: dict[str, Any], block: dict[str, Any]) -> None:
        key = block["block_id"].split(":")[2]
        value = ANSWERS[key]
        elements = block["elements"]
        kinds = {e.get("action_id"): e for e in elements}
        # t_answer: when the request that completes the answer is sent (the next question answers it)
        if "triage:tick" in kinds:
            self._ok(self.driver.click(self.user, msg, "triage:tick", selected=value))
            self.t_answer = time.time()
            self._ok(self.driver.click(self.user, msg, "triage:multi_done"))
        elif "triage:text" in kinds:
            before = {v["id"] for v in self.fake.views_for(self.user)}
            self._ok(self.driver.click(self.user, msg, "triage:text"))
            view = self._wait_view(before)
            self.t_answer = time.time()
            self._ok(self.driver.submit_view(self.user, view["id"], self.driver.fill(view, {"value": value})))
        elif "triage:select" in kinds:
            self.t_answer = time.time()
            self._ok(self.driver.click(self.user, msg, "triage:select", selected=value))
        else:
            button = next(e for e in elements if e.get("value") == value)
            self.t_answer = time.time()
            self._ok(self.driver.click(self.user, msg, button["action_id"]))

    def _wait_view(self, before: set[str]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            views = [v for v in self.fake.views_for(self.user) if v["id"] not in before]
            if views:
                return views[-1]
            time.sleep(0.005)
        raise TimeoutError("the text modal did not open")

    def loop(self, deadline: float) -> None:
        while time.time() < deadline:
            try:
                self.one_signal()
            except Exception as exc:  # noqa: BLE001 - counted and reported, the others go on
                self.errors.append(f"{type(exc).__name__}: {exc}")
                if len(self.errors) > 5:
                    return


def first_question_times(fake: FakeSlack) -> dict[int, float]:
    """signal id → Call.time of the chat.postMessage that carried its first question."""
    out: dict[int, float] = {}
    for call in fake.calls_to("chat.postMessage"):
        blocks = call.args.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except json.JSONDecodeError:
                continue
        for b in blocks or []:
            match = FIRST_Q.match(str(b.get("block_id", "")))
            if match:
                out.setdefault(int(match.group(1)), call.time)
    return out


def _ttfq(reps: list[Reporter], fake: FakeSlack) -> list[float]:
    times = first_question_times(fake)
    return [(times[sid] - sent) * 1000 for r in reps for sid, sent in r.sent.items() if sid in times]


def _breakdown(reps: list[Reporter], stages: dict[str, list[float | None]]) -> str:
    """Where the time to first question goes (under load): from the slash command to the work process
    starting the signal (ack, hand-over, waiting for the work thread), to its root message and then
    its first question being sent (the outbox)."""
    parts: list[list[float]] = [[], [], []]
    for r in reps:
        for sid, sent in r.sent.items():
            row = stages.get(str(sid))
            if not row or None in row:
                continue
            started, root, first = row  # type: ignore[misc]
            for i, ms in enumerate(((started - sent) * 1000, (root - started) * 1000, (first - root) * 1000)):
                parts[i].append(ms)
    if not parts[0]:
        return "breakdown: no complete timings"
    names = ("slash command → work started", "→ root message sent", "→ first question sent")
    return "where the time to first question goes under load (p50 / p95): " + "; ".join(
        f"{name} {percentile(p, 50):.0f} / {percentile(p, 95):.0f} ms" for name, p in zip(names, parts, strict=True))


def run(scratch: Scratch, window: float = 60.0, quiet: int = 20, database: str = "SQLite") -> Part:
    part = Part(2, f"Time to first question, and triage throughput (12 reporters, {database})")
    database_url = scratch.pg_database() if database == "PostgreSQL" else None
    part.method = (
        f"Project bot in its own process ({database}), FakeSlack + reporters in the bench process. First {quiet} "
        f"`/signaal` by one reporter alone (quiet). Then {CLIENTS} reporters, concurrently for {window:.0f} s, each "
        "doing complete triages as a person would (slash command, every question answered by clicking what the bot "
        "posted, free text typed in the modal, Send), each next click as soon as the bot's message arrived. "
        "Time to first question = `/signaal` sent → FakeSlack's `Call.time` of the chat.postMessage carrying the "
        "signal's first question. Time to next question = the request that completes an answer sent → the next "
        "question (or the summary) posted; it is shown because the outbox lets a new signal's first messages go "
        "before the queue (outbox.URGENT), and the next questions wait behind them. A signal is complete when its "
        "case card reached the AF's channel."
    )
    fake = make_fake()
    inbox = Inbox(fake)
    server = start_project(scratch, fake, database_url=database_url)
    try:
        driver = SlackDriver(server.events_url, SECRET, fake)
        users = reporters(CLIENTS)
        # quiet: one reporter of their own, one slash command at a time (each draft is left open, so each
        # later command carries a description to start a new signal: SLASH_TEXT)
        solo_user = reporters(CLIENTS + 1)[-1]
        fake.ensure_user(solo_user)
        solo = Reporter(solo_user, fake, driver, inbox)
        for _ in range(quiet):
            t_send = time.time()
            solo._ok(driver.slash(solo.user, text=SLASH_TEXT))
            solo.cursor, msg = inbox.next_posted(solo.dm, solo.cursor, lambda m: _actions(m, "q:"))
            solo.sent[int(_actions(msg, "q:")["block_id"].split(":")[1])] = t_send
        quiet_ms = _ttfq([solo], fake)
        # loaded: 12 reporters doing whole triages
        reps = [Reporter(u, fake, driver, inbox) for u in users]
        for r in reps:
            r.cursor = len(inbox.posted[r.dm])
        started = time.time()
        deadline = started + window
        threads = [threading.Thread(target=r.loop, args=(deadline,), name=f"reporter-{r.user}") for r in reps]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=window + 4 * WAIT)
        loaded_ms = _ttfq(reps, fake)
        next_ms = [ms for r in reps for ms in r.next_ms]
        completed_in_window = sum(1 for r in reps for c in r.completed if c <= deadline)
        per_min = completed_in_window / (window / 60)
        errors = [e for r in reps for e in r.errors]
        p95 = percentile(loaded_ms, 95) if loaded_ms else float("nan")
        part.add(
            Metric(f"{database}: time to first question p50 (12 reporters)", percentile(loaded_ms, 50), "ms"),
            Metric(f"{database}: time to first question p95 (12 reporters)", p95, "ms", f"≤ {TTFQ_TARGET_MS:.0f} ms",
                   p95 <= TTFQ_TARGET_MS),
            Metric(f"{database}: time to first question p50 (one reporter alone)", percentile(quiet_ms, 50), "ms"),
            Metric(f"{database}: time to first question p95 (one reporter alone)", percentile(quiet_ms, 95), "ms"),
            Metric(f"{database}: time to next question p50 (12 reporters)", percentile(next_ms, 50), "ms"),
            Metric(f"{database}: time to next question p95 (12 reporters)", percentile(next_ms, 95), "ms"),
            Metric(f"{database}: triage throughput (12 reporters)", per_min, "complete signals/min"),
        )
        total_clicks = sum(len(r.completed) for r in reps)
        part.notes.append(f"{completed_in_window} signals completed within the {window:.0f} s window "
                          f"({total_clicks} in all, {len(loaded_ms)} first questions timed under load, "
                          f"{len(quiet_ms)} alone); {len(errors)} errors" + (f": {errors[:3]}" if errors else ""))
        part.raw = {"quiet_ms": quiet_ms, "loaded_ms": loaded_ms, "per_min": per_min}  # type: ignore[attr-defined]
        part.notes.append(_breakdown(reps, get_json(f"{server.url}/bench/stages")))
    finally:
        inbox.unsubscribe()
        scratch.stop(server.proc)
        fake.stop()
    return part
