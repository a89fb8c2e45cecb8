"""Prometheus metrics (prometheus-client) for `/metrics`.

Counters and histograms are kept where things happen: requests and their ack time in the process
that answers the platform, deliveries, sweeps and reminders in the process that does the work. In
HTTP mode those are two processes, so `signaalbot run` uses prometheus-client's multiprocess mode (a
fresh folder in PROMETHEUS_MULTIPROC_DIR, set before this module is imported; `bot.cli`). Gauges —
the outbox, parked inbox items, signals by state — are read from the database at scrape time, so
every replica tells the same (`bot.core.scrape`). No label carries personal data: labels are fixed names (request kind,
HTTP status, delivery result, sweep name, signal state)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("signaalbot_requests", "Requests from the chat platform, by kind and HTTP status",
                   ["kind", "status"], registry=None)
ACK_SECONDS = Histogram("signaalbot_ack_seconds", "From a request's arrival to its answer (the platform's ack)",
                        ["kind"], registry=None,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0))
DELIVERIES = Counter("signaalbot_outbox_deliveries", "Outbox delivery attempts, by result "
                     "(sent, retry, failed, not_ready, paused)", ["result"], registry=None)
SWEEP_SECONDS = Histogram("signaalbot_sweep_seconds", "Duration of one run of a scheduled sweep", ["sweep"],
                          registry=None, buckets=(0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
REMINDERS_SENT = Counter("signaalbot_reminders_sent", "Reminders sent by the sweeps (one per rung and case)",
                         registry=None)
LOCAL = (REQUESTS, ACK_SECONDS, DELIVERIES, SWEEP_SECONDS, REMINDERS_SENT)


def request_kind(body: str) -> str:
    """What a platform request is, from its body, without parsing it (no content in a label)."""
    if body.startswith("payload="):
        return "interaction"
    if body.startswith("{"):
        return "event"
    return "command" if "command=" in body else "other"
