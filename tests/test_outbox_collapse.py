"""An update that collapses onto a pending one must be rendered after the collapsing transaction
commits: else a worker could lease and render the pending item before that commit, showing the state
from before, and nothing would draw the change (seen in CI as a stale linked card on PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlmodel import Session, select

from bot.core import outbox
from bot.core.outbox import OutboxWorker
from models import MessageRef, OutboxMessage
from models.crypto import configure
from models.db import make_engine, upgrade


def test_a_worker_cannot_lease_a_collapsed_update_before_its_transaction_commits(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's single write lock already orders the two (the lease waits for the writer)")
    configure(Fernet.generate_key().decode())
    engine = make_engine(database_url)
    upgrade(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        msg = MessageRef(kind="case_card", template="case_card", ref={}, conversation="C1", platform="slack")
        session.add(msg)
        session.flush()
        session.add(OutboxMessage(op="update", message_ref_id=msg.id or 0, created_at=now, next_attempt_at=now))
        session.commit()
        ref_id = msg.id or 0
    leased: list[bool] = []
    with Session(engine) as step:  # a case step: its change, then the redraw that collapses
        outbox.update(step, step.get(MessageRef, ref_id), now=now)  # type: ignore[arg-type]
        assert len(step.exec(select(OutboxMessage)).all()) == 1  # collapsed: no second item

        def worker() -> None:
            with Session(engine) as session:
                session.connection().execute(text("SET lock_timeout = '300ms'"))
                item = session.exec(select(OutboxMessage)).one()
                try:
                    leased.append(OutboxWorker._lease(session, item.id or 0, "update", ref_id, now))
                    session.commit()
                except Exception:  # noqa: BLE001 - the lock timeout: the lease had to wait
                    leased.append(False)

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(10)
        assert leased == [False], "the worker leased the update before the step committed"
        step.commit()
    worker_after: list[bool] = []
    with Session(engine) as session:
        item = session.exec(select(OutboxMessage)).one()
        worker_after.append(OutboxWorker._lease(session, item.id or 0, "update", ref_id, now))
        session.commit()
    assert worker_after == [True]
    engine.dispose()
