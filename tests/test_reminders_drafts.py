"""Drafts are never silently lost (issue 14, points 1 and 2): an acute draft left unsent gets one nudge
after ten minutes, any draft one after a working day without activity, and a draft that expires is
announced in its thread — all in the reporter's own thread, content-free, once. Travelling in time
through `jobs run-due`'s code, on frozen clocks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from models import MessageRef, Signal
from models.db import session_scope
from models.jobs import JobRun
from tests.case_helpers import reporter_replies
from tests.conftest import Running
from tests.helpers import (
    CASES_CHANNEL,
    DEFAULT_ANSWERS,
    REPORTER,
    answer,
    open_question,
    root_message,
    signal_status,
    wait_summary,
)
from tests.reminders_support import local, settle, travel

DESCRIPTION = DEFAULT_ANSWERS["description"]


def start_draft(r: Running, at: Any, until: str, **answers: Any) -> str:
    """/signaal at `at`, answer the questions before `until` (the defaults, or `answers`); returns the
    draft's reference. Nothing is sent."""
    r.core.clock.set(at)
    assert r.driver.slash(REPORTER, text="").status == 200
    wanted = {**DEFAULT_ANSWERS, **answers}
    first = r.fake.wait_for(lambda: open_question(r, REPORTER))
    keys = ["municipality", "form", "signals", "acute", "minor", "sector", "source", "description", "location"]
    for key in keys[keys.index(first[0]):keys.index(until)]:
        answer(r, REPORTER, key, wanted[key])
    r.fake.wait_for(lambda: (open_question(r, REPORTER) or ("",))[0] == until or None)
    settle(r)
    return root_message(r, REPORTER)["blocks"][0]["text"]["text"].split()[-1]


def nudged(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("drafts: nudged")]


def bot_replies(r: Running, reference: str) -> list[dict[str, Any]]:
    return [m for m in reporter_replies(r, reference) if m.get("bot_id") or m.get("user") != REPORTER]


def everything(msg: dict[str, Any]) -> str:
    return (msg.get("text") or "") + str(msg.get("blocks") or "")


def test_an_acute_draft_left_unsent_gets_one_nudge_after_ten_minutes_at_any_hour(running) -> None:
    r = running
    saturday_night = local(2027, 3, 27, 2, 0)
    reference = start_draft(r, saturday_night, "minor", acute="yes")
    before = len(bot_replies(r, reference))
    assert nudged(travel(r, saturday_night + timedelta(minutes=9))) == []
    lines = travel(r, saturday_night + timedelta(minutes=10))
    assert nudged(lines) == [f"drafts: nudged {reference} (acute draft)"]
    replies = bot_replies(r, reference)
    assert len(replies) == before + 1
    nudge = replies[-1]
    assert nudge["thread_ts"] == root_message(r, REPORTER)["ts"]  # in the draft's own thread
    body = everything(nudge)
    assert "nog niet verstuurd" in body and "*Nu versturen*" in body
    assert "112" in body and "0900-8844" in body
    assert reference in nudge["text"] and "0900" not in nudge["text"]  # the push preview: a reference only
    # Once: later sweeps at any hour send nothing more, and nothing reached the AF's channel.
    for minutes in (11, 30, 24 * 60):
        assert nudged(travel(r, saturday_night + timedelta(minutes=minutes))) == []
    assert len(bot_replies(r, reference)) == before + 1
    assert not any(reference in everything(m) for m in r.fake.messages_in(CASES_CHANNEL))


