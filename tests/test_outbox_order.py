"""Who waits in the outbox's queue: what a person was just told is on its way goes first, then the
answers to what people just did (new messages before updates), then what no one is waiting for
(reminders, invitations, digests). Within one level, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from bot.core import outbox
from bot.core.clock import Clock
from bot.core.outbox import BACKGROUND, INTERACTIVE, URGENT, Delivered, OutboxWorker
from bot.core.training import REFRESHER_TEMPLATE
from models import MessageRef, OutboxMessage, Signal
from models.crypto import configure
from models.db import session_scope, upgrade
from tests.conftest import start_bot
from tests.helpers import COLLEAGUE, REPORTER, open_question

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_due_items_go_out_by_priority_then_posts_before_updates_then_oldest_first(engine_for) -> None:
    configure("0" * 43 + "=")
    upgrade(engine_for)
    with session_scope(engine_for) as session:
        sent_before = outbox.post(session, template="t", kind="old", recipient="U1", now=NOW)
        session.exec(select(OutboxMessage).where(OutboxMessage.message_ref_id == sent_before.id)).one().status = "sent"
        sent_before.message_id = "1.0"
        outbox.post(session, template="t", kind="background-1", recipient="U2", now=NOW, priority=BACKGROUND)
        outbox.update(session, sent_before, now=NOW)  # interactive update
        outbox.post(session, template="t", kind="interactive-1", recipient="U3", now=NOW)
        outbox.post(session, template="t", kind="urgent", recipient="U4", now=NOW, priority=URGENT)
        outbox.post(session, template="t", kind="interactive-2", recipient="U5", now=NOW, priority=INTERACTIVE)
        outbox.post(session, template="t", kind="background-2", recipient="U6", now=NOW, priority=BACKGROUND)
    delivered: list[str] = []

    def deliver(_session: Session, op: str, msg: MessageRef) -> Delivered:
        delivered.append(f"{op} {msg.kind}")
        return Delivered("D1", f"2.{len(delivered)}")

    OutboxWorker(engine_for, deliver, lambda: NOW).run_once()
    assert delivered == ["post urgent", "post interactive-1", "post interactive-2", "update old",
                         "post background-1", "post background-2"]


def test_a_new_report_is_not_stuck_behind_the_networks_invitations(settings, fake) -> None:
    """/signaal answers "I have sent you a private message": that message and its first question go out
    before a queue of background messages, and before the next question of someone already busy."""
    clock = Clock()
    clock.set(NOW)
    r = start_bot(settings, fake, clock=clock)
    try:
        r.bot.worker.stop()  # deliver by hand, one item at a time, to see the order
        with session_scope(r.core.engine) as session:
            for _ in range(30):
                outbox.post(session, template=REFRESHER_TEMPLATE, kind=REFRESHER_TEMPLATE, recipient=COLLEAGUE,
                            ref={"at": NOW.isoformat()}, contains_details=False, now=NOW,
                            priority=BACKGROUND)
        r.driver.slash(REPORTER)
        fake.wait_for(lambda: _queued(r, "question"))
        first = [f"{op} {msg.kind}" for _outcome, msg, op in r.bot.worker.run_once(limit=2)]
        assert first == ["post reporter_root", "post question"]
        assert open_question(r, REPORTER)[0] == "municipality"  # type: ignore[index]
        assert not fake.messages_in(fake.dm_channel_for(COLLEAGUE))
        rest = r.bot.worker.drain()
        assert [msg.kind for _outcome, msg, _op in rest].count(REFRESHER_TEMPLATE) == 30  # nothing is dropped
        with Session(r.core.engine) as session:
            assert not session.exec(select(OutboxMessage).where(col(OutboxMessage.status) != "sent")).all()
            assert session.exec(select(Signal)).one().reporter_id == REPORTER
    finally:
        r.stop()


def _queued(r, kind: str) -> bool:  # noqa: ANN001
    with Session(r.core.engine) as session:
        return session.exec(select(MessageRef).where(MessageRef.kind == kind)).first() is not None
