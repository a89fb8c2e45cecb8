"""The yearly report of the §3.4 figures (`signaalbot report --year 2026 --out DIR`): a Markdown text,
one CSV with every figure (region and per municipality) and the charts as PNG. Aggregates only;
every count below the threshold is "< N" in the text and the CSV, and never drawn in a chart."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from babel.units import format_unit
from sqlmodel import Session, select

from bot.core import charts, stats
from bot.i18n import N_, Translate
from flows.calendar import WorkingCalendar
from flows.classification import load_classification
from flows.questionnaire import Questionnaire
from models import Municipality

CSV_HEADER = ("municipality", "metric", "month", "dimension", "value", "count")
REGION = ""  # the municipality column of region-wide rows


@dataclass(frozen=True)
class YearReport:
    year: int
    region: stats.Report
    municipalities: dict[str, stats.Report]


def year_bounds(year: int, cal: WorkingCalendar) -> tuple[datetime, datetime]:
    from datetime import UTC

    return (datetime.combine(date(year, 1, 1), time(0), tzinfo=cal.tz).astimezone(UTC),
            datetime.combine(date(year + 1, 1, 1), time(0), tzinfo=cal.tz).astimezone(UTC))


def compute(session: Session, year: int, now: datetime, *, limit: int, cal: WorkingCalendar) -> YearReport:
    start, end = year_bounds(year, cal)
    region = stats.compute(session, start, end, now, limit=limit, cal=cal)
    names = sorted(m.name for m in session.exec(select(Municipality)).all())
    per = {name: stats.compute(session, start, end, now, limit=limit, cal=cal, municipalities=frozenset({name}))
           for name in names}
    return YearReport(year, region, per)


def _median(values: list[float], limit: int) -> str:
    return f"{statistics.median(values):.1f}" if len(values) >= limit else stats.NO_VALUE


def csv_rows(municipality: str, report: stats.Report) -> list[tuple[str, str, str, str, str, str]]:
    """Every figure of one report: (municipality, metric, month, dimension, value, count)."""
    n, limit = report.n, report.threshold
    rows = [(municipality, "signals", "", "", "", n(report.total)),
            (municipality, "led_to_melding", "", "", "", n(report.routed))]
    for month in report.months:
        rows.append((municipality, "signals", month.month, "", "", n(month.total)))
        rows.append((municipality, "led_to_melding", month.month, "", "", n(month.routed)))
        rows += [(municipality, "signals", month.month, "form", form, n(count))
                 for form, count in sorted(month.by_form.items())]
        rows.append((municipality, "median_hours_to_claim", month.month, "", "", _median(month.claim_hours, limit)))
    for dim, values in report.breakdowns.items():
        for value, (count, routed) in values.items():
            rows.append((municipality, "signals", "", dim, value, n(count)))
            rows.append((municipality, "led_to_melding", "", dim, value, n(routed)))
    rows += [(municipality, "conclusion", "", "conclusion", k, n(v)) for k, v in report.outcomes.items()]
    for p in report.partners:
        rows.append((municipality, "handed_over", "", "partner", p.partner, n(p.handed_over)))
        rows.append((municipality, "outcome_reported", "", "partner", p.partner, n(p.outcome_reported)))
        rows += [(municipality, f"partner_outcome:{kind}", "", "partner", p.partner, n(count))
                 for kind, count in sorted(p.outcomes.items())]
    rows.append((municipality, "median_hours_to_claim", "", "", "", _median(report.claim_hours, limit)))
    rows.append((municipality, "median_hours_to_first_feedback", "", "", "", _median(report.feedback_hours, limit)))
    rows.append((municipality, "trainings_held", "", "", "", str(report.trainings_held)))
    rows.append((municipality, "training_attendees", "", "", "", n(report.training_attendees)))
    if report.trained is not None:
        rows.append((municipality, "trained_network_members", "", "", "", n(report.trained_total or 0)))
    return rows


def as_csv(year_report: YearReport) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(REGION, year_report.region))
    for name, report in year_report.municipalities.items():
        writer.writerows(csv_rows(name, report))
    return buf.getvalue()


def _hours(_: Translate, values: list[float], limit: int) -> str:
    if len(values) < limit:
        return _("not shown (too few cases)")
    return format_unit(round(statistics.median(values), 1), "duration-hour", format="0.0", locale=_.lang)


def section(_: Translate, title: str, report: stats.Report, label: Callable[[str, str], str]) -> list[str]:
    lines = [f"## {title}", ""]
    lines.append("- " + _("Signals") + ": " + _.ngettext("{count} signal", "{count} signals",
                                                         report.plural(report.total), count=report.n(report.total)))
    pct = report.routed_percent
    lines.append("- " + _("Led to a melding (handed over to a partner)") + ": "
                 + report.n(report.routed) + (f" ({pct}%)" if pct is not None else ""))
    lines.append("- " + _("Median time to claim") + ": " + _hours(_, report.claim_hours, report.threshold))
    lines.append("- " + _("Median time to first feedback") + ": " + _hours(_, report.feedback_hours,
                                                                          report.threshold))
    lines.append("- " + _("Trainings held") + ": "
                 + _.ngettext("{count} training", "{count} trainings", report.trainings_held))
    lines.append("- " + _("Training attendees") + ": "
                 + _.ngettext("{count} person", "{count} people", report.plural(report.training_attendees),
                              count=report.n(report.training_attendees)))
    if report.trained is not None:
        lines.append("- " + _("Trained network members") + ": " + report.n(report.trained_total or 0))
    lines.append("")
    for dim, values in report.breakdowns.items():
        head = _(DIMENSION_HEADS[dim]) if dim in DIMENSION_HEADS else dim
        lines += [f"| {head} | " + _("Signals") + " | " + _("Led to a melding") + " |",
                  "|---|---:|---:|"]
        lines += [f"| {label(dim, value)} | {report.n(count)} | {report.n(routed)} |"
                  for value, (count, routed) in sorted(values.items(), key=lambda kv: -kv[1][0])]
        lines.append("")
    if report.partners:
        lines += ["| " + _("Partner") + " | " + _("Handed over") + " | " + _("Outcome reported back") + " |",
                  "|---|---:|---:|"]
        lines += [f"| {p.name or p.partner} | {report.n(p.handed_over)} | {report.n(p.outcome_reported)} |"
                  for p in report.partners]
        lines.append("")
        kinds = load_classification().partner_outcomes
        if any(p.outcomes for p in report.partners):
            lines += ["| " + _("Partner") + " | " + " | ".join(_(k.label) for k in kinds) + " |",
                      "|---|" + "---:|" * len(kinds)]
            lines += [f"| {p.name or p.partner} | " + " | ".join(report.n(p.outcomes.get(k.key, 0)) for k in kinds)
                      + " |" for p in report.partners]
            lines.append("")
    return lines


DIMENSION_HEADS = {"form": N_("Form"), "sector": N_("Sector"), "source": N_("Source"),
                   "target_group": N_("Target group")}


def markdown(_: Translate, year_report: YearReport, label: Callable[[str, str], str],
             chart_files: list[str]) -> str:
    region = year_report.region
    title = _("Figures on human trafficking signals {year}", year=year_report.year)
    lines = ["# " + title, "",
             _("Aggregates only, never case content. Counts below {limit} are shown as “< {limit}” and are not "
               "drawn in the charts; medians over fewer than {limit} cases are not shown.", limit=region.threshold),
             ""]
    lines += [f"![{name}]({name})" for name in chart_files]
    lines.append("")
    lines += section(_, _("Region"), region, label)
    for name, report in year_report.municipalities.items():
        lines += section(_, name, report, label)
    return "\n".join(lines).rstrip() + "\n"


def write(out: Path, year_report: YearReport, _: Translate, questionnaire: Questionnaire) -> list[Path]:
    """Write the report's files into `out` (created if needed); returns their paths."""

    from bot.core.presenters import figure_value

    def label(dim: str, value: str) -> str:
        return figure_value(_, questionnaire, dim, value)

    out.mkdir(parents=True, exist_ok=True)
    year = year_report.year
    written: list[Path] = []
    chart_files = []
    for chart in charts.charts(year_report.region, _, lambda form: label("form", form)):
        path = out / f"{chart.name}-{year}.png"
        path.write_bytes(charts.png(chart, year_report.region.threshold))
        chart_files.append(path.name)
        written.append(path)
    csv_path = out / f"figures-{year}.csv"
    csv_path.write_text(as_csv(year_report), encoding="utf-8")
    md_path = out / f"report-{year}.md"
    md_path.write_text(markdown(_, year_report, label, chart_files), encoding="utf-8")
    return [md_path, csv_path, *written]
