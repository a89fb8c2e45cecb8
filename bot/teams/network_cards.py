"""Adaptive Cards for what the network is sent proactively, as bot/slack/reminder_views.py, training.py,
case_messages.py (partners) and stats_views.py (the digest) do for Slack: reminders and escalations,
requests for advice and hand-overs to partners, training invitations, notices and refreshers, the
monthly digest, and the report of people the bot cannot reach. What each audience may see is the core's
(`presenters.reminder`, `presenters.partner_brief`, `stats.compute`); this module only lays it out.

The buttons' verbs (`VERBS`) are dispatched by bot.teams.edge: each asks the core (snooze, give advice,
report an outcome, answer an invitation); the card is redrawn through the outbox from current state.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date
from sqlmodel import col, select

from bot.core import cases as core_cases
from bot.core import charts, checks, outbox, people, platforms, presenters, stats
from bot.core import reminders as core_reminders
from bot.core import training as core_training
from bot.core.context import Core
from bot.core.presenters import ACUTE_ESCALATION, ReminderFor
from bot.core.presenters import REMINDER_SETTLED as SETTLED
from bot.core.presenters import REMINDER_TEXTS as AF_TEXTS
from bot.core.result import Error, Result
from bot.i18n import N_, Translate
from bot.teams.cards import (
    Ctx,
    Out,
    _md_safe,
    _person_name,
    execute,
    fact_set,
    mention,
    small,
    template,
    text,
    user_text,
    when,
)
from flows.classification import load_classification
from flows.reminder_rules import Trigger
from models import CaseEvent, Consultation, Handover, MessageRef, Municipality, Partner, Person, Signal
from models.db import session_scope
from models.reminders import Deadline
from models.training import TrainingSession

TEXT_LIMIT = 3000  # what the core takes of an answer (bot.core.cases); the input says so


def _plain(value: str) -> str:
    """A network name inside our own (markdown) TextBlock."""
    return _md_safe(value) or "—"


# ------------------------------------------------------------------------------ reminders


def _reminder(ctx: Ctx, audience: ReminderFor) -> presenters.Reminder:
    deadline = ctx.session.get(Deadline, ctx.msg.ref.get("deadline"))
    signal = ctx.session.get(Signal, ctx.msg.signal_id)
    assert deadline is not None and signal is not None
    slot = datetime.fromisoformat(ctx.msg.ref.get("slot") or deadline.due_at.isoformat())
    return presenters.reminder(ctx.session, deadline, signal, slot, audience,
                               mention=ctx.msg.ref.get("mention", []), no_backup=bool(ctx.msg.ref.get("no_backup")))


def _state(ctx: Ctx, view: presenters.Reminder) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What became of the reminder (settled, snoozed), or its Snooze buttons while it is open."""
    _ = ctx._
    if view.state.settled:
        return [small("✓ " + _(SETTLED.get(view.state.settled, SETTLED["gone"])))], []
    if view.state.snoozed_until is not None:
        who = _person_name(ctx, view.state.snoozed_by) if view.state.snoozed_by else "—"
        return [small("💤 " + _("Snoozed until {when} by {who}.", when=when(view.state.snoozed_until, ctx),
                                who=who))], []
    if not view.can_snooze:
        return [], []
    data = {"d": view.deadline_id}
    return ([small(_("Snooze moves this reminder; escalations to the backup keep their own time."))],
            [execute(_("Tomorrow"), "snooze", {**data, "until": "tomorrow"}),
             execute(_("In 3 working days"), "snooze", {**data, "until": "3_working_days"})])


@template("reminder")
def reminder(ctx: Ctx) -> Out:
    """In the case card's reply chain (or, without a channel, the AF's 1:1 chat): who should act, and why."""
    _ = ctx._
    view = _reminder(ctx, ReminderFor.AF)
    names, entities = [], []
    for key in view.mention:
        at, entity = mention(ctx, key)
        names.append(at)
        if entity is not None:
            entities.append(entity)
    partner = _plain(view.partner or "—")
    body = _(AF_TEXTS[view.trigger], reference=view.reference, duration=presenters.waited(_, view), partner=partner)
    if view.partner_reminded is True:
        body += " " + _("They have been reminded as well.")
    elif view.partner_reminded is False:
        body += " " + _("Nobody from {partner} can be reached by the bot: please contact them yourself.",
                        partner=partner)
    if view.no_backup:
        body += " " + _("No backup attention officer is configured for this municipality, so nobody else was asked.")
    icon = "🚨" if view.trigger is Trigger.UNCLAIMED_ACUTE else "⏰"
    blocks = [text(" ".join([icon, *names, body]), color="Attention" if icon == "🚨" else None)]
    state, actions = _state(ctx, view)
    return Out(_("Reminder about signal {reference} — open Teams to view it", reference=view.reference),
               blocks + state, actions, entities)


