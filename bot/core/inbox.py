"""The inbox: work the bot acknowledged, stored before the acknowledgement goes back.

A platform edge answers a delivery (Slack's 3 seconds) only after `store` put what the answer
promises in the database: the registered work's name, its plain-data arguments (JSON, encrypted: a
payload may carry case text) and a dedupe key from the delivery itself, so a retried or doubled
delivery is stored once and takes effect once (`Writer`: one thread, one commit for whatever waits).
Then the edge hands the item (id and arguments) to whoever runs work: the work process, or this
process's executor. `run` marks the item done **in the same transaction as the work's effect** (a
`before_commit` hook on the first session of the work that writes, with a conditional UPDATE), so a
crash before that commit leaves the item to be run again and one after it never runs it twice.
`Recovery` (a thread in the process that runs work) claims — a lease with a random token, `FOR UPDATE
SKIP LOCKED` on PostgreSQL — what was handed over more than GRACE ago and is not done, what was stored
before this process started (a crash, a kill -9, a restart), what a dead runner had claimed, and what
failed and waits for its retry; a handed-over run whose item the recovery claimed meanwhile finds it
no longer its own at commit and rolls its effect back.

After-ack work is one transaction (docs/DEVELOPING.md): a work function that commits several writes
is marked done with the first; a crash between them loses the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, event, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from models import InboxItem
from models.base import error_name

log = logging.getLogger(__name__)

T = InboxItem.__table__  # type: ignore[attr-defined]
LEASE = timedelta(seconds=60)  # a claimed item whose runner died is taken again after this
GRACE = timedelta(seconds=10)  # an item handed over but not claimed (lost on the way) waits this long
MAX_ATTEMPTS = 5  # then it is parked as failed (logged at ERROR)
BACKOFF = (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10))
RECOVER_EVERY = 2.0  # seconds between looks for items to recover
MEMORY = timedelta(days=2)  # done items (their keys) are kept this long against late retries
FAILED_MEMORY = timedelta(days=7)  # failed items (with their encrypted payload) for an operator to see


def now() -> datetime:
    # The wall clock, not core.clock: leases are about processes, and tests travel the bot's clock.
    return datetime.now(UTC)


class AlreadyDone(Exception):
    """The item was done (or claimed anew) by another runner meanwhile: this run's effect is undone."""


@dataclass
class _Running:
    id: int
    claim: str | None
    marked: bool = False
    aside: int = 0
    children: int = 0


_CURRENT: ContextVar[_Running | None] = ContextVar("inbox_item", default=None)


Row = tuple[str, str, Any]  # (dedupe key, work, arguments)


class _Insert:
    """The inbox's INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING RETURNING id, dedupe_key: one
    statement for a whole batch (on PostgreSQL one round trip, and in autocommit one round trip with
    its commit), compiled once per batch size and run on the driver's cursor — the ack path pays for
    the statement and its commit, not for building, caching and compiling it per row (bench/NOTES.md,
    part 1). The values go through the columns' own bind processors (the encryption of `args`, the UTC
    datetimes), as they would through SQLAlchemy."""

    COLUMNS = ("dedupe_key", "work", "received_at", "attempts", "args")

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect
        self.process = [(name, T.c[name].type.bind_processor(engine.dialect)) for name in self.COLUMNS]
        self._compiled: dict[int, tuple[str, list[str] | None]] = {}

    def _statement(self, n: int) -> tuple[str, list[str] | None]:
        found = self._compiled.get(n)
        if found is None:
            if self.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as dialect_insert
            else:
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            stmt = (dialect_insert(T).values([{name: bindparam(f"{name}_{i}") for name in self.COLUMNS}
                                              for i in range(n)])
                    .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(T.c.id, T.c.dedupe_key))
            compiled = stmt.compile(dialect=self.dialect)
            found = self._compiled[n] = (compiled.string,
                                         list(compiled.positiontup or ()) if compiled.positional else None)
        return found

    def run(self, cursor: Any, rows: list[Row], at: datetime | list[datetime]) -> list[int | None]:
        """Per row its new id, or None: its key was stored before (or earlier in this batch). `at`: when
        they were received (one moment for all, or one per row)."""
        sql, order = self._statement(len(rows))
        values: dict[str, Any] = {}
        for i, (dedupe_key, work, args) in enumerate(rows):
            row = {"dedupe_key": dedupe_key[:200], "work": work, "attempts": 0,
                   "received_at": at[i] if isinstance(at, list) else at,
                   "args": json.dumps(args, separators=(",", ":"), ensure_ascii=False)}
            for name, process in self.process:
                values[f"{name}_{i}"] = process(row[name]) if process is not None else row[name]
        cursor.execute(sql, values if order is None else tuple(values[name] for name in order))
        stored = {key: item_id for item_id, key in cursor.fetchall()}
        return [stored.pop(key[:200], None) for key, _, _ in rows]


