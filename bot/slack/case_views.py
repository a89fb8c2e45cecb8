"""The case card the AF sees in the municipality's private channel (or DM), with its actions."""

from __future__ import annotations

from typing import Any

from bot.core import presenters
from bot.core.cases import Due, case_view
from bot.i18n import N_, Translate
from bot.slack import mrkdwn as m
from bot.slack.case_messages import CLASSIFICATION_FIELDS
from bot.slack.related_views import related_line
from bot.slack.render import RenderContext, Rendered, template
from flows.calendar import WorkingCalendar
from flows.cases import CaseAction, CaseStatus
from models import Signal

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
    CaseAction.SEEN: N_("Seen"),
    CaseAction.CASE_MEETING: N_("Case meeting"),
    CaseAction.RELATED: N_("Related signals"),
    CaseAction.RECLASSIFY: N_("Correct case details"),
}
STATUS_LABELS = {
    CaseStatus.NEW: N_("New — not claimed yet"),
    CaseStatus.IN_PROGRESS: N_("Being handled"),
    CaseStatus.CLOSED: N_("Closed"),
}
CONCLUSION_LABELS = presenters.CONCLUSION_LABELS
# Buttons that stay on the card itself; the rest sit in an overflow menu to keep it calm.
PRIMARY = (CaseAction.CLAIM, CaseAction.ASK_INFO, CaseAction.CONSULT, CaseAction.CONCLUDE, CaseAction.ROUTE,
           CaseAction.FEEDBACK, CaseAction.CLOSE, CaseAction.REOPEN)
# Not in the row of actions: Seen sits beside the "new information" line it clears.
BESIDE = (CaseAction.SEEN,)
OVERFLOW_MAX = 5  # options in one overflow menu (Slack's limit)


def action_elements(_: Translate, signal_id: int, actions: list[CaseAction]) -> list[dict[str, Any]]:
    value = str(signal_id)
    buttons = []
    for action in actions:
        if action in PRIMARY:
            style = "primary" if action in (CaseAction.CLAIM, CaseAction.REOPEN) else None
            buttons.append(m.button(_(ACTION_LABELS[action]), f"case:{action.value}", value, style=style))
    rest = [a for a in actions if a not in PRIMARY and a not in BESIDE]
    # An overflow menu holds at most OVERFLOW_MAX options: more actions get a second menu, never dropped.
    for n, start in enumerate(range(0, len(rest), OVERFLOW_MAX)):
        chunk = rest[start:start + OVERFLOW_MAX]
        if len(chunk) == 1:  # an overflow menu needs at least two options
            buttons.append(m.button(_(ACTION_LABELS[chunk[0]]), f"case:{chunk[0].value}", value))
        else:
            buttons.append({"type": "overflow", "action_id": "case:more" + ("" if n == 0 else f"_{'abcde'[n]}"),
                            "options": [m.option(_(ACTION_LABELS[a]), f"{a.value}:{signal_id}") for a in chunk]})
    return buttons


def card_header(_: Translate, reference: str, acute: bool) -> str:
    prefix = "🚨 " + _("ACUTE") + " — " if acute else ""
    return prefix + _("Signal {reference}", reference=reference)


def card_text(_: Translate, reference: str, acute: bool, mention: list[str]) -> str:
    """The push preview: never any case content."""
    who = " ".join(m.mention(u) for u in mention)
    if acute:
        body = _("ACUTE signal {reference} — open Slack now to view it", reference=reference)
    else:
        body = _("New signal {reference} — open Slack to view it", reference=reference)
    return f"{who} {body}".strip()


DUE_LABELS = presenters.DUE_LABELS


def signal_facts(ctx: RenderContext, facts: presenters.CaseFacts, acute: bool) -> list[tuple[str, str]]:
    _ = ctx._

    def label(value: str | None) -> str:
        return _(value) if value else "—"

    signals = (", ".join(_(v) for v in facts.signals) or _("none of these")) if facts.signals is not None else "—"
    return [
        (_("Form"), label(facts.form)),
        (_("Signals"), signals),
        (_("Acute"), "🚨 " + _("Yes") if acute else _("No")),
        (_("Minor involved"), label(facts.minor)),
        (_("Sector"), label(facts.sector)),
        (_("Target group"), label(facts.target_group)),
        (_("How it came in"), label(facts.source)),
        (_("Reporter"), m.mention(facts.reporter_id) if facts.reporter_id else "—"),
        (_("Reported"), m.date(facts.reported_at, ctx.tz)),
        (_("Municipality"), m.esc(facts.municipality) if facts.municipality else "—"),
    ]