@template("reminder_escalation")
def reminder_escalation(ctx: Ctx) -> Out:
    """To the backup (who may see the case) or the ketenregisseur (no case content: the reference, the
    municipality and how long it has waited)."""
    _ = ctx._
    ketenregisseur = ctx.msg.ref.get("audience") == "ketenregisseur"
    view = _reminder(ctx, ReminderFor.KETENREGISSEUR if ketenregisseur else ReminderFor.BACKUP)
    municipality = _plain(view.municipality or "—")
    channel = _("the municipality's channel") if view.case_place and not ketenregisseur else None
    summary, body = presenters.escalation_words(_, view, municipality, channel)
    blocks = [text(("🚨 " + _("ACUTE") + " — " if view.acute else "") + body, weight="Bolder" if view.acute else None)]
    if view.acute:
        blocks.append(text(_(ACUTE_ESCALATION), color="Attention"))
    state, actions = _state(ctx, view)
    return Out(("🚨 " + _("ACUTE") + " — " if view.acute else "") + summary, blocks + state, actions)


@template("reminder_partner")
def reminder_partner(ctx: Ctx) -> Out:
    """To a partner contact: the reference and what is awaited, no case content; the same answer as on the
    original request, right here."""
    _ = ctx._
    view = _reminder(ctx, ReminderFor.PARTNER)
    assert view.awaited_since is not None
    params = {"reference": view.reference, "municipality": _plain(view.municipality or "—"),
              "partner": _plain(view.partner or "—"),
              "when": format_date(view.awaited_since.astimezone(ctx.settings.tz).date(), "long", locale=_.lang)}
    if view.trigger == Trigger.ADVICE_UNANSWERED:
        body = _("The attention officer of {municipality} asked {partner} for advice on signal {reference} on {when}, "
                 "and is still waiting for an answer. Give your advice with the button below; it goes to the "
                 "attention officer only.", **params)
    else:
        body = _("Signal {reference} from {municipality} was handed over to {partner} on {when}. No outcome has been "
                 "reported yet: report the outcome and the next steps with the button below; they go to the "
                 "attention officer only.", **params)
    blocks = [text("⏰ " + body)]
    state, _actions = _state(ctx, view)
    blocks += state
    actions: list[dict[str, Any]] = []
    if view.partner_action == "advice" and view.subject_id is not None:
        blocks += _advice_input(_)
        actions = [execute(_("Give advice"), "advice", {"c": view.subject_id}, style="positive")]
    elif view.partner_action is not None and view.subject_id is not None:
        blocks += _outcome_inputs(_)
        actions = [execute(_("Report outcome"), "outcome", {"h": view.subject_id}, style="positive")]
    return Out(_("Reminder about signal {reference}", reference=view.reference), blocks, actions)


# ------------------------------------------------------------------------------ partners


def _partner_name(ctx: Ctx, key: str) -> str:
    row = ctx.session.get(Partner, key)
    return _plain(row.name if row else key)


def _partner_facts(ctx: Ctx, brief: presenters.PartnerBrief) -> list[dict[str, Any]]:
    _ = ctx._

    def label(value: str | None) -> str:
        return _(value) if value else "—"

    signals = (", ".join(_(v) for v in brief.signals) or _("none of these")) if brief.signals is not None else "—"
    return [fact_set([
        (_("Reference"), brief.reference),
        (_("Municipality"), _plain(brief.municipality or "—")),
        (_("Form"), label(brief.form)),
        (_("Signals"), signals),
        (_("Sector"), label(brief.sector)),
        (_("Acute"), "🚨 " + _("Yes") if brief.acute else _("No")),
        (_("Minor involved"), label(brief.minor)),
    ]), small(_("The identity of the person who reported this is not shared. Treat this information as "
                "confidential."))]


