"""Messages about a case, rendered from the database at delivery time:

- in the reporter's signal thread (`reporter_event`): only what the AF sent them (a question, a
  message, feedback) and a short status update; never notes, advice or partners;
- in the case card's thread (`case_event`, `case_timeline`): every step, for the AF(s);
- partner DMs (`partner_consultation`, `partner_handover`): pseudonymised — reference,
  municipality, form, signals, sector, acute / minor and the AF's question; the description only
  when the AF ticked it; never the reporter's identity.

The top-level `text` (the push preview) never carries case content.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from bot.core import cases as core_cases
from bot.core import presenters
from bot.core.presenters import ReporterSees
from bot.i18n import N_, Translate
from bot.slack import mrkdwn as m
from bot.slack.render import RenderContext, Rendered, template
from flows.cases import CaseStatus, Conclusion
from flows.classification import load_classification
from flows.questionnaire import Questionnaire
from flows.routing import RouteSuggestion
from models import CaseEvent, Consultation, Handover, Municipality, Partner, Signal

CONCLUSION_LABELS = presenters.CONCLUSION_LABELS
ROUTE_REASONS = presenters.ROUTE_REASONS
TIMELINE_LABELS = presenters.TIMELINE_LABELS
CLASSIFICATION_FIELDS = {
    "form": N_("Form"),
    "acute": N_("Acute"),
    "minor": N_("Minor involved"),
    "sector": N_("Sector"),
    "target_group": N_("Target group"),
}
TIMELINE_BLOCKS = 45


def partner_name(session: Session, key: str) -> str:
    row = session.get(Partner, key)
    return row.name if row else key


def partner_names(session: Session, keys: list[str]) -> str:
    return ", ".join(m.esc(partner_name(session, k)) for k in keys)


def signal_of(ctx: RenderContext) -> Signal:
    signal = ctx.session.get(Signal, ctx.msg.signal_id)
    assert signal is not None
    return signal


def event_of(ctx: RenderContext) -> CaseEvent | None:
    ev = ctx.session.get(CaseEvent, ctx.msg.ref.get("event"))
    return ev if ev is not None and ev.signal_id == ctx.msg.signal_id else None


def _who(user: str | None) -> str:
    return m.mention(user) if user else "—"


# ------------------------------------------------------------------------------ the reporter's thread


@template("reporter_event")
def reporter_event(ctx: RenderContext) -> Rendered:
    """Formats `presenters.reporter_event`, which decides what the reporter may see."""
    _ = ctx._
    view = presenters.reporter_event(ctx.session, signal_of(ctx), ctx.msg.ref.get("event"))
    reference = view.reference
    preview = _("New message about signal {reference}", reference=reference)
    if view.sees is ReporterSees.CLAIMED:
        body = _("The attention officer has picked up your signal {reference} and is looking into it. You will "
                 "hear more in this thread.", reference=reference)
        return Rendered(_("Update about signal {reference}", reference=reference), [m.section(body)])
    if view.sees is ReporterSees.QUESTION:
        blocks = m.user_text_sections(_("The attention officer has a question about your signal"), view.text)
        if view.answer is not None:
            blocks += m.user_text_sections("✅ " + _("Your answer"), view.answer)
        else:
            blocks.append(m.actions(f"rq:{view.event_id}", [m.button(_("Answer"), "case_reply:answer",
                                                                     str(view.event_id), style="primary")]))
            blocks.append(m.context(_("You can also reply in this thread; the attention officer sees it.")))
        return Rendered(_("A question about signal {reference}", reference=reference), blocks)
    if view.sees is ReporterSees.MESSAGE:
        return Rendered(preview, m.user_text_sections(_("Message from the attention officer"), view.text))
    if view.sees is ReporterSees.FEEDBACK:
        blocks = m.user_text_sections(_("Feedback from the attention officer"), view.text)
        blocks.append(m.context(_("You can still add information by replying in this thread.")))
        return Rendered(_("Feedback about signal {reference}", reference=reference), blocks)
    return Rendered(preview, [m.context(_("This message is no longer available."))])


@template("reporter_question_notice")
def reporter_question_notice(ctx: RenderContext) -> Rendered:
    """A top-level DM, so the reporter is notified: a question waits in their signal's thread.
    No content: the question itself is only in the thread."""
    _ = ctx._
    s = signal_of(ctx)
    text = _("The attention officer has a question about your signal {reference}. You find it in the thread "
             "of your signal; answer with the Answer button or by replying there.", reference=s.reference)
    return Rendered(_("A question about signal {reference}", reference=s.reference), [m.section(text)])


# ------------------------------------------------------------------------------ the case thread


def conclusion_label(_: Translate, value: str | None) -> str:
    try:
        return _(CONCLUSION_LABELS[Conclusion(value or "")])
    except ValueError:
        return "—"


def classification_value(_: Translate, questionnaire: Questionnaire, field: str, value: Any) -> str:
    """One value of the AF's classification as people read it (option keys are stored)."""
    if value is None or value == "":
        return "—"
    if field == "acute":
        return _("Yes") if value else _("No")
    if field == "target_group":
        label = load_classification().target_group_label(str(value))
        return _(label) if label else m.esc(str(value))
    if questionnaire.has(field):
        opt = questionnaire.get(field).option(str(value))
        if opt is not None:
            return _(opt.label)
    return m.esc(str(value))


