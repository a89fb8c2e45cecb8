"""Monitoring (beleid §3.4): how many signals, which led to a melding, in which groups.

Aggregates only, never case content. Counts from 1 up to the threshold (SIGNAAL_STATS_THRESHOLD,
default 5) are shown as "< N", so a small municipality's single case cannot be singled out;
medians over fewer cases than the threshold are not shown at all.

"Led to a melding" means at least one hand-over (Handover) to a partner. Overdue means: a deadline
of the reminder ladder has passed (not claimed, no feedback, advice or outcome missing, further
investigation not revisited; `bot.core.cases.due_dates`).

The breakdowns follow `DIMENSIONS` (form, sector, source, target group), each read by `dimension_value`
from the case's working fields (the AF's classification once corrected, issue 15.1); each shows up in
every breakdown, `/signaal cijfers`, the CSV and the yearly report. Partner outcomes: per partner,
hand-overs, how many reported an outcome back, and the outcomes by kind (`PartnerFigure.outcomes`,
issue 15.6; the optional note is free text and is never read here).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from bot.config import Settings
from flows.calendar import WorkingCalendar
from models import Handover, Municipality, Partner, Signal
from models.training import TrainingAttendance, TrainingSession

log = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 5
OUTCOMES = ("geen", "verder_onderzoek", "wel", "none")
NO_VALUE = "—"
# The breakdowns of §3.4 (signal attribute → how it is read: `dimension_value`).
# Form, sector and target group are the case's working fields: the AF's classification once corrected.
DIMENSIONS = ("form", "sector", "source", "target_group")
# A hand-over's outcome as counted: its kind (flows/classification.yaml); an outcome reported before
# outcomes had a kind (free text only) counts as "onbekend".
UNKNOWN_OUTCOME = "onbekend"


def dimension_value(signal: Signal, dimension: str) -> str:
    """The value of one breakdown for a signal ("unknown" form, else "—" when it is missing)."""
    if dimension == "form":
        return signal.form or "unknown"
    if dimension == "sector":
        return signal.sector or NO_VALUE
    if dimension == "target_group":
        return signal.target_group or NO_VALUE
    value = (signal.answers or {}).get(dimension)
    return str(value) if isinstance(value, str) and value else NO_VALUE


def threshold(settings: Settings) -> int:
    raw = settings.extra.get("SIGNAAL_STATS_THRESHOLD") or os.environ.get("SIGNAAL_STATS_THRESHOLD")
    try:
        return max(1, int(raw)) if raw else DEFAULT_THRESHOLD
    except ValueError:
        log.warning("SIGNAAL_STATS_THRESHOLD is not a number; using %d", DEFAULT_THRESHOLD)
        return DEFAULT_THRESHOLD


def shown(count: int, limit: int) -> str:
    """A count as it may be shown: small non-zero counts are hidden behind "< N"."""
    return f"< {limit}" if 0 < count < limit else str(count)


def plural(count: int, limit: int) -> int:
    """The number that picks the plural form of a count shown as `shown(count, limit)`: "< 5" reads as a plural."""
    return limit if 0 < count < limit else count


@dataclass
class MonthFigures:
    """One calendar month of the period (local time): what the charts show."""

    month: str  # YYYY-MM
    total: int = 0
    routed: int = 0
    by_form: dict[str, int] = field(default_factory=dict)
    claim_hours: list[float] = field(default_factory=list)


@dataclass
class PartnerFigure:
    """Hand-overs to one partner of signals in the period, and how many reported an outcome."""

    partner: str
    name: str = ""
    handed_over: int = 0
    outcome_reported: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # outcome kind → hand-overs (issue 15.6)


@dataclass
class Report:
    start: datetime
    end: datetime
    now: datetime
    threshold: int
    total: int = 0
    groups: list[tuple[str, str, str, int]] = field(default_factory=list)  # municipality, form, sector, n
    by_municipality: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    routed: int = 0
    claim_hours: list[float] = field(default_factory=list)
    feedback_hours: list[float] = field(default_factory=list)
    open: int = 0
    overdue: int = 0
    trained: dict[str, int] | None = None
    # dimension → value → (signals, of which led to a melding)
    breakdowns: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    partners: list[PartnerFigure] = field(default_factory=list)
    months: list[MonthFigures] = field(default_factory=list)
    trainings_held: int = 0
    training_attendees: int = 0

    def n(self, count: int) -> str:
        return shown(count, self.threshold)

    def plural(self, count: int) -> int:
        """The number that picks the plural form of a count shown as `n(count)`: "< 5" reads as a plural.
        Use: `_.ngettext("{count} signal", "{count} signals", report.plural(n), count=report.n(n))`."""
        return plural(count, self.threshold)

    def median(self, values: list[float]) -> float | None:
        return statistics.median(values) if len(values) >= self.threshold else None

    @property
    def median_claim_hours(self) -> float | None:
        return self.median(self.claim_hours)

    @property
    def median_feedback_hours(self) -> float | None:
        return self.median(self.feedback_hours)

    @property
    def routed_percent(self) -> int | None:
        if self.total < self.threshold:
            return None
        return round(100 * self.routed / self.total) if self.total else 0

    @property
    def trained_total(self) -> int | None:
        return sum(self.trained.values()) if self.trained is not None else None


def month_bounds(day: date, tz: object) -> tuple[datetime, datetime]:
    """Start of `day`'s month and of the next month, as UTC moments of local midnight."""
    from datetime import UTC

    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return (datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC),  # type: ignore[arg-type]
            datetime.combine(nxt, time(0), tzinfo=tz).astimezone(UTC))  # type: ignore[arg-type]