def _advice_input(_: Translate) -> list[dict[str, Any]]:
    return [{"type": "Input.Text", "id": "answer", "isMultiline": True, "label": _("Your advice"),
             "isRequired": True, "errorMessage": _("Please fill this in."), "maxLength": TEXT_LIMIT}]


def _outcome_inputs(_: Translate) -> list[dict[str, Any]]:
    choices = [{"title": _(c.label), "value": c.key} for c in load_classification().partner_outcomes]
    return [{"type": "Input.ChoiceSet", "id": "kind", "style": "compact", "label": _("Outcome"), "choices": choices,
             "isRequired": True, "errorMessage": _("Choose an answer")},
            small(_("What the hand-over led to; it is counted in the figures (without the note).")),
            {"type": "Input.Text", "id": "answer", "isMultiline": True, "label": _("Note (optional)"),
             "placeholder": _("Next steps, in a few words."), "maxLength": TEXT_LIMIT}]


def _asker(ctx: Ctx, signal: Signal) -> str:
    muni = ctx.session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
    return _plain(muni.name if muni else "—")


@template("partner_consultation")
def partner_consultation(ctx: Ctx) -> Out:
    """A request for advice to a partner's member: the brief the partner may see, the AF's question, and
    an input to answer it (it goes to the attention officer only)."""
    _ = ctx._
    s = ctx.signal()
    c = ctx.session.get(Consultation, ctx.msg.ref.get("consultation"))
    summary = _("Request for advice about signal {reference}", reference=s.reference)
    if c is None or c.signal_id != s.id:
        return Out(summary, [small(_("This message is no longer available."))])
    intro = _("{who}, attention officer for human trafficking of {municipality}, asks {partner} for advice about "
              "a signal.", who=_person_name(ctx, c.asked_by) if c.asked_by else "—",
              municipality=_asker(ctx, s), partner=_partner_name(ctx, c.partner_key))
    brief = presenters.partner_brief(ctx.session, ctx.questionnaire, s, share_description=c.include_description)
    body = [text(_("Request for advice — {reference}", reference=s.reference), weight="Bolder", size="Medium"),
            text(intro), *_partner_facts(ctx, brief), *user_text(_("Question"), c.question)]
    if brief.description_shared:
        body += user_text(_("Description"), brief.description)
    actions: list[dict[str, Any]] = []
    if c.answered_at is not None:
        body += user_text("✅ " + _("Advice given by {who} ({when})", who=_person_name(ctx, c.answered_by or ""),
                                   when=when(c.answered_at, ctx)), c.answer)
    elif s.status == "closed":
        body.append(small(_("The case has been closed; no advice is needed any more.")))
    else:
        body += _advice_input(_)
        actions = [execute(_("Give advice"), "advice", {"c": c.id}, style="positive")]
    return Out(summary, body, actions)


