"""Reminder messages: in the case thread with a mention and Snooze buttons, escalations by DM to the
backup and the ketenregisseur, and reminders to partner contacts.

Rendered from current state at delivery (and again when a reminder is snoozed or settled), so a
reminder whose reason went away says so instead of showing buttons. What each audience may be told is
decided in the core (`bot.core.presenters.reminder`); this module formats it. The push preview (`text`)
carries a reference, never case content; the ketenregisseur and partners get no content at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core import presenters
from bot.core.presenters import ACUTE_ESCALATION, ReminderFor
from bot.core.presenters import REMINDER_SETTLED as SETTLED
from bot.core.presenters import REMINDER_TEXTS as AF_TEXTS
from bot.i18n import Translate
from bot.slack import mrkdwn as m
from bot.slack.render import RenderContext, Rendered, template
from bot.slack.triage_views import cancel_button
from flows.reminder_rules import Trigger
from models import Signal
from models.reminders import Deadline


def _load(ctx: RenderContext) -> tuple[Deadline, Signal, datetime]:
    deadline = ctx.session.get(Deadline, ctx.msg.ref.get("deadline"))
    signal = ctx.session.get(Signal, ctx.msg.signal_id)
    assert deadline is not None and signal is not None
    slot = datetime.fromisoformat(ctx.msg.ref.get("slot") or deadline.due_at.isoformat())
    return deadline, signal, slot


def _view(ctx: RenderContext, audience: ReminderFor) -> presenters.Reminder:
    deadline, signal, slot = _load(ctx)
    return presenters.reminder(ctx.session, deadline, signal, slot, audience,
                               mention=ctx.msg.ref.get("mention", []), no_backup=bool(ctx.msg.ref.get("no_backup")))


def _state_blocks(ctx: RenderContext, view: presenters.Reminder) -> list[dict[str, Any]]:
    """What became of this reminder: settled, snoozed, or still open (with Snooze buttons)."""
    _ = ctx._
    if view.state.settled:
        return [m.context("✓ " + _(SETTLED.get(view.state.settled, SETTLED["gone"])))]
    if view.state.snoozed_until is not None:
        who = m.mention(view.state.snoozed_by) if view.state.snoozed_by else "—"
        return [m.context("💤 " + _("Snoozed until {when} by {who}.", when=m.date(view.state.snoozed_until, ctx.tz),
                                    who=who))]
    if not view.can_snooze:
        return []
    value = str(view.deadline_id)
    return [m.actions(f"reminder:{view.deadline_id}", [
        m.button(_("Tomorrow"), "reminder:snooze:tomorrow", value),
        m.button(_("In 3 working days"), "reminder:snooze:3_working_days", value),
    ]), m.context(_("Snooze moves this reminder; escalations to the backup keep their own time."))]


@template("reminder")
def reminder(ctx: RenderContext) -> Rendered:
    """In the case thread (or, without a case card, the AF's DM): who should act, and why."""
    _ = ctx._
    view = _view(ctx, ReminderFor.AF)
    who = " ".join(m.mention(u) for u in view.mention)
    partner = view.partner or "—"
    body = _(AF_TEXTS[view.trigger], reference=view.reference, duration=presenters.waited(_, view),
             partner=m.esc(partner))
    if view.partner_reminded is True:
        body += " " + _("They have been reminded as well.")
    elif view.partner_reminded is False:
        body += " " + _("Nobody from {partner} is in Slack: please contact them yourself.", partner=m.esc(partner))
    if view.no_backup:
        body += " " + _("No backup attention officer is configured for this municipality, so nobody else was asked.")
    icon = "🚨" if view.trigger is Trigger.UNCLAIMED_ACUTE else "⏰"
    blocks = [m.section(f"{icon} {who} {body}".replace("  ", " "))]
    blocks += _state_blocks(ctx, view)
    text = f"{who} " + _("Reminder about signal {reference} — open Slack to view it", reference=view.reference)
    return Rendered(text.strip(), blocks)


@template("reminder_escalation")
def reminder_escalation(ctx: RenderContext) -> Rendered:
    """By DM to the backup (who may see the case) or the ketenregisseur (who sees no case content:
    only the reference, the municipality and how long it has waited)."""
    _ = ctx._
    ketenregisseur = ctx.msg.ref.get("audience") == "ketenregisseur"
    view = _view(ctx, ReminderFor.KETENREGISSEUR if ketenregisseur else ReminderFor.BACKUP)
    municipality = m.esc(view.municipality) if view.municipality else "—"
    acute = "🚨 " + _("ACUTE") + " — " if view.acute else ""
    channel = "<#" + view.case_place + ">" if view.case_place and not ketenregisseur else None
    text, body = presenters.escalation_words(_, view, municipality, channel)
    if view.acute:
        # An acute signal may not wait for office hours: what to do when nobody of the municipality can act.
        body += "\n" + _(ACUTE_ESCALATION)
    blocks = [m.section(f"{acute}{body}")] + _state_blocks(ctx, view)
    return Rendered(acute + text, blocks)


@template("reminder_partner")
def reminder_partner(ctx: RenderContext) -> Rendered:
    """By DM to a partner contact: the reference and what is awaited, no case content."""
    _ = ctx._
    view = _view(ctx, ReminderFor.PARTNER)
    assert view.awaited_since is not None
    params = {"reference": view.reference, "municipality": m.esc(view.municipality) if view.municipality else "—",
              "partner": m.esc(view.partner or "—"), "when": m.date(view.awaited_since, ctx.tz, "{date_long}")}
    advice = view.trigger == Trigger.ADVICE_UNANSWERED
    if advice:
        body = _("The attention officer of {municipality} asked {partner} for advice on signal {reference} on {when}, "
                 "and is still waiting for an answer. Give your advice with the button below; it goes to the "
                 "attention officer only.", **params)
    else:
        body = _("Signal {reference} from {municipality} was handed over to {partner} on {when}. No outcome has been "
                 "reported yet: report the outcome and the next steps with the button below; they go to the "
                 "attention officer only.", **params)
    blocks = [m.section("⏰ " + body)] + _state_blocks(ctx, view)
    if view.partner_action is not None:
        # The same buttons as on the original request (issue 3), so the partner acts from here.
        label, action = ((_("Give advice"), "partner:advice") if view.partner_action == "advice"
                         else (_("Report outcome"), "partner:outcome"))
        blocks.append(m.actions(f"rp:{view.deadline_id}", [m.button(label, action, str(view.subject_id),
                                                                    style="primary")]))
    return Rendered(_("Reminder about signal {reference}", reference=view.reference), blocks)


def snooze_answer(_: Translate, until: datetime, tz: Any) -> str:
    return _("Snoozed. I will remind you again on {when}.", when=m.on_date(until, tz))


# --- drafts that were not sent (issue 14): nudges and the expiry, in the draft's own thread ---------

@template("draft_nudge")
def draft_nudge(ctx: RenderContext) -> Rendered:
    """To the reporter, in their draft's thread: it has not been sent yet, and what to do. Rendered from
    the draft's current state: once it is sent, cancelled or deleted, it says it is no longer needed."""
    _ = ctx._
    signal = ctx.session.get(Signal, ctx.msg.signal_id)
    reference = signal.reference if signal else "—"
    if signal is None or signal.status != "draft" or signal.purged_at is not None:
        settled = _("This reminder is no longer needed.")
        return Rendered(settled, [m.context("✓ " + settled)])
    text = _("Your signal {reference} has not been sent yet", reference=reference)
    if ctx.msg.ref.get("nudge") == "acute":
        body = _("🚨 Your signal {reference} is marked as acute, but it has *not been sent yet*: the attention "
                 "officer does not know about it. Send it now with the *Send now* button above in this thread; you "
                 "can answer the other questions afterwards. Or answer the remaining questions and click *Send*.",
                 reference=reference)
        # The same words as the acute notice above it (bot.slack.triage_views.acute_notice).
        body += "\n*" + _("If a life is in danger, call 112 now.") + "*\n" + _(
            "Can it not wait, and is the attention officer not directly reachable? Call the police: 0900-8844.")
    else:
        body = _.ngettext("⏳ Your signal {reference} has not been sent yet. Continue with the question above in "
                          "this thread when you are ready, or cancel it. A signal that is not sent is deleted after "
                          "{count} day without activity.",
                          "⏳ Your signal {reference} has not been sent yet. Continue with the question above in "
                          "this thread when you are ready, or cancel it. A signal that is not sent is deleted after "
                          "{count} days without activity.", ctx.msg.ref.get("days") or 30, reference=reference)
        # "or cancel it": Annuleren right here, with its confirm dialog (as under every question).
        return Rendered(text, [m.section(body), m.actions(f"stop:{signal.id}", [cancel_button(_, signal.id)])])
    return Rendered(text, [m.section(body)])


@template("draft_expired")
def draft_expired(ctx: RenderContext) -> Rendered:
    """To the reporter, in the thread of a draft that expired (retention): it is gone, nothing was sent."""
    _ = ctx._
    signal = ctx.session.get(Signal, ctx.msg.signal_id)
    reference = signal.reference if signal else "—"
    days = ctx.msg.ref.get("days")
    if days:
        body = _.ngettext("Signal {reference} was not sent and has now been deleted, after {count} day without "
                          "activity. Nothing reached the attention officer. Do you still want to report something? "
                          "Start again with /signaal.",
                          "Signal {reference} was not sent and has now been deleted, after {count} days without "
                          "activity. Nothing reached the attention officer. Do you still want to report something? "
                          "Start again with /signaal.", days, reference=reference)
    else:
        body = _("Signal {reference} was not sent and has now been deleted. Nothing reached the attention officer. "
                 "Do you still want to report something? Start again with /signaal.", reference=reference)
    return Rendered(_("Signal {reference} was not sent and has been deleted", reference=reference),
                    [m.section(body)])
