"""APScheduler 3.x inside `signaalbot run` only *triggers* the sweeps; what is due comes from the
database, so a restart loses nothing and `jobs run-due --at T` runs the very same code."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

if TYPE_CHECKING:
    from bot.runtime import Bot

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60


def _tick(bot: Bot) -> None:
    try:
        for line in bot.run_due():
            log.info("%s", line)
    except Exception:  # noqa: BLE001 - the next tick tries again
        log.exception("scheduled sweep failed")


def start_scheduler(bot: Bot) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1,
                                                                   "misfire_grace_time": SWEEP_SECONDS})
    # coalesce: a bot that was down for a weekend sweeps once, not once per missed minute.
    scheduler.add_job(_tick, "interval", seconds=SWEEP_SECONDS, args=[bot], id="sweep", name="due sweeps")
    scheduler.start()
    return scheduler


def describe_jobs() -> list[tuple[str, str]]:
    from bot.runtime import SWEEPS, load_sweeps

    load_sweeps()
    return [("sweep", f"every {SWEEP_SECONDS} s: outbox + " + (", ".join(n for n, _ in SWEEPS) or "no sweeps"))]
