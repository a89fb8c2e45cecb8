"""The case in Teams, as Adaptive Cards: the AF's case card with its actions, the entries of its
thread, and what the reporter sees of the case in their 1:1 chat.

Which actions the card offers is the core's (`presenters.case_card(...).actions`, from the case's
state); this module only draws them: a click that needs no input is an `Action.Execute` (verb
`case.<action>`, data `{"s": signal id}`), a form is an `Action.ShowCard` whose sub-card holds the
inputs and the `Action.Execute` that sends them (Teams merges the inputs into the action's data, by
their ids: `field(action, name)`). The edge (bot/teams/edge.py, `CASE_VERBS`) hands them to the
core, which checks permission and state again on every click. What people typed is shown in
`TextRun`s; the activity's `summary` never carries case content.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import col, select

from bot.core import cases as core_cases
from bot.core import people, presenters
from bot.core import related as core_related
from bot.core.presenters import ReporterSees
from bot.i18n import N_, Translate
from bot.teams.cards import (
    STATUS_LABELS,
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
from flows.calendar import WorkingCalendar
from flows.cases import RATIONALE_MAX, CaseAction, CaseStatus, Conclusion
from flows.classification import Minor, load_classification
from flows.related import MatchKind
from flows.routing import preselected
from models import CaseEvent, Consultation, Handover, Partner, Signal

VERB = "case."  # the case's verbs: "case." + a CaseAction's value
REPORTER_ANSWER = "case.reporter_answer"  # the reporter answers the AF's question from its card
REPLY = "reply"  # the reporter's answer's input

ACTION_LABELS: dict[CaseAction, str] = {
    CaseAction.CLAIM: N_("Claim"),
    CaseAction.ASK_INFO: N_("Ask for more info"),
    CaseAction.NOTE: N_("Internal note"),
    CaseAction.MESSAGE_REPORTER: N_("Message to reporter"),
    CaseAction.CONSULT: N_("Ask advice"),
    CaseAction.RECORD_ADVICE: N_("Record advice"),
    CaseAction.CONCLUDE: N_("Conclusion"),
    CaseAction.RECORD_OUTCOME: N_("Record outcome"),
    CaseAction.ROUTE: N_("Route to partner"),
    CaseAction.FEEDBACK: N_("Feedback to reporter"),
    CaseAction.CLOSE: N_("Close"),
    CaseAction.REOPEN: N_("Reopen"),
    CaseAction.SEEN: N_("Seen"),
    CaseAction.TIMELINE: N_("Timeline"),
    CaseAction.RECLASSIFY: N_("Correct case details"),
    CaseAction.RELATED: N_("Related signals"),
    CaseAction.CASE_MEETING: N_("Case meeting"),
}
# What the core may offer and the Teams card does not draw yet (docs/teams.md): nothing any more.
NOT_YET: frozenset[CaseAction] = frozenset()
# Acting at the click; the other actions of ACTION_LABELS open a form (Action.ShowCard).
ON_CLICK = (CaseAction.CLAIM, CaseAction.REOPEN, CaseAction.SEEN, CaseAction.TIMELINE)
# Kind first drafts of feedback per conclusion, for the Teams chat: no investigative detail, ever.
FEEDBACK_DRAFTS = {
    None: N_("Thank you for reporting signal {reference}. The attention officer has looked into it. We cannot "
             "share details, but your report helps."),
    Conclusion.GEEN: N_("Thank you for reporting signal {reference}. We looked into it carefully and, based on what "
                        "we know now, we see no signs of human trafficking. Where other help was needed, we made sure "
                        "the right organisation is involved. Good that you were alert: please keep reporting what "
                        "worries you."),
    Conclusion.VERDER_ONDERZOEK: N_("Thank you for reporting signal {reference}. Your signal is being looked into "
                                    "further together with our partners. We cannot share details, but your report "
                                    "helps."),
    Conclusion.WEL: N_("Thank you for reporting signal {reference}. Your signal has been passed on to the partners "
                       "who can take it further. We cannot share details of what happens next. Your alertness made a "
                       "difference; please do not confront the people involved."),
}


MINOR_LABELS = {Minor.YES: N_("Yes"), Minor.NO: N_("No"), Minor.UNKNOWN: N_("I don't know")}
CLASSIFICATION_FIELDS = {"form": N_("Form"), "acute": N_("Acute"), "minor": N_("Minor involved"),
                         "sector": N_("Sector"), "target_group": N_("Target group")}
MATCH_LABELS = {MatchKind.ADDRESS: N_("same address"), MatchKind.BUSINESS: N_("same business"),
                MatchKind.POSTCODE: N_("same postcode")}
RELATED_MAX = 20  # signals in the Related signals form; the ones beyond it are never unlinked unseen


def field(action: CaseAction | str, name: str) -> str:
    """An input's id in the case card: unique across the card's forms (Teams gathers them all)."""
    return f"{CaseAction(action).value}_{name}"


def verb_of(action: CaseAction) -> str:
    return VERB + action.value


def day(moment: datetime | None, ctx: Ctx) -> str:
    return moment.astimezone(ctx.settings.tz).strftime("%d-%m-%Y") if moment is not None else "—"


def text_input(action: CaseAction, name: str, label: str, *, required: bool = True, value: str | None = None,
               multiline: bool = True, _: Translate) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "Input.Text", "id": field(action, name), "label": label,
                             "isMultiline": multiline, "isRequired": required}
    if required:
        block["errorMessage"] = _("Please fill this in.")
    if value:
        block["value"] = value
    return block


def toggle(action: CaseAction, name: str, title: str) -> dict[str, Any]:
    return {"type": "Input.Toggle", "id": field(action, name), "title": title, "valueOn": "true",
            "valueOff": "false", "value": "false"}


def show_card(ctx: Ctx, action: CaseAction, signal_id: int, body: list[dict[str, Any]],
              extra: dict[str, Any] | None = None, submit: str | None = None) -> dict[str, Any]:
    _ = ctx._
    data = {"s": signal_id, **(extra or {})}
    return {"type": "Action.ShowCard", "title": _(ACTION_LABELS[action]),
            "card": {"type": "AdaptiveCard", "body": body,
                     "actions": [execute(submit or _("Send"), verb_of(action), data, style="positive")]}}


# ------------------------------------------------------------------------------ the forms


def _ask_info(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    return [text_input(CaseAction.ASK_INFO, "text", _("Your question to the reporter"), _=_),
            small(_("The reporter sees it in their chat with the bot and answers on the card."))]


def _note(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    return [text_input(CaseAction.NOTE, "text", _("Internal note"), _=_),
            small(_("Stored with the case; the reporter does not see it."))]


def _message(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    return [text_input(CaseAction.MESSAGE_REPORTER, "text", _("Message to the reporter"), _=_),
            small(_("The reporter sees it in their chat with the bot."))]


def _feedback(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    try:
        conclusion: Conclusion | None = Conclusion(s.conclusion) if s.conclusion else None
    except ValueError:
        conclusion = None
    return [text_input(CaseAction.FEEDBACK, "text", _("Feedback to the reporter"),
                       value=_(FEEDBACK_DRAFTS[conclusion], reference=s.reference), _=_),
            small(_("Delivered in the reporter's chat with the bot. Never share investigative details."))]


def _conclude(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    a = CaseAction.CONCLUDE
    choice: dict[str, Any] = {
        "type": "Input.ChoiceSet", "id": field(a, "conclusion"), "style": "expanded", "label": _("Conclusion"),
        "isRequired": True, "errorMessage": _("Choose a conclusion."),
        "choices": [{"title": _(label), "value": c.value} for c, label in presenters.CONCLUSION_LABELS.items()]}
    if s.conclusion:
        choice["value"] = s.conclusion
    return [choice,
            text_input(a, "rationale", _("Short rationale"), _=_),
            small(_("At most {limit} characters.", limit=RATIONALE_MAX)),
            toggle(a, "referral", _("Referred to care (with \"no human trafficking\" or \"further investigation\")")),
            text_input(a, "organisation", _("Care organisation"), required=False, multiline=False, _=_)]


PRIVACY = N_("Partners receive a pseudonymised summary: reference, municipality, form, signals, sector, acute and "
             "minor. Never the reporter's identity; the description only when you tick it.")


def _partner_choices(ctx: Ctx) -> list[dict[str, Any]]:
    """The partners the core lists (meldroute.yaml), internal ones marked."""
    _ = ctx._
    internal = core_cases.internal_partner_keys()
    return [{"title": p.name + (" (" + _("internal") + ")" if p.key in internal else ""), "value": p.key}
            for p in core_cases.consultation_partners(ctx.session)][:100]


def _consult(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    a = CaseAction.CONSULT
    return [text(_("Signal {reference}: ask partners for advice (collegial consultation).", reference=s.reference)),
            {"type": "Input.ChoiceSet", "id": field(a, "partners"), "isMultiSelect": True, "style": "expanded",
             "label": _("Partners"), "choices": _partner_choices(ctx), "isRequired": True,
             "errorMessage": _("Choose at least one partner.")},
            text_input(a, "text", _("Your question"), _=_),
            toggle(a, "share", _("Share the description of the signal")),
            small(_(PRIVACY))]


def _record_advice(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    a = CaseAction.RECORD_ADVICE
    choices = [{"title": _("{partner} — asked {date}", partner=_partner_name(ctx, c.partner_key),
                           date=day(c.asked_at, ctx)), "value": f"c:{c.id}"}
               for c in ctx.session.exec(select(Consultation).where(
                   Consultation.signal_id == s.id, col(Consultation.answered_at).is_(None))
                   .order_by(col(Consultation.id))).all()]
    choices += [{"title": _("{partner} — consulted outside the bot", partner=p.name), "value": f"p:{p.key}"}
                for p in core_cases.consultation_partners(ctx.session)]
    return [text(_("Signal {reference}: record advice you received.", reference=s.reference)),
            {"type": "Input.ChoiceSet", "id": field(a, "from"), "style": "compact", "label": _("Advice from"),
             "choices": choices[:100], "isRequired": True, "errorMessage": _("Choose whose advice this is.")},
            text_input(a, "question", _("Question you asked (when consulted outside the bot)"), required=False, _=_),
            text_input(a, "text", _("The advice"), _=_)]


def _record_outcome(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    a = CaseAction.RECORD_OUTCOME
    handovers = [{"title": _("{partner} — routed {date}", partner=_partner_name(ctx, h.partner_key),
                             date=day(h.routed_at, ctx)), "value": str(h.id)}
                 for h in ctx.session.exec(select(Handover).where(
                     Handover.signal_id == s.id, col(Handover.outcome_at).is_(None)).order_by(col(Handover.id))).all()]
    outcomes = [{"title": _(c.label), "value": c.key} for c in load_classification().partner_outcomes]
    return [text(_("Signal {reference}: record the outcome a partner reported.", reference=s.reference)),
            {"type": "Input.ChoiceSet", "id": field(a, "handover"), "style": "compact", "label": _("Hand-over"),
             "choices": handovers[:100], "isRequired": True, "errorMessage": _("Choose the hand-over.")},
            {"type": "Input.ChoiceSet", "id": field(a, "outcome"), "style": "compact", "label": _("Outcome"),
             "choices": outcomes, "isRequired": True, "errorMessage": _("Choose what the hand-over led to.")},
            small(_("What the hand-over led to; it is counted in the figures (without the note).")),
            text_input(a, "text", _("Note (optional)"), required=False, _=_)]


def _route(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    a = CaseAction.ROUTE
    session = ctx.session
    names = {p.key: p.name for p in session.exec(select(Partner)).all()}
    suggestion = core_cases.route_suggestion(s)
    routed = core_cases.routed_partners(session, s.id or 0)
    body: list[dict[str, Any]] = [text(_("The meldroute suggests"), weight="Bolder")]
    for sug in suggestion:
        lead = ("🚨 " + _("now") if sug.urgent else _("maybe") if sug.possible else _("step {step}", step=sug.priority))
        reason = presenters.ROUTE_REASONS.get(sug.reason)
        body.append(text(f"{sug.order}. {_md_safe(names.get(sug.partner_key, sug.partner_key))} — {lead}"
                         + (f" ({_(reason)})" if reason else "")))
    if routed:
        body.append(text(_("Already routed to"), weight="Bolder"))
        body += [text("• " + _("{partner} ({date})", partner=_md_safe(names.get(k, k)), date=day(at, ctx)))
                 for k, at in routed.items()]
    choices = _partner_choices(ctx)
    ticked = [k for k in preselected(core_cases.form_of(s), suggestion) if k not in routed]
    partners: dict[str, Any] = {"type": "Input.ChoiceSet", "id": field(a, "partners"), "isMultiSelect": True,
                                "style": "expanded", "label": _("Route to"), "choices": choices, "isRequired": True,
                                "errorMessage": _("Choose at least one partner.")}
    if ticked:
        partners["value"] = ",".join(ticked)
    body.append(partners)
    body.append(small(_("Confirm the suggestion or change it.") if ticked
                      else _("Nobody is ticked: choose the partners yourself, with the reasons above.")))
    if routed:
        body.append(toggle(a, "again", _("Send the hand-over again to a partner that already has it")))
    expected = (WorkingCalendar(ctx.settings.timezone).add_working_days(ctx.now(), core_cases.OUTCOME_WORKING_DAYS)
                .astimezone(ctx.settings.tz).date())
    body += [{"type": "Input.Date", "id": field(a, "expected"), "label": _("Expected outcome date"),
              "value": expected.isoformat()},
             text_input(a, "text", _("Message to the partner(s)"), required=False, _=_),
             toggle(a, "share", _("Share the description of the signal")),
             small(_(PRIVACY))]
    return body


def _close(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    a = CaseAction.CLOSE
    left = core_cases.still_open_of(ctx.session, s)
    lines = presenters.still_open_lines(_, left)
    body = [text(_("Close signal {reference}?", reference=s.reference), weight="Bolder")]
    if lines:
        body += [text(_("Still open"), weight="Bolder"), *[text("• " + line) for line in lines]]
    else:
        body.append(text(_("Nothing is open any more.")))
    if left.route_missing:
        body.append(small(_("The meldroute says: human trafficking → route to a partner. Route it first, or say "
                            "here why this case is not routed.")))
        body.append(text_input(a, "route_reason", _("Why not routed"), _=_))
    if left.feedback_missing:
        body.append(small(_("Give the feedback first, or say here why you close without feedback.")))
        body.append(text_input(a, "reason", _("Why no feedback"), _=_))
    body.append(small(_("Once closed, the card shows a summary only. You can reopen the case later.")))
    return body


def choice_set(action: CaseAction, name: str, label: str, choices: list[dict[str, Any]], value: str | None, *,
               error: str | None = None, expanded: bool = False) -> dict[str, Any]:
    """A single choice; required when it has an error message to show."""
    block: dict[str, Any] = {"type": "Input.ChoiceSet", "id": field(action, name), "label": label,
                             "style": "expanded" if expanded else "compact", "choices": choices[:100],
                             "isRequired": error is not None}
    if error is not None:
        block["errorMessage"] = error
    if value and any(c["value"] == value for c in choices):
        block["value"] = value
    return block


def _reclassify(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    """Gegevens aanpassen: form, acute, minor, sector and target group, pre-filled with the case's
    working fields (`core_cases.classification_of`); the lists are the questionnaire's and
    flows/classification.yaml's."""
    _ = ctx._
    a = CaseAction.RECLASSIFY
    q = ctx.questionnaire
    current = core_cases.classification_of(s)

    def options(key: str) -> list[dict[str, Any]]:
        return [{"title": _(o.label), "value": o.key} for o in q.get(key).options] if q.has(key) else []

    yes_no = [{"title": _("Yes"), "value": "yes"}, {"title": _("No"), "value": "no"}]
    groups = [{"title": _(c.label), "value": c.key} for c in load_classification().target_groups]
    return [text(_("Signal {reference}: correct the details as you see them now. The reporter's own answers stay "
                   "on record; route suggestions, reminders and figures follow your details.",
                   reference=s.reference)),
            choice_set(a, "form", _("Form"), options("form"), current.form.value, error=_("Choose a form.")),
            choice_set(a, "acute", _("Acute"), yes_no, "yes" if current.acute else "no",
                       error=_("Choose yes or no."), expanded=True),
            choice_set(a, "minor", _("Minor involved"), [{"title": _(MINOR_LABELS[v]), "value": v.value}
                                                         for v in Minor],
                       current.minor.value, error=_("Choose an answer."), expanded=True),
            choice_set(a, "sector", _("Sector"), options("sector"), current.sector),
            choice_set(a, "target_group", _("Target group"), groups, current.target_group)]


