"""What `/metrics` answers: the counters and histograms of `bot.core.metrics` (of every process of
this `signaalbot run`, in multiprocess mode) and gauges read from the database at scrape time."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core import inbox, metrics, outbox
from models import Signal


class DatabaseCollector(Collector):
    """The gauges read from the database at scrape time (cheap, indexed counts)."""

    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self.engine, self.now = engine, now

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("signaalbot_database_up", "1 when the database answered this scrape")
        try:
            with Session(self.engine) as session:
                state = outbox.health(session, self.now())
                by_status = session.execute(select(Signal.status, func.count()).group_by(Signal.status)).all()
            parked = inbox.failed_count(self.engine)
        except Exception:  # noqa: BLE001 - a scrape answers, whatever happens; the gauge says why not
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("signaalbot_outbox_paused", "1 while the platform refuses our credentials",
                                value=1 if state.paused else 0)
        yield GaugeMetricFamily("signaalbot_outbox_failed", "Outbox items parked as failed (signaalbot outbox)",
                                value=state.failed)
        yield GaugeMetricFamily("signaalbot_outbox_oldest_pending_seconds", "Age of the oldest waiting item (0: none)",
                                value=state.oldest_pending.total_seconds() if state.oldest_pending else 0)
        yield GaugeMetricFamily("signaalbot_inbox_failed", "Acknowledged requests parked after failing "
                                "(signaalbot inbox)", value=parked)
        signals = GaugeMetricFamily("signaalbot_signals", "Signals by state", labels=["state"])
        for status, count in by_status:
            signals.add_metric([status], count)
        yield signals


def render(engine: Engine, now: Callable[[], datetime]) -> tuple[bytes, str]:
    """The body and content type of `/metrics`."""
    registry = CollectorRegistry(auto_describe=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in metrics.LOCAL:
            registry.register(metric)
    registry.register(DatabaseCollector(engine, now))
    return generate_latest(registry), CONTENT_TYPE_LATEST