def classification_note(ctx: RenderContext, facts: presenters.CaseFacts) -> str | None:
    """Who corrected the details, and what the reporter answered where it differs (their answers stay)."""
    _ = ctx._
    if facts.classified_at is None:
        return None
    line = "✏️ " + _("Details corrected by {who} ({date})", who=m.mention(facts.classified_by or ""),
                     date=m.date(facts.classified_at, ctx.tz, "{date_short_pretty}"))
    if facts.reported_as:
        said = ", ".join(f"{_(CLASSIFICATION_FIELDS.get(f, f)).lower()}: {_(v) if v else '—'}"
                         for f, v in facts.reported_as)
        line += " · " + _("the reporter answered {answers}", answers=said)
    return line


def status_line(ctx: RenderContext, card: presenters.CaseCard) -> str:
    _ = ctx._
    parts = [_(STATUS_LABELS.get(card.view.status, card.view.status))]
    if card.handled_by:
        parts = [_("Being handled by {who}", who=m.mention(card.handled_by))]
    if card.view.conclusion:
        parts.append(_("Conclusion: {conclusion}", conclusion=_(CONCLUSION_LABELS[card.view.conclusion])))
    return " · ".join(parts)


def done_lines(ctx: RenderContext, card: presenters.CaseCard) -> list[str]:
    """What is done on an open case, with dates: claimed, concluded, feedback (who holds it and the
    conclusion are in the status line; hand-overs are the partner lines)."""
    _ = ctx._
    lines = []
    if card.claimed_by and card.claimed_at:
        lines.append("✅ " + _("Claimed ({date})", date=m.date(card.claimed_at, ctx.tz, "{date_short_pretty}")))
    if card.view.conclusion and card.conclusion_at:
        lines.append("✅ " + _("Conclusion recorded ({date})",
                              date=m.date(card.conclusion_at, ctx.tz, "{date_short_pretty}")))
    if card.feedback_at:
        lines.append("✅ " + _("Feedback given to the reporter ({date})",
                              date=m.date(card.feedback_at, ctx.tz, "{date_short_pretty}")))
    elif card.view.wants_feedback:
        lines.append("◻️ " + _("No feedback given yet (the reporter asked for it)"))
    return lines


def partner_lines(ctx: RenderContext, card: presenters.CaseCard) -> list[str]:
    """Consultations and hand-overs, with their dates: what the AF is waiting for."""
    _ = ctx._
    lines = []
    for p in card.partners:
        name = m.esc(p.partner)
        if p.kind == "advice" and p.done_at:
            lines.append("🤝 " + _("Advice {partner}: received {date}", partner=name,
                                   date=m.date(p.done_at, ctx.tz, "{date_short_pretty}")))
        elif p.kind == "advice":
            lines.append("🤝 " + _("Advice {partner}: asked {date}, no answer yet", partner=name,
                                   date=m.date(p.at, ctx.tz, "{date_short_pretty}")))
        elif p.done_at:
            lines.append("➡️ " + _("Routed to {partner} ({date}); outcome received {outcome}", partner=name,
                                   date=m.date(p.at, ctx.tz, "{date_short_pretty}"),
                                   outcome=m.date(p.done_at, ctx.tz, "{date_short_pretty}")))
        elif p.expected_at:
            lines.append("➡️ " + _("Routed to {partner} ({date}); outcome expected by {expected}", partner=name,
                                   date=m.date(p.at, ctx.tz, "{date_short_pretty}"),
                                   expected=m.date(p.expected_at, ctx.tz, "{date_short_pretty}")))
        else:
            lines.append("➡️ " + _("Routed to {partner} ({date})", partner=name,
                                   date=m.date(p.at, ctx.tz, "{date_short_pretty}")))
    return lines


def case_meeting_lines(ctx: RenderContext, card: presenters.CaseCard) -> list[str]:
    """Ingebracht in het casusoverleg: the date and what came of it (the AF's private place only)."""
    _ = ctx._
    lines = []
    for held_on, outcome in card.case_meetings:
        line = "🗂️ " + _("Discussed in the case meeting (Zorg- en Veiligheidshuis) on {date}",
                        date=held_on.strftime("%d-%m-%Y"))
        if outcome:
            excerpt = outcome if len(outcome) <= 200 else outcome[:199] + "…"
            line += ": _" + m.esc(" ".join(excerpt.split())) + "_"
        lines.append(line)
    return lines


def related_lines(ctx: RenderContext, card: presenters.CaseCard) -> list[str]:
    """Linked signals by reference, date and state only; and how many more may be related."""
    _ = ctx._
    lines = ["🔗 " + _("Linked to {signal}", signal=related_line(_, r, ctx.tz)) for r in card.linked]
    if card.possibly_related:
        lines.append("🔎 " + _.ngettext("{count} possibly related signal (same address or business): see "
                                        "*{action}*",
                                        "{count} possibly related signals (same address or business): see "
                                        "*{action}*",
                                        card.possibly_related, count=card.possibly_related,
                                        action=_(ACTION_LABELS[CaseAction.RELATED])))
    return lines