@template("partner_handover")
def partner_handover(ctx: Ctx) -> Out:
    """A hand-over along the meldroute to a partner's member, and the form to report its outcome."""
    _ = ctx._
    s = ctx.signal()
    h = ctx.session.get(Handover, ctx.msg.ref.get("handover"))
    summary = _("Hand-over of signal {reference}", reference=s.reference)
    if h is None or h.signal_id != s.id:
        return Out(summary, [small(_("This message is no longer available."))])
    intro = _("{who}, attention officer for human trafficking of {municipality}, hands this signal over to "
              "{partner} along the regional meldroute.", who=_person_name(ctx, h.routed_by) if h.routed_by else "—",
              municipality=_asker(ctx, s), partner=_partner_name(ctx, h.partner_key))
    body = [text(("🚨 " if h.urgent else "") + _("Hand-over — {reference}", reference=s.reference), weight="Bolder",
                 size="Medium", color="Attention" if h.urgent else None)]
    if h.urgent:
        body.append(text("🚨 " + _("Acute: please act now."), weight="Bolder", color="Attention"))
    brief = presenters.partner_brief(ctx.session, ctx.questionnaire, s,
                                     share_description=bool(ctx.msg.ref.get("description")))
    body += [text(intro), *_partner_facts(ctx, brief)]
    ev = ctx.session.get(CaseEvent, ctx.msg.ref.get("event"))
    if ev is not None and ev.signal_id == s.id and ev.text:
        body += user_text(_("Message from the attention officer"), ev.text)
    if brief.description_shared:
        body += user_text(_("Description"), brief.description)
    if h.expected_outcome_at:
        body.append(small(_("Please report the outcome and next steps by {date}.", date=format_date(
            h.expected_outcome_at.astimezone(ctx.settings.tz).date(), "d MMM yyyy", locale=_.lang))))
    actions: list[dict[str, Any]] = []
    if h.outcome_at is not None:
        label = load_classification().outcome_label(h.outcome_kind)
        title = _("Outcome reported by {who} ({when})", who=_person_name(ctx, h.outcome_by or ""),
                  when=when(h.outcome_at, ctx))
        body += user_text("✅ " + title + (f": {_(label)}" if label else ""), h.outcome,
                          _("(no note)") if label else "—")
    elif s.status == "closed":
        body.append(small(_("The attention officer has closed the case. Contact them if there is still an "
                            "outcome to report.")))
    else:
        body += _outcome_inputs(_)
        actions = [execute(_("Report outcome"), "outcome", {"h": h.id}, style="positive")]
    return Out(summary, body, actions)


# ------------------------------------------------------------------------------ trainings

AUDIENCES = {"network": N_("the whole network"), "all": N_("everyone in the network and all role holders")}


def _audience(_: Translate, audience: str) -> str:
    kind, _sep, arg = audience.partition(":")
    if kind in AUDIENCES:
        return _(AUDIENCES[kind])
    if kind == "municipality":
        return _("network members of {municipality}", municipality=_plain(arg))
    if kind == "role":
        return _("role: {role}", role=_(core_training.MEMBER_ROLES.get(arg, arg)))
    return audience


def _training(ctx: Ctx, session_id: Any = None) -> TrainingSession:
    t = ctx.session.get(TrainingSession, int(session_id if session_id is not None else ctx.msg.ref.get("session", 0)))
    if t is None:
        raise LookupError("training session gone")
    return t


def _details(ctx: Ctx, t: TrainingSession) -> list[dict[str, Any]]:
    """Title, time and place as typed by the organiser (TextRuns), the link as a button's target."""
    _ = ctx._
    tz = ctx.settings.tz
    start, end = t.starts_at.astimezone(tz), t.ends_at.astimezone(tz)
    moment = (format_date(start.date(), "EEEE d MMMM yyyy", locale=_.lang) + f" {start:%H:%M} – "
              + (f"{end:%H:%M}" if start.date() == end.date() else
                 format_date(end.date(), "d MMMM yyyy", locale=_.lang) + f" {end:%H:%M}"))
    inlines = [{"type": "TextRun", "text": t.title, "weight": "Bolder"}]
    return [{"type": "RichTextBlock", "inlines": inlines},
            fact_set([("📅", moment)]),
            {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "📍 " + t.location}]}]


def _link(ctx: Ctx, t: TrainingSession) -> list[dict[str, Any]]:
    if not t.url or not t.url.startswith(("https://", "http://")):
        return []
    return [{"type": "Action.OpenUrl", "title": ctx._("Link to the training"), "url": t.url}]


def _status(ctx: Ctx, t: TrainingSession, user_id: str | None) -> str:
    _ = ctx._
    status = core_training.status_of(ctx.session, t.id or 0, user_id) if user_id else None
    if status == "yes":
        return "✅ " + _("You are coming.")
    if status == "waitlist":
        rank = core_training.waitlist_rank(ctx.session, t.id or 0, user_id or "")
        return "⏳ " + _("You are on the waiting list (place {rank}). You get a message when a place opens up.",
                        rank=rank)
    if status == "no":
        return "➖ " + _("You are not coming.")
    return _("Will you come? Let us know.")


def _rsvp(ctx: Ctx, t: TrainingSession) -> list[dict[str, Any]]:
    _ = ctx._
    status = core_training.status_of(ctx.session, t.id or 0, ctx.msg.recipient) if ctx.msg.recipient else None
    return [execute(_("I'll come"), "rsvp", {"t": t.id, "answer": "yes"},
                    style=None if status in {"yes", "waitlist"} else "positive"),
            execute(_("I can't come"), "rsvp", {"t": t.id, "answer": "no"})]


