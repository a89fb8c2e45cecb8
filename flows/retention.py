"""Retention (bewaartermijnen) as data, and when a signal's personal data is due for purging.

Rules are in `retention.yaml` beside this file; a region passes its own path. Pure functions: the
purge itself (what is cleared, what stays for statistics) is `bot.core.retention`.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from flows.data import DataError

DEFAULT_PATH = Path(__file__).with_name("retention.yaml")
DRAFT_STATUSES = frozenset({"draft", "cancelled"})


@dataclass(frozen=True)
class RetentionRules:
    closed_months: dict[str, int] = field(default_factory=lambda: {"geen": 6})
    default_months: int = 24
    drafts_days: int = 30
    audit_months: int = 24
    training_answers_days: int = 30
    training_attendance_months: int = 24

    def months_for(self, conclusion: str | None) -> int:
        return self.closed_months.get(conclusion or "", self.default_months)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (the last day of the month when it has fewer days)."""
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, _stdlib_calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Due:
    """When a signal's personal data goes, and why (a key the edge can explain)."""

    at: datetime
    reason: str  # closed:<conclusion or none> | abandoned_draft


def purge_due(rules: RetentionRules, *, status: str, conclusion: str | None, closed_at: datetime | None,
              last_activity: datetime) -> Due | None:
    """None for open cases: they are kept until closed."""
    if status in DRAFT_STATUSES:
        return Due(last_activity + timedelta(days=rules.drafts_days), "abandoned_draft")
    if status == "closed":
        anchor = closed_at or last_activity
        return Due(add_months(anchor, rules.months_for(conclusion)), f"closed:{conclusion or 'none'}")
    return None


def load(path: Path | None = None) -> RetentionRules:
    """Read and validate a retention file; a mistake names the file and the field."""
    path = path or DEFAULT_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(path, "", f"cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise DataError(path, "", f"not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise DataError(path, "", "expected a mapping with closed_cases_months and abandoned_drafts_days")

    def positive(value: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(path, where, f"must be a whole number of at least 1, got {value!r}")
        return value

    months = data.get("closed_cases_months") or {}
    if not isinstance(months, dict):
        raise DataError(path, "closed_cases_months", "must map a conclusion (geen, verder_onderzoek, wel, default) "
                                                     "to a number of months")
    known = {"geen", "verder_onderzoek", "wel", "default"}
    closed: dict[str, int] = {}
    for key, value in months.items():
        if key not in known:
            raise DataError(path, f"closed_cases_months.{key}",
                            f"unknown outcome (allowed: {', '.join(sorted(known))})")
        closed[key] = positive(value, f"closed_cases_months.{key}")
    default = closed.pop("default", 24)
    drafts = positive(data.get("abandoned_drafts_days", 30), "abandoned_drafts_days")
    audit = positive(data.get("audit_log_months", 24), "audit_log_months")
    answers = positive(data.get("training_answers_days", 30), "training_answers_days")
    attendance = positive(data.get("training_attendance_months", 24), "training_attendance_months")
    allowed = {"version", "closed_cases_months", "abandoned_drafts_days", "audit_log_months", "training_answers_days",
               "training_attendance_months"}
    unknown = set(data) - allowed
    if unknown:
        raise DataError(path, sorted(unknown)[0], "unknown key (allowed: closed_cases_months, abandoned_drafts_days, "
                                                  "audit_log_months, training_answers_days, "
                                                  "training_attendance_months)")
    return RetentionRules(closed_months=closed, default_months=default, drafts_days=drafts, audit_months=audit,
                          training_answers_days=answers, training_attendance_months=attendance)


def for_region(region_dir: Path | None) -> RetentionRules:
    if region_dir and (region_dir / "retention.yaml").exists():
        return load(region_dir / "retention.yaml")
    return load()