def outcome_label(_: Translate, kind: str | None) -> str | None:
    label = load_classification().outcome_label(kind)
    return _(label) if label else None


def suggestion_lead(_: Translate, sug: RouteSuggestion) -> str:
    if sug.urgent:
        return "🚨 " + _("now")
    if sug.possible:
        return _("maybe")
    return _("step {step}", step=sug.priority)


def suggestion_lines(ctx: RenderContext, s: Signal) -> list[str]:
    _ = ctx._
    lines = []
    for sug in core_cases.route_suggestion(s):
        name = m.esc(partner_name(ctx.session, sug.partner_key))
        lead = suggestion_lead(_, sug)
        reason = _(ROUTE_REASONS[sug.reason]) if sug.reason in ROUTE_REASONS else ""
        lines.append(f"{sug.order}. *{name}* — {lead}" + (f" ({reason})" if reason else ""))
    return lines


def _members_context(ctx: RenderContext, keys: list[str]) -> str:
    _ = ctx._
    parts = []
    for key in keys:
        members = core_cases.people.partner_members(ctx.session, key)
        name = m.esc(partner_name(ctx.session, key))
        if members:
            parts.append(_("{partner}: sent to {members} in Slack", partner=name,
                           members=", ".join(m.mention(u) for u in members)))
        else:
            parts.append(_("{partner}: not in Slack; contact them yourself and record the answer here",
                           partner=name))
    return "\n".join(parts)


