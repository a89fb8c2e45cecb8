"""Helpers for the reminder tests: travel in time through the very code `jobs run-due --at` runs,
and do what the AF does to a case (claim, give feedback, ask advice, route) until issue 3's case
actions exist — then claiming goes through the real button."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core import events
from bot.core.jobs import run_due
from models import Consultation, Handover, Signal
from models.db import session_scope
from models.reminders import Deadline
from tests.conftest import Running
from tests.helpers import AF, CASES_CHANNEL, case_card, report, thread_of

AMS = ZoneInfo("Europe/Amsterdam")


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=AMS)


def settle(r: Running) -> None:
    """Wait until the outbox has delivered everything (the background worker may hold an item)."""
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0)


def travel(r: Running, at: datetime) -> list[str]:
    """Run the due sweeps as if the clock read `at` (what `signaalbot jobs run-due --at` does)."""
    r.core.clock.set(at)
    lines = run_due(r.core, r.bot.worker, at.astimezone(UTC))
    settle(r)
    return lines


def sent(lines: list[str]) -> list[str]:
    """The rule keys a sweep sent, in order."""
    return [line.split()[2] for line in lines if line.startswith("reminders: sent ")]


def report_at(r: Running, at: datetime, **answers: Any) -> str:
    r.core.clock.set(at)
    reference = report(r, answers=answers or None)
    case_card(r, reference)
    settle(r)
    return reference


def card_of(r: Running, reference: str, channel: str = CASES_CHANNEL) -> dict[str, Any]:
    """The case card (like helpers.case_card, which misses a card once its thread has replies:
    Slack then gives the parent a thread_ts equal to its own ts)."""

    def found() -> dict[str, Any] | None:
        for msg in r.fake.messages_in(channel):
            root = not msg.get("thread_ts") or msg["thread_ts"] == msg["ts"]
            if root and msg.get("blocks") and reference in msg["blocks"][0].get("text", {}).get("text", ""):
                return msg
        return None

    return r.fake.wait_for(found)


def signal_of(r: Running, reference: str) -> Signal:
    with Session(r.core.engine) as session:
        return session.exec(select(Signal).where(Signal.reference == reference)).one()


def reminders_in_thread(r: Running, reference: str) -> list[dict[str, Any]]:
    """The bot's replies in the case card's thread that are reminders (they carry ⏰ or 🚨)."""
    card = card_of(r, reference)
    return [msg for msg in thread_of(r, card)[1:] if "Herinnering" in (msg.get("text") or "")]


def dms(r: Running, user: str) -> list[dict[str, Any]]:
    """Reminder DMs to a user (the ketenregisseur's monthly figures and their charts are another job's)."""
    return [m for m in r.fake.messages_in(r.fake.dm_channel_for(user))
            if not (m.get("text") or "").startswith(("Maandcijfers", "Monthly figures")) and not m.get("files")]


def claim(r: Running, reference: str, user: str = AF) -> None:
    """Oppakken. Through the case card's Claim button once the case actions exist (issue 3);
    until then the same conditional update plus the CLAIMED event that step will emit."""
    if "claim" in r.bot.slack.registry.case_actions:
        resp = r.driver.click(user, card_of(r, reference), "case:claim")
        assert resp.status == 200
        r.fake.wait_for(lambda: signal_of(r, reference).claimed_by == user)
        settle(r)
        return
    now = r.core.clock.now()
    with session_scope(r.core.engine) as session:
        signal = session.exec(select(Signal).where(Signal.reference == reference)).one()
        changed = session.execute(update(Signal).where(col(Signal.id) == signal.id, col(Signal.claimed_by).is_(None))
                                  .values(claimed_by=user, claimed_at=now, status="in_progress"))
        assert changed.rowcount == 1  # type: ignore[attr-defined]
        session.refresh(signal)
        events.emit(session, events.CLAIMED, signal=signal, now=now, actor=user)


def change(r: Running, reference: str, event: str | None = None, **fields: Any) -> None:
    """Set fields of the signal and emit `event` (as a case step of issue 3 does)."""
    change_in(r.core, reference, event, **fields)


def change_in(core: Any, reference: str, event: str | None = None, **fields: Any) -> Signal:
    """`change` for a bare core ("now" as a value: the core's clock); returns the signal."""
    now = core.clock.now()
    with session_scope(core.engine) as session:
        signal = session.exec(select(Signal).where(Signal.reference == reference)).one()
        for key, value in fields.items():
            setattr(signal, key, now if value == "now" else value)
        session.add(signal)
        session.flush()
        if event:
            events.emit(session, event, signal=signal, now=now, actor=AF)
        return signal


def consult(r: Running, reference: str, partner: str) -> int:
    now = r.core.clock.now()
    with session_scope(r.core.engine) as session:
        signal = session.exec(select(Signal).where(Signal.reference == reference)).one()
        consultation = Consultation(signal_id=signal.id or 0, partner_key=partner, question="Is dit iets?",
                                    asked_by=AF, asked_at=now)
        session.add(consultation)
        session.flush()
        events.emit(session, events.CONSULTED, signal=signal, now=now, actor=AF, consultation=consultation)
        return consultation.id or 0


def advice_received(r: Running, consultation_id: int) -> None:
    now = r.core.clock.now()
    with session_scope(r.core.engine) as session:
        consultation = session.get(Consultation, consultation_id)
        assert consultation is not None
        consultation.answer, consultation.answered_at = "Lijkt op uitbuiting.", now
        session.add(consultation)
        signal = session.get(Signal, consultation.signal_id)
        events.emit(session, events.ADVICE_RECEIVED, signal=signal, now=now, actor=AF, consultation=consultation)


def route(r: Running, reference: str, partner: str) -> int:
    now = r.core.clock.now()
    with session_scope(r.core.engine) as session:
        signal = session.exec(select(Signal).where(Signal.reference == reference)).one()
        handover = Handover(signal_id=signal.id or 0, partner_key=partner, routed_by=AF, routed_at=now)
        session.add(handover)
        session.flush()
        events.emit(session, events.ROUTED, signal=signal, now=now, actor=AF, handover=handover)
        return handover.id or 0


def outcome_recorded(r: Running, handover_id: int) -> None:
    now = r.core.clock.now()
    with session_scope(r.core.engine) as session:
        handover = session.get(Handover, handover_id)
        assert handover is not None
        handover.outcome, handover.outcome_at = "Onderzoek gestart.", now
        session.add(handover)
        signal = session.get(Signal, handover.signal_id)
        events.emit(session, events.OUTCOME_RECORDED, signal=signal, now=now, actor=AF, handover=handover)


def deadlines(r: Running, reference: str) -> dict[str, Deadline]:
    signal = signal_of(r, reference)
    with Session(r.core.engine) as session:
        return {d.rule_key: d for d in session.exec(select(Deadline).where(Deadline.signal_id == signal.id)).all()}


__all__ = ["CASES_CHANNEL"]
