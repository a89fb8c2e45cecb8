"""Part 5 — memory: RSS (VmRSS from /proc/<pid>/status) of the project bot process right after start
and after 10,000 signals; and of HTTP mode's two processes (the front and its forked work process,
bot/workproc.py) after start and after the slash-command load of part 1.

The 10,000 signals are complete triages (start → every question → submit) made inside the bot
process through the real service functions `bot.core.triage.start/answer/submit` (the bench-only
route `/bench/populate` of bench/botproc.py), with their outbox rows, audit records, case events and
reminder deadlines; to keep the bench short the steps of 50 signals share one transaction (the
service code runs unchanged; only the commit is made every 50 signals). Over HTTP the same would
take ~14 signed requests and ~25 Slack calls per signal (close to an hour at the throughput of
part 3), so the outbox worker is paused while they are made; it then runs again, and the HTTP path
itself is exercised first by a short round of slash commands. This is the bot in one process
(SIGNAAL_WORK_PROCESS=false), so that the work and its memory are where RSS is read.

HTTP mode runs two processes: the work process is forked from the front after the imports, so the
two share the pages of the loaded code (copy-on-write). RSS counts shared pages in both; the sum
of the two PSS values (/proc/<pid>/smaps_rollup: shared pages split between the processes) is what
the pair really uses, and that is compared with the target. Measured after start, and after 12
clients sent slash commands as in part 1 (each starts a signal: its root message and first
question are delivered before the reading)."""

from __future__ import annotations

import time

from bench.common import Metric, Part, Scratch, post_json, pss_mb, rss_mb
from bench.harness import make_fake, run_load, start_project

TARGET_MB = 150.0


def run(scratch: Scratch, signals: int = 10_000, database_url: str | None = None, label: str = "SQLite",
        requests: int = 200) -> Part:
    part = Part(5, f"Memory (RSS of the bot, {label})")
    part.method = __doc__.split("\n\n", 1)[1].replace("\n", " ")
    fake = make_fake()
    server = start_project(scratch, fake, database_url=database_url, name="memory", one_process=True)
    try:
        time.sleep(1.0)
        at_start = rss_mb(server.pid)
        run_load(server.events_url, fake, requests=20, warmup=0)  # the HTTP path, 240 slash commands
        server.wait_for_work(20 * 12)  # populate below must not run beside the work those started
        after_http = rss_mb(server.pid)
        out = post_json(f"{server.url}/bench/populate", {"n": signals, "outbox": "pause"}, timeout=1800)
        time.sleep(2.0)  # the outbox worker runs again meanwhile
        after = rss_mb(server.pid)
        part.add(
            Metric("one process: RSS after start", at_start, "MB", f"≤ {TARGET_MB:.0f} MB", at_start <= TARGET_MB),
            Metric(f"one process: RSS after {out['signals']:,} signals", after, "MB", f"≤ {TARGET_MB:.0f} MB",
                   after <= TARGET_MB),
        )
        part.notes.append(f"RSS after 240 slash commands over HTTP: {after_http:.1f} MB; {out['signals']:,} complete "
                          f"triages in-process took {out['seconds']:.1f} s "
                          f"({out['signals'] / out['seconds'] * 60:,.0f} signals/min without Slack delivery)")
    finally:
        scratch.stop(server.proc)
    try:
        _two_processes(part, scratch, fake, database_url, requests)
    finally:
        fake.stop()
    return part


def _two_processes(part: Part, scratch: Scratch, fake, database_url: str | None, requests: int) -> None:  # noqa: ANN001
    server = start_project(scratch, fake, database_url=database_url, name="memory2")
    try:
        time.sleep(1.0)
        pids = server.pids()
        assert len(pids) == 2, pids
        start = [(rss_mb(p), pss_mb(p)) for p in pids]
        run_load(server.events_url, fake, requests=requests, warmup=0)
        _done, waited = server.wait_for_work(requests * 12)
        after = [(rss_mb(p), pss_mb(p)) for p in pids]
        total_start, total_after = sum(x[1] for x in start), sum(x[1] for x in after)
        n = requests * 12
        part.add(
            Metric("HTTP mode, two processes: PSS together after start", total_start, "MB",
                   f"≤ {TARGET_MB:.0f} MB", total_start <= TARGET_MB),
            Metric(f"HTTP mode, two processes: PSS together after {n:,} slash commands", total_after, "MB",
                   f"≤ {TARGET_MB:.0f} MB", total_after <= TARGET_MB),
        )
        part.notes.append(
            f"two processes after start: front RSS {start[0][0]:.1f} MB (PSS {start[0][1]:.1f}), work process RSS "
            f"{start[1][0]:.1f} MB (PSS {start[1][1]:.1f}); after {n:,} slash commands (their work done in "
            f"{waited:.0f} s): front RSS {after[0][0]:.1f} MB (PSS {after[0][1]:.1f}), work "
            f"process RSS {after[1][0]:.1f} MB (PSS {after[1][1]:.1f})")
    finally:
        scratch.stop(server.proc)