def case_event_blocks(ctx: RenderContext, s: Signal, ev: CaseEvent) -> list[dict[str, Any]]:
    _ = ctx._
    who = _who(ev.actor_id)
    k = ev.kind
    if k == core_cases.CLAIMED:
        return [m.section("🙋 " + _("{who} claimed the case; the reporter was told it is being handled.", who=who))]
    if k == core_cases.INFO_REQUESTED:
        return m.user_text_sections("❓ " + _("Question to the reporter (by {who})", who=who), ev.text)
    if k == core_cases.REPORTER_ANSWER:
        return m.user_text_sections("💬 " + _("The reporter answered"), ev.text)
    if k == core_cases.REPORTER_MESSAGE:
        blocks = m.user_text_sections("💬 " + _("The reporter added in their thread"), ev.text)
        if ev.data.get("after_closing") and s.status == CaseStatus.CLOSED:
            # Sent after closing: the reporter was told it reached the AF; reopening is one click here.
            blocks.append(m.context(_("This case is closed. Reopen it to act on this information.")))
            blocks.append(m.actions(f"case:{s.id}", [m.button(_("Reopen"), "case:reopen", str(s.id),
                                                              style="primary")]))
        return blocks
    if k == core_cases.NOTE:
        return m.user_text_sections("📝 " + _("Internal note (by {who})", who=who), ev.text)
    if k == core_cases.MESSAGE_TO_REPORTER:
        return m.user_text_sections("✉️ " + _("Message to the reporter (by {who})", who=who), ev.text)
    if k == core_cases.FEEDBACK:
        return m.user_text_sections("📣 " + _("Feedback to the reporter (by {who})", who=who), ev.text)
    if k == core_cases.CONSULTED:
        keys = list(ev.data.get("partners") or [])
        blocks = m.user_text_sections("🤝 " + _("{who} asked advice from {partners}", who=who,
                                                partners=partner_names(ctx.session, keys)), ev.text)
        shared = _("Description shared") if ev.data.get("description") else _("Description not shared")
        blocks.append(m.context(_members_context(ctx, keys), shared))
        return blocks
    if k == core_cases.ADVICE:
        partner = m.esc(partner_name(ctx.session, str(ev.data.get("partner", ""))))
        label = (_("Advice from {partner} (recorded by {who})", partner=partner, who=who) if ev.data.get("manual")
                 else _("Advice from {partner} ({who})", partner=partner, who=who))
        return m.user_text_sections("✅ " + label, ev.text)
    if k == core_cases.CONCLUDED:
        label = conclusion_label(_, ev.data.get("conclusion"))
        blocks = m.user_text_sections("⚖️ " + _("{who} concluded: {conclusion}", who=who, conclusion=label),
                                      ev.text)
        if ev.data.get("referred"):
            org = s.referred_to_care if s.conclusion == ev.data.get("conclusion") else None
            blocks.append(m.context(_("Referred to care: {organisation}", organisation=m.esc(org or "—"))))
        if ev.data.get("conclusion") != Conclusion.GEEN:
            lines = suggestion_lines(ctx, s)
            blocks.append(m.section("*" + _("The meldroute suggests routing to") + "*\n" + "\n".join(lines)))
            blocks.append(m.actions(f"case:{s.id}", [m.button(_("Route to partner"), "case:route", str(s.id),
                                                              style="primary")]))
        else:
            blocks.append(m.actions(f"case:{s.id}", [m.button(_("Feedback to reporter"), "case:feedback",
                                                              str(s.id))]))
        return blocks
    if k == core_cases.ROUTED:
        keys = list(ev.data.get("partners") or [])
        handovers = ctx.session.exec(select(Handover).where(Handover.signal_id == s.id)).all()
        due = next((h.expected_outcome_at for h in handovers if h.routed_at == ev.at and h.expected_outcome_at),
                   None)
        title = _("{who} routed the case to {partners}", who=who, partners=partner_names(ctx.session, keys))
        blocks = m.user_text_sections("➡️ " + title, ev.text, _("(no message)"))
        notes = [_members_context(ctx, keys)]
        if due:
            notes.append(_("Outcome expected by {date}", date=m.date(due, ctx.tz, "{date_short_pretty}")))
        notes.append(_("Description shared") if ev.data.get("description") else _("Description not shared"))
        blocks.append(m.context(*notes))
        return blocks
    if k == core_cases.OUTCOME:
        partner = m.esc(partner_name(ctx.session, str(ev.data.get("partner", ""))))
        label = (_("Outcome from {partner} (recorded by {who})", partner=partner, who=who) if ev.data.get("manual")
                 else _("Outcome from {partner} ({who})", partner=partner, who=who))
        kind = outcome_label(_, ev.data.get("outcome"))
        if kind:
            label += ": " + kind
        return m.user_text_sections("📬 " + label, ev.text, _("(no note)") if kind else "—")
    if k == core_cases.RECLASSIFIED:
        changes = ev.data.get("changes") or {}
        lines = [f"• {_(CLASSIFICATION_FIELDS.get(f, f))}: "
                 f"{classification_value(_, ctx.questionnaire, f, pair[0])} → "
                 f"{classification_value(_, ctx.questionnaire, f, pair[1])}"
                 for f, pair in changes.items() if isinstance(pair, list) and len(pair) == 2]
        blocks = [m.section("✏️ " + _("{who} corrected the case details:", who=who) + "\n" + "\n".join(lines))]
        blocks.append(m.context(_("The reporter's own answers stay on record. Route suggestions, reminders and "
                                  "figures follow the corrected details.")))
        if "form" in changes or "minor" in changes or "acute" in changes:
            blocks.append(m.section("*" + _("The meldroute now suggests") + "*\n"
                                    + "\n".join(suggestion_lines(ctx, s))))
        return blocks
    if k == core_cases.CLOSED:
        blocks = [m.section("🔒 " + _("{who} closed the case.", who=who))]
        if ev.data.get("without_feedback"):
            blocks += m.user_text_sections(_("Closed without feedback to the reporter, because"), ev.text)
        return blocks
    if k == core_cases.CLOSED_WITHOUT_ROUTE:
        return m.user_text_sections("⚖️ " + _("Human trafficking, not routed to a partner, because (by {who})",
                                               who=who), ev.text)
    if k == core_cases.REOPENED:
        return [m.section("🔓 " + _("{who} reopened the case.", who=who))]
    if k == core_cases.CASE_MEETING:
        return m.user_text_sections("🗂️ " + _("Discussed in the case meeting (Zorg- en Veiligheidshuis) on {date}, "
                                               "recorded by {who}. Outcome:", date=_held_on(ev), who=who), ev.text)
    if k in (core_cases.LINKED, core_cases.UNLINKED):
        # The other signal by its reference only: nothing of its content.
        reference = m.esc(str(ev.data.get("reference", "")))
        text = (_("{who} linked this signal to {reference}.", who=who, reference=reference) if k == core_cases.LINKED
                else _("{who} undid the link with {reference}.", who=who, reference=reference))
        return [m.section("🔗 " + text)]
    return [m.section(_(TIMELINE_LABELS.get(k, k)))]


