"""Figures in Slack (beleid §3.4): the monthly digest DM for the ketenregisseur with its charts, the
numbers on their App Home, and `/signaal cijfers` (an AF: their municipality; the ketenregisseur: the
region). Aggregates only; every count goes through the threshold ("< N"), charts included."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from babel.dates import format_date
from slack_bolt import Ack, App, Respond
from sqlmodel import Session

from bot.core import charts, figures, presenters, stats
from bot.core.result import Error, Result
from bot.i18n import N_, Translate
from bot.slack import hooks
from bot.slack import mrkdwn as m
from bot.slack.common import SlackContext
from bot.slack.render import RenderContext, Rendered, Upload, template
from flows.classification import load_classification
from flows.questionnaire import Questionnaire

log = logging.getLogger(__name__)
DIMENSION_TITLES = presenters.FIGURE_DIMENSIONS
CHART_MONTHS = 12  # the digest's charts: the last twelve months



def month_label(_: Translate, day: date) -> str:
    return format_date(day, "MMMM yyyy", locale=_.lang)


def breakdown_blocks(_: Translate, report: stats.Report, questionnaire: Questionnaire) -> list[dict[str, Any]]:
    """Signals and meldingen by form, sector, source and target group (stats.DIMENSIONS), and per partner
    with the outcomes by kind."""
    blocks: list[dict[str, Any]] = []
    for dim, values in report.breakdowns.items():
        if not values:
            continue
        lines = []
        for value, (count, routed) in sorted(values.items(), key=lambda kv: -kv[1][0]):
            signals = _.ngettext("{count} signal", "{count} signals", report.plural(count), count=report.n(count))
            meldingen = _.ngettext("{count} led to a melding", "{count} led to a melding", report.plural(routed),
                                   count=report.n(routed))
            label = presenters.figure_value(_, questionnaire, dim, value)
            lines.append(f"• {m.esc(label)}: {m.esc(signals)}, {m.esc(meldingen)}")
        title = DIMENSION_TITLES.get(dim, dim)
        blocks.append(m.section("*" + (_(title) if dim in DIMENSION_TITLES else m.esc(title)) + "*\n"
                                + "\n".join(lines)))
    if report.partners:
        lines = [f"• {m.esc(p.name or p.partner)}: " + m.esc(
                 _.ngettext("{count} handed over", "{count} handed over", report.plural(p.handed_over),
                              count=report.n(p.handed_over)) + ", "
                 + _.ngettext("{count} outcome reported back", "{count} outcomes reported back",
                              report.plural(p.outcome_reported), count=report.n(p.outcome_reported))
                 + outcome_kinds(_, report, p))
                 for p in report.partners]
        blocks.append(m.section("*" + _("Hand-overs (meldingen) per partner") + "*\n" + "\n".join(lines)))
    return blocks


def outcome_kinds(_: Translate, report: stats.Report, p: stats.PartnerFigure) -> str:
    """" (investigation started: 3, no follow-up: < 5)": a partner's outcomes by kind (issue 15.6)."""
    if not p.outcomes:
        return ""
    data = load_classification()
    parts = [f"{_(data.outcome_label(k) or k).lower()}: {report.n(v)}"
             for k, v in sorted(p.outcomes.items(), key=lambda kv: -kv[1])]
    return " (" + ", ".join(parts) + ")"