_INSERTS: dict[tuple[str, str, str], _Insert] = {}  # per dialect, driver and parameter style


def _insert_for(engine: Engine) -> _Insert:
    kind = (engine.dialect.name, engine.driver, engine.dialect.paramstyle)
    insert = _INSERTS.get(kind)
    if insert is None:
        insert = _INSERTS[kind] = _Insert(engine)
    return insert


def store(engine: Engine, rows: list[Row], received: list[datetime] | None = None) -> list[int | None]:
    """Store pieces of acknowledged work in the inbox table, in one transaction (one commit: one wait
    for the disk, however many). Per row its id, or None: that delivery was stored before (a retry, a
    double delivery)."""
    insert = _insert_for(engine)
    at: datetime | list[datetime] = received if received is not None else now()

    def write(conn: Any) -> list[int | None]:
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            return insert.run(cursor, rows, at)
        finally:
            cursor.close()

    if engine.dialect.name == "sqlite":
        return _sqlite_write(engine, write)
    with engine.begin() as conn:
        return write(conn)


def record(engine: Engine, dedupe_key: str, work: str, args: Any) -> int | None:
    """Store one piece of acknowledged work. None: this delivery was stored before."""
    return store(engine, [(dedupe_key, work, args)])[0]


SQLITE_WAIT = 30.0  # seconds, as the engine's busy_timeout


def _sqlite_write(engine: Engine, write: Callable[[Any], Any]) -> Any:
    """SQLite has one writer at a time. Its busy handler, waiting for the work process's write to end,
    sleeps 25 to 100 ms between tries once it has tried a few times: on the ack path that is the whole
    latency budget. So the acknowledging process tries again itself, every fraction of a millisecond."""
    deadline, pause = time.monotonic() + SQLITE_WAIT, 0.0002
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        conn.commit()  # (SQLAlchemy began a transaction around the PRAGMA)
        try:
            while True:
                try:
                    with conn.begin():
                        return write(conn)
                except (OperationalError, engine.dialect.dbapi.OperationalError) as exc:
                    # SQLAlchemy's wrapper, or the driver's own from the prepared insert on its cursor
                    if "locked" not in str(getattr(exc, "orig", exc)) or time.monotonic() > deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 1.5, 0.002)
        finally:
            conn.exec_driver_sql("PRAGMA busy_timeout=30000")
            conn.commit()


WRITERS = 2  # writer threads (and connections) on PostgreSQL


_STOP: Any = object()  # Writer.close(): a writer thread ends when it takes this from the queue


