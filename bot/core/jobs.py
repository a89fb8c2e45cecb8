"""The jobs of the core: the registry of sweeps (`@sweep`, `@outlook`, `load_sweeps`, `run_due`)
and the once-per-period marker (a unique row, claimed in the job's own transaction, so two
processes or a restart never run a job twice for the same day or month).

Nothing here knows Slack: the composition root (`bot.runtime`) and the scheduler use this registry,
never the other way round."""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.core import metrics
from models.jobs import JobRun

if TYPE_CHECKING:
    from bot.core.context import Core
    from bot.core.outbox import OutboxWorker

# Sweeps the scheduler triggers and `jobs run-due` runs: (name, fn(core, now) -> list[str] report lines).
SWEEPS: list[tuple[str, Callable[[Core, datetime], list[str]]]] = []


def sweep(name: str) -> Callable[[Callable[[Core, datetime], list[str]]], Callable[[Core, datetime], list[str]]]:
    def register(fn: Callable[[Core, datetime], list[str]]) -> Callable[[Core, datetime], list[str]]:
        SWEEPS.append((name, fn))
        return fn

    return register


# What a sweep has waiting, for `jobs list`: (name, fn(core) -> one line, e.g. the next due moment).
OUTLOOKS: list[tuple[str, Callable[[Core], str]]] = []


def outlook(name: str) -> Callable[[Callable[[Core], str]], Callable[[Core], str]]:
    def register(fn: Callable[[Core], str]) -> Callable[[Core], str]:
        OUTLOOKS.append((name, fn))
        return fn

    return register


def load_sweeps() -> None:
    """Import every module of bot.core: those that declare sweeps register them with @sweep."""
    import bot.core

    for info in sorted(pkgutil.iter_modules(bot.core.__path__), key=lambda i: i.name):
        if not info.name.startswith("_") and info.name != "testing":  # the in-memory test edge declares none
            importlib.import_module(f"bot.core.{info.name}")


def run_due(core: Core, worker: OutboxWorker, at: datetime | None = None) -> list[str]:
    """Run every due sweep as if the clock read `at`, then deliver the outbox."""
    load_sweeps()
    now = at or core.clock.now()
    lines: list[str] = []
    for name, fn in SWEEPS:
        started = time.perf_counter()
        try:
            for line in fn(core, now):
                lines.append(f"{name}: {line}")
        finally:
            metrics.SWEEP_SECONDS.labels(name).observe(time.perf_counter() - started)
    core.kick()
    for outcome, msg, op in worker.drain():
        lines.append(f"outbox: {outcome} {op} {msg.template} #{msg.id}")
    return lines


def claim(session: Session, job: str, period: str, now: object) -> bool:
    """True when this caller is the first to run `job` for `period` (the marker commits with the work)."""
    if session.exec(select(JobRun.id).where(JobRun.job == job, JobRun.period == period)).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(JobRun(job=job, period=period, ran_at=now))
    except IntegrityError:
        return False
    return True


def has_run(session: Session, job: str, period: str) -> bool:
    return session.exec(select(JobRun.id).where(JobRun.job == job, JobRun.period == period)).first() is not None
