"""Charts of the §3.4 figures: signals per month by form, the share that led to a melding, and the
median time to claim. Aggregates only.

Two steps, so the privacy rule can be tested on plain data: `*_chart(report)` gives the `Chart` that
is drawn — every count from 1 up to the threshold is suppressed there (value None, labelled "< N"),
a share is drawn only when the month's signals, its meldingen and the rest each reach the threshold
(or are none), a median
only over at least threshold claims — and `png(chart)` draws exactly that with matplotlib (Agg
canvas, no pyplot state, no network: the fonts ship with matplotlib).
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.stats import Report
from bot.i18n import Translate


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float | None, ...]  # one per month; None: not shown (a small count, or too few cases)
    key: str = ""  # short name in the "< N" marks (a form: AU, SU, CU…)


@dataclass(frozen=True)
class Chart:
    name: str  # file stem: signals_by_form, melding_share, time_to_claim
    title: str
    unit: str  # y axis
    months: tuple[str, ...]  # YYYY-MM
    series: tuple[Series, ...]
    stacked: bool = False
    note: str = ""  # under the chart: what "< N" means
    hidden: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (month, series label) shown as "< N"

    def visible_values(self) -> list[float]:
        """Every number the chart draws (what must never be a small count)."""
        return [v for s in self.series for v in s.values if v is not None]


def _count(value: int, limit: int) -> int | None:
    return None if 0 < value < limit else value


def signals_by_form(report: Report, _: Translate, label: Callable[[str], str]) -> Chart:
    limit = report.threshold
    forms = sorted({f for m in report.months for f in m.by_form})
    series, hidden = [], []
    for form in forms:
        values = tuple(_count(m.by_form.get(form, 0), limit) for m in report.months)
        series.append(Series(f"{label(form)} ({form})" if label(form) != form else form, values, form))
        hidden += [(m.month, form) for m, v in zip(report.months, values, strict=True) if v is None]
    return Chart("signals_by_form", _("Signals per month by form"), _("Signals"),
                 tuple(m.month for m in report.months), tuple(series), stacked=True,
                 note=_("Counts below {limit} are not drawn (“< {limit}”).", limit=limit), hidden=tuple(hidden))


def melding_share(report: Report, _: Translate) -> Chart:
    limit = report.threshold
    values: list[float | None] = []
    hidden = []
    for m in report.months:
        # A share gives away its counts: not drawn when the meldingen or the others are a small number.
        small = m.total < limit or 0 < m.routed < limit or 0 < m.total - m.routed < limit
        values.append(None if small else round(100 * m.routed / m.total, 1) if m.total else None)
        if small and m.total:
            hidden.append((m.month, ""))
    return Chart("melding_share", _("Share of signals that led to a melding"), "%",
                 tuple(m.month for m in report.months), (Series(_("Led to a melding"), tuple(values)),),
                 note=_("Not drawn for a month with fewer than {limit} signals or meldingen.", limit=limit),
                 hidden=tuple(hidden))


def time_to_claim(report: Report, _: Translate) -> Chart:
    limit = report.threshold
    values: list[float | None] = []
    hidden = []
    for m in report.months:
        enough = len(m.claim_hours) >= limit
        values.append(round(statistics.median(m.claim_hours), 1) if enough else None)
        if m.claim_hours and not enough:
            hidden.append((m.month, ""))
    return Chart("time_to_claim", _("Median time to claim"), _("hours"), tuple(m.month for m in report.months),
                 (Series(_("Median time to claim"), tuple(values)),),
                 note=_("Not drawn for a month with fewer than {limit} claimed signals.", limit=limit),
                 hidden=tuple(hidden))


def charts(report: Report, _: Translate, label: Callable[[str], str]) -> list[Chart]:
    return [signals_by_form(report, _, label), melding_share(report, _), time_to_claim(report, _)]


def png(chart: Chart, limit: int, *, size: tuple[float, float] = (8, 4.2), dpi: int = 100,
        colors: int | None = None) -> bytes:
    """The chart as a PNG. A value of None is left out and marked "< N" at its place (counts) or "—".
    Where a message has little room (a Teams card, ~28 KB with everything in it): `size` (inches) and
    `dpi` make a smaller picture, `colors` a palette image of that many colours (a fraction of the bytes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    x = list(range(len(chart.months)))
    small = f"< {limit}"
    if chart.stacked:
        bottom = [0.0] * len(x)
        for s in chart.series:
            heights = [v or 0.0 for v in s.values]
            ax.bar(x, heights, bottom=bottom, label=s.label)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        for i in x:
            keys = [s.key or s.label for s in chart.series if s.values[i] is None]
            if keys:
                ax.annotate("\n".join(f"{key} {small}" for key in keys), (i, bottom[i]), ha="center",
                            va="bottom", fontsize=7, color="#555555")
        ax.margins(y=0.25)
        ax.set_ylim(bottom=0, top=max(1.0, ax.get_ylim()[1]))
        if chart.series:
            ax.legend(fontsize=8, loc="upper left")
    else:
        for s in chart.series:
            # A month not shown breaks the line (NaN), so no line runs across it.
            ax.plot(x, [float("nan") if v is None else v for v in s.values], marker="o", label=s.label)
            for i, v in enumerate(s.values):
                if v is None and (chart.months[i], "") in chart.hidden:
                    ax.annotate(small, (i, 0), ha="center", va="bottom", fontsize=7, color="#555555")
        top = 100.0 if chart.unit == "%" else max(1.0, ax.get_ylim()[1])
        ax.set_ylim(bottom=0, top=top)
    ax.set_xticks(x, [m[2:] if len(chart.months) > 12 else m[5:] + "/" + m[2:4] for m in chart.months],
                  fontsize=8)
    ax.set_title(chart.title)
    ax.set_ylabel(chart.unit)
    if chart.note:
        fig.text(0.01, 0.01, chart.note, fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    if colors is None:
        return buf.getvalue()
    from PIL import Image

    small = io.BytesIO()
    with Image.open(io.BytesIO(buf.getvalue())) as image:
        image.convert("RGB").quantize(colors=colors).save(small, format="PNG", optimize=True)
    return small.getvalue()
