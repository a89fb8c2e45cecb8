"""The reminder ladder for a signal nobody picks up, travelling in time through `jobs run-due`'s code:
each rung at its moment and not before, working days and Dutch holidays, office hours, acute at
any hour, snooze, never twice for one slot, and silence once the signal is claimed."""

from __future__ import annotations

from tests.helpers import AF, AF_OTHER, BACKUP, CASES_CHANNEL, KETENREGISSEUR
from tests.reminders_support import (
    card_of,
    change,
    claim,
    deadlines,
    dms,
    local,
    reminders_in_thread,
    report_at,
    sent,
    settle,
    travel,
)

# Thursday 25 March 2027, 15:00: the Thursday before Easter. Good Friday (26 March) and Easter
# Monday (29 March) are public holidays in holidays.NL, so the first working day after it is
# Tuesday 30 March.
THURSDAY_BEFORE_EASTER = local(2027, 3, 25, 15, 0)


def test_an_unclaimed_signal_before_easter_chases_the_af_then_the_backup_then_the_ketenregisseur(running) -> None:
    r = running
    reference = report_at(r, THURSDAY_BEFORE_EASTER)

    # Not on Good Friday, not over the Easter weekend, not on Easter Monday, not a minute early.
    for moment in (local(2027, 3, 25, 17, 0), local(2027, 3, 26, 15, 0), local(2027, 3, 28, 15, 0),
                   local(2027, 3, 29, 15, 0), local(2027, 3, 30, 14, 59)):
        assert sent(travel(r, moment)) == [], moment
    assert reminders_in_thread(r, reference) == []

    # Tuesday 15:00, one working day: the AF, in the case thread, with a mention.
    assert sent(travel(r, local(2027, 3, 30, 15, 0))) == ["unclaimed_af"]
    [reminder] = reminders_in_thread(r, reference)
    assert f"<@{AF}>" in reminder["text"]
    assert reference in reminder["text"]
    assert "Twee mannen" not in reminder["text"] and "Haven" not in str(reminder["blocks"])
    assert "is 1 werkdag geleden gemeld, maar nog niemand heeft het opgepakt" in str(reminder["blocks"])
    assert dms(r, BACKUP) == []

    # Later that day and the next morning: nothing again for the same slot.
    assert sent(travel(r, local(2027, 3, 30, 16, 0))) == []
    assert sent(travel(r, local(2027, 3, 31, 14, 59))) == []

    # Wednesday 15:00, two working days: the backup directly, by DM.
    assert sent(travel(r, local(2027, 3, 31, 15, 0))) == ["unclaimed_backup"]
    [escalation] = dms(r, BACKUP)
    assert reference in escalation["text"]
    assert "<#C0AFCASES1>" in str(escalation["blocks"])
    assert dms(r, KETENREGISSEUR) == []

    # Thursday 1 April 15:00, three working days: the ketenregisseur, without case content.
    assert sent(travel(r, local(2027, 4, 1, 15, 0))) == ["unclaimed_ketenregisseur"]
    [to_kr] = dms(r, KETENREGISSEUR)
    assert "Breda" in to_kr["text"] and reference not in to_kr["text"]
    assert "Twee mannen" not in str(to_kr) and "horeca" not in str(to_kr).lower()
    assert "geen inhoud" in str(to_kr["blocks"])

    # Five working days after the report (Monday 5 April 15:00): the reporter still has heard nothing.
    assert sent(travel(r, local(2027, 4, 2, 15, 0))) == []
    assert sent(travel(r, local(2027, 4, 5, 15, 0))) == ["no_feedback"]
    assert "terugkoppeling" in str(reminders_in_thread(r, reference)[-1]["blocks"])

    # Claimed and given feedback: silence for good.
    claim(r, reference)
    change(r, reference, "feedback_given", first_feedback_at="now")
    assert sent(travel(r, local(2027, 5, 31, 10, 0))) == []
    assert len(reminders_in_thread(r, reference)) == 2
    assert len(dms(r, BACKUP)) == 1 and len(dms(r, KETENREGISSEUR)) == 1


def test_claiming_stops_the_ladder(running) -> None:
    r = running
    reference = report_at(r, THURSDAY_BEFORE_EASTER, feedback="no")
    assert sent(travel(r, local(2027, 3, 30, 15, 0))) == ["unclaimed_af"]
    travel(r, local(2027, 3, 30, 15, 30))
    claim(r, reference)
    for moment in (local(2027, 3, 31, 15, 0), local(2027, 4, 1, 15, 0), local(2027, 4, 30, 15, 0)):
        assert sent(travel(r, moment)) == [], moment
    assert dms(r, BACKUP) == [] and dms(r, KETENREGISSEUR) == []
    assert {k: d.state for k, d in deadlines(r, reference).items()} == {
        "unclaimed_af": "sent", "unclaimed_backup": "cancelled", "unclaimed_ketenregisseur": "cancelled"}
    # The reminder already in the thread now says it is settled, and its buttons are gone.
    r.fake.wait_for(lambda: "opgepakt" in str(reminders_in_thread(r, reference)[0]["blocks"])
                    and "reminder:snooze" not in str(reminders_in_thread(r, reference)[0]["blocks"]))