class Writer:
    """Stores inbox items for the process that acknowledges, off its event loop: one thread with its
    own database connection, and one transaction for whatever waits when it gets to it, so concurrent
    requests share a commit. On SQLite it writes them to the staging file (`Staging`), never waiting
    for the work process's writes to the database."""

    MAX_BATCH = 64

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._local = threading.local()  # each writer thread's own pooled DBAPI connection
        self._stage: Staging | None = None  # SQLite: the staging file
        # PostgreSQL: two writers, so a batch need not wait for the previous one's commit (its wait
        # for the disk) to begin; the server flushes concurrent commits together. SQLite: one.
        self.writers = 1 if engine.dialect.name == "sqlite" else WRITERS
        self._closed = False

    def close(self, timeout: float = 5.0) -> None:
        """Stop the writer threads once what waits is stored, and give back their connections (the bot
        stops: nothing is acknowledged after this; a late submit fails, so its request is not acked)."""
        with self._lock:
            self._closed = True
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(_STOP)
        for thread in threads:
            thread.join(timeout)

    def submit(self, rows: list[Row]) -> Future[list[int | None]]:
        """From any thread: a future of the rows' ids (None: stored before)."""
        future: Future[list[int | None]] = Future()
        self._put(rows, future)
        return future

    def submit_async(self, rows: list[Row]) -> asyncio.Future[list[int | None]]:
        """From an event loop: an awaitable of the rows' ids, resolved with one wake-up of the loop for
        everything the batch stored."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int | None]] = loop.create_future()
        self._put(rows, future)
        return future

    def _put(self, rows: list[Row], future: Any) -> None:
        if self._closed:
            self._settle([(future, None, RuntimeError("the inbox writer is closed: the bot is stopping"))])
            return
        self._queue.put((rows, future))
        if len(self._threads) < self.writers or not all(t.is_alive() for t in self._threads):
            with self._lock:
                if self._closed:  # close() came between: one thread more stores what was queued, then stops
                    threading.Thread(target=self._loop, name="inbox-writer", daemon=True).start()
                    self._queue.put(_STOP)
                    return
                self._threads = [t for t in self._threads if t.is_alive()]
                while len(self._threads) < self.writers:
                    thread = threading.Thread(target=self._loop, name="inbox-writer", daemon=True)
                    thread.start()
                    self._threads.append(thread)

    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            with contextlib.suppress(queue.Empty):
                while len(batch) < self.MAX_BATCH:
                    item = self._queue.get_nowait()
                    if item is _STOP:
                        stop = True
                        break
                    batch.append(item)
            try:
                ids = self._store([row for rows, _ in batch for row in rows])
            except Exception as exc:  # noqa: BLE001 - each waiting request answers with the failure
                self._settle([(future, None, exc) for _, future in batch])
                continue
            at, outcomes = 0, []
            for rows, future in batch:
                outcomes.append((future, ids[at:at + len(rows)], None))
                at += len(rows)
            self._settle(outcomes)
        self._drop()  # its own connection (autocommit): closed, not back to the pool

    @staticmethod
    def _settle(outcomes: list[tuple[Any, list[int | None] | None, BaseException | None]]) -> None:
        loops: dict[Any, list[tuple[Any, Any, Any]]] = {}
        for outcome in outcomes:
            future = outcome[0]
            if isinstance(future, asyncio.Future):
                loops.setdefault(future.get_loop(), []).append(outcome)
            elif outcome[2] is not None:
                future.set_exception(outcome[2])
            else:
                future.set_result(outcome[1])
        for loop, waiting in loops.items():
            with contextlib.suppress(RuntimeError):  # that loop was closed meanwhile: nobody waits
                loop.call_soon_threadsafe(_settle_on_loop, waiting)

    def _store(self, rows: list[Row]) -> list[int | None]:
        if self.engine.dialect.name == "sqlite":
            return self._staging().stage(rows)
        insert = _insert_for(self.engine)
        while True:
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = self.engine.raw_connection()
                # The batch is one statement: in autocommit, one round trip with its commit.
                conn.driver_connection.autocommit = True
            try:
                cursor = conn.cursor()
                try:
                    return insert.run(cursor, rows, now())
                finally:
                    cursor.close()
            except self.engine.dialect.dbapi.Error:
                self._drop()  # a broken connection is not used again
                raise

    def _staging(self) -> Staging:
        if self._stage is None:
            self._stage = Staging.of(self.engine)
        return self._stage

    def _drop(self) -> None:
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()


def _settle_on_loop(waiting: list[tuple[Any, Any, Any]]) -> None:
    for future, ids, exc in waiting:
        if future.done():
            continue  # the request went away (cancelled)
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(ids)


class Staging:
    """SQLite only: where the acknowledging process stores acknowledged work before the ack — a small
    SQLite file of its own beside the database (`<name>-inbox.db`, 0600, WAL, the database's
    durability), so the ack never waits for SQLite's one write lock while the work process writes
    (bench/NOTES.md, part 1: that wait was the whole tail). The process that runs the work *admits* a
    staged item into the inbox table (`admit`: INSERT … ON CONFLICT DO NOTHING on the dedupe key) and
    then deletes it here; from there on everything is as on PostgreSQL: done with its effect, claimed
    by the recovery, retried, parked. The recovery admits what a crash left here (at start all of it,
    later what is older than GRACE). A file outside the schema's migrations: one fixed table, a queue
    of seconds, recreated when missing."""

    SCHEMA = ("CREATE TABLE IF NOT EXISTS staged (id INTEGER PRIMARY KEY AUTOINCREMENT, dedupe_key TEXT NOT NULL "
              "UNIQUE, work TEXT NOT NULL, args TEXT NOT NULL, received_at TEXT NOT NULL)")

    def __init__(self, path: str) -> None:
        import sqlite3

        from models.db import private_sqlite_files

        private_sqlite_files(Path(path))
        self.path = path
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA cache_size=-256")  # KiB: a queue of seconds needs no 2 MB page cache
        self.conn.execute(self.SCHEMA)
        self._lock = threading.Lock()  # one connection, used by one thread at a time

    _OPEN: dict[str, Staging] = {}
    _OPEN_LOCK = threading.Lock()

    @classmethod
    def of(cls, engine: Engine) -> Staging:
        """The staging file of this SQLite database (one connection per file and process)."""
        database = engine.url.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            raise ValueError("the inbox's staging needs a SQLite database in a file")
        main = Path(database)
        path = str(main.with_name(f"{main.stem}-inbox{main.suffix or '.db'}"))
        with cls._OPEN_LOCK:
            if path not in cls._OPEN or not Path(path).exists():
                cls._OPEN[path] = cls(path)
            return cls._OPEN[path]

    def stage(self, rows: list[Row]) -> list[int | None]:
        """Store rows (one transaction); per row its staged id, or None: staged before and not admitted yet."""
        from models import crypto

        received = now().isoformat(timespec="microseconds")
        marks = ", ".join("(?, ?, ?, ?)" for _ in rows)
        params: list[Any] = []
        for dedupe_key, work, args in rows:
            params += [dedupe_key[:200], work, crypto.encrypt(json.dumps(args, separators=(",", ":"),
                                                                        ensure_ascii=False)), received]
        with self._lock:
            found = self.conn.execute(f"INSERT INTO staged (dedupe_key, work, args, received_at) VALUES {marks} "  # noqa: S608 - placeholders only
                                      "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key", params).fetchall()
        ids = {key: staged_id for staged_id, key in found}
        return [ids.pop(key[:200], None) for key, _, _ in rows]

    def older(self, than: datetime | None) -> list[tuple[int, str, str, list[Any], datetime]]:
        from models import crypto

        sql = "SELECT id, dedupe_key, work, args, received_at FROM staged"
        with self._lock:
            rows = (self.conn.execute(sql + " ORDER BY id").fetchall() if than is None else
                    self.conn.execute(sql + " WHERE received_at < ? ORDER BY id",
                                      [than.isoformat(timespec="microseconds")]).fetchall())
        return [(r[0], r[1], r[2], json.loads(crypto.decrypt(r[3])), datetime.fromisoformat(r[4])) for r in rows]

    def forget(self, ids: list[int]) -> None:
        if ids:
            with self._lock:
                self.conn.execute(f"DELETE FROM staged WHERE id IN ({', '.join('?' for _ in ids)})", ids)  # noqa: S608

    def count(self) -> int:
        with self._lock:
            return int(self.conn.execute("SELECT count(*) FROM staged").fetchone()[0])


def admit(engine: Engine, staged_id: int, dedupe_key: str, work: str, args: Any) -> int | None:
    """Move a handed-over staged item into the inbox table (its id there), or None: the inbox knew its
    key already (the recovery admitted it meanwhile, or a retried delivery whose first was done)."""
    [item_id] = store(engine, [(dedupe_key, work, args)])
    try:
        Staging.of(engine).forget([staged_id])  # one small statement on the staging file
    except Exception as exc:  # noqa: BLE001 - left there, the recovery admits it again: a no-op, then forgets it
        log.warning("could not remove an admitted item from the inbox's staging (%s)", error_name(exc))
    return item_id


def run_staged(engine: Engine, item: Claimed, dedupe_key: str, lookup: Callable[[str], Callable[..., Any]]) -> None:
    """Run a handed-over item that was staged (SQLite): admitted first, then as any handed-over item."""
    item_id = admit(engine, item.id, dedupe_key, item.work, item.args)
    if item_id is None:
        log.info("a repeated delivery was handled before; not again")
        return
    run(engine, Claimed(item_id, item.work, item.args, None), lookup)


def admit_staged(engine: Engine, started: datetime, busy: bool = False) -> int:
    """Recovery on SQLite: admit what was staged before this process started (a crash, a kill) or more
    than GRACE ago (a hand-over that got lost), and delete from staging what was admitted."""
    stage, at = Staging.of(engine), now()
    rows = stage.older(started if busy else max(started, at - GRACE))  # busy: see claim_due
    if not rows:
        return 0
    store(engine, [(key, work, args) for _, key, work, args, _ in rows], [row[4] for row in rows])
    stage.forget([row[0] for row in rows])
    return len(rows)


def _open(at: datetime) -> Any:
    """Not done, not parked, and free to claim: never claimed, or its lease or backoff is over."""
    return and_(T.c.done_at.is_(None), T.c.failed_at.is_(None),
                or_(T.c.claimed_until.is_(None), T.c.claimed_until < at))


@dataclass
class Claimed:
    id: int
    work: str
    args: list[Any]
    claim: str | None  # None: just handed over, not claimed (the recovery never takes a fresh item)


def _claim(engine: Engine, where: Any, limit: int) -> list[Claimed]:
    token, at = uuid.uuid4().hex, now()
    with engine.begin() as conn:
        ids = conn.execute(select(T.c.id).where(_open(at), where).order_by(T.c.id).limit(limit)
                           .with_for_update(skip_locked=True)).scalars().all()
        if not ids:
            return []
        conn.execute(update(T).where(T.c.id.in_(ids), _open(at))
                     .values(claim=token, claimed_until=at + LEASE, attempts=T.c.attempts + 1))
        rows = conn.execute(select(T.c.id, T.c.work, T.c.args).where(T.c.claim == token).order_by(T.c.id)).all()
    return [Claimed(row.id, row.work, json.loads(row.args or "[]"), token) for row in rows]


def claim(engine: Engine, item_id: int) -> Claimed | None:
    """Claim one item that was just handed over (None: done, or another runner has it): one
    conditional UPDATE … RETURNING, the cheap path every piece of work takes."""
    token, at = uuid.uuid4().hex, now()
    with engine.begin() as conn:
        row = conn.execute(update(T).where(T.c.id == item_id, _open(at))
                           .values(claim=token, claimed_until=at + LEASE, attempts=T.c.attempts + 1)
                           .returning(T.c.work, T.c.args)).first()
    return Claimed(item_id, row.work, json.loads(row.args or "[]"), token) if row is not None else None


def claim_due(engine: Engine, started: datetime, limit: int = 50, busy: bool = False) -> list[Claimed]:
    """Items to recover: handed over before `started` (this process's start: nobody else remembers
    them) or more than GRACE ago and still unclaimed, or whose lease or backoff is over. `busy`: this
    process has a queue of work handed to it — then an unclaimed item older than GRACE is most likely
    waiting in that queue, not lost, and is left to it (taking it too would do the work twice, the
    second run rolled back); only what is older than this process and what a lease lets go are taken."""
    at = now()
    if busy:
        return _claim(engine, or_(T.c.claimed_until.is_not(None), T.c.received_at < started), limit)
    fresh = and_(T.c.claimed_until.is_(None), T.c.received_at >= started, T.c.received_at > at - GRACE)
    return _claim(engine, ~fresh, limit)


def run(engine: Engine, item: Claimed, lookup: Callable[[str], Callable[..., Any]]) -> None:
    """Run a claimed item's work; done with its effect, or recorded for a retry."""
    state = _Running(item.id, item.claim)
    token = _CURRENT.set(state)
    try:
        lookup(item.work)(*item.args)
    except AlreadyDone:
        log.info("inbox item #%s was done by another runner; this run's effect was rolled back", item.id)
        return
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the runner
        if state.marked:
            log.error("after-ack work %s (inbox #%s) failed after its effect was stored: %s", item.work, item.id,
                      error_name(exc))
        else:
            _failed(engine, item, exc)
        return
    finally:
        _CURRENT.reset(token)
    if not state.marked:  # work that wrote nothing to the database (a Web API call only)
        with engine.begin() as conn:
            conn.execute(_done_stmt(state))