@template("case_event")
def case_event(ctx: RenderContext) -> Rendered:
    _ = ctx._
    s = signal_of(ctx)
    ev = event_of(ctx)
    preview = _("Update on signal {reference}", reference=s.reference)
    if ev is None:
        return Rendered(preview, [m.section(_("This message is no longer available."))])
    blocks = case_event_blocks(ctx, s, ev)
    mention = " ".join(m.mention(u) for u in ctx.msg.ref.get("mention") or [])
    if mention:
        # The reporter's words: whoever must act is @-mentioned; the preview carries no content.
        preview = mention + " " + _("New information from the reporter about signal {reference} — open Slack "
                                    "to view it", reference=s.reference)
        blocks.insert(0, m.context(mention))
    return Rendered(preview, blocks[:50])


def _held_on(ev: CaseEvent) -> str:
    raw = str(ev.data.get("held_on") or "")
    try:
        return date.fromisoformat(raw).strftime("%d-%m-%Y")
    except ValueError:
        return "—"


def timeline_line(ctx: RenderContext, s: Signal, ev: CaseEvent) -> str:
    _ = ctx._
    who = _("the reporter") if ev.actor_id and ev.actor_id == s.reporter_id else _who(ev.actor_id)
    label = _(TIMELINE_LABELS.get(ev.kind, ev.kind))
    extra = ""
    if ev.kind in (core_cases.CONSULTED, core_cases.ROUTED):
        extra = ": " + partner_names(ctx.session, list(ev.data.get("partners") or []))
    elif ev.kind in (core_cases.ADVICE, core_cases.OUTCOME):
        extra = ": " + m.esc(partner_name(ctx.session, str(ev.data.get("partner", ""))))
        kind = outcome_label(_, ev.data.get("outcome")) if ev.kind == core_cases.OUTCOME else None
        if kind:
            extra += f" ({kind})"
    elif ev.kind == core_cases.RECLASSIFIED:
        extra = ": " + ", ".join(_(CLASSIFICATION_FIELDS.get(f, f)) for f in ev.data.get("changes") or {})
    elif ev.kind == core_cases.CONCLUDED:
        extra = ": " + conclusion_label(_, ev.data.get("conclusion"))
    elif ev.kind == core_cases.CASE_MEETING:
        extra = " " + _held_on(ev)
    elif ev.kind in (core_cases.LINKED, core_cases.UNLINKED):
        extra = ": " + m.esc(str(ev.data.get("reference", "")))
    if ev.text:
        excerpt = ev.text if len(ev.text) <= 80 else ev.text[:79] + "…"
        extra += " — _" + m.esc(" ".join(excerpt.split())) + "_"
    return f"• {m.date(ev.at, ctx.tz)} · {who} · {label}{extra}"


