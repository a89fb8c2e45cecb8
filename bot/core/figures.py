"""The figures on demand (beleid §3.4) — Slack's `/signaal cijfers`, Teams' word "cijfers": who may see
which figures, for which period, and the audit entry of every look. An attention officer (AF or
backup) sees their own municipality, the ketenregisseur the region; anyone else is refused, with what
to do instead. The figures themselves are `bot.core.stats.compute`'s aggregates (small counts as "< N")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from bot.core import access, audit
from bot.core.context import Core
from bot.core.result import Error, Result
from flows.permissions import Denial, stats_scope
from models.db import session_scope

PERIOD = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")


def period(word: str, today: date) -> tuple[date, date] | None:
    """`2026` (a year), `2026-03` (a month), or nothing (this year so far): [first, last] days."""
    if not word:
        return today.replace(month=1, day=1), today
    match = PERIOD.match(word)
    if not match:
        return None
    year = int(match.group(1))
    if match.group(2) is None:
        return date(year, 1, 1), date(year, 12, 31)
    month = int(match.group(2))
    if not 1 <= month <= 12:
        return None
    first = date(year, month, 1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class View:
    """What one look at the figures covers: the days, and each scope shown (None: the region)."""

    first: date
    last: date
    scopes: tuple[frozenset[str] | None, ...]

    def bounds(self, tz: object) -> tuple[datetime, datetime]:
        start = datetime.combine(self.first, time(0), tzinfo=tz).astimezone(UTC)  # type: ignore[arg-type]
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)  # type: ignore[arg-type]
        return start, end


def may_see(core: Core, user_id: str) -> bool:
    with Session(core.engine) as session:
        return stats_scope(access.actor(session, user_id)) is not None


def check(core: Core, user_id: str, word: str) -> Result:
    """What `view` would refuse, without counting or recording anything (a command answers it at once)."""
    if not may_see(core, user_id):
        return Result(False, error=Error.DENIED, reason=Denial.NO_STATS_ROLE)
    if period(word.strip(), core.clock.now().astimezone(core.settings.tz).date()) is None:
        return Result(False, error=Error.INVALID, reason="period")
    return Result(True)


def view(core: Core, user_id: str, word: str) -> Result:
    """May `user_id` see the figures of the period `word`, and which: `data["view"]` is a `View`. The
    look is recorded in the audit log (`stats.viewed`) with the period and the scope."""
    now = core.clock.now()
    with session_scope(core.engine) as session:
        scope = stats_scope(access.actor(session, user_id))
        if scope is None:
            return Result(False, error=Error.DENIED, reason=Denial.NO_STATS_ROLE)
        days = period(word.strip(), now.astimezone(core.settings.tz).date())
        if days is None:
            return Result(False, error=Error.INVALID, reason="period")
        scopes: tuple[frozenset[str] | None, ...] = (
            (None,) if scope.region else tuple(frozenset({name}) for name in sorted(scope.municipalities)))
        audit.record(session, user_id, "stats.viewed", subject=f"{days[0]}..{days[1]}", at=now,
                     municipalities="region" if scope.region else sorted(scope.municipalities))
    return Result(True, data={"view": View(days[0], days[1], scopes)})