def run_id(engine: Engine, item_id: int, lookup: Callable[[str], Callable[..., Any]]) -> None:
    item = claim(engine, item_id)
    if item is not None:
        run(engine, item, lookup)


def _mine(claim: str | None) -> Any:
    """The item is still this runner's: its claim, or (just handed over) nobody's claim."""
    return T.c.claim == claim if claim is not None else T.c.claim.is_(None)


def _done_stmt(state: _Running) -> Any:
    return (update(T).where(T.c.id == state.id, _mine(state.claim), T.c.done_at.is_(None))
            .values(done_at=now(), args=None, claim=None, claimed_until=None, last_error=None))


def _failed(engine: Engine, item: Claimed, exc: Exception) -> None:
    with engine.begin() as conn:
        attempts = conn.execute(select(T.c.attempts).where(T.c.id == item.id)).scalar() or 0
        if item.claim is None:  # a handed-over run is not counted by a claim: count it here
            attempts += 1
            conn.execute(update(T).where(T.c.id == item.id).values(attempts=attempts))
        parked = attempts >= MAX_ATTEMPTS
        values: dict[str, Any] = {"claim": None, "last_error": error_name(exc)[:200]}
        if parked:
            values["failed_at"] = now()
        else:
            values["claimed_until"] = now() + BACKOFF[min(attempts, len(BACKOFF)) - 1]
        conn.execute(update(T).where(T.c.id == item.id, _mine(item.claim), T.c.done_at.is_(None)).values(**values))
    if parked:
        log.error("after-ack work %s (inbox #%s) failed %s times (%s); parked as failed", item.work, item.id,
                  attempts, error_name(exc))
    else:
        log.warning("after-ack work %s (inbox #%s) failed (%s); it is tried again", item.work, item.id,
                    error_name(exc))


