"""Reminder messages: in the case thread with a mention and Snooze buttons, escalations by DM to the
backup and the ketenregisseur, and reminders to partner contacts.

Rendered from current state at delivery (and again when a reminder is snoozed or settled), so a
reminder whose reason went away says so instead of showing buttons. The push preview (`text`)
carries a reference, never case content; the ketenregisseur and partners get no content at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core import reminders
from bot.i18n import N_, Translate
from bot.slack import mrkdwn as m
from bot.slack.render import RenderContext, Rendered, template
from flows.reminder_rules import Trigger
from models import Municipality, Partner, Signal
from models.reminders import Deadline

AF_TEXTS = {
    Trigger.UNCLAIMED: N_("Signal {reference} has not been claimed yet, {duration} after it was reported. Claim it "
                          "with the button on the case card, or ask your backup to take it."),
    Trigger.UNCLAIMED_ACUTE: N_("ACUTE signal {reference} has not been claimed yet, {duration} after it was "
                                "reported. Claim it now; in acute cases engage AVIM directly."),
    Trigger.NO_FEEDBACK: N_("The reporter of signal {reference} asked for feedback and has heard nothing yet, "
                            "{duration} after the report. Give feedback with the button on the case card (never "
                            "investigative details)."),
    Trigger.ADVICE_UNANSWERED: N_("{partner} has not answered the request for advice on signal {reference} yet, "
                                  "{duration} after it was asked."),
    Trigger.OUTCOME_MISSING: N_("{partner} has not reported an outcome for signal {reference} yet, {duration} after "
                                "the hand-over."),
    Trigger.FURTHER_INVESTIGATION: N_("Signal {reference} has needed further investigation for {duration}. Time to "
                                      "take stock: record a new conclusion, route it or close it."),
}
SETTLED = {
    "claimed": N_("Settled: the signal has been claimed."),
    "feedback_given": N_("Settled: the reporter has had feedback."),
    "advice_received": N_("Settled: the advice has been recorded."),
    "outcome_recorded": N_("Settled: the outcome has been recorded."),
    "concluded": N_("Settled: a new conclusion has been recorded."),
    "routed": N_("Settled: the case has been routed to a partner."),
    "closed": N_("Settled: the case is closed."),
    "gone": N_("Settled: the signal no longer exists."),
}


def _load(ctx: RenderContext) -> tuple[Deadline, Signal, datetime]:
    deadline = ctx.session.get(Deadline, ctx.msg.ref.get("deadline"))
    signal = ctx.session.get(Signal, ctx.msg.signal_id)
    assert deadline is not None and signal is not None
    slot = datetime.fromisoformat(ctx.msg.ref.get("slot") or deadline.due_at.isoformat())
    return deadline, signal, slot


def duration(ctx: RenderContext, deadline: Deadline, slot: datetime) -> str:
    """How long the case has waited at this reminder's slot: minutes for minute rules, else working days."""
    _ = ctx._
    policy = reminders.policy_for(ctx.session)
    rule = policy.rule(deadline.rule_key)
    if rule is not None and rule.offset.minutes is not None:
        minutes = max(0, int((slot - deadline.anchor_at).total_seconds() // 60))
        return _("{n} minutes", n=minutes)
    days = policy.calendar.working_days_between(deadline.anchor_at, max(slot, deadline.anchor_at))
    return _("1 working day") if days == 1 else _("{n} working days", n=days)


def _municipality(ctx: RenderContext, signal: Signal) -> Municipality | None:
    return ctx.session.get(Municipality, signal.municipality_id) if signal.municipality_id else None


def _partner_name(ctx: RenderContext, deadline: Deadline) -> tuple[str, str | None]:
    key = reminders.subject_partner(ctx.session, deadline)
    partner = ctx.session.get(Partner, key) if key else None
    return (partner.name if partner else key or "—"), key


def _state_blocks(ctx: RenderContext, deadline: Deadline, signal: Signal, slot: datetime,
                  buttons: bool) -> list[dict[str, Any]]:
    """What became of this reminder: settled, snoozed, or still open (with Snooze buttons)."""
    _ = ctx._
    gone = reminders.reason_gone(ctx.session, deadline, signal)
    if gone:
        return [m.context("✓ " + _(SETTLED.get(gone, SETTLED["gone"])))]
    if deadline.snoozed and deadline.state == reminders.PENDING and deadline.due_at > slot:
        who = m.mention(deadline.snoozed_by) if deadline.snoozed_by else "—"
        return [m.context("💤 " + _("Snoozed until {when} by {who}.", when=m.date(deadline.due_at, ctx.tz), who=who))]
    if not buttons or deadline.escalation:
        return []
    value = str(deadline.id)
    return [m.actions(f"reminder:{deadline.id}", [
        m.button(_("Tomorrow"), "reminder:snooze:tomorrow", value),
        m.button(_("In 3 working days"), "reminder:snooze:3_working_days", value),
    ]), m.context(_("Snooze moves this reminder; escalations to the backup keep their own time."))]


@template("reminder")
def reminder(ctx: RenderContext) -> Rendered:
    """In the case thread (or, without a case card, the AF's DM): who should act, and why."""
    _ = ctx._
    deadline, signal, slot = _load(ctx)
    who = " ".join(m.mention(u) for u in ctx.msg.ref.get("mention", []))
    trigger = Trigger(deadline.trigger)
    partner, partner_key = _partner_name(ctx, deadline)
    body = _(AF_TEXTS[trigger], reference=signal.reference, duration=duration(ctx, deadline, slot),
             partner=m.esc(partner))
    if trigger in (Trigger.ADVICE_UNANSWERED, Trigger.OUTCOME_MISSING):
        from bot.core import people

        if partner_key and people.partner_members(ctx.session, partner_key):
            body += " " + _("They have been reminded as well.")
        else:
            body += " " + _("Nobody from {partner} is in Slack: please contact them yourself.", partner=m.esc(partner))
    if ctx.msg.ref.get("no_backup"):
        body += " " + _("No backup attention officer is configured for this municipality, so nobody else was asked.")
    icon = "🚨" if trigger is Trigger.UNCLAIMED_ACUTE else "⏰"
    blocks = [m.section(f"{icon} {who} {body}".replace("  ", " "))]
    blocks += _state_blocks(ctx, deadline, signal, slot, buttons=True)
    text = f"{who} " + _("Reminder about signal {reference} — open Slack to view it", reference=signal.reference)
    return Rendered(text.strip(), blocks)


@template("reminder_escalation")
def reminder_escalation(ctx: RenderContext) -> Rendered:
    """By DM to the backup (who may see the case) or the ketenregisseur (who sees no case content:
    only the reference, the municipality and how long it has waited)."""
    _ = ctx._
    deadline, signal, slot = _load(ctx)
    muni = _municipality(ctx, signal)
    municipality = m.esc(muni.name) if muni else "—"
    waited = duration(ctx, deadline, slot)
    acute = "🚨 " + _("ACUTE") + " — " if signal.acute else ""
    if ctx.msg.ref.get("audience") == "ketenregisseur":
        text = _("Escalation: a signal in {municipality} is waiting to be claimed", municipality=municipality)
        body = _("Signal {reference} in {municipality} has not been claimed, {duration} after it was reported. The "
                 "attention officers have been reminded. As ketenregisseur you see no case content; please contact "
                 "the municipality.", reference=signal.reference, municipality=municipality, duration=waited)
    else:
        text = _("Escalation: signal {reference} is waiting to be claimed", reference=signal.reference)
        if muni is not None and muni.conversation:
            channel = "<#" + muni.conversation + ">"
            body = _("Signal {reference} ({municipality}) has not been claimed, {duration} after it was reported. You "
                     "are the backup attention officer: please claim it on the case card in {channel}, or make sure "
                     "the attention officer does.", reference=signal.reference, municipality=municipality,
                     duration=waited, channel=channel)
        else:
            body = _("Signal {reference} ({municipality}) has not been claimed, {duration} after it was reported. You "
                     "are the backup attention officer: please claim it on the case card in this conversation, or "
                     "make sure the attention officer does.", reference=signal.reference,
                     municipality=municipality, duration=waited)
    blocks = [m.section(f"{acute}{body}")] + _state_blocks(ctx, deadline, signal, slot, buttons=False)
    return Rendered(acute + text, blocks)


@template("reminder_partner")
def reminder_partner(ctx: RenderContext) -> Rendered:
    """By DM to a partner contact: the reference and what is awaited, no case content."""
    _ = ctx._
    deadline, signal, slot = _load(ctx)
    muni = _municipality(ctx, signal)
    partner, _key = _partner_name(ctx, deadline)
    params = {"reference": signal.reference, "municipality": m.esc(muni.name) if muni else "—",
              "partner": m.esc(partner), "when": m.date(deadline.anchor_at, ctx.tz, "{date_long}")}
    advice = deadline.trigger == Trigger.ADVICE_UNANSWERED
    if advice:
        body = _("The attention officer of {municipality} asked {partner} for advice on signal {reference} on {when}, "
                 "and is still waiting for an answer. Give your advice with the button below; it goes to the "
                 "attention officer only.", **params)
    else:
        body = _("Signal {reference} from {municipality} was handed over to {partner} on {when}. No outcome has been "
                 "reported yet: report the outcome and the next steps with the button below; they go to the "
                 "attention officer only.", **params)
    blocks = [m.section("⏰ " + body)] + _state_blocks(ctx, deadline, signal, slot, buttons=False)
    if not reminders.reason_gone(ctx.session, deadline, signal):
        # The same buttons as on the original request (issue 3), so the partner acts from here.
        label, action = (_("Give advice"), "partner:advice") if advice else (_("Report outcome"), "partner:outcome")
        blocks.append(m.actions(f"rp:{deadline.id}", [m.button(label, action, str(deadline.subject_id),
                                                               style="primary")]))
    return Rendered(_("Reminder about signal {reference}", reference=signal.reference), blocks)


def snooze_answer(_: Translate, until: datetime, tz: Any) -> str:
    return _("Snoozed. I will remind you again on {when}.", when=m.date(until, tz))
