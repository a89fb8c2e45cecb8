"""The outbox: every message that matters is written in the same transaction as the state change
that causes it, then delivered by a worker with retries and backoff.

A platform edge (Slack now, Teams later) supplies a `Deliverer` that renders a MessageRef from
current database state and sends it. The outbox itself knows nothing of Slack.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import case, func, insert, or_
from sqlalchemy import update as sa_update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models import MessageRef, OutboxMessage
from models.base import column_values, insert_rows, without_nulls
from models.db import session_scope

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=10)
LEASE = timedelta(seconds=90)
# Permanent errors are retried a few times (a channel may be fixed by an admin), then parked.
MAX_PERMANENT_ATTEMPTS = 5

# Delivery order among due items (OutboxMessage.priority, lowest first; then posts before updates, then
# oldest first). With many people at work the outbox has a queue; these decide who waits in it.
URGENT = 0  # the user was just told it is on its way: the DM that `/signaal`'s answer announces
INTERACTIVE = 1  # the answer to what someone just did (the next question, a case action's result)
BACKGROUND = 2  # what no one is waiting for at this moment: reminders, invitations, digests


@dataclass(frozen=True)
class Delivered:
    channel: str | None = None
    ts: str | None = None


class TransientError(Exception):
    """Try again later (rate limit, 5xx, network)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentError(Exception):
    """The platform refused the message; retrying the same thing will not help soon."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotReady(Exception):
    """A message this one depends on (its thread root, its own post) is not delivered yet."""


# template → fn(session, msg, error) -> bool: a permanent failure is handled another way (e.g. a case
# card that cannot reach the municipality's channel goes to the AFs by DM). True: do not retry.
FALLBACKS: dict[str, Callable[[Session, MessageRef, str], bool]] = {}


class Deliverer(Protocol):
    def __call__(self, session: Session, op: str, ref: MessageRef) -> Delivered: ...


def post(
    session: Session,
    *,
    template: str,
    kind: str | None = None,
    recipient: str | None = None,
    channel: str | None = None,
    signal_id: int | None = None,
    parent: MessageRef | None = None,
    ref: dict[str, Any] | None = None,
    contains_details: bool = True,
    dedupe_key: str | None = None,
    now: datetime | None = None,
    priority: int = INTERACTIVE,
) -> MessageRef:
    """Queue a new message to `recipient` (a user: their DM with the bot) or `channel`,
    as a reply in `parent`'s thread when given."""
    msg = MessageRef(
        signal_id=signal_id, kind=kind or template, template=template, ref=ref or {}, recipient=recipient,
        channel=channel, parent_id=parent.id if parent else None, contains_details=contains_details,
    )
    if now:
        msg.created_at = now
    session.add(msg)
    session.flush()
    _enqueue(session, "post", msg, dedupe_key, now, priority)
    return msg


@dataclass(slots=True)
class NewPost:
    """One message for `post_many`: what `post` takes (the parent by id); `id` is its MessageRef's
    id once written."""

    template: str
    kind: str | None = None
    recipient: str | None = None
    channel: str | None = None
    signal_id: int | None = None
    parent_id: int | None = None
    ref: dict[str, Any] = field(default_factory=dict)
    contains_details: bool = True
    dedupe_key: str | None = None
    priority: int = INTERACTIVE
    id: int | None = None


def post_many(session: Session, posts: list[NewPost], now: datetime) -> None:
    """Queue many new messages at once: the same rows `post` writes one by one (each MessageRef and
    its outbox item, in this order), with one INSERT per table. Sets each post's `id`."""
    if not posts:
        return
    refs = [column_values(MessageRef, signal_id=p.signal_id, kind=p.kind or p.template, template=p.template,
                          ref=p.ref, recipient=p.recipient, channel=p.channel, parent_id=p.parent_id,
                          contains_details=p.contains_details, created_at=now) for p in posts]
    for item, ref_id in zip(posts, _insert_message_refs(session, without_nulls(MessageRef.__table__, refs)),
                            strict=True):
        item.id = ref_id
    insert_rows(session, OutboxMessage.__table__, without_nulls(OutboxMessage.__table__, [
        column_values(OutboxMessage, op="post", message_ref_id=p.id, dedupe_key=p.dedupe_key, created_at=now,
                      next_attempt_at=now, priority=p.priority) for p in posts]))