def child_key() -> str | None:
    """The dedupe key for work that the running item's work hands on itself: the same, in order,
    when the item is run again after a crash (None outside an item's work)."""
    state = _CURRENT.get()
    if state is None:
        return None
    state.children += 1
    return f"item:{state.id}#{state.children}"


@contextlib.contextmanager
def aside() -> Iterator[None]:
    """Writes in this block are not the item's effect (learning a user's language before the work)."""
    state = _CURRENT.get()
    if state is None:
        yield
        return
    state.aside += 1
    try:
        yield
    finally:
        state.aside -= 1


@event.listens_for(Session, "before_commit")
def _done_with_the_effect(session: Session) -> None:
    state = _CURRENT.get()
    if state is None or state.marked or state.aside:
        return
    if not (session.info.get("wrote") or session.new or session.dirty or session.deleted):
        return  # a read: the effect is still to come
    if session.execute(_done_stmt(state)).rowcount != 1:
        raise AlreadyDone(state.id)
    state.marked = True


@event.listens_for(Session, "do_orm_execute")
def _note_writes(orm_state: Any) -> None:
    if orm_state.is_insert or orm_state.is_update or orm_state.is_delete:
        orm_state.session.info["wrote"] = True


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _flush_context: Any) -> None:
    session.info["wrote"] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_writes(session: Session) -> None:
    session.info.pop("wrote", None)