def month_keys(start: datetime, end: datetime, tz: object) -> list[str]:
    """The local calendar months (YYYY-MM) that [start, end) touches."""
    first = start.astimezone(tz).date().replace(day=1)  # type: ignore[arg-type]
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()  # type: ignore[arg-type]
    out = []
    while first <= last:
        out.append(first.strftime("%Y-%m"))
        first = (first + timedelta(days=32)).replace(day=1)
    return out


def is_overdue(session: Session, signal: Signal, now: datetime, cal: WorkingCalendar) -> bool:
    """An open case with a deadline that has passed: the reminder deadlines of the case (claim,
    feedback, advice, outcome, further investigation; `bot.core.cases.due_dates`)."""
    from bot.core.cases import due_dates

    if signal.submitted_at is None or signal.status not in ("new", "in_progress"):
        return False
    return any(d.at <= now for d in due_dates(session, signal, cal))


def next_due(session: Session, signal: Signal, now: datetime, cal: WorkingCalendar) -> datetime | None:
    """The next deadline of an open case that has not passed yet."""
    from bot.core.cases import due_dates

    return next((d.at for d in due_dates(session, signal, cal) if d.at > now), None)


def trained_members(session: Session, now: datetime) -> dict[str, int] | None:
    """Network members per municipality who attended a training in the last 12 months
    (`bot.core.training.TrainedFigure.trained_members`; regional and partner members under "—")."""
    from bot.core import training

    try:
        figures = training.trained_members_by_municipality(session, now)
    except Exception:  # noqa: BLE001 - a figure missing is better than no digest at all
        log.exception("stats: trained members could not be counted")
        return None
    out: dict[str, int] = {}
    for figure in figures:
        key = figure.municipality or NO_VALUE
        out[key] = out.get(key, 0) + figure.trained_members
    return out


