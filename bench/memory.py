"""Part 5 — memory: RSS (VmRSS from /proc/<pid>/status) of the project bot process right after start
and after 10,000 signals.

The 10,000 signals are complete triages (start → every question → submit) made inside the bot
process through the real service functions `bot.core.triage.start/answer/submit` (the bench-only
route `/bench/populate` of bench/botproc.py), with their outbox rows, audit records, case events and
reminder deadlines; to keep the bench short the steps of 50 signals share one transaction (the
service code runs unchanged; only the commit is made every 50 signals). Over HTTP the same would
take ~14 signed requests and ~25 Slack calls per signal (close to an hour at the throughput of
part 3), so the outbox worker is paused while they are made; it then runs again, and the HTTP path
itself is exercised first by a short round of slash commands."""

from __future__ import annotations

import time

from bench.common import Metric, Part, Scratch, post_json, rss_mb
from bench.harness import make_fake, run_load, start_project

TARGET_MB = 150.0


def run(scratch: Scratch, signals: int = 10_000, database_url: str | None = None, label: str = "SQLite") -> Part:
    part = Part(5, f"Memory (RSS of the bot process, {label})")
    part.method = __doc__.split("\n\n", 1)[1].replace("\n", " ")
    fake = make_fake()
    server = start_project(scratch, fake, database_url=database_url, name="memory", one_process=True)
    try:
        time.sleep(1.0)
        at_start = rss_mb(server.pid)
        run_load(server.events_url, fake, requests=20, warmup=0)  # the HTTP path, 240 slash commands
        after_http = rss_mb(server.pid)
        out = post_json(f"{server.url}/bench/populate", {"n": signals, "outbox": "pause"}, timeout=1800)
        time.sleep(2.0)  # the outbox worker runs again meanwhile
        after = rss_mb(server.pid)
        part.add(
            Metric("RSS after start", at_start, "MB", f"≤ {TARGET_MB:.0f} MB", at_start <= TARGET_MB),
            Metric(f"RSS after {out['signals']:,} signals", after, "MB", f"≤ {TARGET_MB:.0f} MB", after <= TARGET_MB),
        )
        part.notes.append(f"RSS after 240 slash commands over HTTP: {after_http:.1f} MB; {out['signals']:,} complete "
                          f"triages in-process took {out['seconds']:.1f} s "
                          f"({out['signals'] / out['seconds'] * 60:,.0f} signals/min without Slack delivery)")
    finally:
        scratch.stop(server.proc)
        fake.stop()
    return part