def _insert_message_refs(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert MessageRef rows; their new ids, in the order of `rows`."""
    table = MessageRef.__table__
    if session.get_bind().dialect.name == "postgresql":
        # The ids come from the table's sequence first: an INSERT … RETURNING of many rows would cost
        # the driver a parse of every placeholder, and SQLAlchemy an extra sort to keep their order.
        ids = sorted(session.execute(select(func.nextval(func.pg_get_serial_sequence(table.name, "id")))
                                     .select_from(func.generate_series(1, len(rows)))).scalars())
        insert_rows(session, table, [{"id": ref_id, **row} for row, ref_id in zip(rows, ids, strict=True)])
        return ids
    # SQLite returns inserted rows in no set order, so SQLAlchemy would insert them one per statement to
    # keep it. But it numbers new rows in the order they are inserted (the largest rowid + 1): insert
    # them together and sort the ids — checked against the rows, in case that ever stops holding.
    keys = ("signal_id", "kind", "recipient", "channel", "parent_id")
    got = sorted(session.execute(insert(table).returning(table.c.id, *(table.c[k] for k in keys)), rows).all())
    if [tuple(row[1:]) for row in got] != [tuple(row.get(k) for k in keys) for row in rows]:
        raise RuntimeError("messageref: inserted rows came back in another order than they were given")
    return [row[0] for row in got]


def update(session: Session, msg: MessageRef, now: datetime | None = None) -> None:
    """Queue a re-render of `msg` from current state; pending updates of one message collapse."""
    pending = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.message_ref_id == msg.id, OutboxMessage.op == "update", OutboxMessage.status == "pending"
        )
    ).first()
    if pending is None:
        _enqueue(session, "update", msg, None, now)


def redact(session: Session, msg: MessageRef, now: datetime | None = None) -> None:
    _enqueue(session, "redact", msg, None, now)


def _enqueue(session: Session, op: str, msg: MessageRef, dedupe_key: str | None, now: datetime | None,
             priority: int = INTERACTIVE) -> None:
    assert msg.id is not None
    item = OutboxMessage(op=op, message_ref_id=msg.id, dedupe_key=dedupe_key, priority=priority)
    if now:
        item.created_at = now
        item.next_attempt_at = now
    session.add(item)
    session.flush()


def backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempts, 10)))


class OutboxWorker:
    """Delivers due outbox items. Safe with several processes: an item is leased with a
    conditional UPDATE before it is sent, and marked sent right after the platform said ok."""

    def __init__(self, engine: Engine, deliver: Deliverer, now: Callable[[], datetime],
                 on_sent: Callable[[MessageRef], None] | None = None, threads: int = 1) -> None:
        self.engine = engine
        self.deliver = deliver
        self.now = now
        self.on_sent = on_sent
        self.threads = max(1, threads)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._run_lock = threading.RLock()  # a whole drain() at a time; the loops take it per pick
        self._lane_freed = threading.Condition(self._run_lock)
        self._busy_lanes: set[int] = set()  # conversations a thread of this worker is delivering to

    # -- background loop -------------------------------------------------------------------
    def start(self, poll_seconds: float = 1.0) -> None:
        """`threads` delivery loops. Each message belongs to a lane (its thread in Slack: the root
        message and its replies), and a lane is delivered by one loop at a time, so the messages of
        one conversation keep their order while different conversations go out side by side."""
        for n in range(self.threads):
            thread = threading.Thread(target=self._loop, args=(poll_seconds,), name=f"outbox-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def kick(self) -> None:
        """Deliver soon: called after a transaction that queued messages."""
        self._wake.set()

    def _loop(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=poll_seconds)
            self._wake.clear()
            try:
                self._round(exclusive=False)
            except Exception:  # noqa: BLE001 - the loop must survive a database hiccup
                log.exception("outbox: delivery round failed; trying again")

    # -- one round -------------------------------------------------------------------------
    def run_once(self, limit: int = 200) -> list[tuple[str, MessageRef, str]]:
        """Deliver what is due; returns (outcome, message, op) per attempted item."""
        return self._round(exclusive=True, limit=limit)

    def _round(self, exclusive: bool, limit: int = 200) -> list[tuple[str, MessageRef, str]]:
        results: list[tuple[str, MessageRef, str]] = []
        skipped: set[int] = set()
        if exclusive:
            self._run_lock.acquire()
        try:
            while len(results) < limit and not (self._stop.is_set() and not exclusive):
                picked = self._pick(skipped)
                if picked is None:
                    if exclusive and self._busy_lanes:
                        # drain(): what the loops are delivering right now belongs to this round too.
                        self._lane_freed.wait(timeout=1.0)
                        continue
                    break
                item_id, lane = picked
                try:
                    outcome = self._attempt(item_id)
                finally:
                    with self._run_lock:
                        self._busy_lanes.discard(lane)
                        self._lane_freed.notify_all()
                if outcome is None:
                    continue
                if outcome[0] == "not_ready":
                    skipped.add(item_id)
                elif outcome[0] == "sent" and not exclusive:
                    self._wake.set()  # a post may have freed replies waiting for it: let idle loops look
                results.append(outcome)
        finally:
            if exclusive:
                self._run_lock.release()
        return results

    def drain(self, rounds: int = 20) -> list[tuple[str, MessageRef, str]]:
        """Deliver until nothing due is left (used by `jobs run-due` and tests)."""
        done: list[tuple[str, MessageRef, str]] = []
        for _ in range(rounds):
            batch = self.run_once()
            done += batch
            if not any(outcome == "sent" for outcome, _, _ in batch):
                break
        return done

    def pending_count(self) -> int:
        with Session(self.engine) as session:
            return len(session.exec(select(OutboxMessage.id).where(
                col(OutboxMessage.status).in_(["pending", "sending"]))).all())

    def _pick(self, skipped: set[int]) -> tuple[int, int] | None:
        """The next due item whose lane no other loop of this worker is delivering to: leased in the
        same transaction that found it (another process may lease it first: then the next one), and
        its lane marked busy."""
        with self._run_lock:
            now = self.now()
            with session_scope(self.engine) as session:
                for item_id, lane in self._next_due(session, now, len(skipped) + len(self._busy_lanes) + 8):
                    if item_id in skipped or lane in self._busy_lanes:
                        continue
                    if self._lease(session, item_id, now):
                        self._busy_lanes.add(lane)
                        return item_id, lane
        return None

    @staticmethod
    def _next_due(session: Session, now: datetime, limit: int) -> list[tuple[int, int]]:
        """Due items in delivery order, with their lane (the message's thread root)."""
        query = (
            select(OutboxMessage.id, MessageRef.id, MessageRef.parent_id)
            .join(MessageRef, col(MessageRef.id) == OutboxMessage.message_ref_id)
            .where(
                or_(
                    (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                    (OutboxMessage.status == "sending") & (col(OutboxMessage.locked_until) < now),
                )
            )
            # By priority (URGENT …); then new messages first: a reporter waits for the next question,
            # not for the old one to get its tick (bench/RESULTS.md, part 2). Updates of one message keep
            # their order.
            .order_by(col(OutboxMessage.priority), case((OutboxMessage.op == "post", 0), else_=1),
                      col(OutboxMessage.id))
            .limit(limit)
        )
        return [(item_id, parent_id or ref_id) for item_id, ref_id, parent_id in session.exec(query).all()]

    @staticmethod
    def _lease(session: Session, item_id: int, now: datetime) -> bool:
        """Take the item if it is still due (a conditional UPDATE: safe with several processes)."""
        result = session.execute(
            sa_update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == item_id,
                or_(
                    (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                    (OutboxMessage.status == "sending") & (col(OutboxMessage.locked_until) < now),
                ),
            )
            .values(status="sending", locked_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)  # no ORM objects to keep in step here
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def _attempt(self, item_id: int) -> tuple[str, MessageRef, str] | None:
        """Deliver a leased item and record the outcome."""
        with session_scope(self.engine) as session:
            item, msg = session.exec(select(OutboxMessage, MessageRef)
                                     .join(MessageRef, col(MessageRef.id) == OutboxMessage.message_ref_id)
                                     .where(OutboxMessage.id == item_id)).one()
            try:
                self._check_ready(session, item, msg)
                result = self.deliver(session, item.op, msg)
            except NotReady:
                item.status, item.attempts = "pending", max(0, item.attempts - 1)
                item.next_attempt_at = self.now() + timedelta(seconds=1)
                return ("not_ready", msg, item.op)
            except TransientError as exc:
                delay = timedelta(seconds=exc.retry_after) if exc.retry_after else backoff(item.attempts)
                self._retry(item, exc.reason, delay)
                log.warning("outbox: %s of message %s failed (%s); retry in %ss",
                            item.op, msg.id, exc.reason, int(delay.total_seconds()))
                return ("retry", msg, item.op)
            except PermanentError as exc:
                fallback = FALLBACKS.get(msg.template)
                if item.op == "post" and fallback is not None and fallback(session, msg, exc.reason):
                    item.status, item.last_error, item.locked_until = "failed", exc.reason[:200], None
                    log.error("outbox: %s of message %s refused (%s); delivered another way instead",
                              item.op, msg.id, exc.reason)
                    return ("failed", msg, item.op)
                if item.attempts >= MAX_PERMANENT_ATTEMPTS:
                    item.status, item.last_error, item.locked_until = "failed", exc.reason[:200], None
                    log.error("outbox: giving up on %s of message %s: %s (see `signaalbot outbox`)",
                              item.op, msg.id, exc.reason)
                    return ("failed", msg, item.op)
                self._retry(item, exc.reason, backoff(item.attempts + 4))
                log.warning("outbox: %s of message %s refused (%s); will retry", item.op, msg.id, exc.reason)
                return ("retry", msg, item.op)
            now = self.now()
            if item.op == "post":
                msg.channel = result.channel or msg.channel
                msg.ts = result.ts
                msg.posted_at = now
            elif item.op == "redact":
                msg.redacted_at = now
            item.status, item.done_at, item.locked_until, item.last_error = "sent", now, None, None
            session.add(msg)
            session.add(item)
            if item.op == "post":
                # What waited for this message (its updates, replies in its thread) may go now.
                waiting = select(MessageRef.id).where(or_(col(MessageRef.parent_id) == msg.id,
                                                          col(MessageRef.id) == msg.id))
                session.execute(sa_update(OutboxMessage).where(
                    OutboxMessage.status == "pending", col(OutboxMessage.message_ref_id).in_(waiting),
                    col(OutboxMessage.next_attempt_at) > now).values(next_attempt_at=now)
                    .execution_options(synchronize_session=False))
        if self.on_sent:
            self.on_sent(msg)
        return ("sent", msg, item.op)

    def _retry(self, item: OutboxMessage, reason: str, delay: timedelta) -> None:
        item.status, item.last_error, item.locked_until = "pending", reason[:200], None
        item.next_attempt_at = self.now() + delay

    def _check_ready(self, session: Session, item: OutboxMessage, msg: MessageRef) -> None:
        if item.op in {"update", "redact"} and not msg.ts:
            # Its own post has to go first; an earlier outbox item (lower id) will do it.
            raise NotReady()
        if item.op == "post" and msg.parent_id:
            parent = session.get(MessageRef, msg.parent_id)
            if parent is None or not parent.ts:
                raise NotReady()
