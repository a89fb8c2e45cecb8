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
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import case, exists, func, or_
from sqlalchemy import update as sa_update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import metrics, platforms
from models import MessageRef, OutboxMessage
from models.base import column_values, error_name, insert_rows, utcnow, without_nulls
from models.db import session_scope

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=10)
LEASE = timedelta(seconds=90)
# Permanent errors and unexpected exceptions are retried a few times (a channel may be fixed by an admin),
# then parked as failed (`signaalbot outbox retry` requeues them).
MAX_PERMANENT_ATTEMPTS = 5
# While the platform refuses our credentials the outbox pauses and asks it at most this often.
PROBE_INTERVAL = timedelta(seconds=60)
# A platform's Retry-After is honoured up to this much.
MAX_RETRY_AFTER = timedelta(minutes=15)
# A pending item older than this makes the outbox "degraded" (/healthz, `signaalbot outbox`).
STUCK_AFTER = timedelta(minutes=10)
# last_error of a post or update whose thread root (or own post) was parked as failed.
ROOT_FAILED = "thread root failed: "
LEASE_EXPIRED = "lease expired: an attempt did not finish"
SUPERSEDED = "superseded by redact"  # last_error of an update the tombstone made needless
DEFAULT_PLATFORM = platforms.SLACK  # of a message with no parent and no platform given
PAUSED = "paused: "  # last_error of an item that met the platform refusing our credentials

# Delivery order among due items (OutboxMessage.priority, lowest first; then posts before updates, then
# oldest first). With many people at work the outbox has a queue; these decide who waits in it.
URGENT = 0  # the user was just told it is on its way: the DM that `/signaal`'s answer announces
INTERACTIVE = 1  # the answer to what someone just did (the next question, a case action's result)
BACKGROUND = 2  # what no one is waiting for at this moment: reminders, invitations, digests


@dataclass(frozen=True)
class Delivered:
    """Where the platform put a posted message: its conversation (a recipient's direct one) and id."""

    conversation: str | None = None
    message_id: str | None = None


class TransientError(Exception):
    """Try again later (rate limit, 5xx, network)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Refusal(StrEnum):
    """Why the platform refused a message, in the core's words: the edge maps its own errors to
    these, so the core never matches a platform's error strings."""

    PLACE_UNREACHABLE = "place_unreachable"  # the conversation is gone, archived, or closed to the bot
    OTHER = "other"


class PermanentError(Exception):
    """The platform refused the message; retrying the same thing will not help soon. `reason` is the
    platform's own word for it (for the operator: `signaalbot outbox`), `refusal` the core's."""

    def __init__(self, reason: str, refusal: Refusal = Refusal.OTHER) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refusal = refusal


class NotReady(Exception):
    """A message this one depends on (its thread root, its own post) is not delivered yet."""


class Unauthorized(Exception):
    """The platform refuses our credentials (a rotated token, an uninstalled app): no message can go
    until it accepts them again. The outbox pauses as a whole instead of failing message by message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DependencyFailed(Exception):
    """A message this one depends on was parked as failed: this one fails with that reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# template → fn(session, msg, refusal) -> bool: a permanent failure is handled another way (e.g. a
# case card that cannot reach the municipality's place goes to the AFs directly). True: do not retry.
# A post refused for good delivered another way: fallback(session, message, refusal, now) -> done; `now`
# is the worker's clock, so what it queues is due on the same clock as everything else.
FALLBACKS: dict[str, Callable[[Session, MessageRef, Refusal, datetime], bool]] = {}
# In a reply's `ref`: once the reply is posted, its thread's root is drawn again (an update queued in
# the same transaction), e.g. a case card that shows a deadline passed once its reminder went out.
REDRAW_PARENT = "redraw_parent"


class Deliverer(Protocol):
    """A platform's delivery. It may also offer `find(session, ref) -> Delivered | None`: whether a post
    whose earlier attempt did not finish (its process died between the platform's answer and our
    commit) reached the platform after all — then it is recorded, not posted a second time."""

    def __call__(self, session: Session, op: str, ref: MessageRef) -> Delivered: ...

    def probe(self) -> None:
        """Ask the platform whether it accepts our credentials again: returns when it does, raises
        Unauthorized when it still refuses them (any other exception: it could not tell)."""
        ...