def test_a_reminder_whose_reason_went_away_unnoticed_is_not_sent(running) -> None:
    r = running
    reference = report_at(r, THURSDAY_BEFORE_EASTER, feedback="no")
    change(r, reference, None, claimed_by=AF, status="in_progress")  # no event: the sweep checks the state itself
    lines = travel(r, local(2027, 3, 30, 15, 0))
    assert sent(lines) == []
    assert any("stopped unclaimed_af" in line and "claimed" in line for line in lines)
    assert reminders_in_thread(r, reference) == []


def test_feedback_to_the_reporter_stops_the_feedback_reminder(running) -> None:
    r = running
    reference = report_at(r, local(2027, 4, 5, 10, 0))
    claim(r, reference)
    travel(r, local(2027, 4, 9, 10, 0))
    change(r, reference, "feedback_given", first_feedback_at="now")
    assert sent(travel(r, local(2027, 4, 12, 10, 0))) == []
    assert deadlines(r, reference)["no_feedback"].state == "cancelled"


def test_a_reporter_who_wants_no_feedback_brings_no_feedback_reminder(running) -> None:
    r = running
    reference = report_at(r, local(2027, 4, 5, 10, 0), feedback="no")
    assert "no_feedback" not in deadlines(r, reference)


def test_after_a_weekend_down_the_bot_catches_up_with_one_escalation_and_the_afs_own_reminder(running) -> None:
    r = running
    reference = report_at(r, THURSDAY_BEFORE_EASTER, feedback="no")
    # Down from Thursday until Friday 2 April: the AF, backup and ketenregisseur rungs all passed.
    # The highest is sent (the ketenregisseur, who sees no content) and the AF's own reminder too, in
    # the case thread: the one who must act hears; the backup rung in between is skipped.
    lines = travel(r, local(2027, 4, 2, 9, 0))
    assert sent(lines) == ["unclaimed_af", "unclaimed_ketenregisseur"]
    assert sum("skipped" in line for line in lines) == 1
    [reminder] = reminders_in_thread(r, reference)
    assert f"<@{AF}>" in str(reminder["blocks"]) and dms(r, BACKUP) == []
    assert len(dms(r, KETENREGISSEUR)) == 1
    # A minute later (the next tick) nothing is sent again.
    assert sent(travel(r, local(2027, 4, 2, 9, 1))) == []
    assert len(reminders_in_thread(r, reference)) == 1 and len(dms(r, KETENREGISSEUR)) == 1


def test_an_acute_signal_missed_at_night_reaches_the_af_and_the_escalation_at_once(running) -> None:
    r = running
    reference = report_at(r, local(2027, 3, 27, 2, 0), acute="yes", feedback="no")
    # Down for an hour and a half: both acute rungs are due when the bot is back.
    assert sent(travel(r, local(2027, 3, 27, 3, 30))) == ["unclaimed_acute_af", "unclaimed_acute_escalation"]
    assert len(reminders_in_thread(r, reference)) == 1
    assert len(dms(r, BACKUP)) == 1 and len(dms(r, KETENREGISSEUR)) == 1
    assert sent(travel(r, local(2027, 3, 27, 3, 31))) == []


def test_a_missed_reminder_waits_for_office_hours(running) -> None:
    r = running
    reference = report_at(r, THURSDAY_BEFORE_EASTER, feedback="no")
    # Down at Tuesday 15:00; back at 20:00, out of office hours: the reminder waits.
    assert sent(travel(r, local(2027, 3, 30, 20, 0))) == []
    assert sent(travel(r, local(2027, 3, 31, 8, 29))) == []
    assert sent(travel(r, local(2027, 3, 31, 8, 30))) == ["unclaimed_af"]
    assert len(reminders_in_thread(r, reference)) == 1


