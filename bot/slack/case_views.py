"""The case card the AF sees in the municipality's private channel (or DM), with its actions."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.core.cases import case_view, due_dates
from bot.i18n import N_, Translate
from bot.slack import mrkdwn as m
from bot.slack.render import RenderContext, Rendered, template
from flows.calendar import WorkingCalendar
from flows.cases import CaseAction, CaseStatus, CaseView, Conclusion, available_actions
from models import Consultation, Handover, Municipality, Partner, Signal

__all__ = ["case_view", "case_card"]

ACTION_LABELS: dict[str, str] = {
    CaseAction.CLAIM: N_("Claim"),
    CaseAction.ASK_INFO: N_("Ask for more info"),
    CaseAction.CONSULT: N_("Ask advice"),
    CaseAction.RECORD_ADVICE: N_("Record advice"),
    CaseAction.CONCLUDE: N_("Conclusion"),
    CaseAction.ROUTE: N_("Route to partner"),
    CaseAction.RECORD_OUTCOME: N_("Record outcome"),
    CaseAction.FEEDBACK: N_("Feedback to reporter"),
    CaseAction.MESSAGE_REPORTER: N_("Message to reporter"),
    CaseAction.NOTE: N_("Internal note"),
    CaseAction.CLOSE: N_("Close"),
    CaseAction.REOPEN: N_("Reopen"),
    CaseAction.TIMELINE: N_("Timeline"),
}
STATUS_LABELS = {
    CaseStatus.NEW: N_("New — not claimed yet"),
    CaseStatus.IN_PROGRESS: N_("Being handled"),
    CaseStatus.CLOSED: N_("Closed"),
}
CONCLUSION_LABELS = {
    Conclusion.GEEN: N_("No human trafficking"),
    Conclusion.VERDER_ONDERZOEK: N_("Further investigation and coordination needed"),
    Conclusion.WEL: N_("Human trafficking"),
}
# Buttons that stay on the card itself; the rest sit in an overflow menu to keep it calm.
PRIMARY = (CaseAction.CLAIM, CaseAction.ASK_INFO, CaseAction.CONSULT, CaseAction.CONCLUDE, CaseAction.ROUTE,
           CaseAction.FEEDBACK, CaseAction.CLOSE, CaseAction.REOPEN)


def action_elements(_: Translate, signal: Signal, actions: list[CaseAction]) -> list[dict[str, Any]]:
    value = str(signal.id)
    buttons = []
    for action in actions:
        if action in PRIMARY:
            style = "primary" if action in (CaseAction.CLAIM, CaseAction.REOPEN) else None
            buttons.append(m.button(_(ACTION_LABELS[action]), f"case:{action.value}", value, style=style))
    rest = [a for a in actions if a not in PRIMARY]
    if len(rest) == 1:  # an overflow menu needs at least two options
        buttons.append(m.button(_(ACTION_LABELS[rest[0]]), f"case:{rest[0].value}", value))
    elif rest:
        buttons.append({"type": "overflow", "action_id": "case:more",
                        "options": [m.option(_(ACTION_LABELS[a]), f"{a.value}:{signal.id}") for a in rest][:5]})
    return buttons


def card_header(_: Translate, signal: Signal) -> str:
    prefix = "🚨 " + _("ACUTE") + " — " if signal.acute else ""
    return prefix + _("Signal {reference}", reference=signal.reference)


def card_text(_: Translate, signal: Signal, mention: list[str]) -> str:
    """The push preview: never any case content."""
    who = " ".join(m.mention(u) for u in mention)
    if signal.acute:
        body = _("ACUTE signal {reference} — open Slack now to view it", reference=signal.reference)
    else:
        body = _("New signal {reference} — open Slack to view it", reference=signal.reference)
    return f"{who} {body}".strip()


def signal_facts(ctx: RenderContext, signal: Signal) -> list[tuple[str, str]]:
    _ = ctx._
    q = ctx.questionnaire

    def label(key: str, value: Any) -> str:
        if not q.has(key):
            return "—"
        question = q.get(key)
        if isinstance(value, list):
            return ", ".join(_(o.label) for o in question.options if o.key in value) or _("none of these")
        opt = question.option(str(value)) if value is not None else None
        return _(opt.label) if opt else "—"

    a = signal.answers
    muni = ctx.session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
    return [
        (_("Form"), label("form", a.get("form"))),
        (_("Signals"), label("signals", a.get("signals", []))),
        (_("Acute"), "🚨 " + _("Yes") if signal.acute else _("No")),
        (_("Minor involved"), label("minor", a.get("minor"))),
        (_("Sector"), label("sector", a.get("sector"))),
        (_("How it came in"), label("source", a.get("source"))),
        (_("Reporter"), m.mention(signal.reporter_id) if signal.reporter_id else "—"),
        (_("Reported"), m.date(signal.submitted_at or signal.created_at, ctx.tz)),
        (_("Municipality"), m.esc(muni.name) if muni else "—"),
    ]


def status_line(ctx: RenderContext, signal: Signal, view: CaseView) -> str:
    _ = ctx._
    parts = [_(STATUS_LABELS.get(view.status, view.status))]
    if signal.claimed_by and signal.status != CaseStatus.CLOSED:
        parts = [_("Being handled by {who}", who=m.mention(signal.claimed_by))]
    if signal.conclusion:
        parts.append(_("Conclusion: {conclusion}", conclusion=_(CONCLUSION_LABELS[Conclusion(signal.conclusion)])))
    return " · ".join(parts)


DUE_LABELS = {
    "claim": N_("claim the signal"),
    "feedback": N_("feedback to the reporter"),
    "advice": N_("advice from a partner"),
    "outcome": N_("outcome from a partner"),
    "further_investigation": N_("follow up the further investigation"),
}


def partner_lines(ctx: RenderContext, signal: Signal) -> list[str]:
    """Consultations and hand-overs, with their dates: what the AF is waiting for."""
    _ = ctx._
    names = {p.key: p.name for p in ctx.session.exec(select(Partner)).all()}
    lines = []
    for c in ctx.session.exec(select(Consultation).where(Consultation.signal_id == signal.id)
                              .order_by(col(Consultation.id))).all():
        name = m.esc(names.get(c.partner_key, c.partner_key))
        if c.answered_at:
            lines.append("🤝 " + _("Advice {partner}: received {date}", partner=name,
                                   date=m.date(c.answered_at, ctx.tz, "{date_short_pretty}")))
        else:
            lines.append("🤝 " + _("Advice {partner}: asked {date}, no answer yet", partner=name,
                                   date=m.date(c.asked_at, ctx.tz, "{date_short_pretty}")))
    for h in ctx.session.exec(select(Handover).where(Handover.signal_id == signal.id)
                              .order_by(col(Handover.id))).all():
        name = m.esc(names.get(h.partner_key, h.partner_key))
        routed = m.date(h.routed_at, ctx.tz, "{date_short_pretty}")
        if h.outcome_at:
            lines.append("➡️ " + _("Routed to {partner} on {date}; outcome received {outcome}", partner=name,
                                   date=routed, outcome=m.date(h.outcome_at, ctx.tz, "{date_short_pretty}")))
        elif h.expected_outcome_at:
            lines.append("➡️ " + _("Routed to {partner} on {date}; outcome expected by {expected}", partner=name,
                                   date=routed, expected=m.date(h.expected_outcome_at, ctx.tz,
                                                                "{date_short_pretty}")))
        else:
            lines.append("➡️ " + _("Routed to {partner} on {date}", partner=name, date=routed))
    return lines


def next_due_line(ctx: RenderContext, signal: Signal) -> str | None:
    _ = ctx._
    due = due_dates(ctx.session, signal, WorkingCalendar(ctx.settings.timezone))
    if not due:
        return None
    first = due[0]
    return "⏰ " + _("Next: {what} by {date}", what=_(DUE_LABELS.get(first.what, first.what)),
                    date=m.date(first.at, ctx.tz))


def closed_summary(ctx: RenderContext, signal: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    lines = [_("Closed on {when}", when=m.date(signal.closed_at or signal.updated_at, ctx.tz))]
    if signal.referred_to_care:
        lines.append(_("Referred to care: {organisation}", organisation=m.esc(signal.referred_to_care)))
    routed = ctx.session.exec(select(Handover.partner_key).where(Handover.signal_id == signal.id)).all()
    if routed:
        names = {p.key: p.name for p in ctx.session.exec(select(Partner)).all()}
        lines.append(_("Routed to: {partners}", partners=", ".join(
            m.esc(names.get(k, k)) for k in dict.fromkeys(routed))))
    if signal.first_feedback_at:
        lines.append(_("Feedback given on {when}", when=m.date(signal.first_feedback_at, ctx.tz,
                                                                "{date_short_pretty}")))
    elif signal.no_feedback_reason:
        lines.append(_("Closed without feedback to the reporter (reason in the thread)"))
    elif not signal.wants_feedback:
        lines.append(_("The reporter did not ask for feedback"))
    return [m.context(*lines)]


@template("case_card")
def case_card(ctx: RenderContext) -> Rendered:
    _ = ctx._
    signal = ctx.session.get(Signal, ctx.msg.signal_id)
    assert signal is not None
    view = case_view(ctx.session, signal)
    blocks: list[dict[str, Any]] = [m.header(card_header(_, signal))]
    blocks.append(m.section("*" + _("Status") + ":* " + status_line(ctx, signal, view)))
    if signal.status == CaseStatus.CLOSED:
        blocks += closed_summary(ctx, signal)
    else:
        partners = partner_lines(ctx, signal)
        if partners:
            blocks.append(m.section("*" + _("Partners") + "*\n" + "\n".join(partners)))
        due = next_due_line(ctx, signal)
        if due:
            blocks.append(m.context(due))
        blocks += m.fields(signal_facts(ctx, signal))
        if signal.minor:
            blocks.append(m.context(_("A minor is involved: the meldcode applies; consider Veilig Thuis "
                                      "(0800-2000).")))
        blocks += m.user_text_sections(_("Description"), signal.description)
        if signal.location:
            blocks += m.user_text_sections(_("Location"), signal.location)
    elements = action_elements(_, signal, available_actions(view))
    if elements:
        blocks.append(m.actions(f"case:{signal.id}", elements))
    blocks.append(m.context(_("Work this case in the thread of this message. Only the attention officers of "
                              "this municipality can use the buttons.")))
    return Rendered(card_text(_, signal, ctx.msg.ref.get("mention", [])), blocks[:50])