class Recovery:
    """A thread that runs what was acknowledged but is not done: at start at once, then every
    RECOVER_EVERY seconds (items never claimed, leases of dead runners, retries after backoff)."""

    def __init__(self, engine: Engine, lookup: Callable[[str], Callable[..., Any]],
                 every: float = RECOVER_EVERY, busy: Callable[[], bool] | None = None) -> None:
        self.engine, self.lookup, self.every = engine, lookup, every
        self.busy = busy or (lambda: False)  # whether this process has handed-over work queued
        self.started = now()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Recovery:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="inbox-recovery", daemon=True)
            self._thread.start()
        return self

    def run_once(self) -> int:
        done = 0
        if self.engine.dialect.name == "sqlite":
            admitted = admit_staged(self.engine, self.started, busy=self.busy())
            if admitted:
                log.info("admitted %s acknowledged request(s) from the inbox's staging", admitted)
        while not self._stop.is_set():
            items = claim_due(self.engine, self.started, busy=self.busy())
            if not items:
                break
            for item in items:
                log.info("recovering acknowledged work %s (inbox #%s)", item.work, item.id)
                run(self.engine, item, self.lookup)
                done += 1
        return done

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - the database may be away for a moment; look again later
                log.warning("inbox recovery could not look for work (%s); trying again", error_name(exc))
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def forget(engine: Engine, at: datetime) -> int:
    """Housekeeping: done items past MEMORY and failed ones past FAILED_MEMORY."""
    with engine.begin() as conn:
        return conn.execute(T.delete().where(or_(
            and_(T.c.done_at.is_not(None), T.c.done_at < at - MEMORY),
            and_(T.c.failed_at.is_not(None), T.c.failed_at < at - FAILED_MEMORY)))).rowcount


