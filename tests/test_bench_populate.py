"""The bench's own route into the service code (`bench/botproc.py` populate: parts 5 and 7 make their
signals with it) still works with the core as it is: a core change that moved the draft steps' session
once broke `make bench` (part 7 answered 500) without any test noticing."""

from __future__ import annotations

from sqlmodel import Session, func, select

from bench.botproc import populate
from bench.common import NETWORK_YAML, reporters
from bot.core import network
from bot.core.clock import Clock
from bot.runtime import build_bot
from bot.sandbox.fake_slack import FakeSlack
from models import OutboxMessage, Signal
from models.db import session_scope
from tests.conftest import make_settings


def test_populate_makes_complete_signals_through_the_service_code(database_url: str, fake: FakeSlack) -> None:
    bot = build_bot(make_settings(database_url, fake, work_process=False))
    with session_scope(bot.core.engine) as session:
        network.apply(session, network.parse(NETWORK_YAML), Clock().now())
    out = populate(bot, 3, reporters(2))
    assert out["signals"] == 3 and len(out["first_ids"]) == 3
    with Session(bot.core.engine) as session:
        sent = session.exec(select(Signal).where(Signal.status == "new")).all()
        assert sorted(s.id for s in sent) == sorted(out["first_ids"])
        assert all(s.current_question is None and s.submitted_at is not None for s in sent)
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() > 0  # receipts, AF cards