class ByPlatform:
    """One Deliverer per platform, chosen by each message's `platform` (Slack and Teams in one
    deployment). `probe` asks each; `find` the one whose message it is."""

    def __init__(self, deliverers: dict[str, Deliverer]) -> None:
        self.deliverers = deliverers

    def _of(self, msg: MessageRef) -> Deliverer:
        found = self.deliverers.get(msg.platform)
        if found is None:
            # A deployment without that platform's settings (a Teams-only one and a Slack person).
            raise PermanentError(f"no edge for platform {str(msg.platform)[:20]}: its settings are not set")
        return found

    def __call__(self, session: Session, op: str, ref: MessageRef) -> Delivered:
        return self._of(ref)(session, op, ref)

    def probe(self, platform: str | None = None) -> None:
        for name, deliverer in self.deliverers.items():
            if platform is None or name == platform:
                deliverer.probe()

    def find(self, session: Session, ref: MessageRef) -> Delivered | None:
        find = getattr(self._of(ref), "find", None)
        return find(session, ref) if find is not None else None


def post(
    session: Session,
    *,
    template: str,
    kind: str | None = None,
    recipient: str | None = None,
    conversation: str | None = None,
    platform: str | None = None,
    signal_id: int | None = None,
    parent: MessageRef | None = None,
    ref: dict[str, Any] | None = None,
    contains_details: bool = True,
    dedupe_key: str | None = None,
    now: datetime | None = None,
    priority: int = INTERACTIVE,
) -> MessageRef:
    """Queue a new message to `recipient` (a person key: their direct conversation with the bot) or
    to `conversation` on `platform` (a place: a Slack channel…), as a reply in `parent`'s thread when
    given. The platform is the parent's, else the recipient's (their person key's), else Slack."""
    msg = MessageRef(
        signal_id=signal_id, kind=kind or template, template=template, ref=ref or {}, recipient=recipient,
        conversation=conversation, platform=platform or (parent.platform if parent else platform_of(recipient)),
        parent_id=parent.id if parent else None, contains_details=contains_details,
    )
    if now:
        msg.created_at = now
    session.add(msg)
    session.flush()
    _enqueue(session, "post", msg, dedupe_key, now, priority)
    return msg


def platform_of(recipient: str | None) -> str:
    """The platform a message to `recipient` (a person key) goes to: the one their key was made from."""
    return platforms.identity_of_key(recipient)[0] if recipient else DEFAULT_PLATFORM


@dataclass(slots=True)
class NewPost:
    """One message for `post_many`: what `post` takes (the parent by id); `id` is its MessageRef's
    id once written."""

    template: str
    kind: str | None = None
    recipient: str | None = None
    conversation: str | None = None
    platform: str | None = None  # a reply: its parent's; None: the recipient's (platform_of), else Slack
    signal_id: int | None = None
    parent_id: int | None = None
    ref: dict[str, Any] = field(default_factory=dict)
    contains_details: bool = True
    dedupe_key: str | None = None
    priority: int = INTERACTIVE
    id: int | None = None


@dataclass(slots=True)
class Redraw:
    """For `post_many`, among the posts: `update` of an existing message, in its place in the order."""

    message_ref_id: int
    priority: int = INTERACTIVE