def stats_blocks(_: Translate, report: stats.Report, questionnaire: Questionnaire, tz: Any) -> list[dict[str, Any]]:
    n = report.n
    blocks: list[dict[str, Any]] = [m.context(m.esc(presenters.figures_period(_, report, tz)))]
    blocks += m.fields(presenters.key_figures(_, report))
    blocks += m.fields(presenters.figure_outcomes(_, report))
    if report.groups:
        lines = [f"• {m.esc(muni)} · {m.esc(presenters.figure_value(_, questionnaire, 'form', form))} · "
                 f"{m.esc(presenters.figure_value(_, questionnaire, 'sector', sector))}: {n(count)}"
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
    blocks += breakdown_blocks(_, report, questionnaire)
    return blocks


@template("digest")
def digest(ctx: RenderContext) -> Rendered:
    _ = ctx._
    first, report = presenters.monthly_figures(ctx.session, ctx.msg.ref["month"], ctx.settings, ctx.msg.created_at)
    title = _("Monthly figures for {month}", month=month_label(_, first))
    blocks = [m.header(title), *stats_blocks(_, report, ctx.questionnaire, ctx.tz)]
    return Rendered(title, blocks[:50])


def chart_uploads(_: Translate, report: stats.Report, questionnaire: Questionnaire) -> tuple[Upload, ...]:
    """The §3.4 charts as PNG files (small counts are never drawn: bot.core.charts)."""
    out = []
    for chart in charts.charts(report, _, lambda form: presenters.figure_value(_, questionnaire, "form", form)):
        alt = chart.title + ". " + chart.note
        out.append(Upload(f"{chart.name}.png", charts.png(chart, report.threshold), chart.title, alt))
    return tuple(out)


@template("digest_charts")
def digest_charts(ctx: RenderContext) -> Rendered:
    """The digest's charts: the twelve months up to and including the digest's month, region-wide."""
    _ = ctx._
    year, month = (int(x) for x in ctx.msg.ref["month"].split("-"))
    last = date(year, month, 1)
    first = date(year - 1, month, 1) + timedelta(days=32)
    start, _end = stats.month_bounds(first.replace(day=1), ctx.tz)
    _start, end = stats.month_bounds(last, ctx.tz)
    report = stats.compute(ctx.session, start, end, ctx.msg.created_at, limit=stats.threshold(ctx.settings),
                           cal=stats.calendar_for(ctx.settings))
    text = _("Charts of the last twelve months, up to {month}. Counts below {limit} are not drawn.",
             month=month_label(_, last), limit=report.threshold)
    return Rendered(text, [m.section(text)], files=chart_uploads(_, report, ctx.questionnaire))


# --- /signaal cijfers ------------------------------------------------------------------------------

period = figures.period  # the core decides the period (bot.core.figures), as it decides who may see what
NO_FIGURES = N_("Only attention officers (for their own municipality) and the ketenregisseur (for the region) "
                "see these figures. Ask the attention officer of your municipality or the ketenregisseur.")
BAD_PERIOD = N_("Give a year or a month, such as “/signaal cijfers 2026” or “/signaal cijfers 2026-03”.")


def _refusal(_: Translate, result: Result) -> str:
    return _(BAD_PERIOD) if result.error is Error.INVALID else _(NO_FIGURES)


def figures_reply(ctx: SlackContext, user: str, rest: str) -> tuple[str, list[dict[str, Any]]]:
    _ = ctx.tr(user)
    settings, now = ctx.core.settings, ctx.core.clock.now()
    result = figures.view(ctx.core, user, rest)  # who may see which figures, and the audit entry: the core's
    if not result.ok:
        return _refusal(_, result), []
    shown: figures.View = result.data["view"]
    start, end = shown.bounds(settings.tz)
    blocks: list[dict[str, Any]] = []
    with Session(ctx.core.engine) as session:
        for municipalities in shown.scopes:
            title = _("Region") if municipalities is None else next(iter(municipalities))
            report = stats.compute(session, start, end, now, limit=stats.threshold(settings),
                                   cal=stats.calendar_for(settings), municipalities=municipalities)
            blocks += [m.header(_("Figures — {scope}", scope=title)),
                       *stats_blocks(_, report, ctx.core.questionnaire, settings.tz)]
    if len(blocks) > 50:
        blocks = [*blocks[:49], m.context(_("Not everything fits here; ask the ketenregisseur for the yearly "
                                            "report."))]
    return _("Figures"), blocks


@hooks.subcommand("cijfers", "figures")
def figures_command(ctx: SlackContext, ack: Ack, command: dict, respond: Any, rest: str) -> None:
    """A refusal or a wrong period is answered at once; the figures are counted after the ack (a year
    of a region is more than a listener may do within Slack's 3 seconds) and sent to the response_url."""
    user = command["user_id"]
    _ = ctx.tr(user)
    checked = figures.check(ctx.core, user, rest)
    if not checked.ok:
        ack(text=_refusal(_, checked))
        return
    ack(text=_("Counting the figures…"))
    ctx.after_ack(figures_work, user, rest, command.get("response_url"))


def figures_work(ctx: SlackContext, user: str, rest: str, response_url: str | None) -> None:
    text, blocks = figures_reply(ctx, user, rest)
    if response_url:
        Respond(response_url=response_url)(text=text, blocks=blocks or None, response_type="ephemeral",
                                           replace_original=True)
    else:
        ctx.ephemeral(None, user, text, blocks=blocks or None)


@hooks.feature
def register(ctx: SlackContext, app: App) -> None:
    ctx.work_fn_of(figures_work)