def trainings_in(session: Session, start: datetime, end: datetime,
                 municipality_ids: set[int] | None) -> tuple[int, int]:
    """Trainings held in [start, end) (not cancelled) and their attendees (for one set of
    municipalities: attendees from there, and the trainings they attended)."""
    rows = session.exec(select(TrainingAttendance, TrainingSession.id).join(TrainingSession).where(
        col(TrainingSession.cancelled_at).is_(None), col(TrainingSession.starts_at) >= start,
        col(TrainingSession.starts_at) < end)).all()
    if municipality_ids is None:
        held = session.exec(select(TrainingSession.id).where(
            col(TrainingSession.cancelled_at).is_(None), col(TrainingSession.starts_at) >= start,
            col(TrainingSession.starts_at) < end)).all()
        return len(held), len(rows)
    mine = [(a, sid) for a, sid in rows if a.municipality_id in municipality_ids]
    return len({sid for _a, sid in mine}), len(mine)


def compute(session: Session, start: datetime, end: datetime, now: datetime, *, limit: int,
            cal: WorkingCalendar, municipalities: frozenset[str] | None = None) -> Report:
    """Figures for signals reported in [start, end); open and overdue as of `now`."""
    names = {m.id: m.name for m in session.exec(select(Municipality)).all()}
    wanted = None if municipalities is None else {i for i, n in names.items() if n in municipalities}

    def in_scope(s: Signal) -> bool:
        return wanted is None or s.municipality_id in wanted

    report = Report(start=start, end=end, now=now, threshold=limit)
    rows = [s for s in session.exec(select(Signal).where(
        col(Signal.submitted_at).is_not(None), col(Signal.submitted_at) >= start,
        col(Signal.submitted_at) < end)).all() if in_scope(s)]
    handovers = list(session.exec(select(Handover).where(
        col(Handover.signal_id).in_([s.id for s in rows]))).all()) if rows else []
    routed_ids = {h.signal_id for h in handovers}
    months = {key: MonthFigures(key) for key in month_keys(start, end, cal.tz)}
    breakdowns: dict[str, Counter[tuple[str, bool]]] = {d: Counter() for d in DIMENSIONS}
    groups: Counter[tuple[str, str, str]] = Counter()
    outcomes: Counter[str] = Counter()
    per_muni: Counter[str] = Counter()
    for s in rows:
        muni = names.get(s.municipality_id or 0, NO_VALUE)
        groups[(muni, s.form or "unknown", s.sector or NO_VALUE)] += 1
        per_muni[muni] += 1
        outcomes[s.conclusion or "none"] += 1
        assert s.submitted_at is not None
        routed = s.id in routed_ids
        for dim in DIMENSIONS:
            breakdowns[dim][(dimension_value(s, dim), routed)] += 1
        month = months.setdefault(s.submitted_at.astimezone(cal.tz).strftime("%Y-%m"),
                                  MonthFigures(s.submitted_at.astimezone(cal.tz).strftime("%Y-%m")))
        month.total += 1
        month.routed += routed
        form = dimension_value(s, "form")
        month.by_form[form] = month.by_form.get(form, 0) + 1
        if s.claimed_at:
            report.claim_hours.append((s.claimed_at - s.submitted_at).total_seconds() / 3600)
            month.claim_hours.append(report.claim_hours[-1])
        if s.first_feedback_at:
            report.feedback_hours.append((s.first_feedback_at - s.submitted_at).total_seconds() / 3600)
    report.total = len(rows)
    report.routed = len(routed_ids)
    report.groups = [(m, f, sec, n) for (m, f, sec), n in sorted(groups.items())]
    report.by_municipality = dict(sorted(per_muni.items()))
    report.outcomes = {k: outcomes.get(k, 0) for k in OUTCOMES}
    for dim, counter in breakdowns.items():
        values = sorted({v for v, _routed in counter})
        report.breakdowns[dim] = {v: (counter[(v, True)] + counter[(v, False)], counter[(v, True)]) for v in values}
    per_partner: dict[str, PartnerFigure] = {}
    partner_names = {p.key: p.name for p in session.exec(select(Partner)).all()} if handovers else {}
    for h in handovers:
        figure = per_partner.setdefault(h.partner_key, PartnerFigure(h.partner_key,
                                                                     partner_names.get(h.partner_key, h.partner_key)))
        figure.handed_over += 1
        figure.outcome_reported += h.outcome_at is not None
        if h.outcome_at is not None:
            kind = h.outcome_kind or UNKNOWN_OUTCOME
            figure.outcomes[kind] = figure.outcomes.get(kind, 0) + 1
    report.partners = [per_partner[k] for k in sorted(per_partner)]
    report.months = [months[k] for k in sorted(months)]
    report.trainings_held, report.training_attendees = trainings_in(session, start, end, wanted)
    open_rows = [s for s in session.exec(select(Signal).where(
        col(Signal.status).in_(["new", "in_progress"]), col(Signal.purged_at).is_(None))).all() if in_scope(s)]
    report.open = len(open_rows)
    report.overdue = sum(1 for s in open_rows if is_overdue(session, s, now, cal))
    trained = trained_members(session, min(now, end))  # as of the end of the period (a month's digest)
    if trained is not None and municipalities is not None:
        trained = {k: v for k, v in trained.items() if k in municipalities}
    report.trained = trained
    return report