def post_many(session: Session, posts: list[NewPost | Redraw], now: datetime) -> None:
    """Queue many new messages at once: the same rows `post` writes one by one (each MessageRef and
    its outbox item, in this order), with one INSERT per table. Sets each post's `id`. A `Redraw` among
    them queues an update there, as `update` does (none while one for that message is pending)."""
    if not posts:
        return
    new = [p for p in posts if isinstance(p, NewPost)]
    refs = [column_values(MessageRef, signal_id=p.signal_id, kind=p.kind or p.template, template=p.template,
                          ref=p.ref, recipient=p.recipient, conversation=p.conversation,
                          platform=p.platform or platform_of(p.recipient),
                          parent_id=p.parent_id,
                          contains_details=p.contains_details, created_at=now) for p in new]
    if new:
        for item, ref_id in zip(new, _insert_message_refs(session, without_nulls(MessageRef.__table__, refs)),
                                strict=True):
            item.id = ref_id
    redraws = {p.message_ref_id for p in posts if isinstance(p, Redraw)}
    pending = set(session.exec(select(OutboxMessage.message_ref_id).where(  # locked, as in `update`
        col(OutboxMessage.message_ref_id).in_(redraws), OutboxMessage.op == "update",
        OutboxMessage.status == "pending").with_for_update()).all()) if redraws else set()
    rows = []
    for p in posts:
        if isinstance(p, NewPost):
            rows.append(column_values(OutboxMessage, op="post", message_ref_id=p.id, dedupe_key=p.dedupe_key,
                                      created_at=now, next_attempt_at=now, priority=p.priority))
        elif p.message_ref_id not in pending:
            pending.add(p.message_ref_id)
            rows.append(column_values(OutboxMessage, op="update", message_ref_id=p.message_ref_id,
                                      created_at=now, next_attempt_at=now, priority=p.priority))
    insert_rows(session, OutboxMessage.__table__, without_nulls(OutboxMessage.__table__, rows))


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
    # SQLite numbers new rows after the largest id so far, in the order they are inserted, and once they
    # are in, this transaction holds the write lock: insert them through the driver (`insert_rows`) and
    # read back the last len(rows) — checked against the rows, in case that ever stops holding.
    keys = ("signal_id", "kind", "recipient", "conversation", "parent_id")
    insert_rows(session, table, rows)
    got = session.execute(select(table.c.id, *(table.c[k] for k in keys))
                          .order_by(table.c.id.desc()).limit(len(rows))).all()[::-1]
    if [tuple(row[1:]) for row in got] != [tuple(row.get(k) for k in keys) for row in rows]:
        raise RuntimeError("messageref: inserted rows came back in another order than they were given")
    return [row[0] for row in got]


def update(session: Session, msg: MessageRef, now: datetime | None = None, priority: int = INTERACTIVE) -> None:
    """Queue a re-render of `msg` from current state; pending updates of one message collapse. The
    pending one is locked until this transaction commits (PostgreSQL; SQLite's write lock does the
    same): a worker leasing it meanwhile waits, so it renders what this transaction wrote — else it
    could render the state from before and nothing would draw this change."""
    pending = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.message_ref_id == msg.id, OutboxMessage.op == "update", OutboxMessage.status == "pending"
        ).with_for_update()
    ).first()
    if pending is None:
        _enqueue(session, "update", msg, None, now, priority)


def redact(session: Session, msg: MessageRef, now: datetime | None = None) -> None:
    # Updates still waiting would only be overwritten by the tombstone: they are done.
    session.execute(sa_update(OutboxMessage).where(
        col(OutboxMessage.message_ref_id) == msg.id, OutboxMessage.op == "update", OutboxMessage.status == "pending",
    ).values(status="sent", last_error=SUPERSEDED, done_at=now or utcnow())
        .execution_options(synchronize_session=False))
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