@template("case_timeline")
def case_timeline(ctx: RenderContext) -> Rendered:
    _ = ctx._
    s = signal_of(ctx)
    upto = int(ctx.msg.ref.get("upto") or 0)
    rows = ctx.session.exec(select(CaseEvent).where(CaseEvent.signal_id == s.id, col(CaseEvent.id) <= upto)
                            .order_by(col(CaseEvent.at), col(CaseEvent.id))).all()
    lines = [timeline_line(ctx, s, ev) for ev in rows]
    blocks: list[dict[str, Any]] = [m.section("🕓 *" + _("Timeline of signal {reference}", reference=s.reference)
                                              + "*")]
    chunk = ""
    for line in lines:
        if len(chunk) + len(line) + 1 > 2900:
            blocks.append(m.section(chunk))
            chunk = ""
        chunk += line + "\n"
    if chunk:
        blocks.append(m.section(chunk))
    if len(blocks) > TIMELINE_BLOCKS:
        blocks = [*blocks[:TIMELINE_BLOCKS], m.context(_("The timeline is longer than fits in one message."))]
    return Rendered(_("Timeline of signal {reference}", reference=s.reference), blocks)


# ------------------------------------------------------------------------------ partner DMs


def partner_facts(_: Translate, brief: presenters.PartnerBrief) -> list[tuple[str, str]]:
    """The partner brief (`presenters.partner_brief` decides what a partner may see) as labelled fields."""

    def label(value: str | None) -> str:
        return _(value) if value else "—"

    signals = (", ".join(_(v) for v in brief.signals) or _("none of these")) if brief.signals is not None else "—"
    return [
        (_("Reference"), brief.reference),
        (_("Municipality"), m.esc(brief.municipality) if brief.municipality else "—"),
        (_("Form"), label(brief.form)),
        (_("Signals"), signals),
        (_("Sector"), label(brief.sector)),
        (_("Acute"), "🚨 " + _("Yes") if brief.acute else _("No")),
        (_("Minor involved"), label(brief.minor)),
    ]


def _partner_intro(ctx: RenderContext, brief: presenters.PartnerBrief, text: str) -> list[dict[str, Any]]:
    _ = ctx._
    blocks = [m.section(text), *m.fields(partner_facts(_, brief)),
              m.context(_("The identity of the person who reported this is not shared. Treat this information as "
                          "confidential."))]
    return blocks


