"""APScheduler 3.x inside `signaalbot run` only *triggers* the sweeps; what is due comes from the
database, so a restart loses nothing and `jobs run-due --at T` runs the very same code."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from bot.core.jobs import OUTLOOKS, SWEEPS, load_sweeps

if TYPE_CHECKING:
    from bot.core.context import Core

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60


def _tick(run_due: Callable[[], list[str]]) -> None:
    try:
        for line in run_due():
            log.info("%s", line)
    except Exception:  # noqa: BLE001 - the next tick tries again
        log.exception("scheduled sweep failed")


def start_scheduler(core: Core, run_due: Callable[[], list[str]]) -> BackgroundScheduler:
    """Every SWEEP_SECONDS call `run_due` (the composition root's: due sweeps, then the outbox)."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1,
                                                                   "misfire_grace_time": SWEEP_SECONDS})
    # coalesce: a bot that was down for a weekend sweeps once, not once per missed minute.
    scheduler.add_job(_tick, "interval", seconds=SWEEP_SECONDS, args=[run_due], id="sweep", name="due sweeps")
    scheduler.start()
    for name, desc in describe_jobs(core, scheduler):
        log.info("job %s: %s", name, desc)
    return scheduler


def describe_jobs(core: Core | None = None, scheduler: BackgroundScheduler | None = None) -> list[tuple[str, str]]:
    """Each job and when it runs next: the scheduler's own tick, then what each sweep has waiting
    in the database (so `jobs list` also works while the bot runs elsewhere)."""
    load_sweeps()
    job = scheduler.get_job("sweep") if scheduler is not None else None
    when = (f"next run {job.next_run_time:%Y-%m-%d %H:%M:%S %Z}" if job is not None and job.next_run_time
            else "while `signaalbot run` runs")
    sweeps = ", ".join(n for n, _ in SWEEPS) or "no sweeps"
    lines = [("sweep", f"every {SWEEP_SECONDS} s, {when}: outbox + {sweeps}")]
    if core is not None:
        for name, fn in OUTLOOKS:
            lines.append((name, fn(core)))
    return lines