def related_line(ctx: Ctx, r: core_related.Related) -> str:
    """Reference, date and state of another signal: never anything of its content."""
    _ = ctx._
    return _("{reference} · {date} · {state}", reference=r.reference, date=day(r.reported_at, ctx),
             state=_(STATUS_LABELS.get(r.status, r.status)))


def related_shown(ctx: Ctx, s: Signal) -> list[core_related.Related]:
    """The core's possibly related and linked signals (one municipality's), linked ones first."""
    return sorted(core_related.related(ctx.session, s), key=lambda r: not r.linked)[:RELATED_MAX]


def _related(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    a = CaseAction.RELATED
    found = related_shown(ctx, s)
    body = [text(_("These signals of your municipality may be about the same place: their locations name the same "
                   "address, postcode or business. Tick the ones that belong together; untick to undo a link."))]
    if found:
        choices = []
        for r in found:
            why = ", ".join(_(MATCH_LABELS.get(k, k.value)) for k in r.kinds)
            if r.linked:
                why = _("linked") + (f" · {why}" if why else "")
            choices.append({"title": related_line(ctx, r) + (f" ({why})" if why else ""), "value": str(r.signal_id)})
        links: dict[str, Any] = {"type": "Input.ChoiceSet", "id": field(a, "links"), "isMultiSelect": True,
                                 "style": "expanded", "label": _("Linked signals"), "choices": choices}
        linked = [str(r.signal_id) for r in found if r.linked]
        if linked:
            links["value"] = ",".join(linked)
        body.append(links)
    else:
        body.append(text(_("No related signals found (any more).")))
    body.append(small(_("A linked card shows only the other signal's reference, date and state. Each signal keeps its "
                        "own retention period; a link ends when either is removed.")))
    return body


def _case_meeting(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    a = CaseAction.CASE_MEETING
    today = ctx.now().astimezone(ctx.settings.tz).date().isoformat()
    return [text(_("Signal {reference} was discussed in the case meeting (casusoverleg) of the Zorg- en "
                   "Veiligheidshuis.", reference=s.reference)),
            {"type": "Input.Date", "id": field(a, "held_on"), "label": _("Date of the case meeting"), "value": today,
             "max": today, "isRequired": True, "errorMessage": _("Choose a date.")},
            text_input(a, "text", _("Outcome"), _=_),
            small(_("What was agreed, and who does what. Stored encrypted with the case; the reporter does not see "
                    "it."))]


FORMS = {
    CaseAction.ASK_INFO: _ask_info,
    CaseAction.CONSULT: _consult,
    CaseAction.RECORD_ADVICE: _record_advice,
    CaseAction.RECORD_OUTCOME: _record_outcome,
    CaseAction.NOTE: _note,
    CaseAction.MESSAGE_REPORTER: _message,
    CaseAction.CONCLUDE: _conclude,
    CaseAction.ROUTE: _route,
    CaseAction.FEEDBACK: _feedback,
    CaseAction.CLOSE: _close,
    CaseAction.RECLASSIFY: _reclassify,
    CaseAction.RELATED: _related,
    CaseAction.CASE_MEETING: _case_meeting,
}
SUBMIT_LABELS = {CaseAction.CONCLUDE: N_("Save"), CaseAction.NOTE: N_("Save"), CaseAction.RECORD_ADVICE: N_("Save"),
                 CaseAction.RECORD_OUTCOME: N_("Save"), CaseAction.CLOSE: N_("Close case"),
                 CaseAction.RECLASSIFY: N_("Save"), CaseAction.RELATED: N_("Save"),
                 CaseAction.CASE_MEETING: N_("Save")}


def route_form_id(ctx: Ctx, s: Signal) -> str:
    """The route form's own id, the same until the case is routed again: a second click of the same
    form sends nothing twice (bot.core.cases.route's `form_id`)."""
    done = ctx.session.exec(select(CaseEvent.id).where(CaseEvent.signal_id == s.id,
                                                       CaseEvent.kind == core_cases.ROUTED)).all()
    return f"teams:{ctx.msg.id}:{len(done)}"


def case_actions(ctx: Ctx, s: Signal, actions: tuple[CaseAction, ...]) -> list[dict[str, Any]]:
    """The card's actions the core offers in this state, as Teams draws them (those it has a form for)."""
    _ = ctx._
    out = []
    for action in actions:
        if action in ON_CLICK:
            style = "positive" if action in (CaseAction.CLAIM, CaseAction.REOPEN) else None
            out.append(execute(_(ACTION_LABELS[action]), verb_of(action), {"s": s.id}, style=style))
        elif action in FORMS:
            extra: dict[str, Any] | None = None
            if action is CaseAction.ROUTE:
                extra = {"f": route_form_id(ctx, s)}
            elif action is CaseAction.RELATED:
                # Only the signals the form shows are changed (bot.core.cases.set_links' `among`).
                extra = {"shown": [r.signal_id for r in related_shown(ctx, s)]}
            submit = _(SUBMIT_LABELS[action]) if action in SUBMIT_LABELS else None
            out.append(show_card(ctx, action, s.id or 0, FORMS[action](ctx, s), extra, submit))
    return out


# ------------------------------------------------------------------------------ the AF's case card


def _partner_lines(ctx: Ctx, card: presenters.CaseCard) -> list[str]:
    _ = ctx._
    lines = []
    for p in card.partners:
        name = _md_safe(p.partner)
        if p.kind == "advice":
            lines.append("🤝 " + (_("Advice {partner}: received {date}", partner=name, date=day(p.done_at, ctx))
                                  if p.done_at else _("Advice {partner}: asked {date}, no answer yet", partner=name,
                                                      date=day(p.at, ctx))))
        elif p.done_at:
            lines.append("➡️ " + _("Routed to {partner} ({date}); outcome received {outcome}", partner=name,
                                   date=day(p.at, ctx), outcome=day(p.done_at, ctx)))
        elif p.expected_at:
            lines.append("➡️ " + _("Routed to {partner} ({date}); outcome expected by {expected}", partner=name,
                                   date=day(p.at, ctx), expected=day(p.expected_at, ctx)))
        else:
            lines.append("➡️ " + _("Routed to {partner} ({date})", partner=name, date=day(p.at, ctx)))
    return lines


def _done_lines(ctx: Ctx, card: presenters.CaseCard) -> list[str]:
    _ = ctx._
    lines = []
    if card.claimed_by and card.claimed_at:
        lines.append("✅ " + _("Claimed ({date})", date=day(card.claimed_at, ctx)))
    if card.view.conclusion and card.conclusion_at:
        lines.append("✅ " + _("Conclusion recorded ({date})", date=day(card.conclusion_at, ctx)))
    if card.feedback_at:
        lines.append("✅ " + _("Feedback given to the reporter ({date})", date=day(card.feedback_at, ctx)))
    elif card.view.wants_feedback:
        lines.append("◻️ " + _("No feedback given yet (the reporter asked for it)"))
    return lines


def _related_lines(ctx: Ctx, card: presenters.CaseCard) -> list[str]:
    """Linked signals by reference, date and state only; and how many more may be related."""
    _ = ctx._
    lines = ["🔗 " + _("Linked to {signal}", signal=related_line(ctx, r)) for r in card.linked]
    if card.possibly_related:
        lines.append("🔎 " + _.ngettext("{count} possibly related signal (same address or business): see {action}",
                                        "{count} possibly related signals (same address or business): see {action}",
                                        card.possibly_related, count=card.possibly_related,
                                        action=_(ACTION_LABELS[CaseAction.RELATED])))
    return lines


def _case_meeting_blocks(ctx: Ctx, card: presenters.CaseCard) -> list[dict[str, Any]]:
    """Ingebracht in het casusoverleg: the date and what came of it (an excerpt, in a TextRun)."""
    _ = ctx._
    body = []
    for held_on, outcome in card.case_meetings:
        excerpt = " ".join((outcome or "").split())
        body += user_text("🗂️ " + _("Discussed in the case meeting (Zorg- en Veiligheidshuis) on {date}",
                                    date=held_on.strftime("%d-%m-%Y")),
                          excerpt if len(excerpt) <= 200 else excerpt[:199] + "…")
    return body


def _closed_lines(ctx: Ctx, closed: presenters.ClosedCase) -> list[str]:
    _ = ctx._
    lines = [_("Closed: {when}", when=when(closed.closed_at, ctx))]
    if closed.referred_to_care:
        lines.append(_("Referred to care: {organisation}", organisation=_md_safe(closed.referred_to_care)))
    if closed.routed_to:
        lines.append(_("Routed to: {partners}", partners=", ".join(_md_safe(n) for n in closed.routed_to)))
    if closed.feedback_at:
        lines.append(_("Feedback given: {when}", when=day(closed.feedback_at, ctx)))
    elif closed.without_feedback:
        lines.append(_("Closed without feedback to the reporter (reason in the thread)"))
    elif closed.feedback_not_asked:
        lines.append(_("The reporter did not ask for feedback"))
    return lines


@template("case_card")
def case_card(ctx: Ctx) -> Out:
    """Formats `presenters.case_card`: the case content while open, a summary once closed, and the
    actions the core offers now. The notification text says only that there is a signal and its
    reference."""
    _ = ctx._
    signal = ctx.signal()
    card = presenters.case_card(ctx.session, ctx.questionnaire, signal, WorkingCalendar(ctx.settings.timezone))
    mentions, names = [], []
    for key in ctx.msg.ref.get("mention", []):
        at, entity = mention(ctx, str(key))
        names.append(at)
        if entity is not None:
            mentions.append(entity)
    title = (_("ACUTE signal {reference}", reference=card.reference) if card.acute
             else _("New signal {reference}", reference=card.reference))
    body: list[dict[str, Any]] = [text(("🚨 " if card.acute else "") + title, weight="Bolder", size="Medium",
                                       color="Attention" if card.acute else None)]
    if names:
        body.append(text(" ".join(names)))
    status = _(STATUS_LABELS.get(str(card.view.status), str(card.view.status)))
    if card.handled_by:
        status = _("Being handled by {who}", who=_person_name(ctx, card.handled_by))
    facts = [(_("Status"), status)]
    if card.view.conclusion:
        facts.append((_("Conclusion"), _(presenters.CONCLUSION_LABELS[card.view.conclusion])))
    body.append(fact_set(facts))
    if card.new_from_reporter:
        note = _("New information from the reporter: see the thread.")
        if card.closed is not None:
            note += " " + _("The case is closed; reopen it to act on it.")
        body.append(text("🔔 " + note, weight="Bolder"))
    if card.closed is not None:
        body += [small(line) for line in _closed_lines(ctx, card.closed)]
        body += [small(line) for line in _related_lines(ctx, card)]  # the summary keeps its links
    elif card.facts is not None:
        f = card.facts

        def label(value: str | None) -> str:
            return _(value) if value else "—"

        body += [small(line) for line in _done_lines(ctx, card)]
        partners = _partner_lines(ctx, card)
        if partners:
            body += [text(_("Partners"), weight="Bolder"), *[text(line) for line in partners]]
        body += _case_meeting_blocks(ctx, card)
        body += [small(line) for line in _related_lines(ctx, card)]
        if card.next_due is not None:
            what = _(presenters.DUE_LABELS.get(card.next_due.what, card.next_due.what))
            body.append(text("⚠️ " + _("Deadline passed") + ": " + _("{what}, due {date}", what=what,
                                                                     date=when(card.next_due.at, ctx)),
                             color="Attention") if card.next_due.overdue else
                        small("⏰ " + _("Next: {what} by {date}", what=what, date=when(card.next_due.at, ctx))))
        if card.still_answering:
            body.append(small("⏳ " + _("Sent right away because it is acute: the reporter is still answering the "
                                       "remaining questions. This card shows each answer as it comes.")))
        body.append(fact_set([
            (_("Form"), label(f.form)),
            (_("Signals"), ", ".join(_(x) for x in f.signals) if f.signals else "—"),
            (_("Acute"), _("Yes") if card.acute else _("No")),
            (_("Minor involved"), label(f.minor)),
            (_("Sector"), label(f.sector)),
            (_("Reporter"), _person_name(ctx, f.reporter_id) if f.reporter_id else "—"),
            (_("Reported"), when(f.reported_at, ctx)),
            (_("Municipality"), _md_safe(f.municipality) if f.municipality else "—"),
        ]))
        if card.minor:
            body.append(small(_("A minor is involved: the meldcode applies; consider Veilig Thuis (0800-2000).")))
        body += user_text(_("Description"), card.description)
        if card.location:
            body += user_text(_("Location"), card.location)
    body.append(small(_("Only the attention officers of this municipality can use the buttons. The bot reads only "
                        "messages that @mention it: write notes with Internal note.")))
    return Out(_("New signal {reference} — open Teams to view it", reference=card.reference)
               if not card.acute else _("ACUTE signal {reference} — open Teams now to view it",
                                        reference=card.reference),
               body, case_actions(ctx, signal, card.actions), mentions)


# ------------------------------------------------------------------------------ the case thread


def _partner_name(ctx: Ctx, key: str) -> str:
    row = ctx.session.get(Partner, key)
    return row.name if row else key


def _conclusion(_: Translate, value: str | None) -> str:
    try:
        return _(presenters.CONCLUSION_LABELS[Conclusion(value or "")])
    except ValueError:
        return "—"


def _event_body(ctx: Ctx, s: Signal, ev: CaseEvent) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One step of the case, for the AF's thread: (body, actions)."""
    _ = ctx._
    who = _person_name(ctx, ev.actor_id) if ev.actor_id else "—"
    k = ev.kind
    if k == core_cases.CLAIMED:
        return [text("🙋 " + _("{who} claimed the case; the reporter was told it is being handled.", who=who))], []
    if k == core_cases.INFO_REQUESTED:
        return user_text("❓ " + _("Question to the reporter (by {who})", who=who), ev.text), []
    if k == core_cases.REPORTER_ANSWER:
        return user_text("💬 " + _("The reporter answered"), ev.text), []
    if k == core_cases.REPORTER_MESSAGE:
        body = user_text("💬 " + _("The reporter added information"), ev.text)
        if ev.data.get("after_closing") and s.status == CaseStatus.CLOSED:
            body.append(small(_("This case is closed. Reopen it to act on this information.")))
            return body, [execute(_("Reopen"), verb_of(CaseAction.REOPEN), {"s": s.id}, style="positive")]
        return body, []
    if k == core_cases.NOTE:
        return user_text("📝 " + _("Internal note (by {who})", who=who), ev.text), []
    if k == core_cases.MESSAGE_TO_REPORTER:
        return user_text("✉️ " + _("Message to the reporter (by {who})", who=who), ev.text), []
    if k == core_cases.FEEDBACK:
        return user_text("📣 " + _("Feedback to the reporter (by {who})", who=who), ev.text), []
    if k == core_cases.CONCLUDED:
        label = _conclusion(_, ev.data.get("conclusion"))
        body = user_text("⚖️ " + _("{who} concluded: {conclusion}", who=who, conclusion=label), ev.text)
        if ev.data.get("referred"):
            org = s.referred_to_care if s.conclusion == ev.data.get("conclusion") else None
            body.append({"type": "RichTextBlock", "inlines": [
                {"type": "TextRun", "text": _("Referred to care: {organisation}", organisation=org or "—")}]})
        return body, []
    if k == core_cases.CONSULTED:
        keys = list(ev.data.get("partners") or [])
        partners = ", ".join(_md_safe(_partner_name(ctx, key)) for key in keys)
        body = user_text("🤝 " + _("{who} asked advice from {partners}", who=who, partners=partners), ev.text)
        body += [small(_("{partner}: the bot cannot reach them; contact them yourself and record their answer with "
                         "Record advice.", partner=_md_safe(_partner_name(ctx, key))))
                 for key in keys if not people.partner_members(ctx.session, key)]
        body.append(small(_("Description shared") if ev.data.get("description") else _("Description not shared")))
        return body, []
    if k == core_cases.ROUTED:
        names = {p.key: p.name for p in ctx.session.exec(select(Partner)).all()}
        partners = ", ".join(_md_safe(names.get(key, key)) for key in ev.data.get("partners") or [])
        body = user_text("➡️ " + _("{who} routed the case to {partners}", who=who, partners=partners), ev.text,
                         _("(no message)"))
        body.append(small(_("Description shared") if ev.data.get("description") else _("Description not shared")))
        return body, []
    if k == core_cases.CLOSED:
        body = [text("🔒 " + _("{who} closed the case.", who=who))]
        if ev.data.get("without_feedback"):
            body += user_text(_("Closed without feedback to the reporter, because"), ev.text)
        return body, []
    if k == core_cases.CLOSED_WITHOUT_ROUTE:
        return user_text("⚖️ " + _("Human trafficking, not routed to a partner, because (by {who})", who=who),
                         ev.text), []
    if k == core_cases.REOPENED:
        return [text("🔓 " + _("{who} reopened the case.", who=who))], []
    if k in (core_cases.ADVICE, core_cases.OUTCOME):
        partner = _md_safe(_partner_name(ctx, str(ev.data.get("partner", ""))))
        if k == core_cases.ADVICE:
            label = (_("Advice from {partner} (recorded by {who})", partner=partner, who=who)
                     if ev.data.get("manual") else _("Advice from {partner} ({who})", partner=partner, who=who))
            return user_text("✅ " + label, ev.text), []
        label = (_("Outcome from {partner} (recorded by {who})", partner=partner, who=who)
                 if ev.data.get("manual") else _("Outcome from {partner} ({who})", partner=partner, who=who))
        kind = load_classification().outcome_label(ev.data.get("outcome"))
        if kind:
            label += ": " + _(kind)
        return user_text("📬 " + label, ev.text, _("(no note)") if kind else "—"), []
    if k == core_cases.CASE_MEETING:
        return user_text("🗂️ " + _("Discussed in the case meeting (Zorg- en Veiligheidshuis) on {date}, recorded by "
                                   "{who}. Outcome:", date=_held_on(ev), who=who), ev.text), []
    if k in (core_cases.LINKED, core_cases.UNLINKED):
        # The other signal by its reference only: nothing of its content.
        reference = _md_safe(str(ev.data.get("reference", "")))
        line = (_("{who} linked this signal to {reference}.", who=who, reference=reference) if k == core_cases.LINKED
                else _("{who} undid the link with {reference}.", who=who, reference=reference))
        return [text("🔗 " + line)], []
    if k == core_cases.RECLASSIFIED:
        changes = ev.data.get("changes") or {}
        lines = [f"• {_(CLASSIFICATION_FIELDS.get(f, f))}: {_classification_value(ctx, f, pair[0])} → "
                 f"{_classification_value(ctx, f, pair[1])}"
                 for f, pair in changes.items() if isinstance(pair, list) and len(pair) == 2]
        return [text("✏️ " + _("{who} corrected the case details:", who=who)), *[text(line) for line in lines],
                small(_("The reporter's own answers stay on record. Route suggestions, reminders and figures follow "
                        "the corrected details."))], []
    return [text(_("Update on signal {reference}", reference=s.reference))], []


def _held_on(ev: CaseEvent) -> str:
    try:
        return date.fromisoformat(str(ev.data.get("held_on") or "")).strftime("%d-%m-%Y")
    except ValueError:
        return "—"


def _classification_value(ctx: Ctx, name: str, value: Any) -> str:
    """One value of the AF's classification as people read it (option keys are stored)."""
    _ = ctx._
    if value is None or value == "":
        return "—"
    if name == "acute":
        return _("Yes") if value else _("No")
    if name == "minor":
        try:
            return _(MINOR_LABELS[Minor(str(value))])
        except ValueError:
            return _md_safe(str(value))
    if name == "target_group":
        label = load_classification().target_group_label(str(value))
        return _(label) if label else _md_safe(str(value))
    if ctx.questionnaire.has(name):
        option = ctx.questionnaire.get(name).option(str(value))
        if option is not None:
            return _(option.label)
    return _md_safe(str(value))


@template("case_event")
def case_event(ctx: Ctx) -> Out:
    """A step of the case, as a reply in the case card's thread (a channel's reply chain; in an AF's
    1:1 chat, below the card). Whoever must notice it is @-mentioned; the summary has no content."""
    _ = ctx._
    s = ctx.signal()
    ev = ctx.session.get(CaseEvent, ctx.msg.ref.get("event"))
    summary = _("Update on signal {reference}", reference=s.reference)
    if ev is None or ev.signal_id != s.id:
        return Out(summary, [small(_("This message is no longer available."))])
    body, actions = _event_body(ctx, s, ev)
    mentions, names = [], []
    for key in ctx.msg.ref.get("mention") or []:
        at, entity = mention(ctx, str(key))
        names.append(at)
        if entity is not None:
            mentions.append(entity)
    if names:
        summary = _("New information from the reporter about signal {reference} — open Teams to view it",
                    reference=s.reference)
        body.insert(0, text(" ".join(names)))
    return Out(summary, body, actions, mentions)


TIMELINE_LINES = 100  # lines in one timeline card; older steps first, the rest said to be left out


@template("case_timeline")
def case_timeline(ctx: Ctx) -> Out:
    """Tijdlijn: every step of the case up to the click, with when and who, in the case's thread. What
    people wrote is shown as an excerpt, in a TextRun."""
    _ = ctx._
    s = ctx.signal()
    upto = int(ctx.msg.ref.get("upto") or 0)
    rows = ctx.session.exec(select(CaseEvent).where(CaseEvent.signal_id == s.id, col(CaseEvent.id) <= upto)
                            .order_by(col(CaseEvent.at), col(CaseEvent.id))).all()
    title = _("Timeline of signal {reference}", reference=s.reference)
    body: list[dict[str, Any]] = [text("🕓 " + title, weight="Bolder")]
    for ev in rows[:TIMELINE_LINES]:
        who = (_("the reporter") if ev.actor_id and ev.actor_id == s.reporter_id
               else _person_name(ctx, ev.actor_id) if ev.actor_id else "—")
        line = f"{when(ev.at, ctx)} · {who} · {_(presenters.TIMELINE_LABELS.get(ev.kind, ev.kind))}"
        if ev.kind in (core_cases.CONSULTED, core_cases.ROUTED):
            line += ": " + ", ".join(_partner_name(ctx, k) for k in ev.data.get("partners") or [])
        elif ev.kind in (core_cases.ADVICE, core_cases.OUTCOME):
            line += ": " + _partner_name(ctx, str(ev.data.get("partner", "")))
        elif ev.kind == core_cases.CONCLUDED:
            line += ": " + _conclusion(_, ev.data.get("conclusion"))
        if ev.text:
            excerpt = " ".join(ev.text.split())
            line += " — " + (excerpt if len(excerpt) <= 80 else excerpt[:79] + "…")
        body.append({"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "• " + line}]})
    if len(rows) > TIMELINE_LINES:
        body.append(small(_("The timeline is longer than fits in one message.")))
    return Out(title, body)


# ------------------------------------------------------------------------------ the reporter's 1:1 chat


@template("reporter_event")
def reporter_event(ctx: Ctx) -> Out:
    """Formats `presenters.reporter_event` (which decides what the reporter may see), in their 1:1
    chat; a question carries its own answer field and Answer button."""
    _ = ctx._
    view = presenters.reporter_event(ctx.session, ctx.signal(), ctx.msg.ref.get("event"))
    reference = view.reference
    head = text(_("Signal {reference}", reference=reference), weight="Bolder")
    if view.sees is ReporterSees.CLAIMED:
        return Out(_("Update about signal {reference}", reference=reference), [head, text(_(
            "The attention officer has picked up your signal {reference} and is looking into it. You will hear more "
            "in this chat.", reference=reference))])
    if view.sees is ReporterSees.QUESTION:
        body = [head, *user_text(_("The attention officer has a question about your signal"), view.text)]
        summary = _("A question about signal {reference}", reference=reference)
        if view.answer is not None:
            return Out(summary, body + user_text("✅ " + _("Your answer"), view.answer))
        body.append({"type": "Input.Text", "id": REPLY, "label": _("Your answer"), "isMultiline": True,
                     "isRequired": True, "errorMessage": _("Please fill this in.")})
        return Out(summary, body, [execute(_("Answer"), REPORTER_ANSWER,
                                           {"s": ctx.msg.signal_id, "e": view.event_id}, style="positive")])
    if view.sees is ReporterSees.MESSAGE:
        return Out(_("New message about signal {reference}", reference=reference),
                   [head, *user_text(_("Message from the attention officer"), view.text)])
    if view.sees is ReporterSees.FEEDBACK:
        return Out(_("Feedback about signal {reference}", reference=reference),
                   [head, *user_text(_("Feedback from the attention officer"), view.text)])
    return Out(_("New message about signal {reference}", reference=reference),
               [small(_("This message is no longer available."))])


@template("reporter_question_notice")
def reporter_question_notice(ctx: Ctx) -> Out:
    """Slack's reporter needs a notification beside the question in their signal's thread; in Teams the
    question's own card is already a new message in the same chat. This one only points at it, without
    content."""
    _ = ctx._
    s = ctx.signal()
    return Out(_("A question about signal {reference}", reference=s.reference), [small(_(
        "The attention officer has a question about your signal {reference}: answer it on the card with the "
        "question in this chat.", reference=s.reference))])
