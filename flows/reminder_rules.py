"""The reminder ladder (herinneringen, escalatie) as data, and when each reminder falls due.

Rules are in `reminders.yaml` beside this file; a region passes its own path. This module only
computes moments; the scheduler decides what is still open and sends each due slot once.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path

from flows.calendar import WorkingCalendar
from flows.data import Node, load_yaml

DEFAULT_PATH = Path(__file__).with_name("reminders.yaml")

# Snoozes and training reminders land at this local time (not at office start: give people time
# to get in), or at office start when that is later.
MORNING = time(9, 0)


class Trigger(StrEnum):
    UNCLAIMED = "unclaimed"  # not claimed (niet opgepakt); anchor: reported
    UNCLAIMED_ACUTE = "unclaimed_acute"  # acute and not claimed; anchor: reported
    NO_FEEDBACK = "no_feedback"  # no terugkoppeling to the reporter; anchor: reported
    ADVICE_UNANSWERED = "advice_unanswered"  # advice asked, none recorded; anchor: asked
    OUTCOME_MISSING = "outcome_missing"  # routed, no outcome recorded; anchor: handed over
    FURTHER_INVESTIGATION = "further_investigation"  # concluded verder_onderzoek; anchor: concluded


class Audience(StrEnum):
    AF = "af"
    BACKUP = "backup"
    KETENREGISSEUR = "ketenregisseur"
    PARTNER = "partner"


class SnoozeChoice(StrEnum):
    TOMORROW = "tomorrow"  # next working day, 09:00 local
    THREE_WORKING_DAYS = "3_working_days"  # same time of day three working days on


# Only these triggers involve a partner who can be reminded.
_PARTNER_TRIGGERS = frozenset({Trigger.ADVICE_UNANSWERED, Trigger.OUTCOME_MISSING})


@dataclass(frozen=True)
class Offset:
    working_days: int | None = None
    minutes: int | None = None

    def __post_init__(self) -> None:
        if (self.working_days is None) == (self.minutes is None):
            raise ValueError("an offset is either working_days or minutes")


@dataclass(frozen=True)
class ReminderRule:
    key: str
    trigger: Trigger
    offset: Offset
    audience: tuple[Audience, ...]
    office_hours: bool = True  # deliver only in office hours
    escalation: bool = False  # chases someone other than the one who should act


@dataclass(frozen=True)
class TrainingReminders:
    before_session_days: tuple[int, ...] = (14, 1)
    refresher_after_months: int = 12
    refresher_at_most_every_months: int = 3


@dataclass(frozen=True)
class ReminderConfig:
    rules: tuple[ReminderRule, ...]
    training: TrainingReminders
    source: str

    def rule(self, key: str) -> ReminderRule:
        for rule in self.rules:
            if rule.key == key:
                return rule
        raise KeyError(key)


def load_reminders(path: str | Path | None = None) -> ReminderConfig:
    """Load and validate a reminder file (the packaged default when `path` is None)."""
    if path is None:
        return _default()
    return _parse(load_yaml(path))


@cache
def _default() -> ReminderConfig:
    return _parse(load_yaml(DEFAULT_PATH))


def rules_for(trigger: Trigger | str, config: ReminderConfig | None = None) -> list[ReminderRule]:
    """The rules for one trigger, in the order of the file (the ladder's order)."""
    trigger = Trigger(trigger)
    return [r for r in (config or load_reminders()).rules if r.trigger is trigger]


def due_at(rule: ReminderRule, anchor: datetime, calendar: WorkingCalendar) -> datetime:
    """When `rule` falls due for a case whose clock started at `anchor` (UTC result).

    Working-day offsets keep the time of day and land in office time (see
    `WorkingCalendar.add_working_days`: a Saturday report counts from Monday 08:30). Minute offsets
    are real elapsed minutes, at any hour, unless the rule says office_hours.
    """
    if rule.offset.working_days is not None:
        due = calendar.add_working_days(anchor, rule.offset.working_days)
    else:
        calendar.local(anchor)  # refuses naive datetimes
        due = anchor.astimezone(UTC) + timedelta(minutes=rule.offset.minutes or 0)
    return calendar.next_office_moment(due) if rule.office_hours else due


def snooze_until(choice: SnoozeChoice | str, now: datetime, calendar: WorkingCalendar) -> datetime:
    """When a snoozed reminder comes back.

    tomorrow: the next working day after today (local), at 09:00 - so on Friday or Saturday it
    is Monday 09:00. 3_working_days: `add_working_days(now, 3)`, the same time of day when snoozed
    in office hours, else counted from the next office start (Saturday -> Thursday 08:30).
    """
    choice = SnoozeChoice(choice)
    if choice is SnoozeChoice.TOMORROW:
        day = calendar.next_working_day(calendar.local(now).date())
        return calendar.at_local(day, max(MORNING, calendar.office_start))
    return calendar.add_working_days(now, 3)


def training_reminder_times(
    session_start: datetime,
    calendar: WorkingCalendar,
    config: ReminderConfig | None = None,
    *,
    after: datetime | None = None,
) -> list[datetime]:
    """When to remind participants of a session: N calendar days before, at 09:00 local, moved back
    to the previous working day if that day is not one. Moments not later than `after` (e.g. now,
    for a session planned at short notice) are left out. Earliest first, no duplicates."""
    training = (config or load_reminders()).training
    session_day = calendar.local(session_start).date()
    moments: set[datetime] = set()
    for days in training.before_session_days:
        day = session_day - timedelta(days=days)
        while not calendar.is_working_day(day):
            day -= timedelta(days=1)
        moment = calendar.at_local(day, max(MORNING, calendar.office_start))
        if moment < session_start and (after is None or moment > after):
            moments.add(moment)
    return sorted(moments)


def refresher_due(
    now: datetime,
    *,
    last_attended: datetime | None,
    member_since: datetime,
    last_nudged: datetime | None,
    calendar: WorkingCalendar,
    config: ReminderConfig | None = None,
) -> bool:
    """Whether a network member gets the refresher nudge (opfrisser) now: no attended training for
    `after_months` (counted from joining when they never attended), and not nudged in the last
    `at_most_every_months`."""
    training = (config or load_reminders()).training
    today = calendar.local(now).date()
    baseline = calendar.local(last_attended or member_since).date()
    if today < _add_months(baseline, training.refresher_after_months):
        return False
    if last_nudged is None:
        return True
    return today >= _add_months(calendar.local(last_nudged).date(), training.refresher_at_most_every_months)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, _stdlib_calendar.monthrange(year, month)[1]))


