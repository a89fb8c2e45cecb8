"""Figures in Slack: the monthly digest DM for the ketenregisseur and the numbers on their App Home.
Aggregates only; every count goes through the threshold ("< N")."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date

from bot.core import stats
from bot.i18n import N_, Translate
from bot.slack import mrkdwn as m
from bot.slack.render import RenderContext, Rendered, template
from flows.questionnaire import Questionnaire

OUTCOME_LABELS = {
    "geen": N_("No human trafficking"),
    "verder_onderzoek": N_("Further investigation and coordination needed"),
    "wel": N_("Human trafficking"),
    "none": N_("No conclusion yet"),
}


def _label(_: Translate, questionnaire: Questionnaire, key: str, value: str) -> str:
    if questionnaire.has(key):
        opt = questionnaire.get(key).option(value)
        if opt is not None:
            return _(opt.label)
    if value == "unknown":
        return _("Unknown")
    return value


def duration(_: Translate, hours: float | None) -> str:
    if hours is None:
        return _("not shown (too few cases)")
    if hours < 48:
        rounded = f"{hours:.1f}"
        return _("{hours} hours", hours=rounded)
    rounded = f"{hours / 24:.1f}"
    return _("{days} days", days=rounded)


def month_label(_: Translate, day: date) -> str:
    return format_date(day, "MMMM yyyy", locale=_.lang)


def stats_blocks(_: Translate, report: stats.Report, questionnaire: Questionnaire, tz: Any) -> list[dict[str, Any]]:
    n = report.n
    last_day = (report.end - timedelta(seconds=1)).astimezone(tz).date()
    blocks: list[dict[str, Any]] = [m.context(
        _("Signals reported from {start} to {end}. Figures only, never case content; counts below {limit} are "
          "shown as “< {limit}”.", start=format_date(report.start.astimezone(tz).date(), "d MMM", locale=_.lang),
          end=format_date(last_day, "d MMM yyyy", locale=_.lang), limit=report.threshold))]
    pct = report.routed_percent
    share = f" ({pct}%)" if pct is not None else ""
    trained = _("not available") if report.trained is None else n(report.trained_total or 0)
    blocks += m.fields([
        (_("Signals"), n(report.total)),
        (_("Led to a melding (handed over to a partner)"), n(report.routed) + share),
        (_("Median time to claim"), duration(_, report.median_claim_hours)),
        (_("Median time to first feedback"), duration(_, report.median_feedback_hours)),
        (_("Open cases now"), n(report.open)),
        (_("Overdue now"), n(report.overdue)),
        (_("Trained network members"), trained),
    ])
    blocks += m.fields([(_(OUTCOME_LABELS[k]), n(v)) for k, v in report.outcomes.items()])
    if report.groups:
        lines = [f"• {m.esc(muni)} · {m.esc(_label(_, questionnaire, 'form', form))} · "
                 f"{m.esc(_label(_, questionnaire, 'sector', sector))}: {n(count)}"
                 for muni, form, sector, count in report.groups]
        blocks.append(m.section("*" + _("Signals per municipality, form and sector") + "*"))
        chunk: list[str] = []
        for line in lines:
            if sum(len(x) + 1 for x in chunk) + len(line) > 2800:
                blocks.append(m.section("\n".join(chunk)))
                chunk = []
            chunk.append(line)
        if chunk:
            blocks.append(m.section("\n".join(chunk)))
    return blocks


@template("digest")
def digest(ctx: RenderContext) -> Rendered:
    _ = ctx._
    year, month = (int(x) for x in ctx.msg.ref["month"].split("-"))
    first = date(year, month, 1)
    start, end = stats.month_bounds(first, ctx.tz)
    now: datetime = ctx.msg.created_at
    report = stats.compute(ctx.session, start, end, now, limit=stats.threshold(ctx.settings),
                           cal=stats.calendar_for(ctx.settings))
    title = _("Monthly figures for {month}", month=month_label(_, first))
    blocks = [m.header(title), *stats_blocks(_, report, ctx.questionnaire, ctx.tz)]
    return Rendered(title, blocks[:50])