def next_due_line(ctx: RenderContext, due: Due | None) -> str | None:
    _ = ctx._
    if due is None:
        return None
    if due.overdue:
        what = _(DUE_LABELS.get(due.what, due.what))
        return "⚠️ *" + _("Deadline passed") + "*: " + _("{what}, due {date}", what=what, date=m.date(due.at, ctx.tz))
    return "⏰ " + _("Next: {what} by {date}", what=_(DUE_LABELS.get(due.what, due.what)), date=m.date(due.at, ctx.tz))


def closed_summary(ctx: RenderContext, closed: presenters.ClosedCase) -> list[dict[str, Any]]:
    _ = ctx._
    lines = [_("Closed: {when}", when=m.date(closed.closed_at, ctx.tz))]
    if closed.referred_to_care:
        lines.append(_("Referred to care: {organisation}", organisation=m.esc(closed.referred_to_care)))
    if closed.routed_to:
        lines.append(_("Routed to: {partners}", partners=", ".join(m.esc(n) for n in closed.routed_to)))
    if closed.feedback_at:
        lines.append(_("Feedback given: {when}", when=m.date(closed.feedback_at, ctx.tz, "{date_short_pretty}")))
    elif closed.without_feedback:
        lines.append(_("Closed without feedback to the reporter (reason in the thread)"))
    elif closed.feedback_not_asked:
        lines.append(_("The reporter did not ask for feedback"))
    return [m.context(*lines)]


@template("case_card")
def case_card(ctx: RenderContext) -> Rendered:
    """Formats `presenters.case_card` (the AF's view: content while open, a summary once closed)."""
    _ = ctx._
    signal = ctx.session.get(Signal, ctx.msg.signal_id)
    assert signal is not None
    card = presenters.case_card(ctx.session, ctx.questionnaire, signal, WorkingCalendar(ctx.settings.timezone))
    actions = list(card.actions)
    blocks: list[dict[str, Any]] = [m.header(card_header(_, card.reference, card.acute))]
    blocks.append(m.section("*" + _("Status") + ":* " + status_line(ctx, card)))
    if card.new_from_reporter:
        note = _("New information from the reporter: see the thread.")
        if card.closed is not None:
            note += " " + _("The case is closed; reopen it to act on it.")
        seen = (m.button(_(ACTION_LABELS[CaseAction.SEEN]), f"case:{CaseAction.SEEN.value}", str(card.signal_id))
                if CaseAction.SEEN in card.actions else None)
        blocks.append(m.section("🔔 *" + note + "*", **({"accessory": seen} if seen else {})))
    if card.closed is not None:
        blocks += closed_summary(ctx, card.closed)
        linked = related_lines(ctx, card)  # the closed summary keeps its links (never possible matches)
        if linked:
            blocks.append(m.context("\n".join(linked)))
    else:
        done = done_lines(ctx, card)
        if done:
            blocks.append(m.context("\n".join(done)))
        partners = partner_lines(ctx, card)
        if partners:
            blocks.append(m.section("*" + _("Partners") + "*\n" + "\n".join(partners)))
        meetings = case_meeting_lines(ctx, card)
        if meetings:
            blocks.append(m.section("\n".join(meetings)))
        linked = related_lines(ctx, card)
        if linked:
            blocks.append(m.context("\n".join(linked)))
        due = next_due_line(ctx, card.next_due)
        if due:
            blocks.append(m.context(due))
        if card.still_answering:
            blocks.append(m.context("⏳ " + _("Sent right away because it is acute: the reporter is still answering "
                                             "the remaining questions. This card shows each answer as it comes.")))
        if card.facts is not None:
            blocks += m.fields(signal_facts(ctx, card.facts, card.acute))
            note = classification_note(ctx, card.facts)
            if CaseAction.RECLASSIFY in actions:
                # Beside the details it corrects (the overflow menu holds five options at most).
                fix = m.button(_(ACTION_LABELS[CaseAction.RECLASSIFY]), f"case:{CaseAction.RECLASSIFY.value}",
                               str(card.signal_id))
                blocks.append(m.section(note or _("Details as the reporter gave them."), accessory=fix))
                actions.remove(CaseAction.RECLASSIFY)
            elif note:
                blocks.append(m.context(note))
        if card.minor:
            blocks.append(m.context(_("A minor is involved: the meldcode applies; consider Veilig Thuis "
                                      "(0800-2000).")))
        elif card.minor_possible:
            blocks.append(m.context(_("Maybe a minor: the reporter did not know. Find out; Veilig Thuis advises on a "
                                      "doubt too (0800-2000). Correct the details once you know.")))
        blocks += m.user_text_sections(_("Description"), card.description)
        if card.location:
            blocks += m.user_text_sections(_("Location"), card.location)
    elements = action_elements(_, card.signal_id, actions)
    if elements:
        blocks.append(m.actions(f"case:{card.signal_id}", elements))
    blocks.append(m.context(_("Work this case in the thread of this message. Only the attention officers of "
                              "this municipality can use the buttons.")))
    return Rendered(card_text(_, card.reference, card.acute, ctx.msg.ref.get("mention", [])), blocks[:50])
