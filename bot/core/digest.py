"""The monthly digest for the ketenregisseur: last month's figures by DM, on the first working day
of the month in office hours, at most once per month and person. A bot that was down then catches
up within the next two working days (a late digest beats none; a new installation mid-month does
not send an old one). The charts (signals per month by form, share that led to a melding, median time
to claim; `bot.core.charts`) follow as a second outbox message whose delivery uploads them as images:
durable and retried like any message, aggregates only."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.core import audit, jobs, outbox, people
from bot.core.context import Core
from bot.core.jobs import sweep
from bot.core.stats import calendar_for
from flows.calendar import WorkingCalendar
from models.db import session_scope


def first_working_day(day: date, cal: WorkingCalendar) -> date:
    first = day.replace(day=1)
    return first if cal.is_working_day(first) else cal.next_working_day(first)


def previous_month(day: date) -> str:
    return (day.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


@sweep("digest")
def digest_sweep(core: Core, now: datetime) -> list[str]:
    cal = calendar_for(core.settings)
    today = now.astimezone(core.settings.tz).date()
    first = first_working_day(today, cal)
    last_chance = cal.next_working_day(cal.next_working_day(first))
    if not first <= today <= last_chance or not cal.is_office_time(now):
        return []
    month, lines = today.strftime("%Y-%m"), []
    with session_scope(core.engine) as session:
        for uid in people.regional(session, "ketenregisseur"):
            if not jobs.claim(session, "digest", f"{month}:{uid}", now):
                continue
            covered = previous_month(today)
            outbox.post(session, template="digest", kind="digest", recipient=uid, ref={"month": covered},
                        contains_details=False, dedupe_key=f"digest:{uid}:{month}", now=now,
                        priority=outbox.BACKGROUND)
            outbox.post(session, template="digest_charts", kind="digest_charts", recipient=uid,
                        ref={"month": covered}, contains_details=False, dedupe_key=f"digest_charts:{uid}:{month}",
                        now=now, priority=outbox.BACKGROUND)
            audit.record(session, "digest", "stats.digest_sent", subject=uid, at=now, month=covered)
            lines.append(f"digest for {covered} to {uid}")
    core.kick()
    return lines
