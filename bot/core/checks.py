"""Check mode: "may this person do this now?" asked of a core step without running it.

An edge asks it on the request path, before it answers a click (bot/teams/edge.py), so that a refusal
is told in the answer itself. Inside `checking`, a step that supports it runs its own checks (inputs,
permissions, state) in the check's session and stops where its writes would begin: it calls
`passed(...)` there, which ends it with that (allowed) Result; a refusal returns as it always does. So
there is one copy of each rule: the step's. A step supports it by

- reading in `session(core)` (the check's session while checking, else its own transaction),
- locking rows only when `locking()` (PostgreSQL refuses FOR UPDATE in a read-only transaction),
- writing a refusal's audit entry through `audit_denial` (while checking: only with `audit`, in a
  transaction of its own, as the check's is read-only),
- calling `passed(result)` right after its checks and before any write, and being wrapped in
  `checkable` (or catching `Passed` itself).

Used by bot/core/cases.py, reminders.py (snooze), training.py (rsvp, attendance) and triage.py (a
draft's steps).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec

from sqlmodel import Session

from bot.core import audit
from bot.core.context import Core
from bot.core.result import Result
from models.db import session_scope

P = ParamSpec("P")


class Passed(Exception):  # noqa: N818 - not an error: a checked step would run
    """Ends a step being checked where its checks end and its writes would begin."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.reference or "")
        self.result = result


@dataclass(frozen=True)
class Checking:
    session: Session
    audit: bool


_CHECKING: ContextVar[Checking | None] = ContextVar("core_check", default=None)


@contextmanager
def checking(core: Core, *, audit: bool = False) -> Iterator[Session]:
    """Inside, the steps that support it only check: each answers what it would answer now — the very
    Result it would refuse with, or ok — and changes nothing. One short read transaction, given to
    the caller too (to find whom it asks for); read-only in the database (PostgreSQL: READ ONLY;
    SQLite: query_only), so a check that would write fails rather than writes. `audit`: a denial is
    written to the audit log as the step writes it (its own small transaction afterwards); without, a
    check writes nothing at all."""
    sqlite = core.engine.dialect.name == "sqlite"
    with core.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA query_only = ON" if sqlite else "SET TRANSACTION READ ONLY")
        try:
            with Session(bind=conn, expire_on_commit=False) as session:
                token = _CHECKING.set(Checking(session, audit))
                try:
                    yield session
                finally:
                    _CHECKING.reset(token)
        finally:
            conn.rollback()
            if sqlite:  # the pooled connection goes back writable, or not at all
                try:
                    conn.exec_driver_sql("PRAGMA query_only = OFF")
                    conn.commit()
                except Exception:
                    conn.invalidate()
                    raise


def active() -> Checking | None:
    """The check under way, or None when steps run for real."""
    return _CHECKING.get()


def locking() -> bool:
    """Whether a step may lock the rows it reads (not while checking: read-only, nothing to guard)."""
    return _CHECKING.get() is None


@contextmanager
def session(core: Core) -> Iterator[Session]:
    """A step's session: the check's while checking (never committed), else one transaction."""
    check = _CHECKING.get()
    if check is not None:
        yield check.session
        return
    with session_scope(core.engine) as own:
        yield own


def passed(result: Result) -> None:
    """Where a step's checks end: a step being checked stops here, allowed (`result`)."""
    if _CHECKING.get() is not None:
        raise Passed(result)


def audit_denial(core: Core, session: Session, actor_id: str | None, action: str, **fields: Any) -> None:
    """A refusal's audit entry: in the step's own transaction when it runs; while checking only with
    `audit` (the work's second check), in a small transaction of its own."""
    check = _CHECKING.get()
    if check is None:
        audit.record(session, actor_id, action, **fields)
    elif check.audit:
        with session_scope(core.engine) as own:
            audit.record(own, actor_id, action, **fields)


def checkable(fn: Callable[P, Result]) -> Callable[P, Result]:
    """A step that calls `passed`: while checking, it answers the Result `passed` carries."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> Result:
        try:
            return fn(*args, **kwargs)
        except Passed as done:
            if _CHECKING.get() is None:
                raise
            return done.result

    return run