@template(core_training.INVITE_TEMPLATE)
def training_invite(ctx: Ctx) -> Out:
    _ = ctx._
    t = _training(ctx)
    reminder_ = ctx.msg.ref.get("step") == "remind"
    head = _("Reminder: training") if reminder_ else _("New training for the network")
    summary = (_("Reminder: {title}", title=t.title) if reminder_ else _("New training: {title}", title=t.title))
    body = [text(head, weight="Bolder", size="Medium"), *_details(ctx, t),
            small(_("For {audience}", audience=_audience(_, t.audience)) + " · "
                  + presenters.training_places(ctx._, ctx.session, t))]
    actions = _link(ctx, t)
    if t.cancelled_at is not None:
        body.append(text("❌ " + _("This training has been cancelled."), weight="Bolder"))
    else:  # an answer after the start is refused with an explanation (a card has no clock)
        body.append(text(_status(ctx, t, ctx.msg.recipient)))
        actions = _rsvp(ctx, t) + actions
    return Out(summary, body, actions)


@template(core_training.NOTICE_TEMPLATE)
def training_notice(ctx: Ctx) -> Out:
    _ = ctx._
    t = _training(ctx)
    notice = ctx.msg.ref.get("notice")
    if notice == "cancelled":
        summary, lead = (_("Training cancelled: {title}", title=t.title),
                         "❌ " + _("*This training has been cancelled.* You had said you would come; you do not "
                                  "need to do anything."))
    elif notice == "changed":
        summary, lead = (_("Training changed: {title}", title=t.title),
                         "✏️ " + _("*A training you are coming to has changed.* These are the new details:"))
    elif notice == "moved_up":
        summary, lead = (_("A place opened up: {title}", title=t.title),
                         "🎉 " + _("*A place opened up: you are now signed up.* Can you no longer come? "
                                  "Click I can't come in the invitation, so the next person gets the place."))
    else:  # attendance_request
        summary, lead = (_("Who attended {title}?", title=t.title),
                         _("*The training is over.* Please record who attended: their training history and "
                           "the region's figures depend on it."))
    body = [text(lead), *_details(ctx, t)]
    actions = _link(ctx, t)
    if notice not in ("cancelled", "changed", "moved_up"):
        inputs, record = _attendance(ctx, t)
        body += inputs
        actions = record + actions
    return Out(summary, body, actions)


PEOPLE = {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}  # Teams' people picker (the organisation)
WALK_INS = "walk_ins"


def people_picker(ctx: Ctx, field_id: str, label: str, keys: list[str], *, many: bool,
                  required: bool = False) -> dict[str, Any]:
    """Teams' people picker (`Input.ChoiceSet` with `choices.data`): its value is the chosen people's
    Entra object ids, comma-separated. `keys` are the people it starts with (those with a Teams id)."""
    field_: dict[str, Any] = {"type": "Input.ChoiceSet", "id": field_id, "label": label, "isMultiSelect": many,
                              "choices": [], "choices.data": PEOPLE}
    chosen = []
    for key in keys:
        platform, external = platforms.identity_of_key(key)
        if platform == platforms.TEAMS:
            chosen.append(external)
            field_["choices"].append({"title": _display_name(ctx, key), "value": external})
    if chosen:
        field_["value"] = ",".join(chosen)
    if required:
        field_.update({"isRequired": True, "errorMessage": ctx._("Choose a person")})
    return field_


def _display_name(ctx: Ctx, key: str) -> str:
    name = ctx.session.exec(select(Person.name).where(Person.user_id == key)).first()
    return name or key


