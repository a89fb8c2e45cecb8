"""HTTP mode in two processes: the front answers Slack, the work process does the work.

Slack wants every request acknowledged within 3 seconds. In one Python process the acks share one
interpreter lock with the work they cause (a triage step, rendering and posting messages, the
sweeps), so under load an ack waits for somebody else's work (bench/NOTES.md, part 1). So
`signaalbot run` in HTTP mode forks, before it builds anything:

* the **front** (the parent) serves `/slack/events`: it verifies, acks, and hands each listener's
  after-ack work (`SlackContext.after_ack`, by name and plain-data arguments) to the work process
  through a pipe. Work that must happen in the listener (`views.open` with its trigger_id, modal
  validation) still does.
* the **work process** (the child, at a lower CPU priority: the acks go first, the work has no 3 s
  deadline) builds the same bot and runs the forwarded work, the outbox worker and the scheduler.

Nothing is kept in memory that the database does not also know, except the work between an ack and
its start, exactly as in one process. When the work process is gone (it crashed, or was killed),
the front notices within a second, logs it, and from then on does everything itself, as in one
process; `/healthz` says so. SIGNAAL_WORK_PROCESS=false keeps everything in one process.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable
from typing import Any

from bot.config import Settings

log = logging.getLogger(__name__)

NICE = 10  # the work process's CPU priority below the front (0 is the default, 19 the lowest)
MAX_QUEUED = 10_000  # forwarded items waiting; beyond this the front does the work itself
_KICK = "__kick__"  # deliver the outbox soon (a listener in the front queued messages)
_STOP = "__stop__"


class WorkProcess:
    """The parent's handle on the work process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ctx = multiprocessing.get_context("fork")
        self._queue: Any = None
        self._proc: Any = None
        self._gone = threading.Event()
        self._on_gone: Callable[[], None] | None = None
        self._watch: threading.Thread | None = None

    def start(self) -> None:
        """Fork the work process. Call before the front builds its bot or starts a thread: a fork
        copies only the calling thread, and the child builds everything of its own."""
        self._queue = self._ctx.Queue(MAX_QUEUED)
        gc.freeze()  # keep the imported modules' pages shared with the child (copy-on-write)
        self._proc = self._ctx.Process(target=_child_main, args=(self.settings, self._queue),
                                       name="signaalbot-work", daemon=False)
        self._proc.start()
        gc.unfreeze()
        log.info("work process started (pid %s)", self._proc.pid)

    def watch(self, on_gone: Callable[[], None]) -> None:
        """Call `on_gone` once (from a watcher thread) when the work process ends unasked."""
        self._on_gone = on_gone
        self._watch = threading.Thread(target=self._watch_loop, name="workproc-watch", daemon=True)
        self._watch.start()

    def _watch_loop(self) -> None:
        while not self._gone.is_set():
            self._proc.join(timeout=1.0)
            if self._proc.exitcode is not None and not self._gone.is_set():
                self._gone.set()
                log.error("the work process ended (exit code %s); this process does the work from now on",
                          self._proc.exitcode)
                if self._on_gone is not None:
                    self._on_gone()

    @property
    def alive(self) -> bool:
        return self._proc is not None and not self._gone.is_set() and self._proc.is_alive()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def forward(self, key: str, args: tuple[Any, ...]) -> bool:
        """Hand work to the work process; False when it can't take it (the caller does it)."""
        if not self.alive:
            return False
        try:
            self._queue.put_nowait((key, args))
        except queue.Full:
            log.warning("work process queue full; doing this work in the front")
            return False
        return True

    def kick(self) -> None:
        self.forward(_KICK, ())

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the work process to finish what it was given and stop; wait for it."""
        if self._proc is None:
            return
        was_alive = self.alive
        self._gone.set()
        if was_alive:
            with contextlib.suppress(Exception):
                self._queue.put((_STOP, ()), timeout=5)
        self._proc.join(timeout)
        if self._proc.is_alive():
            log.warning("the work process did not stop in %.0f s; terminating it", timeout)
            self._proc.terminate()
            self._proc.join(5)
        self._queue.close()


def _child_main(settings: Settings, work: Any) -> None:
    from bot.runtime import build_bot, open_database

    with contextlib.suppress(OSError):
        os.nice(NICE)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the front stops us
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    parent = os.getppid()
    bot = build_bot(settings, engine=open_database(settings, migrate=False))  # the front migrated before the fork
    bot.start_background()
    try:
        while not stopping.is_set():
            try:
                key, args = work.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:  # the front is gone without a word
                    break
                continue
            if key == _STOP:
                break
            if key == _KICK:
                bot.worker.kick()
                continue
            try:
                bot.intake.run_work(key, args)
            except Exception:  # noqa: BLE001 - one bad item must not stop the work process
                log.exception("work process: %s failed", key)
    finally:
        bot.stop()  # finishes the work already taken (its acks were given), stops outbox and scheduler
