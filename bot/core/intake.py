"""The durable intake, shared by the platforms' edges: what a request hands on after its answer
(its "after-ack work") is stored in the inbox (bot/core/inbox.py) before the answer goes back, then
runs — in the work process when there is one (bot/workproc.py), else on this process's
`WorkExecutor` — and a crash meanwhile leaves it to the inbox's recovery.

`Intake` holds the table of work by name (`work_fn`: the work process builds the same edges, so the
name finds the same function there), the inbox's writer, the hand-over and the recovery. The Slack
edge's context (bot.slack.common.SlackContext) is one, with Slack's delivery keys and languages on
top; a Teams-only deployment uses a plain one (bot.runtime.build_bot). Nothing here knows a platform.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from bot.core import inbox
from bot.core.context import Core

log = logging.getLogger(__name__)
INBOX = "__inbox__"  # run_work(INBOX, (item_id,)): run a stored inbox item (the work process's hand-over)


class WorkExecutor:
    """Where a request's work goes after its answer (a Slack listener's `ack()`): a few threads
    sized for the database, so Bolt's listener threads return at once and the next request is acked
    without waiting for database work (bench/NOTES.md, part 1). SQLite has one writer: one thread serialises the writes
    instead of sleeping in SQLite's busy handler; PostgreSQL takes more. Bounded: when `max_queued`
    items wait already, the work runs in the caller's thread (back-pressure, as before)."""

    def __init__(self, workers: int, max_queued: int = 1000) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="work")
        self._slots = threading.BoundedSemaphore(max_queued)
        self._closed = False
        self._waiting = 0  # submitted, not finished
        self._count = threading.Lock()

    @classmethod
    def for_database(cls, url: str) -> WorkExecutor:
        return cls(1 if url.startswith("sqlite") else 4)

    def busy(self) -> bool:
        """Work is queued or running here."""
        return self._waiting > 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._count:
            self._waiting += 1
        if self._closed or not self._slots.acquire(blocking=False):
            self._run(fn, args, release=False)
            return
        try:
            self._pool.submit(self._run, fn, args, True)
        except RuntimeError:  # shut down meanwhile
            self._slots.release()
            self._run(fn, args, release=False)

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...], release: bool) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - as Bolt's listener runner does: log, keep serving
            log.exception("work after ack failed in %s", getattr(fn, "__qualname__", fn))
        finally:
            with self._count:
                self._waiting -= 1
            if release:
                self._slots.release()

    def shutdown(self, wait: bool = True) -> None:
        """Finish what was queued (the acks were given), then stop."""
        self._closed = True
        self._pool.shutdown(wait=wait)


def work_key(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"



@dataclass
class Intake:
    core: Core
    work: WorkExecutor | None = field(default=None, repr=False)
    # HTTP mode in two processes (bot/workproc.py): hands (key, args) to the work process; False when
    # it cannot take them (stopped, queue full), and the work runs here as in one process.
    forward: Callable[[str, tuple[Any, ...]], bool] | None = field(default=None, repr=False)
    _work_fns: dict[str, Callable[..., Any]] = field(default_factory=dict, repr=False)

    def work_fn(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Register a piece of after-ack work by name, so the work process (which builds the same
        edges) can run it. Its arguments must be plain data (dicts, strings, numbers)."""
        key = work_key(fn)
        # `!=`, not `is not`: a bound method (self.ephemeral) is a new object at every access.
        if key in self._work_fns and self._work_fns[key] != fn:
            raise ValueError(f"two after-ack functions named {key}")
        self._work_fns[key] = fn
        return fn

    def work_fn_of(self, fn: Callable[..., Any], *, stored_as: tuple[str, ...] = ()) -> None:
        """Register a module-level `fn(ctx, *args)` as after-ack work, bound to this intake (the Slack edge's
        `ctx.after_ack(fn, *args)` then runs `fn(ctx, *args)`). `stored_as`: keys an earlier version
        stored the same work under, so inbox items stored before an upgrade still run."""
        bound = functools.partial(fn, self)
        for key in (work_key(fn), *stored_as):
            known = self._work_fns.get(key)
            if known is not None and getattr(known, "func", None) is not fn:
                raise ValueError(f"two after-ack functions named {key}")
            self._work_fns[key] = bound

    @cached_property
    def writer(self) -> inbox.Writer:
        return inbox.Writer(self.core.engine)

    def hand_over(self, rows: list[inbox.Row], item_ids: list[int | None]) -> None:
        """Stored: now run them, with their arguments at hand (the database is read again only by
        recovery, when a hand-over got lost). On SQLite they were staged (`inbox.Staging`): the
        runner admits them into the inbox first, by their dedupe key."""
        staged = self.core.engine.dialect.name == "sqlite"
        for (dedupe, key, args), item_id in zip(rows, item_ids, strict=True):
            if item_id is None:
                log.info("a repeated delivery was handled before; not again")
                continue
            handed = (item_id, key, args, dedupe if staged else None)
            if self.forward is None or not self.forward(INBOX, handed):
                self.run_item(*handed)

    def run_item(self, item_id: int, key: str, args: list[Any], staged: str | None = None) -> None:
        """Run a stored inbox item that was just handed over: marked done with its effect, unless the
        recovery took it meanwhile (then that one does it). `staged`: its dedupe key, when it waits in
        the staging file (SQLite) to be admitted."""
        item, lookup = inbox.Claimed(item_id, key, args, None), self._work_fns.__getitem__
        call: tuple[Any, ...] = ((inbox.run, self.core.engine, item, lookup) if staged is None else
                                 (inbox.run_staged, self.core.engine, item, staged, lookup))
        if self.work is None:
            call[0](*call[1:])
        else:
            self.work.submit(*call)

    def recovery(self) -> inbox.Recovery:
        """The inbox's recovery for the process that runs the work (started with the outbox)."""
        work = self.work
        return inbox.Recovery(self.core.engine, self._work_fns.__getitem__,
                              busy=(lambda: work.busy()) if work is not None else None)

    def run_work(self, key: str, args: tuple[Any, ...]) -> None:
        """Run work handed over by the front (the work process): a stored inbox item."""
        if key == INBOX:
            self.run_item(*args)
            return
        raise LookupError(f"unknown hand-over {key}")

