"""The reminder ladder: who is chased when (product defaults; README "Timings")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from flows.calendar import WorkingCalendar
from flows.data import DataError
from flows.reminder_rules import (
    DEFAULT_PATH,
    Audience,
    Offset,
    ReminderRule,
    SnoozeChoice,
    Trigger,
    due_at,
    load_reminders,
    refresher_due,
    rules_for,
    snooze_until,
    training_reminder_times,
)

AMS = ZoneInfo("Europe/Amsterdam")
CAL = WorkingCalendar()
CONFIG = load_reminders()


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=AMS).astimezone(UTC)


def ladder(trigger: Trigger, reported: datetime) -> list[tuple[str, datetime, tuple[Audience, ...], bool]]:
    return [(r.key, due_at(r, reported, CAL), r.audience, r.escalation) for r in rules_for(trigger)]


# --- the default ladder ----------------------------------------------------------------------------


def test_an_unclaimed_signal_chases_the_af_then_the_backup_then_the_ketenregisseur() -> None:
    monday = local(2026, 6, 8, 10)
    assert ladder(Trigger.UNCLAIMED, monday) == [
        ("unclaimed_af", local(2026, 6, 9, 10), (Audience.AF,), False),
        ("unclaimed_backup", local(2026, 6, 10, 10), (Audience.BACKUP,), True),
        ("unclaimed_ketenregisseur", local(2026, 6, 11, 10), (Audience.KETENREGISSEUR,), True),
    ]


def test_a_signal_on_the_thursday_before_easter_is_chased_on_tuesday() -> None:
    (first, *_) = rules_for(Trigger.UNCLAIMED)
    assert due_at(first, local(2027, 3, 25, 10), CAL) == local(2027, 3, 30, 10)


def test_a_signal_reported_on_saturday_is_chased_on_tuesday_morning() -> None:
    (first, *_) = rules_for("unclaimed")
    assert due_at(first, local(2026, 6, 13, 22), CAL) == local(2026, 6, 16, 8, 30)


def test_an_unclaimed_acute_signal_chases_the_af_after_30_minutes_at_any_hour() -> None:
    saturday_night = local(2026, 6, 13, 23, 50)
    assert ladder(Trigger.UNCLAIMED_ACUTE, saturday_night) == [
        ("unclaimed_acute_af", saturday_night + timedelta(minutes=30), (Audience.AF,), False),
        (
            "unclaimed_acute_escalation",
            saturday_night + timedelta(minutes=60),
            (Audience.BACKUP, Audience.KETENREGISSEUR),
            True,
        ),
    ]


def test_acute_minutes_are_real_minutes_across_the_dst_change() -> None:
    # 01:45 CET on the night summer time starts; 30 real minutes later the clock reads 03:15 CEST.
    reported = local(2026, 3, 29, 1, 45)
    due = due_at(CONFIG.rule("unclaimed_acute_af"), reported, CAL)
    assert due - reported == timedelta(minutes=30)
    assert due.astimezone(AMS).strftime("%H:%M") == "03:15"


def test_the_reporter_gets_feedback_within_five_working_days() -> None:
    (rule,) = rules_for(Trigger.NO_FEEDBACK)
    assert rule.audience == (Audience.AF,)
    assert due_at(rule, local(2026, 6, 10, 14), CAL) == local(2026, 6, 17, 14)


def test_unanswered_advice_chases_the_partner_and_the_af_after_three_working_days() -> None:
    (rule,) = rules_for(Trigger.ADVICE_UNANSWERED)
    assert rule.audience == (Audience.PARTNER, Audience.AF)
    assert due_at(rule, local(2026, 6, 11, 9), CAL) == local(2026, 6, 16, 9)


def test_a_hand_over_without_outcome_is_followed_up_after_ten_working_days() -> None:
    (rule,) = rules_for(Trigger.OUTCOME_MISSING)
    assert rule.audience == (Audience.AF, Audience.PARTNER)
    assert due_at(rule, local(2026, 6, 1, 11), CAL) == local(2026, 6, 15, 11)


def test_further_investigation_is_revisited_after_twenty_working_days() -> None:
    (rule,) = rules_for(Trigger.FURTHER_INVESTIGATION)
    assert rule.offset == Offset(working_days=20)
    assert due_at(rule, local(2026, 6, 1, 11), CAL) == local(2026, 6, 29, 11)


def test_every_trigger_has_a_rule() -> None:
    assert {r.trigger for r in CONFIG.rules} == set(Trigger)


def test_a_minute_rule_in_office_hours_waits_for_the_office() -> None:
    rule = ReminderRule("x", Trigger.UNCLAIMED, Offset(minutes=30), (Audience.AF,), office_hours=True)
    assert due_at(rule, local(2026, 6, 12, 17, 15), CAL) == local(2026, 6, 15, 8, 30)
    assert due_at(rule, local(2026, 6, 12, 10), CAL) == local(2026, 6, 12, 10, 30)


def test_due_at_refuses_naive_anchors() -> None:
    with pytest.raises(ValueError, match="naive"):
        due_at(CONFIG.rule("unclaimed_acute_af"), datetime(2026, 6, 8, 10), CAL)


# --- snoozing --------------------------------------------------------------------------------------


def test_snoozing_until_tomorrow_on_friday_means_monday_nine() -> None:
    assert snooze_until(SnoozeChoice.TOMORROW, local(2026, 6, 12, 15), CAL) == local(2026, 6, 15, 9)


def test_snoozing_until_tomorrow_before_easter_means_tuesday_nine() -> None:
    assert snooze_until("tomorrow", local(2027, 3, 25, 11), CAL) == local(2027, 3, 30, 9)


def test_snoozing_until_tomorrow_on_a_weekday() -> None:
    assert snooze_until("tomorrow", local(2026, 6, 9, 16), CAL) == local(2026, 6, 10, 9)


def test_snoozing_three_working_days_keeps_the_time_of_day() -> None:
    assert snooze_until("3_working_days", local(2026, 6, 10, 14), CAL) == local(2026, 6, 15, 14)


def test_snoozing_three_working_days_on_saturday_counts_from_monday() -> None:
    assert snooze_until(SnoozeChoice.THREE_WORKING_DAYS, local(2026, 6, 13, 11), CAL) == local(2026, 6, 18, 8, 30)


# --- training --------------------------------------------------------------------------------------


def test_training_reminders_come_fourteen_days_and_one_day_before() -> None:
    session = local(2026, 6, 24, 14)  # a Wednesday
    assert CONFIG.training.before_session_days == (14, 1)
    assert training_reminder_times(session, CAL) == [local(2026, 6, 10, 9), local(2026, 6, 23, 9)]


def test_the_day_before_reminder_of_a_monday_session_comes_on_friday() -> None:
    assert training_reminder_times(local(2026, 6, 15, 14), CAL) == [local(2026, 6, 1, 9), local(2026, 6, 12, 9)]


def test_the_day_before_reminder_of_a_session_after_easter_comes_on_thursday() -> None:
    assert training_reminder_times(local(2027, 3, 30, 10), CAL)[-1] == local(2027, 3, 25, 9)


def test_a_session_planned_at_short_notice_skips_reminders_in_the_past() -> None:
    session = local(2026, 6, 24, 14)
    assert training_reminder_times(session, CAL, after=local(2026, 6, 15, 12)) == [local(2026, 6, 23, 9)]


def test_a_network_member_without_training_for_a_year_gets_a_refresher_nudge() -> None:
    now = local(2026, 6, 15, 10)
    kwargs = {"member_since": local(2023, 1, 1), "calendar": CAL}
    assert refresher_due(now, last_attended=local(2025, 6, 15), last_nudged=None, **kwargs)
    assert not refresher_due(now, last_attended=local(2025, 6, 16), last_nudged=None, **kwargs)


def test_the_refresher_nudge_comes_at_most_once_a_quarter() -> None:
    now = local(2026, 6, 15, 10)
    kwargs = {"last_attended": local(2024, 1, 10), "member_since": local(2023, 1, 1), "calendar": CAL}
    assert not refresher_due(now, last_nudged=local(2026, 3, 16), **kwargs)
    assert refresher_due(now, last_nudged=local(2026, 3, 15), **kwargs)


def test_a_member_who_never_trained_is_nudged_a_year_after_joining() -> None:
    kwargs = {"last_attended": None, "last_nudged": None, "member_since": local(2025, 8, 31), "calendar": CAL}
    assert not refresher_due(local(2026, 8, 30), **kwargs)
    assert refresher_due(local(2026, 8, 31), **kwargs)


# --- a region's own file ---------------------------------------------------------------------------


def region_file(tmp_path: Path, change: object) -> Path:
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path = tmp_path / "reminders.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_region_can_chase_sooner(tmp_path: Path) -> None:
    path = region_file(tmp_path, lambda d: d["rules"][5].update(offset={"working_days": 3}))
    config = load_reminders(path)
    (rule,) = rules_for(Trigger.NO_FEEDBACK, config)
    assert rule.offset == Offset(working_days=3)
    assert config.source == str(path)


def test_a_single_audience_may_be_written_without_a_list(tmp_path: Path) -> None:
    path = region_file(tmp_path, lambda d: d["rules"][0].update(audience="af"))
    assert load_reminders(path).rules[0].audience == (Audience.AF,)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["rules"][0].update(trigger="forgotten"), r"rules\[0\]\.trigger: expected one of"),
        (lambda d: d["rules"][1].update(offset={"working_days": 1, "minutes": 5}), r"rules\[1\]\.offset: give exactly"),
        (lambda d: d["rules"][1].update(offset={"hours": 5}), r"rules\[1\]\.offset: unknown key"),
        (lambda d: d["rules"][2].update(offset={"working_days": 0}), r"rules\[2\]\.offset\.working_days: must be at"),
        (lambda d: d["rules"][3].update(offset={"minutes": "30"}), r"rules\[3\]\.offset\.minutes: expected a whole"),
        (lambda d: d["rules"][4].update(audience=["af", "mayor"]), r"rules\[4\]\.audience\[1\]: expected one of"),
        (lambda d: d["rules"][0].update(audience=["partner"]), r"audience\[0\]: trigger 'unclaimed' has no partner"),
        (lambda d: d["rules"][0].update(office_hours=False), r"rules\[0\]\.office_hours: working-day offsets"),
        (lambda d: d["rules"][0].update(escalation="yes"), r"rules\[0\]\.escalation: expected true or false"),
        (lambda d: d["rules"][1].update(key="unclaimed_af"), r"rules\[1\]\.key: duplicate rule key"),
        (lambda d: d["rules"][1].pop("audience"), r"rules\[1\]\.audience: is missing"),
        (lambda d: d["training"].update(before_session_days=[14, 14]), r"training\.before_session_days\[1\]"),
        (lambda d: d["training"]["refresher"].update(after_months=0), r"training\.refresher\.after_months"),
        (lambda d: d.update(version=2), r"version: unsupported version 2"),
        (lambda d: d.update(rules=[]), r"rules: expected a non-empty list"),
    ],
)
def test_a_broken_region_file_names_the_file_and_the_field(tmp_path: Path, change: object, where: str) -> None:
    path = region_file(tmp_path, change)
    with pytest.raises(DataError, match=where) as err:
        load_reminders(path)
    assert str(err.value).startswith(str(path))