# --- validation ----------------------------------------------------------------------------------

_RULE_KEYS = ("key", "trigger", "offset", "audience", "office_hours", "escalation")


def _parse(root: Node) -> ReminderConfig:
    top = root.mapping(allowed=("version", "rules", "training"))
    version = root.child("version").integer(minimum=1)
    if version != 1:
        raise top["version"].error(f"unsupported version {version}; this code reads version 1")

    rules: list[ReminderRule] = []
    for node in root.child("rules").items():
        rule = _rule(node)
        if any(r.key == rule.key for r in rules):
            raise node.child("key").error(f"duplicate rule key {rule.key!r}")
        rules.append(rule)

    training_node = root.optional("training")
    training = _training(training_node) if training_node else TrainingReminders()
    return ReminderConfig(rules=tuple(rules), training=training, source=root.file)


def _rule(node: Node) -> ReminderRule:
    node.mapping(allowed=_RULE_KEYS)
    key = node.child("key").text()
    trigger = Trigger(node.child("trigger").one_of(t.value for t in Trigger))

    offset_node = node.child("offset")
    offset_fields = offset_node.mapping(allowed=("working_days", "minutes"))
    if len(offset_fields) != 1:
        raise offset_node.error("give exactly one of working_days or minutes")
    ((unit, amount_node),) = offset_fields.items()
    amount = amount_node.integer(minimum=1)
    offset = Offset(working_days=amount) if unit == "working_days" else Offset(minutes=amount)

    audience_node = node.child("audience")
    raw = [audience_node] if isinstance(audience_node.value, str) else audience_node.items()
    audience: list[Audience] = []
    for item in raw:
        who = Audience(item.one_of(a.value for a in Audience))
        if who in audience:
            raise item.error(f"audience {who!r} is listed twice")
        if who is Audience.PARTNER and trigger not in _PARTNER_TRIGGERS:
            raise item.error(f"trigger {trigger.value!r} has no partner to remind")
        audience.append(who)

    office_node = node.optional("office_hours")
    office_hours = office_node.flag() if office_node else True
    if offset.working_days is not None and not office_hours:
        raise node.child("office_hours").error("working-day offsets always fall in office hours; use minutes")
    escalation_node = node.optional("escalation")
    return ReminderRule(
        key=key,
        trigger=trigger,
        offset=offset,
        audience=tuple(audience),
        office_hours=office_hours,
        escalation=escalation_node.flag() if escalation_node else False,
    )


def _training(node: Node) -> TrainingReminders:
    node.mapping(allowed=("before_session_days", "refresher"))
    days: list[int] = []
    for item in node.child("before_session_days").items():
        value = item.integer(minimum=1)
        if value in days:
            raise item.error(f"{value} is listed twice")
        days.append(value)
    refresher = node.child("refresher")
    refresher.mapping(allowed=("after_months", "at_most_every_months"))
    return TrainingReminders(
        before_session_days=tuple(sorted(days, reverse=True)),
        refresher_after_months=refresher.child("after_months").integer(minimum=1),
        refresher_at_most_every_months=refresher.child("at_most_every_months").integer(minimum=1),
    )