@dataclass(frozen=True)
class Waiting:
    id: int
    work: str
    received_at: datetime
    attempts: int
    last_error: str | None
    failed: bool


def waiting(engine: Engine) -> list[Waiting]:
    """What was acknowledged and is not done: parked failures and work still to run (no payloads)."""
    with engine.connect() as conn:
        rows = conn.execute(select(T.c.id, T.c.work, T.c.received_at, T.c.attempts, T.c.last_error, T.c.failed_at)
                            .where(T.c.done_at.is_(None)).order_by(T.c.id)).all()
    return [Waiting(r.id, r.work, r.received_at, r.attempts, r.last_error, r.failed_at is not None) for r in rows]


def unfinished(engine: Engine) -> int:
    """Acknowledged work not done yet: in the inbox table, and (SQLite) still in the staging file."""
    with engine.connect() as conn:
        count = int(conn.execute(select(func.count()).select_from(T).where(T.c.done_at.is_(None))).scalar() or 0)
    return count + (Staging.of(engine).count() if engine.dialect.name == "sqlite" else 0)


def failed_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(T).where(
            T.c.failed_at.is_not(None), T.c.done_at.is_(None))).scalar() or 0)


def requeue(engine: Engine, *, ids: list[int] | None = None, failed: bool = False) -> int:
    """Run parked (or given) items again with fresh attempts: the running bot's recovery takes them."""
    which = []
    if ids:
        which.append(T.c.id.in_(ids))
    if failed:
        which.append(T.c.failed_at.is_not(None))
    if not which:
        return 0
    with engine.begin() as conn:
        return int(conn.execute(update(T).where(or_(*which), T.c.done_at.is_(None)).values(
            failed_at=None, attempts=0, claim=None, claimed_until=None)).rowcount or 0)