def _attendance(ctx: Ctx, t: TrainingSession) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The attendance form on the request itself: who said yes, ticked when they came, and walk-ins (who
    came without saying yes) with Teams' people picker. Walk-ins recorded on Slack are kept as they are."""
    _ = ctx._
    yes, attended, walk_ins = core_training.attendance_candidates(ctx.session, t.id or 0)
    body: list[dict[str, Any]] = []
    if t.attendance_recorded_at is not None:
        came = len(attended) + len(walk_ins)
        body.append(small("✅ " + _.ngettext("Attendance saved: {count} person attended.",
                                             "Attendance saved: {count} people attended.", came)))
    if yes:
        names = dict(ctx.session.exec(select(Person.user_id, Person.name).where(col(Person.user_id).in_(yes))).all())
        field_: dict[str, Any] = {"type": "Input.ChoiceSet", "id": "attended", "isMultiSelect": True,
                                  "style": "expanded", "label": _("Who said yes and came"),
                                  "choices": [{"title": names.get(uid) or uid, "value": uid} for uid in yes[:100]]}
        if attended:
            field_["value"] = ",".join(attended)
        body.append(field_)
    else:
        body.append(small(_("Nobody had said they would come. Add who came below.")))
    body.append(people_picker(ctx, WALK_INS, _("Walk-ins (came without saying yes)"), walk_ins, many=True))
    others = [uid for uid in walk_ins if platforms.identity_of_key(uid)[0] != platforms.TEAMS]
    if others:
        body.append(small(_.ngettext("{count} walk-in recorded outside Teams stays recorded.",
                                     "{count} walk-ins recorded outside Teams stay recorded.", len(others))))
    return body, [execute(_("Record attendance"), "attendance", {"t": t.id}, style="positive")]


@template(core_training.REFRESHER_TEMPLATE)
def training_refresher(ctx: Ctx) -> Out:
    """A nudge to someone whose last training was long ago, with the upcoming trainings to answer."""
    _ = ctx._
    at = datetime.fromisoformat(ctx.msg.ref.get("at") or ctx.msg.created_at.isoformat())
    uid = ctx.msg.recipient or ""
    summary = _("Time for a refresher training?")
    body: list[dict[str, Any]] = [text("👋 " + _(
        "*Time for a refresher?* It has been a while since you attended a training on human trafficking. "
        "Signalling starts with trained people, and knowledge fades: a short refresher helps."))]
    upcoming = core_training.upcoming_for(ctx.session, uid, at, limit=5)
    if not upcoming:
        body.append(text(_("No trainings are planned right now. Your attention officer or the ketenregisseur will let "
                           "you know when there is one.")))
    for t in upcoming:
        body += [*_details(ctx, t), text(_status(ctx, t, uid)),
                 {"type": "ActionSet", "actions": _rsvp(ctx, t) + _link(ctx, t)}]
    return Out(summary, body)


# ------------------------------------------------------------------------------ the digest

DIMENSION_TITLES = presenters.FIGURE_DIMENSIONS


def figure_blocks(ctx: Ctx, report: stats.Report, *, groups: int = 0) -> list[dict[str, Any]]:
    """The figures of a report, as the digest and the word "cijfers" show them: aggregates only, small
    counts as "< N"; with `groups`, at most that many rows per municipality, form and sector."""
    _ = ctx._
    n = report.n
    body: list[dict[str, Any]] = [
        small(presenters.figures_period(_, report, ctx.settings.tz)),
        fact_set(presenters.key_figures(_, report)),
        fact_set(presenters.figure_outcomes(_, report)),
    ]
    if groups and report.groups:
        rows = [(_plain(muni) + " · " + presenters.figure_value(_, ctx.questionnaire, "form", form) + " · "
                 + presenters.figure_value(_, ctx.questionnaire, "sector", sector), n(count))
                for muni, form, sector, count in report.groups]
        body += [text(_("Signals per municipality, form and sector"), weight="Bolder"), fact_set(rows[:groups])]
        if len(rows) > groups:
            body.append(small(_("Not everything fits here; ask the ketenregisseur for the yearly report.")))
    for dim, values in report.breakdowns.items():
        if not values:
            continue
        facts = []
        for value, (count, routed) in sorted(values.items(), key=lambda kv: -kv[1][0])[:20]:
            facts.append((presenters.figure_value(ctx._, ctx.questionnaire, dim, value),
                          _.ngettext("{count} signal", "{count} signals", report.plural(count), count=n(count)) + ", "
                          + _.ngettext("{count} led to a melding", "{count} led to a melding", report.plural(routed),
                                       count=n(routed))))
        body += [text(_(DIMENSION_TITLES[dim]) if dim in DIMENSION_TITLES else dim, weight="Bolder"), fact_set(facts)]
    if report.partners:
        body += [text(_("Hand-overs (meldingen) per partner"), weight="Bolder"), fact_set([
            (_plain(p.name or p.partner),
             _.ngettext("{count} handed over", "{count} handed over", report.plural(p.handed_over),
                        count=n(p.handed_over)) + ", "
             + _.ngettext("{count} outcome reported back", "{count} outcomes reported back",
                          report.plural(p.outcome_reported), count=n(p.outcome_reported)))
            for p in report.partners])]
    return body


