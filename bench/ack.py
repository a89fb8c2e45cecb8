"""Part 1 — ack latency of `/signaal`: 12 concurrent clients, signed slash commands over HTTP, the
project bot and a bare Bolt app measured in the same run under the same load."""

from __future__ import annotations

from bench.common import CLIENTS, Metric, Part, Scratch, latency_summary
from bench.harness import make_fake, run_load, start_bare, start_project

TARGET_RATIO = 1.2


def run(scratch: Scratch, requests: int = 300, warmup: int = 20, database: str = "SQLite") -> Part:
    part = Part(1, f"Ack latency of /signaal (12 concurrent clients, {database})")
    database_url = scratch.pg_database() if database == "PostgreSQL" else None
    part.method = (
        f"{CLIENTS} client threads in a separate load-generator process, each with one keep-alive connection, send "
        f"signed `/signaal` slash commands back to back (closed loop): {warmup} warm-up + {requests} measured "
        "requests per client; latency = request written → response read. Bare Bolt app (AsyncApp + "
        f"AsyncSlackRequestHandler + uvicorn, ack only) first, then the project bot (own process, {database}, outbox "
        "worker delivering to the FakeSlack in the bench process); each app alone on the machine while measured."
    )
    fake = make_fake()
    try:
        results = {}
        starters = (("bare", lambda: start_bare(scratch, fake)),
                    ("project", lambda: start_project(scratch, fake, database_url=database_url)))
        for label, start in starters:
            server = start()
            try:
                out = run_load(server.events_url, fake, requests, warmup)
                if label == "project":
                    part.notes.append(_drain_note(server, (requests + warmup) * CLIENTS))
            finally:
                scratch.stop(server.proc)
            results[label] = latency_summary(out)
        bare, proj = results["bare"], results["project"]
        ratio = proj["p99"] / bare["p99"]
        part.add(
            Metric(f"{database}: bare Bolt app p50", bare["p50"], "ms"),
            Metric(f"{database}: bare Bolt app p99", bare["p99"], "ms"),
            Metric(f"{database}: project p50", proj["p50"], "ms"),
            Metric(f"{database}: project p99", proj["p99"], "ms"),
            Metric(f"{database}: p99 ratio project / bare", ratio, "×", f"≤ {TARGET_RATIO}×", ratio <= TARGET_RATIO),
        )
        for label, r in results.items():
            part.notes.append(f"{label}: {r['n']} requests measured, {r['errors']} errors, max {r['max']:.1f} ms, "
                              f"{r['rps']:.0f} requests/s")
        part.raw = results  # type: ignore[attr-defined]
    finally:
        fake.stop()
    return part


def _drain_note(server, sent: int) -> str:  # noqa: ANN001
    """The work the acks started, done afterwards: every /signaal's signal made and its messages sent."""
    first_signals, first_pending = server.signals(), server.outbox_pending()
    done, waited = server.wait_for_work(sent)
    left = "done" if done else f"{sent - server.signals()} signals and {server.outbox_pending()} messages left"
    return (f"project: right after the load {first_signals} of the {sent} signals were started and "
            f"{first_pending} messages waited in the outbox; the rest of the work (the work process, below "
            f"the front in CPU priority) was {left} after {waited:.1f} s")