def requeue(session: Session, now: datetime, *, ids: list[int] | None = None, failed: bool = False) -> int:
    """Make items due again with fresh attempts (`signaalbot outbox retry`): the given ones (pending or
    failed) and/or every failed one. With a failed post come the items that failed because of it
    (its updates, the replies in its thread). Returns how many."""
    chosen = set(ids or ())
    if failed:
        chosen |= set(session.exec(select(OutboxMessage.id).where(OutboxMessage.status == "failed")).all())
    if not chosen:
        return 0
    refs = select(OutboxMessage.message_ref_id).where(col(OutboxMessage.id).in_(chosen),
                                                      OutboxMessage.op == "post")
    dependants = select(OutboxMessage.id).join(MessageRef, col(MessageRef.id) == OutboxMessage.message_ref_id).where(
        OutboxMessage.status == "failed", col(OutboxMessage.last_error).startswith(ROOT_FAILED),
        or_(col(MessageRef.parent_id).in_(refs), col(MessageRef.id).in_(refs)))
    chosen |= set(session.exec(dependants).all())
    result = session.execute(sa_update(OutboxMessage).where(
        col(OutboxMessage.id).in_(chosen), col(OutboxMessage.status).in_(["pending", "failed"]),
    ).values(status="pending", attempts=0, next_attempt_at=now, locked_until=None, last_error=None)
        .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Health:
    """What /healthz and `signaalbot outbox` say about the outbox: `degraded` is None when all is well,
    else why, in a few words (no case content)."""

    paused: str | None
    failed: int
    oldest_pending: timedelta | None

    def degraded(self, stuck_after: timedelta = STUCK_AFTER) -> str | None:
        reasons = []
        if self.paused:
            reasons.append(f"paused: the platform refuses our credentials ({self.paused})")
        if self.failed:
            reasons.append(f"{self.failed} message(s) failed (see `signaalbot outbox`)")
        if self.oldest_pending is not None and self.oldest_pending > stuck_after:
            reasons.append(f"oldest waiting message is {int(self.oldest_pending.total_seconds() // 60)} minutes old")
        return "; ".join(reasons) or None


def health(session: Session, now: datetime) -> Health:
    """Read from the items alone (cheap, indexed by status), so any process can tell: a paused worker
    leaves its mark (PAUSED) on the items that met the refusal. A failure handled another way (a
    fallback: done_at set) does not count."""
    waiting = col(OutboxMessage.status).in_(["pending", "sending"])
    oldest = session.exec(select(func.min(OutboxMessage.created_at)).where(waiting)).one()
    paused = session.exec(select(OutboxMessage.last_error).where(
        OutboxMessage.status == "pending", col(OutboxMessage.last_error).startswith(PAUSED)).limit(1)).first()
    failed = session.exec(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == "failed", col(OutboxMessage.done_at).is_(None))).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return Health(paused=paused[len(PAUSED):] if paused else None, failed=int(failed),
                  oldest_pending=(now - oldest) if oldest is not None else None)