def calendar_for(settings: Settings) -> WorkingCalendar:
    return WorkingCalendar(settings.timezone)


# ---- plain-text output for the CLI (operators; English like the other commands) ----------------

def _hours(value: float | None) -> str:
    if value is None:
        return NO_VALUE
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


def rows(report: Report) -> list[tuple[str, str, str, str, str]]:
    """(metric, municipality, form, sector, value) rows, every count already thresholded."""
    out: list[tuple[str, str, str, str, str]] = [("signals", "", "", "", report.n(report.total))]
    out += [("signals", m, f, s, report.n(n)) for m, f, s, n in report.groups]
    out += [(f"outcome:{k}", "", "", "", report.n(v)) for k, v in report.outcomes.items()]
    out.append(("led_to_melding", "", "", "", report.n(report.routed)))
    pct = report.routed_percent
    out.append(("led_to_melding_percent", "", "", "", NO_VALUE if pct is None else f"{pct}%"))
    out.append(("median_time_to_claim", "", "", "", _hours(report.median_claim_hours)))
    out.append(("median_time_to_first_feedback", "", "", "", _hours(report.median_feedback_hours)))
    out.append(("open_now", "", "", "", report.n(report.open)))
    out.append(("overdue_now", "", "", "", report.n(report.overdue)))
    if report.trained is None:
        out.append(("trained_network_members", "", "", "", "not available"))
    else:
        out.append(("trained_network_members", "", "", "", report.n(report.trained_total or 0)))
        out += [("trained_network_members", m, "", "", report.n(n)) for m, n in sorted(report.trained.items())]
    for dim, values in report.breakdowns.items():
        out += [(f"signals_by_{dim}:{v}", "", "", "", report.n(n)) for v, (n, _r) in values.items()]
        out += [(f"led_to_melding_by_{dim}:{v}", "", "", "", report.n(r)) for v, (_n, r) in values.items()]
    for p in report.partners:
        out.append((f"handed_over_to:{p.partner}", "", "", "", report.n(p.handed_over)))
        out.append((f"outcome_reported_by:{p.partner}", "", "", "", report.n(p.outcome_reported)))
        out += [(f"partner_outcome:{p.partner}:{k}", "", "", "", report.n(v)) for k, v in sorted(p.outcomes.items())]
    out.append(("trainings_held", "", "", "", str(report.trainings_held)))  # sessions, not people: not hidden
    out.append(("training_attendees", "", "", "", report.n(report.training_attendees)))
    return out


HEADER = ("metric", "municipality", "form", "sector", "value")


def as_csv(report: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows(report))
    return buf.getvalue()


def as_table(report: Report) -> str:
    data = [HEADER, *rows(report)]
    widths = [max(len(r[i]) for r in data) for i in range(len(HEADER))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in data)