@template("partner_consultation")
def partner_consultation(ctx: RenderContext) -> Rendered:
    _ = ctx._
    s = signal_of(ctx)
    c = ctx.session.get(Consultation, ctx.msg.ref.get("consultation"))
    preview = _("Request for advice about signal {reference}", reference=s.reference)
    if c is None or c.signal_id != s.id:
        return Rendered(preview, [m.context(_("This message is no longer available."))])
    muni = ctx.session.get(Municipality, s.municipality_id) if s.municipality_id else None
    intro = _("{who}, attention officer for human trafficking of {municipality}, asks {partner} for advice about "
              "a signal.", who=_who(c.asked_by), municipality=m.esc(muni.name if muni else ""),
              partner=m.esc(partner_name(ctx.session, c.partner_key)))
    brief = presenters.partner_brief(ctx.session, ctx.questionnaire, s, share_description=c.include_description)
    blocks = [m.header(_("Request for advice — {reference}", reference=s.reference)),
              *_partner_intro(ctx, brief, intro)]
    blocks += m.user_text_sections(_("Question"), c.question)
    if brief.description_shared:
        blocks += m.user_text_sections(_("Description"), brief.description)
    if c.answered_at is not None:
        blocks += m.user_text_sections("✅ " + _("Advice given by {who} ({when})", who=_who(c.answered_by),
                                                 when=m.date(c.answered_at, ctx.tz)), c.answer)
    elif s.status == "closed":
        blocks.append(m.context(_("The case has been closed; no advice is needed any more.")))
    else:
        blocks.append(m.actions(f"pc:{c.id}", [m.button(_("Give advice"), "partner:advice", str(c.id),
                                                        style="primary")]))
    return Rendered(preview, blocks[:50])


@template("partner_handover")
def partner_handover(ctx: RenderContext) -> Rendered:
    _ = ctx._
    s = signal_of(ctx)
    h = ctx.session.get(Handover, ctx.msg.ref.get("handover"))
    preview = _("Hand-over of signal {reference}", reference=s.reference)
    if h is None or h.signal_id != s.id:
        return Rendered(preview, [m.context(_("This message is no longer available."))])
    muni = ctx.session.get(Municipality, s.municipality_id) if s.municipality_id else None
    intro = _("{who}, attention officer for human trafficking of {municipality}, hands this signal over to "
              "{partner} along the regional meldroute.", who=_who(h.routed_by),
              municipality=m.esc(muni.name if muni else ""), partner=m.esc(partner_name(ctx.session, h.partner_key)))
    blocks = [m.header(("🚨 " if h.urgent else "") + _("Hand-over — {reference}", reference=s.reference))]
    if h.urgent:
        blocks.append(m.section("🚨 *" + _("Acute: please act now.") + "*"))
    brief = presenters.partner_brief(ctx.session, ctx.questionnaire, s,
                                     share_description=bool(ctx.msg.ref.get("description")))
    blocks += _partner_intro(ctx, brief, intro)
    ev = ctx.session.get(CaseEvent, ctx.msg.ref.get("event"))
    if ev is not None and ev.signal_id == s.id and ev.text:
        blocks += m.user_text_sections(_("Message from the attention officer"), ev.text)
    if brief.description_shared:
        blocks += m.user_text_sections(_("Description"), brief.description)
    if h.expected_outcome_at:
        blocks.append(m.context(_("Please report the outcome and next steps by {date}.",
                                  date=m.date(h.expected_outcome_at, ctx.tz, "{date_short_pretty}"))))
    if h.outcome_at is not None:
        title = _("Outcome reported by {who} ({when})", who=_who(h.outcome_by), when=m.date(h.outcome_at, ctx.tz))
        kind = outcome_label(_, h.outcome_kind)
        blocks += m.user_text_sections("✅ " + title + (f": {kind}" if kind else ""), h.outcome,
                                       _("(no note)") if kind else "—")
    elif s.status == "closed":
        blocks.append(m.context(_("The attention officer has closed the case. Contact them if there is still an "
                                  "outcome to report.")))
    else:
        blocks.append(m.actions(f"ph:{h.id}", [m.button(_("Report outcome"), "partner:outcome", str(h.id),
                                                        style="primary")]))
    return Rendered(preview, blocks[:50])