class OutboxWorker:
    """Delivers due outbox items. Safe with several processes: an item is leased with a
    conditional UPDATE before it is sent, and marked sent right after the platform said ok."""

    def __init__(self, engine: Engine, deliver: Deliverer, now: Callable[[], datetime],
                 on_sent: Callable[[MessageRef], None] | None = None, threads: int = 1, *,
                 probe_interval: timedelta = PROBE_INTERVAL, max_attempts: int = MAX_PERMANENT_ATTEMPTS,
                 max_retry_after: timedelta = MAX_RETRY_AFTER) -> None:
        self.engine = engine
        self.deliver = deliver
        self.now = now
        self.on_sent = on_sent
        self.threads = max(1, threads)
        self.probe_interval = probe_interval
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after
        # Platforms that refuse our credentials: why, and when to ask each again (see _resumed()). The
        # others' messages go on: Teams refusing a rotated secret does not hold up Slack.
        self._paused: dict[str, str] = {}
        self._next_probe: dict[str, datetime] = {}
        self._pause_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._run_lock = threading.RLock()  # a whole drain() at a time; the loops take it per pick
        self._lane_freed = threading.Condition(self._run_lock)
        self._busy_lanes: set[int] = set()  # conversations a thread of this worker is delivering to

    # -- background loop -------------------------------------------------------------------
    @property
    def paused(self) -> str | None:
        """Why delivery is paused (each platform that refuses our credentials), or None."""
        return "; ".join(self._paused.values()) or None

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
                if self._paused:
                    self._resumed()
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
                metrics.DELIVERIES.labels(outcome[0]).inc()
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
                for item_id, lane, op, ref_id in self._next_due(
                        session, now, len(skipped) + len(self._busy_lanes) + 8, set(self._paused)):
                    if item_id in skipped or lane in self._busy_lanes:
                        continue
                    if not self._lease(session, item_id, op, ref_id, now):
                        continue
                    if op == "update" and self._redacted(session, ref_id):
                        # Once a tombstone, always one: checked in the transaction that leases the update,
                        # so no process can put content back after a redact was queued.
                        session.execute(sa_update(OutboxMessage).where(col(OutboxMessage.id) == item_id).values(
                            status="sent", last_error=SUPERSEDED, done_at=now, locked_until=None)
                            .execution_options(synchronize_session=False))
                        continue
                    self._busy_lanes.add(lane)
                    return item_id, lane
        return None

    @staticmethod
    def _redacted(session: Session, ref_id: int) -> bool:
        return session.exec(select(OutboxMessage.id).where(
            OutboxMessage.message_ref_id == ref_id, OutboxMessage.op == "redact",
            OutboxMessage.status != "failed").limit(1)).first() is not None

    # -- a platform refuses our credentials: one pause for all of its messages -------------------
    def _label(self, platform: str, reason: str) -> str:
        """The reason as shown (health, logs): with the platform's name when there are several."""
        return f"{platform}: {reason}" if isinstance(self.deliver, ByPlatform) else reason

    def _pause(self, reason: str, platform: str) -> None:
        with self._pause_lock:
            if platform not in self._paused:
                metrics.DELIVERIES.labels("paused").inc()
                log.warning("outbox: paused for %s, the platform refuses our credentials (%s); asking it again "
                            "every %ss, delivering resumes by itself once it accepts them", platform, reason,
                            int(self.probe_interval.total_seconds()))
                self._next_probe[platform] = self.now() + self.probe_interval
            self._paused[platform] = self._label(platform, reason)

    def _resumed(self) -> None:
        """While paused: ask each refusing platform (at most once per probe interval) whether it
        accepts our credentials again; when it does, everything of it that waits is due at once."""
        if not self._pause_lock.acquire(blocking=False):
            return  # another loop is asking
        try:
            now = self.now()
            for platform in list(self._paused):
                if now < self._next_probe.get(platform, now):
                    continue
                self._next_probe[platform] = now + self.probe_interval
                probe = getattr(self.deliver, "probe", None)
                try:
                    if isinstance(self.deliver, ByPlatform):
                        self.deliver.probe(platform)
                    elif probe is not None:
                        probe()
                except Unauthorized as exc:
                    self._paused[platform] = self._label(platform, exc.reason)
                    continue
                except Exception as exc:  # noqa: BLE001 - could not tell: ask again next interval
                    log.info("outbox: still paused for %s; asking the platform failed (%s)", platform,
                             type(exc).__name__)
                    continue
                with session_scope(self.engine) as session:
                    of_platform = select(MessageRef.id).where(MessageRef.platform == platform)
                    session.execute(sa_update(OutboxMessage).where(
                        OutboxMessage.status == "pending", col(OutboxMessage.last_error).startswith(PAUSED),
                        col(OutboxMessage.message_ref_id).in_(of_platform),
                    ).values(last_error=None, next_attempt_at=now).execution_options(synchronize_session=False))
                log.warning("outbox: resumed for %s, the platform accepts our credentials again (was: %s)",
                            platform, self._paused.pop(platform))
        finally:
            self._pause_lock.release()

    @staticmethod
    def _next_due(session: Session, now: datetime, limit: int,
                  paused: set[str] | None = None) -> list[tuple[int, int, str, int]]:
        """Due items in delivery order: (id, lane (the message's thread root), op, message id); none
        of a `paused` platform."""
        query = (
            select(OutboxMessage.id, MessageRef.id, MessageRef.parent_id, OutboxMessage.op)
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
        if paused:
            query = query.where(col(MessageRef.platform).not_in(paused))
        return [(item_id, parent_id or ref_id, op, ref_id)
                for item_id, ref_id, parent_id, op in session.exec(query).all()]

    @staticmethod
    def _lease(session: Session, item_id: int, op: str, ref_id: int, now: datetime) -> bool:
        """Take the item if it is still due (a conditional UPDATE: safe with several processes). A
        redact waits while another process is sending an update of the same message, so the
        tombstone is the last word."""
        conditions = [
            col(OutboxMessage.id) == item_id,
            or_(
                (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == "sending") & (col(OutboxMessage.locked_until) < now),
            ),
        ]
        if op == "redact":
            other = OutboxMessage.__table__.alias("other")
            conditions.append(~exists().where(
                other.c.message_ref_id == ref_id, other.c.op == "update", other.c.status == "sending",
                other.c.locked_until >= now))
        result = session.execute(
            sa_update(OutboxMessage)
            .where(*conditions)
            .values(status="sending", locked_until=now + LEASE, attempts=OutboxMessage.attempts + 1,
                    # Taken over from an attempt that never finished (its process died): say so.
                    last_error=case((OutboxMessage.status == "sending", LEASE_EXPIRED),
                                    else_=OutboxMessage.last_error))
            .execution_options(synchronize_session=False)  # no ORM objects to keep in step here
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def _attempt(self, item_id: int) -> tuple[str, MessageRef, str] | None:
        """Deliver a leased item and record the outcome."""
        with session_scope(self.engine) as session:
            item, msg = session.exec(select(OutboxMessage, MessageRef)
                                     .join(MessageRef, col(MessageRef.id) == OutboxMessage.message_ref_id)
                                     .where(OutboxMessage.id == item_id)).one()
            if item.last_error == LEASE_EXPIRED and item.attempts > self.max_attempts:
                # Attempts keep dying with their process (a crash while rendering?): park it.
                item.status, item.locked_until = "failed", None
                log.error("outbox: giving up on %s of message %s: %s (see `signaalbot outbox`)",
                          item.op, msg.id, LEASE_EXPIRED)
                return ("failed", msg, item.op)
            try:
                self._check_ready(session, item, msg)
                found = None
                if item.op == "post" and item.last_error == LEASE_EXPIRED and hasattr(self.deliver, "find"):
                    found = self.deliver.find(session, msg)  # type: ignore[attr-defined]
                    if found is not None:
                        log.info("outbox: post of message %s had reached the platform before its process "
                                 "stopped; recorded, not sent again", msg.id)
                result = found or self.deliver(session, item.op, msg)
            except NotReady:
                item.status, item.attempts = "pending", max(0, item.attempts - 1)
                item.next_attempt_at = self.now() + timedelta(seconds=1)
                return ("not_ready", msg, item.op)
            except DependencyFailed as exc:
                item.status, item.last_error, item.locked_until = "failed", exc.reason[:200], None
                log.error("outbox: %s of message %s not sent: %s (see `signaalbot outbox`)",
                          item.op, msg.id, exc.reason)
                return ("failed", msg, item.op)
            except Unauthorized as exc:
                # Not this message's fault: it waits, uncounted, at its place in the queue.
                item.status, item.attempts, item.locked_until = "pending", max(0, item.attempts - 1), None
                item.last_error = (PAUSED + self._label(msg.platform, exc.reason))[:200]
                item.next_attempt_at = self.now()
                self._pause(exc.reason, msg.platform)
                return ("paused", msg, item.op)
            except TransientError as exc:
                delay = (min(timedelta(seconds=exc.retry_after), self.max_retry_after) if exc.retry_after
                         else backoff(item.attempts))
                self._retry(item, exc.reason, delay)
                log.warning("outbox: %s of message %s failed (%s); retry in %ss",
                            item.op, msg.id, exc.reason, int(delay.total_seconds()))
                return ("retry", msg, item.op)
            except PermanentError as exc:
                fallback = FALLBACKS.get(msg.template)
                if item.op == "post" and fallback is not None and fallback(session, msg, exc.refusal, self.now()):
                    # Done another way: done_at set, so it does not count as failed (outbox.health).
                    item.status, item.last_error, item.locked_until = "failed", exc.reason[:200], None
                    item.done_at = self.now()
                    log.error("outbox: %s of message %s refused (%s); delivered another way instead",
                              item.op, msg.id, exc.reason)
                    return ("failed", msg, item.op)
                if item.attempts >= self.max_attempts:
                    item.status, item.last_error, item.locked_until = "failed", exc.reason[:200], None
                    log.error("outbox: giving up on %s of message %s: %s (see `signaalbot outbox`)",
                              item.op, msg.id, exc.reason)
                    return ("failed", msg, item.op)
                self._retry(item, exc.reason, backoff(item.attempts + 4))
                log.warning("outbox: %s of message %s refused (%s); will retry", item.op, msg.id, exc.reason)
                return ("retry", msg, item.op)
            except Exception as exc:  # noqa: BLE001 - rendering or sending broke (a decryption error too)
                return self._broke(session, item_id, msg, exc)
            now = self.now()
            if item.op == "post":
                msg.conversation = result.conversation or msg.conversation
                msg.message_id = result.message_id
                msg.posted_at = now
            elif item.op == "redact":
                msg.redacted_at = now
            item.status, item.done_at, item.locked_until, item.last_error = "sent", now, None, None
            session.add(msg)
            session.add(item)
            if item.op == "post" and msg.parent_id is not None and (msg.ref or {}).get(REDRAW_PARENT):
                parent = session.get(MessageRef, msg.parent_id)
                if parent is not None and parent.redacted_at is None:
                    update(session, parent, now, BACKGROUND)
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

    def _broke(self, session: Session, item_id: int, msg: MessageRef, exc: Exception) -> tuple[str, MessageRef, str]:
        """An unexpected exception: recorded on the item (its type and where, never its text: that may
        hold case content or SQL parameters), retried with backoff, parked as failed after
        `max_attempts`."""
        session.rollback()  # what the attempt wrote is undone; the lease (its own transaction) stays
        item = session.get(OutboxMessage, item_id)
        assert item is not None
        reason = error_name(exc)
        if item.attempts >= self.max_attempts:
            item.status, item.last_error, item.locked_until = "failed", reason[:200], None
            log.error("outbox: giving up on %s of message %s: %s (see `signaalbot outbox`)", item.op, msg.id, reason)
            return ("failed", msg, item.op)
        delay = backoff(item.attempts)
        self._retry(item, reason, delay)
        log.warning("outbox: %s of message %s broke (%s); retry in %ss", item.op, msg.id, reason,
                    int(delay.total_seconds()))
        return ("retry", msg, item.op)

    def _retry(self, item: OutboxMessage, reason: str, delay: timedelta) -> None:
        item.status, item.last_error, item.locked_until = "pending", reason[:200], None
        item.next_attempt_at = self.now() + delay

    def _check_ready(self, session: Session, item: OutboxMessage, msg: MessageRef) -> None:
        if item.op in {"update", "redact"} and not msg.message_id:
            # Its own post has to go first; an earlier outbox item (lower id) will do it.
            self._wait_for(session, msg.id)
        if item.op == "post" and msg.parent_id:
            parent = session.get(MessageRef, msg.parent_id)
            if parent is None or not parent.message_id:
                self._wait_for(session, msg.parent_id)

    @staticmethod
    def _wait_for(session: Session, ref_id: int | None) -> None:
        """The post of `ref_id` is not delivered yet: wait while it is on its way; when it was parked as
        failed (or is gone), this one fails with that reason, and is requeued with it."""
        rows = session.exec(select(OutboxMessage.status, OutboxMessage.last_error).where(
            OutboxMessage.message_ref_id == ref_id, OutboxMessage.op == "post")).all()
        # "sent": another process delivered it after this attempt read the message (it saw no id yet):
        # the next attempt sees the id. Only a post that failed (or none at all) fails this one.
        if any(status in ("pending", "sending", "sent") for status, _ in rows):
            raise NotReady()
        reason = next((error for status, error in rows if status == "failed" and error), None) or "not delivered"
        raise DependencyFailed((reason if reason.startswith(ROOT_FAILED) else ROOT_FAILED + reason)[:200])