@template("digest")
def digest(ctx: Ctx) -> Out:
    """Last month's figures for the ketenregisseur: aggregates only, small counts as "< N"."""
    _ = ctx._
    first, report = presenters.monthly_figures(ctx.session, ctx.msg.ref["month"], ctx.settings, ctx.msg.created_at)
    title = _("Monthly figures for {month}", month=format_date(first, "MMMM yyyy", locale=_.lang))
    return Out(title, [text(title, weight="Bolder", size="Medium"), *figure_blocks(ctx, report)])


# Teams takes a message of about 28 KB at most, card and all (docs/teams.md): the charts go inline, as
# small palette PNGs in `data:` URIs, at the largest of these sizes that fits (inches, dpi, colours).
MESSAGE_LIMIT = 28 * 1024
CHART_BUDGET = MESSAGE_LIMIT - 2 * 1024  # room for the text, the JSON around it, and the connector's own fields
CHART_SIZES = (((8.0, 4.2), 80, 32), ((6.0, 3.2), 72, 24), ((6.0, 3.2), 60, 16), ((5.0, 2.8), 56, 12))


def _image(chart: charts.Chart, limit: int, size: tuple[float, float], dpi: int, colors: int) -> dict[str, Any]:
    data = base64.b64encode(charts.png(chart, limit, size=size, dpi=dpi, colors=colors)).decode("ascii")
    return {"type": "Image", "url": "data:image/png;base64," + data, "altText": chart.title + ". " + chart.note,
            "size": "Stretch"}


@template("digest_charts")
def digest_charts(ctx: Ctx) -> Out:
    """The digest's charts (the twelve months up to and including its month, region-wide; counts below
    the threshold never drawn, bot.core.charts) as images inside the card: Slack uploads them as files,
    a Teams bot has no upload into a 1:1 chat without Graph. The whole message must stay within Teams'
    limit (`MESSAGE_LIMIT`): the largest size that fits is taken; what never fits is said, not dropped
    silently."""
    _ = ctx._
    year, month = (int(x) for x in ctx.msg.ref["month"].split("-"))
    last = date(year, month, 1)
    first = (date(year - 1, month, 1) + timedelta(days=32)).replace(day=1)
    start, _end = stats.month_bounds(first, ctx.settings.tz)
    _start, end = stats.month_bounds(last, ctx.settings.tz)
    report = stats.compute(ctx.session, start, end, ctx.msg.created_at, limit=stats.threshold(ctx.settings),
                           cal=stats.calendar_for(ctx.settings))
    month_name = format_date(last, "MMMM yyyy", locale=_.lang)
    note = _("Charts of the last twelve months, up to {month}. Counts below {limit} are not drawn.",
             month=month_name, limit=report.threshold)
    drawn = charts.charts(report, _, lambda form: presenters.figure_value(_, ctx.questionnaire, "form", form))
    head = [text(note)]
    images: list[dict[str, Any]] = []
    for size, dpi, colors in CHART_SIZES:
        images = [_image(chart, report.threshold, size, dpi, colors) for chart in drawn]
        if len(json.dumps(Out(note, head + images).activity())) <= CHART_BUDGET:
            break
    else:  # even the smallest do not all fit: as many as do, and say so
        while images and len(json.dumps(Out(note, head + images).activity())) > CHART_BUDGET:
            images.pop()
        head.append(small(_("Not every chart fits in a Teams message; the yearly report has them all.")))
    return Out(note, head + images)


# ------------------------------------------------------------------------------ people the bot cannot reach