def test_a_draft_idle_for_a_working_day_gets_one_nudge_and_its_expiry_is_announced(running) -> None:
    r = running
    friday = local(2027, 4, 9, 16, 0)
    reference = start_draft(r, friday, "acute")  # not acute: the acute question is still open
    assert nudged(travel(r, friday + timedelta(minutes=10))) == []  # not acute: no ten-minute nudge
    assert nudged(travel(r, local(2027, 4, 10, 16, 0))) == []  # Saturday: not a working day
    assert nudged(travel(r, local(2027, 4, 12, 15, 59))) == []
    assert nudged(travel(r, local(2027, 4, 12, 16, 0))) == [f"drafts: nudged {reference} (idle draft)"]
    nudge = bot_replies(r, reference)[-1]
    assert "nog niet verstuurd" in everything(nudge) and "30 dagen" in everything(nudge)
    assert DESCRIPTION not in everything(nudge)
    assert nudged(travel(r, local(2027, 4, 13, 16, 0))) == []
    assert nudged(travel(r, local(2027, 4, 20, 10, 0))) == []

    # 30 days after the last activity the draft expires: the reporter reads it in the draft's thread.
    lines = travel(r, local(2027, 5, 11, 0, 5))
    assert any(line.startswith(f"retention: purged {reference} (abandoned_draft)") for line in lines), lines
    expired = r.fake.wait_for(lambda: next((m for m in bot_replies(r, reference)
                                            if "is nu verwijderd" in everything(m)), None))
    assert expired["thread_ts"] == root_message(r, REPORTER)["ts"]
    assert "30 dagen" in everything(expired) and "/signaal" in everything(expired)
    # Delivered: who it went to is forgotten at the next sweep, like every message of a purged signal.
    travel(r, local(2027, 5, 11, 0, 6))
    with Session(r.core.engine) as session:
        ref = session.exec(select(MessageRef).where(MessageRef.kind == "draft_expired")).one()
        assert ref.message_id and ref.recipient is None


def test_a_draft_that_is_sent_in_time_gets_no_nudge(running) -> None:
    r = running
    monday = local(2027, 4, 12, 10, 0)
    reference = start_draft(r, monday, "minor", acute="yes")
    r.core.clock.set(monday + timedelta(minutes=5))
    for key in ["minor", "sector", "source", "description", "location", "feedback"]:
        answer(r, REPORTER, key, DEFAULT_ANSWERS[key])
    assert r.driver.click(REPORTER, wait_summary(r, REPORTER), "triage:submit").status == 200
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    assert nudged(travel(r, monday + timedelta(minutes=30))) == []
    assert nudged(travel(r, local(2027, 4, 13, 11, 0))) == []
    assert not any("nog niet verstuurd" in everything(m) for m in bot_replies(r, reference))


def test_a_nudged_acute_draft_that_is_then_sent_says_the_nudge_is_no_longer_needed(running) -> None:
    r = running
    monday = local(2027, 4, 12, 10, 0)
    reference = start_draft(r, monday, "minor", acute="yes")
    assert nudged(travel(r, monday + timedelta(minutes=10))) == [f"drafts: nudged {reference} (acute draft)"]
    r.core.clock.set(monday + timedelta(minutes=12))
    for key in ["minor", "sector", "source", "description", "location", "feedback"]:
        answer(r, REPORTER, key, DEFAULT_ANSWERS[key])
    assert r.driver.click(REPORTER, wait_summary(r, REPORTER), "triage:submit").status == 200
    r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    settle(r)
    [nudge] = [m for m in bot_replies(r, reference) if "herinnering is niet meer nodig" in everything(m)]
    assert "nog niet verstuurd" not in everything(nudge) and "0900-8844" not in everything(nudge)


def test_a_draft_another_process_nudged_is_not_nudged_again(running) -> None:
    """As if another process claimed this nudge a moment ago: its unique marker is what counts."""
    r = running
    monday = local(2027, 4, 12, 10, 0)
    reference = start_draft(r, monday, "minor", acute="yes")
    with session_scope(r.core.engine) as session:
        signal = session.exec(select(Signal).where(Signal.reference == reference)).one()
        session.add(JobRun(job="draft_nudge", period=f"{signal.id}:acute", ran_at=monday))
    assert nudged(travel(r, monday + timedelta(minutes=10))) == []
    assert not any("nog niet verstuurd" in everything(m) for m in bot_replies(r, reference))