def test_an_acute_signal_is_chased_at_any_hour(running) -> None:
    r = running
    # Saturday night, 02:00.
    reference = report_at(r, local(2027, 3, 27, 2, 0), acute="yes", feedback="no")
    assert sent(travel(r, local(2027, 3, 27, 2, 29))) == []
    assert sent(travel(r, local(2027, 3, 27, 2, 30))) == ["unclaimed_acute_af"]
    [reminder] = reminders_in_thread(r, reference)
    assert "ACUUT" in str(reminder["blocks"]) and "30 minuten" in str(reminder["blocks"])
    assert sent(travel(r, local(2027, 3, 27, 2, 59))) == []
    assert sent(travel(r, local(2027, 3, 27, 3, 0))) == ["unclaimed_acute_escalation"]
    assert len(dms(r, BACKUP)) == 1 and len(dms(r, KETENREGISSEUR)) == 1
    assert "ACUUT" in dms(r, BACKUP)[0]["text"]
    # Acute escalations say what to do outside office hours: the police number (and 112).
    for escalation in (dms(r, BACKUP)[0], dms(r, KETENREGISSEUR)[0]):
        blocks = str(escalation["blocks"])
        assert "Buiten kantooruren" in blocks and "0900-8844" in blocks and "112" in blocks
        assert "0900-8844" not in escalation["text"]
    assert sent(travel(r, local(2027, 3, 29, 10, 0))) == []


def test_the_af_snoozes_a_reminder_until_tomorrow(running) -> None:
    r = running
    reference = report_at(r, THURSDAY_BEFORE_EASTER, feedback="no")
    travel(r, local(2027, 3, 30, 15, 0))
    [reminder] = reminders_in_thread(r, reference)
    resp = r.driver.click(AF, reminder, "reminder:snooze:tomorrow")
    assert resp.status == 200
    r.fake.wait_for(lambda: any("Uitgesteld" in e.get("text", "") for e in r.fake.ephemerals_for(AF)))
    settle(r)
    r.fake.wait_for(lambda: "Uitgesteld tot" in str(reminders_in_thread(r, reference)[0]["blocks"]))
    # Tomorrow is Wednesday 31 March, 09:00.
    assert sent(travel(r, local(2027, 3, 31, 8, 59))) == []
    assert sent(travel(r, local(2027, 3, 31, 9, 0))) == ["unclaimed_af"]
    assert len(reminders_in_thread(r, reference)) == 2
    # The escalation to the backup keeps its own time.
    assert sent(travel(r, local(2027, 3, 31, 15, 0))) == ["unclaimed_backup"]


def test_the_af_snoozes_a_reminder_for_three_working_days(running) -> None:
    r = running
    reference = report_at(r, THURSDAY_BEFORE_EASTER, feedback="no")
    travel(r, local(2027, 3, 30, 15, 0))
    travel(r, local(2027, 3, 30, 15, 10))
    [reminder] = reminders_in_thread(r, reference)
    assert r.driver.click(AF, reminder, "reminder:snooze:3_working_days").status == 200
    r.fake.wait_for(lambda: deadlines(r, reference)["unclaimed_af"].snoozed)
    # Three working days from Tuesday 15:10 is Friday 2 April, 15:10.
    assert deadlines(r, reference)["unclaimed_af"].due_at == local(2027, 4, 2, 15, 10)
    assert sent(travel(r, local(2027, 3, 31, 15, 0))) == ["unclaimed_backup"]
    assert sent(travel(r, local(2027, 4, 1, 15, 0))) == ["unclaimed_ketenregisseur"]
    assert sent(travel(r, local(2027, 4, 2, 15, 9))) == []
    assert sent(travel(r, local(2027, 4, 2, 15, 10))) == ["unclaimed_af"]


def test_only_the_municipalitys_attention_officers_can_snooze(running) -> None:
    r = running
    reference = report_at(r, THURSDAY_BEFORE_EASTER, feedback="no")
    travel(r, local(2027, 3, 30, 15, 0))
    [reminder] = reminders_in_thread(r, reference)
    # The AF of Etten-Leur, who happens to be in Breda's channel, may not.
    with r.fake._mutating():
        r.fake.workspace.resolve_channel(CASES_CHANNEL).members.append(AF_OTHER)
    assert r.driver.click(AF_OTHER, reminder, "reminder:snooze:tomorrow").status == 200
    r.fake.wait_for(lambda: r.fake.ephemerals_for(AF_OTHER))
    assert "Er is niets gewijzigd" in r.fake.ephemerals_for(AF_OTHER)[-1]["text"]
    assert not deadlines(r, reference)["unclaimed_af"].snoozed
    # The backup of Breda may.
    assert r.driver.click(BACKUP, reminder, "reminder:snooze:tomorrow").status == 200
    r.fake.wait_for(lambda: deadlines(r, reference)["unclaimed_af"].snoozed)


def test_the_case_card_is_not_disturbed_by_reminders(running) -> None:
    r = running
    reference = report_at(r, THURSDAY_BEFORE_EASTER, feedback="no")
    travel(r, local(2027, 3, 30, 15, 0))
    top_level = [m for m in r.fake.messages_in("C0AFCASES1") if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]
    assert len(top_level) == 1 and top_level[0]["ts"] == card_of(r, reference)["ts"]