@template("unreachable_report")
def unreachable_report(ctx: Ctx) -> Out:
    _ = ctx._
    summary = _("Some people cannot be reached by the bot")
    names = []
    for platform, user_id in ctx.msg.ref.get("people", []):
        name = ctx.session.exec(select(Person.name).where(Person.user_id == user_id)).first()
        names.append(f"{name or user_id} ({platform})")
    body = [text(summary, weight="Bolder"),
            text(_("The bot could not send these people a message: the app is not installed for them. Until it is, "
                   "they get no case cards, reminders or invitations. Ask your IT department to install the app for "
                   "them (an app setup policy in Teams).")),
            {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "\n".join(names) or "—"}]},
            small(_("You get this message once per person. `signaalbot network show` lists everyone the bot cannot "
                    "reach now."))]
    return Out(summary, body)


# ------------------------------------------------------------------------------ the buttons' verbs


def _id(data: dict[str, Any], key: str) -> int:
    try:
        return int(data.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def snooze(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    until = str(data.get("until") or "")
    if until not in ("tomorrow", "3_working_days"):
        return Result(False, error=Error.UNKNOWN_REMINDER)
    return core_reminders.snooze(core, _id(data, "d"), person, until)


def advice(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    item = _id(data, "c")
    check = core_cases.check_partner(core, "consultation", item, person)
    if not check.ok:
        return check
    return core_cases.give_advice(core, item, person, str(data.get("answer") or ""))


def outcome(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    item = _id(data, "h")
    check = core_cases.check_partner(core, "handover", item, person)
    if not check.ok:
        return check
    kind = str(data.get("kind") or "")
    if kind not in load_classification().outcome_keys():
        return Result(False, error=Error.INVALID, reason="required")
    return core_cases.record_outcome(core, item, person, str(data.get("answer") or "").strip() or None, kind=kind)


def rsvp(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    answer = str(data.get("answer") or "")
    if answer not in ("yes", "no") or not _id(data, "t"):
        return Result(False, error=Error.UNKNOWN)
    return core_training.rsvp(core, _id(data, "t"), person, answer)


def teams_people(core: Core, tenant: str, raw: Any, limit: int = 100) -> list[str]:
    """The person keys of the Entra object ids a people picker sent (comma-separated), each resolved as
    the edge resolves a sender (`people.resolve`): a person the bot has not met yet is made."""
    ids = [v.strip().lower() for v in str(raw or "").split(",") if v.strip()][:limit]
    ids = [v for v in dict.fromkeys(ids) if platforms.person_id(platforms.person_key(platforms.TEAMS, v))]
    if not ids:
        return []
    with session_scope(core.engine) as session:
        return [people.resolve(session, platforms.TEAMS, tenant, v) for v in ids]


def attendance(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    """The organiser's ticks and walk-ins on the attendance request; its card is redrawn to show what was
    saved. Walk-ins come from the people picker (when the card sent it); ones recorded outside Teams stay."""
    sid = _id(data, "t")
    checked = core_training.check_attendance(core, sid, person)
    if not checked.ok:
        return checked
    checks.passed(checked)  # a check before the answer (bot/core/checks.py) ends here: people are made below
    with session_scope(core.engine) as session:
        yes, _attended, walk_ins = core_training.attendance_candidates(session, sid)
    ticked = [uid for uid in str(data.get("attended") or "").split(",") if uid in yes]
    if WALK_INS in data:  # who came without saying yes: the picker's people, and those recorded elsewhere
        kept = [uid for uid in walk_ins if platforms.identity_of_key(uid)[0] != platforms.TEAMS]
        walk_ins = kept + [uid for uid in teams_people(core, tenant, data.get(WALK_INS)) if uid not in kept]
    result = core_training.record_attendance(core, sid, person, ticked, walk_ins)
    if result.ok:
        with session_scope(core.engine) as session:
            for msg in session.exec(select(MessageRef).where(MessageRef.template == core_training.NOTICE_TEMPLATE,
                                                             MessageRef.recipient == person)).all():
                if msg.ref.get("session") == sid and msg.ref.get("notice") == "attendance_request":
                    outbox.update(session, msg, now=core.clock.now())
        core.kick()
    return result


VERBS: dict[str, Callable[[Core, str, dict[str, Any], str], Result]] = {
    "snooze": snooze, "advice": advice, "outcome": outcome, "rsvp": rsvp, "attendance": attendance,
}
