"""The overdue ladder through the in-memory edge: the sweep runs with the clock moved (as `jobs run-due
--at` does), each rung goes to its audience once, escalations carry no case content, claiming
stops the ladder, and a snoozed reminder comes back when it was moved to."""

from __future__ import annotations

from bot.core.testing import Shown, TestEdge, dm
from tests.core.conftest import (
    AF,
    AF_ELSEWHERE,
    ANSWERS,
    BACKUP,
    CASE_PLACE,
    DESCRIPTION,
    KETENREGISSEUR,
    LOCATION,
    REPORTER,
    local,
)

NO_FEEDBACK_WANTED = {**ANSWERS, "feedback": "no"}  # only the claim ladder runs


def sent(lines: list[str]) -> list[str]:
    """The rule keys a sweep sent, in order."""
    return [line.split()[2] for line in lines if line.startswith("reminders: sent ")]


def reminders_in_case_thread(edge: TestEdge) -> list[Shown]:
    [card] = [s for s in edge.place(CASE_PLACE) if s.kind == "case_card"]
    return [s for s in edge.thread(card) if s.kind == "reminder"]


def test_an_unclaimed_signal_chases_the_af_then_the_backup_then_the_ketenregisseur(edge: TestEdge) -> None:
    reference = edge.report(REPORTER, NO_FEEDBACK_WANTED)  # Monday 10:00

    assert sent(edge.travel(local(2027, 4, 6, 9, 59))) == []
    assert sent(edge.travel(local(2027, 4, 6, 10, 0))) == ["unclaimed_af"]  # one working day: the AF
    [reminder] = reminders_in_case_thread(edge)
    assert reminder.data["ref"]["mention"] == [AF] and reminder.data["reference"] == reference
    assert reminder.data["deadline"]["rule"] == "unclaimed_af"
    assert edge.inbox(BACKUP) == []
    assert sent(edge.travel(local(2027, 4, 6, 16, 0))) == []  # once per slot

    assert sent(edge.travel(local(2027, 4, 7, 10, 0))) == ["unclaimed_backup"]  # two: the backup, by DM
    [escalation] = edge.inbox(BACKUP)
    assert escalation.kind == "reminder_escalation" and escalation.data["ref"]["audience"] == "backup"
    assert edge.inbox(KETENREGISSEUR) == []

    assert sent(edge.travel(local(2027, 4, 8, 10, 0))) == ["unclaimed_ketenregisseur"]  # three: regional
    [to_regional] = edge.inbox(KETENREGISSEUR)
    assert to_regional.data["ref"]["audience"] == "ketenregisseur"

    for person in (BACKUP, KETENREGISSEUR):  # an escalation names the case, never its content
        assert not any(DESCRIPTION in repr(d) or LOCATION in repr(d) for d in edge.ever_shown(dm(person)))

    # Claimed: the ladder stops, and the reminder in the thread is shown again, settled.
    assert edge.click(AF, "claim", reference).ok
    assert reminders_in_case_thread(edge)[0].ops[-1] == "update"
    for moment in (local(2027, 4, 9, 10, 0), local(2027, 4, 30, 10, 0)):
        assert sent(edge.travel(moment)) == [], moment
    assert len(reminders_in_case_thread(edge)) == 1
    assert len(edge.inbox(BACKUP)) == 1 and len(edge.inbox(KETENREGISSEUR)) == 1


def test_an_acute_signal_is_chased_at_any_hour(edge: TestEdge) -> None:
    edge.core.clock.set(local(2027, 4, 10, 2, 0))  # Saturday night
    edge.report(REPORTER, {**NO_FEEDBACK_WANTED, "acute": "yes"})
    assert sent(edge.travel(local(2027, 4, 10, 2, 29))) == []
    assert sent(edge.travel(local(2027, 4, 10, 2, 30))) == ["unclaimed_acute_af"]
    assert len(reminders_in_case_thread(edge)) == 1
    assert sent(edge.travel(local(2027, 4, 10, 3, 0))) == ["unclaimed_acute_escalation"]
    assert [s.kind for s in edge.inbox(BACKUP)] == ["reminder_escalation"]
    assert [s.kind for s in edge.inbox(KETENREGISSEUR)] == ["reminder_escalation"]


def test_a_snoozed_reminder_comes_back_the_next_working_day(edge: TestEdge) -> None:
    edge.report(REPORTER, NO_FEEDBACK_WANTED)
    edge.travel(local(2027, 4, 6, 10, 0))
    [reminder] = reminders_in_case_thread(edge)
    assert not edge.snooze(AF_ELSEWHERE, reminder.data["ref"]["deadline"], "tomorrow").ok  # not their case
    moved = edge.snooze(AF, reminder.data["ref"]["deadline"], "tomorrow")
    assert moved.ok and moved.until == local(2027, 4, 7, 9, 0)
    assert sent(edge.travel(local(2027, 4, 7, 8, 59))) == []
    assert "unclaimed_af" in sent(edge.travel(local(2027, 4, 7, 9, 0)))
    assert len(reminders_in_case_thread(edge)) == 2
