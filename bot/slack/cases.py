"""Slack listeners for working a case along the meldroute: the card's actions (after `case_guard`
checked permission and state), their modals, the reporter's Answer button, the partners' Give
advice / Report outcome buttons, and replies typed in the reporter's and the case's threads.

Every listener acks first; modals open right after with the click's trigger_id (in the listener:
it expires 3 s after the click), and each step itself runs after the ack (`ctx.after_ack`). The core
(`bot.core.cases`) checks permission and state again on every submission, so a forged view or a
stale button changes nothing.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot.core import cases as core_cases
from bot.core import people, presenters
from bot.core import result as core_result
from bot.core.context import Core
from bot.i18n import N_, Translate
from bot.slack import hooks
from bot.slack import mrkdwn as m
from bot.slack.case_messages import ROUTE_REASONS, partner_name, suggestion_lead
from bot.slack.common import SlackContext, container_channel, container_thread, result_text
from flows.cases import RATIONALE_MAX, CaseAction, CaseStatus, CaseView, Conclusion, Reason, decide
from flows.cases import Form as CaseForm
from flows.classification import Minor, load_classification
from flows.routing import preselected
from models import Consultation, Handover, Signal

log = logging.getLogger(__name__)

MODAL = "case_modal"
REPORTER_MODAL = "case_reporter_answer"
ADVICE_MODAL = "partner_advice"
OUTCOME_MODAL = "partner_outcome"
LEGACY_OUTCOME = "onbekend"  # the outcome kind of a stored submission from before outcomes had a kind
TEXT_MAX = core_cases.TEXT_MAX

TITLES = {
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
    CaseAction.RECLASSIFY: N_("Correct case details"),
}
# Kind first drafts of feedback per conclusion: no investigative detail, ever.
FEEDBACK_TEMPLATES = {
    None: N_("Thank you for reporting signal {reference}. The attention officer has looked into it. We cannot "
             "share details, but your report helps. If you notice anything new, please add it in this thread."),
    Conclusion.GEEN: N_("Thank you for reporting signal {reference}. We looked into it carefully and, based on what "
                        "we know now, we see no signs of human trafficking. Where other help was needed, we made sure "
                        "the right organisation is involved. Good that you were alert: please keep reporting what "
                        "worries you."),
    Conclusion.VERDER_ONDERZOEK: N_("Thank you for reporting signal {reference}. Your signal is being looked into "
                                    "further together with our partners. We cannot share details, but your report "
                                    "helps. If you notice anything new, please add it in this thread."),
    Conclusion.WEL: N_("Thank you for reporting signal {reference}. Your signal has been passed on to the partners "
                       "who can take it further. We cannot share details of what happens next. Your alertness made a "
                       "difference; please do not confront the people involved."),
}
CONCLUSION_REASONS = {
    Reason.UNKNOWN_CONCLUSION: ("conclusion", N_("Choose a conclusion.")),
    Reason.RATIONALE_REQUIRED: ("rationale", N_("Write a short rationale.")),
    Reason.RATIONALE_TOO_LONG: ("rationale", N_("The rationale may be at most {limit} characters.")),
    Reason.REFERRAL_NOT_WITH_WEL: ("referral", N_("With \"human trafficking\" care goes through the meldroute "
                                                  "(route to the care coordinator); a referral here goes with \"no "
                                                  "human trafficking\" or \"further investigation\".")),
    Reason.CARE_ORGANISATION_REQUIRED: ("organisation", N_("Name the organisation you referred to.")),
    Reason.TEXT_TOO_LONG: ("organisation", N_("The name of the organisation is too long.")),
}


# ------------------------------------------------------------------------------ texts


def text_problem(_: Translate, value: str | None, *, required: bool = True, limit: int = TEXT_MAX) -> str | None:
    """The core's text check (`bot.core.result.text_problem`), its answer in the user's language."""
    problem = core_result.text_problem(value, required=required, limit=limit)
    return result_text(_, problem) if problem else None


# ------------------------------------------------------------------------------ modal building


def modal(_: Translate, callback: str, title: str, meta: dict[str, Any], blocks: list[dict[str, Any]],
          submit: str | None = None) -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": callback, "private_metadata": json.dumps(meta),
        "title": m.plain(m.clip(title, 24)), "submit": m.plain(m.clip(submit or _("Send"), 24)),
        "close": m.plain(m.clip(_("Cancel"), 24)), "blocks": blocks[:100],
    }


def text_input(block_id: str, label: str, *, initial: str | None = None, optional: bool = False,
               hint: str | None = None, multiline: bool = True) -> dict[str, Any]:
    # No max_length: longer input is refused with a message that shows the limit and keeps the text.
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if initial:
        element["initial_value"] = initial[:3000]
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": m.plain(m.clip(label, 2000)),
                             "element": element, "optional": optional}
    if hint:
        block["hint"] = m.plain(m.clip(hint, 2000))
    return block


def select_input(block_id: str, label: str, options: list[dict[str, Any]], *, multi: bool = False,
                 initial: list[dict[str, Any]] | None = None, optional: bool = False,
                 hint: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "multi_static_select" if multi else "static_select", "action_id": "value",
                               "options": options[:100]}
    if initial and multi:
        element["initial_options"] = initial
    elif initial:
        element["initial_option"] = initial[0]
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": m.plain(m.clip(label, 2000)),
                             "element": element, "optional": optional}
    if hint:
        block["hint"] = m.plain(m.clip(hint, 2000))
    return block


def tick_input(block_id: str, label: str, option_text: str, *, initial: bool = False) -> dict[str, Any]:
    option = m.option(option_text, "yes")
    element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": [option]}
    if initial:
        element["initial_options"] = [option]
    return {"type": "input", "block_id": block_id, "label": m.plain(m.clip(label, 2000)), "element": element,
            "optional": True}


def values(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = ((view.get("state") or {}).get("values") or {})
    return {block: (actions.get("value") or {}) for block, actions in raw.items()}


def text_of(vals: dict[str, dict[str, Any]], block: str) -> str | None:
    return (vals.get(block) or {}).get("value")


def selected(vals: dict[str, dict[str, Any]], block: str) -> list[str]:
    entry = vals.get(block) or {}
    if entry.get("selected_option"):
        return [entry["selected_option"]["value"]]
    return [o["value"] for o in entry.get("selected_options") or []]


# ------------------------------------------------------------------------------ modals per action


def _signal(ctx: SlackContext, signal_id: int) -> Signal | None:
    with Session(ctx.core.engine) as session:
        return session.get(Signal, signal_id)


def partner_options(ctx: SlackContext, _: Translate) -> list[dict[str, Any]]:
    with Session(ctx.core.engine) as session:
        out = []
        internal = core_cases.internal_partner_keys()
        for p in core_cases.consultation_partners(session):
            note = _("in Slack") if people.partner_members(session, p.key) else _("outside Slack: record by hand")
            if p.key in internal:
                note = _("internal") + " · " + note
            out.append(m.option(p.name, p.key, note))
        return out


def privacy_context(_: Translate) -> dict[str, Any]:
    return m.context(_("Partners receive a pseudonymised summary: reference, municipality, form, signals, sector, "
                       "acute and minor. Never the reporter's identity; the description only when you tick it."))


def ask_info_modal(_: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    return modal(_, f"{MODAL}:{CaseAction.ASK_INFO.value}", _(TITLES[CaseAction.ASK_INFO]), meta, [
        m.section(_("Signal {reference}", reference=s.reference)),
        text_input("text", _("Your question to the reporter"),
                   hint=_("The reporter sees it in their signal thread and can answer with a button.")),
    ])


def simple_text_modal(_: Translate, action: CaseAction, s: Signal, meta: dict[str, Any], label: str,
                      hint: str | None = None, initial: str | None = None) -> dict[str, Any]:
    return modal(_, f"{MODAL}:{action.value}", _(TITLES[action]), meta, [
        m.section(_("Signal {reference}", reference=s.reference)),
        text_input("text", label, hint=hint, initial=initial),
    ])


def consult_modal(ctx: SlackContext, _: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    return modal(_, f"{MODAL}:{CaseAction.CONSULT.value}", _(TITLES[CaseAction.CONSULT]), meta, [
        m.section(_("Signal {reference}: ask partners for advice (collegial consultation).",
                    reference=s.reference)),
        select_input("partners", _("Partners"), partner_options(ctx, _), multi=True),
        text_input("text", _("Your question")),
        tick_input("share", _("Description"), _("Share the description of the signal")),
        privacy_context(_),
    ])


def record_advice_modal(ctx: SlackContext, _: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    with Session(ctx.core.engine) as session:
        options = []
        for c in session.exec(select(Consultation).where(Consultation.signal_id == s.id,
                                                         col(Consultation.answered_at).is_(None))
                               .order_by(col(Consultation.id))).all():
            options.append(m.option(_("{partner} — asked {date}", partner=partner_name(session, c.partner_key),
                                      date=c.asked_at.astimezone(ctx.core.settings.tz).strftime("%d-%m-%Y")),
                                    f"c:{c.id}"))
        for p in core_cases.consultation_partners(session):
            options.append(m.option(_("{partner} — consulted outside the bot", partner=p.name), f"p:{p.key}"))
    return modal(_, f"{MODAL}:{CaseAction.RECORD_ADVICE.value}", _(TITLES[CaseAction.RECORD_ADVICE]), meta, [
        m.section(_("Signal {reference}: record advice you received.", reference=s.reference)),
        select_input("consultation", _("Advice from"), options),
        text_input("question", _("Question you asked (when consulted outside the bot)"), optional=True),
        text_input("text", _("The advice")),
    ], submit=_("Save"))


def conclude_modal(_: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    options = [m.option(_(label), c.value) for c, label in (
        (Conclusion.GEEN, N_("No human trafficking")),
        (Conclusion.VERDER_ONDERZOEK, N_("Further investigation and coordination needed")),
        (Conclusion.WEL, N_("Human trafficking")),
    )]
    current = next((o for o in options if o["value"] == s.conclusion), None)
    radio: dict[str, Any] = {"type": "radio_buttons", "action_id": "value", "options": options}
    if current:
        radio["initial_option"] = current
    return modal(_, f"{MODAL}:{CaseAction.CONCLUDE.value}", _(TITLES[CaseAction.CONCLUDE]), meta, [
        m.section(_("Signal {reference}", reference=s.reference)),
        {"type": "input", "block_id": "conclusion", "label": m.plain(_("Conclusion")), "element": radio},
        text_input("rationale", _("Short rationale"), hint=_("At most {limit} characters.", limit=RATIONALE_MAX)),
        tick_input("referral", _("Referral"), _("Referred to care (with \"no human trafficking\" or \"further "
                                                "investigation\")")),
        text_input("organisation", _("Care organisation"), optional=True, multiline=False),
    ], submit=_("Save"))


def route_modal(ctx: SlackContext, _: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    suggestion = core_cases.route_suggestion(s)
    lines = []
    with Session(ctx.core.engine) as session:
        routed = core_cases.routed_partners(session, s.id or 0)
        for sug in suggestion:
            lead = suggestion_lead(_, sug)
            reason = _(ROUTE_REASONS[sug.reason]) if sug.reason in ROUTE_REASONS else ""
            lines.append(f"{sug.order}. *{m.esc(partner_name(session, sug.partner_key))}* — {lead}"
                         + (f" ({reason})" if reason else ""))
        done = [_("{partner} ({date})", partner=m.esc(partner_name(session, key)),
                  date=m.date(at, ctx.core.settings.tz, "{date_short_pretty}")) for key, at in routed.items()]
    options = partner_options(ctx, _)
    # Pre-ticked: the meldroute's suggestion for a known form, nobody for "weet ik niet"
    # (flows.routing.preselected), and never a partner that already has the hand-over.
    keys = [k for k in preselected(_form_of(s), suggestion) if k not in routed]
    initial = [o for key in keys for o in options if o["value"] == key]
    default = core_cases.default_outcome_date(ctx.core).astimezone(ctx.core.settings.tz).date()
    picker = {"type": "datepicker", "action_id": "value", "initial_date": default.isoformat()}
    hint = (_("Confirm the suggestion or change it.") if initial
            else _("Nobody is ticked: choose the partners yourself, with the reasons above."))
    blocks: list[dict[str, Any]] = [m.section("*" + _("The meldroute suggests") + "*\n" + "\n".join(lines))]
    if done:
        blocks.append(m.section("*" + _("Already routed to") + "*\n" + "\n".join(f"• {d}" for d in done)))
    blocks.append(select_input("partners", _("Route to"), options, multi=True, initial=initial, hint=hint))
    if done:
        blocks.append(tick_input("again", _("Send again"), _("Send the hand-over again to a partner that already "
                                                             "has it")))
    blocks += [
        {"type": "input", "block_id": "expected", "label": m.plain(_("Expected outcome date")), "element": picker},
        text_input("text", _("Message to the partner(s)"), optional=True,
                   hint=_("What you ask of them and the outcome you expect.")),
        tick_input("share", _("Description"), _("Share the description of the signal")),
        privacy_context(_),
    ]
    # The form's own id: a second submission of this very form sends nothing (bot.core.cases.route).
    return modal(_, f"{MODAL}:{CaseAction.ROUTE.value}", _(TITLES[CaseAction.ROUTE]),
                 {**meta, "f": secrets.token_hex(8)}, blocks)


def _form_of(s: Signal) -> CaseForm:
    try:
        return CaseForm(s.form or CaseForm.UNKNOWN.value)
    except ValueError:
        return CaseForm.UNKNOWN


def routed_check(ctx: SlackContext, _: Translate, vals: dict[str, dict[str, Any]],
                 meta: dict[str, Any]) -> Errors:
    """Partners that already have the hand-over, chosen without "Send again": said at the field (the core
    refuses them again after the ack, whatever this form showed)."""
    chosen = selected(vals, "partners")
    if not chosen or selected(vals, "again"):
        return {}
    with Session(ctx.core.engine) as session:
        routed = core_cases.routed_partners(session, int(meta.get("s") or 0))
        twice = [partner_name(session, k) for k in chosen if k in routed]
    if not twice:
        return {}
    return {"partners": _("Already routed to {partners}. Remove them, or tick \"Send again\" to send the same "
                          "hand-over once more.", partners=", ".join(twice))}


def record_outcome_modal(ctx: SlackContext, _: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    with Session(ctx.core.engine) as session:
        options = [m.option(_("{partner} — routed {date}", partner=partner_name(session, h.partner_key),
                              date=h.routed_at.astimezone(ctx.core.settings.tz).strftime("%d-%m-%Y")), f"h:{h.id}")
                   for h in session.exec(select(Handover).where(Handover.signal_id == s.id,
                                                                col(Handover.outcome_at).is_(None))
                                         .order_by(col(Handover.id))).all()]
    return modal(_, f"{MODAL}:{CaseAction.RECORD_OUTCOME.value}", _(TITLES[CaseAction.RECORD_OUTCOME]), meta, [
        m.section(_("Signal {reference}: record the outcome a partner reported.", reference=s.reference)),
        select_input("handover", _("Hand-over"), options),
        outcome_kind_input(_),
        text_input("text", _("Note (optional)"), optional=True, hint=_("Next steps, in a few words.")),
    ], submit=_("Save"))


def outcome_kind_input(_: Translate) -> dict[str, Any]:
    """The outcome of a hand-over, chosen from the list (flows/classification.yaml): it is counted."""
    options = [m.option(_(c.label), c.key) for c in load_classification().partner_outcomes]
    return select_input("outcome", _("Outcome"), options, hint=_("What the hand-over led to; it is counted in the "
                                                                 "figures (without the note)."))


# -- Gegevens aanpassen: the AF's classification (flows.classification)

MINOR_LABELS = {Minor.YES: N_("Yes"), Minor.NO: N_("No"), Minor.UNKNOWN: N_("I don't know")}


def reclassify_modal(ctx: SlackContext, _: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    """Form, acute, minor, sector and target group, pre-filled with the case's working fields."""
    q = ctx.core.questionnaire
    current = core_cases.classification_of(s)

    def choice(block: str, label: str, options: list[dict[str, Any]], value: str | None,
               optional: bool = False) -> dict[str, Any]:
        initial = [o for o in options if o["value"] == value]
        return select_input(block, label, options, initial=initial or None, optional=optional)

    def question_options(key: str) -> list[dict[str, Any]]:
        return [m.option(_(o.label), o.key) for o in q.get(key).options] if q.has(key) else []

    yes_no = [m.option(_("Yes"), "yes"), m.option(_("No"), "no")]
    groups = [m.option(_(c.label), c.key) for c in load_classification().target_groups]
    blocks = [
        m.section(_("Signal {reference}: correct the details as you see them now. The reporter's own answers stay "
                    "on record; route suggestions, reminders and figures follow your details.",
                    reference=s.reference)),
        choice("form", _("Form"), question_options("form"), current.form.value),
        choice("acute", _("Acute"), yes_no, "yes" if current.acute else "no"),
        choice("minor", _("Minor involved"), [m.option(_(MINOR_LABELS[v]), v.value) for v in Minor],
               current.minor.value),
        choice("sector", _("Sector"), question_options("sector"), current.sector, optional=True),
        choice("target_group", _("Target group"), groups, current.target_group, optional=True),
    ]
    return modal(_, f"{MODAL}:{CaseAction.RECLASSIFY.value}", _(TITLES[CaseAction.RECLASSIFY]), meta, blocks,
                 submit=_("Save"))


def reclassify_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    def one(block: str) -> str | None:
        chosen = form.pick(block)
        return chosen[0] if chosen else None

    return core_cases.reclassify_case(core, sid, user, form=one("form") or "", acute=one("acute") == "yes",
                                      minor=one("minor") or "", sector=one("sector"),
                                      target_group=one("target_group"))


def feedback_modal(_: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    try:
        conclusion: Conclusion | None = Conclusion(s.conclusion) if s.conclusion else None
    except ValueError:
        conclusion = None
    draft = _(FEEDBACK_TEMPLATES[conclusion], reference=s.reference)
    return modal(_, f"{MODAL}:{CaseAction.FEEDBACK.value}", _(TITLES[CaseAction.FEEDBACK]), meta, [
        m.section(_("Signal {reference}", reference=s.reference)),
        text_input("text", _("Feedback to the reporter"), initial=draft,
                   hint=_("Delivered in the reporter's signal thread. Never share investigative details.")),
    ])


def close_modal(ctx: SlackContext, _: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    """Afsluiten always asks for confirmation, naming what is still open (flows.cases.still_open);
    a missing feedback the reporter asked for, or a missing hand-over with "wel mensenhandel", needs a
    reason here (or Cancel, and do it first)."""
    with Session(ctx.core.engine) as session:
        row = session.get(Signal, s.id)
        left = core_cases.still_open_of(session, row or s)
    blocks: list[dict[str, Any]] = [m.section(_("Close signal {reference}?", reference=s.reference))]
    open_lines = presenters.still_open_lines(_, left)
    if open_lines:
        blocks.append(m.section("*" + _("Still open") + "*\n" + "\n".join(f"• {line}" for line in open_lines)))
    else:
        blocks.append(m.section(_("Nothing is open any more.")))
    if left.route_missing:
        blocks.append(m.context(_("The meldroute says: human trafficking → route to a partner. Cancel and use "
                                  "*Route to partner* first, or say here why this case is not routed.")))
        blocks.append(text_input("route_reason", _("Why not routed"),
                                 hint=_("At most {limit} characters.", limit=1000)))
    if left.feedback_missing:
        blocks.append(m.context(_("Cancel and use *Feedback to reporter* first, or say here why you close without "
                                  "feedback.")))
        blocks.append(text_input("reason", _("Why no feedback"), hint=_("At most {limit} characters.", limit=1000)))
    blocks.append(m.context(_("Once closed, the card shows a summary only. You can reopen the case later.")))
    return modal(_, f"{MODAL}:{CaseAction.CLOSE.value}", _(TITLES[CaseAction.CLOSE]), meta, blocks,
                 submit=_("Close case"))


def close_checks(ctx: SlackContext, _: Translate, vals: dict[str, dict[str, Any]]) -> Errors:
    """The reasons the close modal asked (only the blocks it showed are in `vals`)."""
    errors: Errors = {}
    for block in ("reason", "route_reason"):
        if block in vals:
            problem = text_problem(_, text_of(vals, block), limit=1000)
            if problem:
                errors[block] = problem
    return errors


# ------------------------------------------------------------------------------ answering


def meta_of(body: dict, signal_id: int) -> dict[str, Any]:
    """Where a modal's answers are told: the card's channel and thread (in its private_metadata)."""
    container = body.get("container") or {}
    return {"s": signal_id, "c": container_channel(body),
            "t": container_thread(body) or container.get("message_ts")}


def tell_after_ack(ctx: SlackContext, body: dict, user: str, text: str) -> None:
    ctx.ephemeral_after_ack(container_channel(body), user, text, container_thread(body))


def open_view(ctx: SlackContext, body: dict, user: str, view: dict[str, Any]) -> None:
    """In the listener only: the click's trigger_id expires 3 s after the click."""
    try:
        ctx.client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as exc:
        log.warning("views.open failed: %s", exc.response.get("error"))
        _ = ctx.tr(user)
        tell_after_ack(ctx, body, user, _("The input window could not be opened (Slack was too slow). Please click "
                                          "the button again."))


def report(ctx: SlackContext, user: str, result: core_result.Result, *, body: dict | None = None,
           meta: dict[str, Any] | None = None) -> None:
    """A refused step is told to the user privately: where they clicked (`body`), or where the modal
    came from (`meta`)."""
    if result.ok:
        return
    text = result_text(ctx.tr(user), result)
    if meta is not None:
        ctx.ephemeral(meta.get("c"), user, text, meta.get("t"))
    elif body is not None:
        ctx.ephemeral(container_channel(body), user, text, container_thread(body))


# ------------------------------------------------------------------------------ the case actions


@dataclass(frozen=True)
class Form:
    """A case action's inputs, by block id of its modal (empty for a click that acts at once)."""

    texts: dict[str, str | None] = field(default_factory=dict)  # text | question | reason
    picks: dict[str, list[str]] = field(default_factory=dict)  # partners | consultation | handover | share
    expected: str | None = None  # ISO date
    conclusion: dict[str, Any] = field(default_factory=dict)  # conclude's inputs for flows.cases.decide
    meta: dict[str, Any] = field(default_factory=dict)  # meta_of the card

    @property
    def text(self) -> str:
        return self.texts.get("text") or ""

    def pick(self, block: str) -> list[str]:
        return self.picks.get(block) or []


Errors = dict[str, str]
Check = Callable[[SlackContext, Translate, dict[str, dict[str, Any]]], Errors]
Step = Callable[[Core, int, str, Form], core_result.Result]
ModalOf = Callable[[SlackContext, Translate, Signal, dict[str, Any]], dict[str, Any]]


def never(*_args: Any) -> bool:
    return False


@dataclass(frozen=True)
class CaseActionSpec:
    """One action of the case card: its modal (opened in the click's listener, for the trigger_id),
    what the modal's answers must hold (checked in the submission's listener: `response_action`
    errors), and the core step it runs after the ack. `acts_on_click`: without a modal (none, or
    `modal_needed` says no) the click itself runs the step."""

    step: Step
    modal: ModalOf | None = None
    modal_needed: Callable[[SlackContext, int], bool] = hooks.always
    checks: tuple[Check, ...] = ()
    acts_on_click: bool = False

    def opens_modal(self, ctx: SlackContext, signal_id: int) -> bool:
        return self.modal is not None and self.modal_needed(ctx, signal_id)

    def errors(self, ctx: SlackContext, _: Translate, vals: dict[str, dict[str, Any]]) -> Errors:
        errors: Errors = {}
        for check in self.checks:
            errors.update(check(ctx, _, vals))
        return errors


# -- checks of a modal's answers (before the ack: the modal shows them at the field)


def text_check(block: str = "text", *, required: bool = True, limit: int = TEXT_MAX) -> Check:
    def check(ctx: SlackContext, _: Translate, vals: dict[str, dict[str, Any]]) -> Errors:
        problem = text_problem(_, text_of(vals, block), required=required, limit=limit)
        return {block: problem} if problem else {}

    return check


def pick_check(block: str, msgid: str) -> Check:
    def check(ctx: SlackContext, _: Translate, vals: dict[str, dict[str, Any]]) -> Errors:
        return {} if selected(vals, block) else {block: _(msgid)}

    return check


def expected_date(vals: dict[str, dict[str, Any]]) -> date | None:
    """The route modal's expected outcome date; ValueError when it is not a date."""
    raw = (vals.get("expected") or {}).get("selected_date")
    return date.fromisoformat(raw) if raw else None


def date_check(ctx: SlackContext, _: Translate, vals: dict[str, dict[str, Any]]) -> Errors:
    try:
        expected = expected_date(vals)
    except ValueError:
        return {"expected": _("Choose a date.")}
    today = ctx.core.clock.now().astimezone(ctx.core.settings.tz).date()
    if expected is not None and expected < today:
        return {"expected": _("The expected outcome date cannot be in the past.")}
    return {}


def conclusion_inputs(vals: dict[str, dict[str, Any]]) -> dict[str, Any]:
    chosen = selected(vals, "conclusion")
    return {"conclusion": chosen[0] if chosen else None, "rationale": text_of(vals, "rationale"),
            "referred_to_care": bool(selected(vals, "referral")), "care_organisation": text_of(vals, "organisation")}


def conclusion_check(ctx: SlackContext, _: Translate, vals: dict[str, dict[str, Any]]) -> Errors:
    # flows.cases validates the inputs (pure); the state is checked again by the core.
    check = decide(CaseView(status=CaseStatus.IN_PROGRESS, municipality=""), CaseAction.CONCLUDE,
                   **conclusion_inputs(vals))
    if not check.allowed and check.reason in CONCLUSION_REASONS:
        block, message = CONCLUSION_REASONS[check.reason]
        return {block: _(message, limit=RATIONALE_MAX) if "{limit}" in message else _(message)}
    return {}


# -- the steps (after the ack): the core does the work and decides again. Step(core, signal id, user, form).


def claim_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.claim(core, sid, user)


def reopen_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.reopen(core, sid, user)


def seen_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.mark_seen(core, sid, user)


def timeline_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.timeline(core, sid, user, post_to_card_ts=form.meta.get("t"))


def ask_info_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.ask_info(core, sid, user, form.text)


def consult_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.consult(core, sid, user, form.pick("partners"), form.text, bool(form.pick("share")))


def record_advice_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    kind, _sep, key = form.pick("consultation")[0].partition(":")
    if kind == "c" and key.isdigit():
        return core_cases.record_advice(core, sid, user, form.text, consultation_id=int(key))
    return core_cases.record_advice(core, sid, user, form.text, partner_key=key, question=form.texts.get("question"))


def conclude_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.conclude(core, sid, user, **form.conclusion)


def route_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.route(core, sid, user, form.pick("partners"),
                            expected=date.fromisoformat(form.expected) if form.expected else None,
                            message=form.texts.get("text"), include_description=bool(form.pick("share")),
                            send_again=bool(form.pick("again")), form_id=form.meta.get("f"))


def record_outcome_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    key = form.pick("handover")[0].partition(":")[2]
    kind = form.pick("outcome")
    # Work stored before outcomes had a kind (a text only): kept as "onbekend" with the text as its note.
    return core_cases.record_outcome(core, int(key) if key.isdigit() else 0, user, form.texts.get("text"),
                                     signal_id=sid, kind=kind[0] if kind else LEGACY_OUTCOME)


def feedback_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.feedback(core, sid, user, form.text)


def message_reporter_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.message_reporter(core, sid, user, form.text)


def note_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.note(core, sid, user, form.text, echo=True)


def close_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.close(core, sid, user, no_feedback_reason=form.texts.get("reason"),
                            no_route_reason=form.texts.get("route_reason"))


# -- the modals, as ModalOf(ctx, _, signal, meta)


def message_modal(ctx: SlackContext, _: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    return simple_text_modal(_, CaseAction.MESSAGE_REPORTER, s, meta, _("Message to the reporter"),
                             hint=_("Delivered in the reporter's signal thread."))


def note_modal(ctx: SlackContext, _: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    return simple_text_modal(_, CaseAction.NOTE, s, meta, _("Internal note"),
                             hint=_("Stored with the case; the reporter does not see it."))


def _plain(builder: Callable[[Translate, Signal, dict[str, Any]], dict[str, Any]]) -> ModalOf:
    """A modal that needs no database read beyond the signal."""
    return lambda ctx, _, s, meta: builder(_, s, meta)


TEXT = text_check()
PARTNERS = pick_check("partners", N_("Choose at least one partner."))
OUTCOME = pick_check("outcome", N_("Choose what the hand-over led to."))
# The case card's actions, by key (flows.cases.CaseAction). To add one: the action in flows/cases.py
# (its permission in flows/permissions.py), its step in bot/core/cases.py, its label in
# case_views.ACTION_LABELS, and a row here: step, modal (None: the click acts at once), checks.
CASE_ACTIONS: dict[str, CaseActionSpec] = {
    CaseAction.CLAIM: CaseActionSpec(claim_step, acts_on_click=True),
    CaseAction.REOPEN: CaseActionSpec(reopen_step, acts_on_click=True),
    CaseAction.TIMELINE: CaseActionSpec(timeline_step, acts_on_click=True),
    CaseAction.SEEN: CaseActionSpec(seen_step, acts_on_click=True),
    CaseAction.ASK_INFO: CaseActionSpec(ask_info_step, _plain(ask_info_modal), checks=(TEXT,)),
    CaseAction.CONSULT: CaseActionSpec(consult_step, consult_modal, checks=(TEXT, PARTNERS)),
    CaseAction.RECORD_ADVICE: CaseActionSpec(record_advice_step, record_advice_modal, checks=(
        TEXT, pick_check("consultation", N_("Choose whose advice this is.")), text_check("question", required=False))),
    CaseAction.CONCLUDE: CaseActionSpec(conclude_step, _plain(conclude_modal), checks=(conclusion_check,)),
    CaseAction.ROUTE: CaseActionSpec(route_step, route_modal, checks=(text_check(required=False), PARTNERS,
                                                                      date_check)),
    CaseAction.RECORD_OUTCOME: CaseActionSpec(record_outcome_step, record_outcome_modal, checks=(
        text_check(required=False), pick_check("handover", N_("Choose the hand-over.")), OUTCOME)),
    CaseAction.RECLASSIFY: CaseActionSpec(reclassify_step, reclassify_modal, checks=(
        pick_check("form", N_("Choose a form.")), pick_check("acute", N_("Choose yes or no.")),
        pick_check("minor", N_("Choose an answer.")))),
    CaseAction.FEEDBACK: CaseActionSpec(feedback_step, _plain(feedback_modal), checks=(TEXT,)),
    CaseAction.MESSAGE_REPORTER: CaseActionSpec(message_reporter_step, message_modal, checks=(TEXT,)),
    CaseAction.NOTE: CaseActionSpec(note_step, note_modal, checks=(TEXT,)),
    # Always a confirmation that names what is still open, with the reasons it needs (close_modal).
    CaseAction.CLOSE: CaseActionSpec(close_step, close_modal, checks=(close_checks,)),
}


# ------------------------------------------------------------------------------ listeners (module level)


def open_action_modal(ctx: SlackContext, body: dict, action: CaseAction, signal_id: int, user: str) -> None:
    """The click on a card action with a modal (after case_guard's check, in the listener): open it."""
    spec = ctx.registry.case_actions.get(action)
    s = _signal(ctx, signal_id)
    if spec is None or spec.modal is None or s is None:
        return
    # "u": who opened it, for a modal that reads on their behalf (the submission trusts body["user"] only).
    open_view(ctx, body, user, spec.modal(ctx, ctx.tr(user), s, {**meta_of(body, signal_id), "u": user}))


def act_on_click(ctx: SlackContext, body: dict, action: CaseAction, signal_id: int, user: str) -> None:
    """The click on a card action that needs no modal (after case_guard's check, after the ack)."""
    spec = ctx.registry.case_actions[action]
    report(ctx, user, spec.step(ctx.core, signal_id, user, Form(meta=meta_of(body, signal_id))), body=body)


def on_case_modal(ctx: SlackContext, ack: Ack, body: dict, view: dict) -> None:
    """A case action's modal was submitted: check its answers (errors at the fields), then run the step."""
    user = body["user"]["id"]
    _ = ctx.tr(user)
    meta = json.loads(view.get("private_metadata") or "{}")
    try:
        action = CaseAction(view["callback_id"].split(":", 1)[1])
        sid = int(meta.get("s", 0))
    except ValueError:
        ack()
        return
    spec = ctx.registry.case_actions.get(action)
    if spec is None or spec.modal is None:
        ack()
        return
    vals = values(view)
    errors = spec.errors(ctx, _, vals)
    if action is CaseAction.ROUTE and not errors:
        errors = routed_check(ctx, _, vals, meta)
    if errors:
        ack(response_action="errors", errors={k: m.clip(v, 2000) for k, v in errors.items()})
        return
    ack()
    picks = {block: selected(vals, block) for block in ("partners", "consultation", "handover", "share", "again",
                                                        "outcome", "form", "acute", "minor", "sector", "target_group",
                                                        "links")}
    texts = {block: text_of(vals, block) for block in ("text", "question", "reason", "route_reason")}
    texts["held_on"] = (vals.get("held_on") or {}).get("selected_date")  # the case meeting's date
    expected = expected_date(vals) if date_check in spec.checks else None
    inputs = conclusion_inputs(vals) if conclusion_check in spec.checks else {}
    ctx.after_ack(case_step, action.value, sid, user, texts, picks,
                  expected.isoformat() if expected else None, inputs, meta)


def case_step(ctx: SlackContext, action_value: str, sid: int, user: str, texts: dict[str, str | None],
              picks: dict[str, list[str]], expected: str | None, conclusion: dict[str, Any],
              meta: dict[str, Any]) -> None:
    """The step a valid case modal asked for, after the ack (`texts` and `picks`: its inputs by block id)."""
    spec = ctx.registry.case_actions.get(action_value)
    if spec is None or spec.modal is None:
        return
    form = Form(texts=texts, picks=picks, expected=expected, conclusion=conclusion, meta=meta)
    report(ctx, user, spec.step(ctx.core, sid, user, form), meta=meta)


# -- the reporter's Answer button


def on_answer_button(ctx: SlackContext, ack: Ack, body: dict) -> None:
    ack()
    user = body["user"]["id"]
    _ = ctx.tr(user)
    try:
        event_id = int(body["actions"][0].get("value") or "")
    except ValueError:
        return
    check = core_cases.check_reporter(ctx.core, event_id, user)
    if not check.ok:
        tell_after_ack(ctx, body, user, result_text(_, check))
        return
    view = modal(_, REPORTER_MODAL, _("Answer"), {"e": event_id, "s": check.signal_id,
                                                  "c": container_channel(body), "t": container_thread(body)}, [
        m.section(_("Signal {reference}: your answer goes to the attention officer.", reference=check.reference)),
        text_input("text", _("Your answer")),
    ])
    open_view(ctx, body, user, view)


def submitted_text(ctx: SlackContext, ack: Ack, body: dict, view: dict) -> tuple[str, dict, str] | None:
    """A one-text modal (the reporter's answer, a partner's advice or outcome): (user, its metadata,
    the text) once acked; None when the text was refused (the modal shows why)."""
    user = body["user"]["id"]
    text = text_of(values(view), "text")
    problem = text_problem(ctx.tr(user), text)
    if problem:
        ack(response_action="errors", errors={"text": problem})
        return None
    ack()
    return user, json.loads(view.get("private_metadata") or "{}"), text or ""


def on_answer_submit(ctx: SlackContext, ack: Ack, body: dict, view: dict) -> None:
    submitted = submitted_text(ctx, ack, body, view)
    if submitted is not None:
        user, meta, text = submitted
        ctx.after_ack(reporter_answer, meta, user, text)


def reporter_answer(ctx: SlackContext, meta: dict, user: str, text: str) -> None:
    result = core_cases.reporter_answer(ctx.core, int(meta.get("s") or 0), user, text,
                                        question_event_id=int(meta.get("e") or 0))
    report(ctx, user, result, meta=meta)


# -- partner buttons: Give advice (a consultation), Report outcome (a hand-over)

PARTNER_BUTTONS = {
    "partner:advice": ("consultation", ADVICE_MODAL, N_("Give advice"), N_("Your advice")),
    "partner:outcome": ("handover", OUTCOME_MODAL, N_("Report outcome"), N_("Outcome and next steps")),
}


def on_partner_button(ctx: SlackContext, ack: Ack, body: dict) -> None:
    ack()
    user = body["user"]["id"]
    _ = ctx.tr(user)
    kind, callback, title, label = PARTNER_BUTTONS[body["actions"][0]["action_id"]]
    try:
        item = int(body["actions"][0].get("value") or "")
    except ValueError:
        return
    check = core_cases.check_partner(ctx.core, kind, item, user)
    if not check.ok:
        tell_after_ack(ctx, body, user, result_text(_, check))
        return
    intro = m.section(_("Signal {reference}: your answer goes to the attention officer only.",
                        reference=check.reference))
    if callback == OUTCOME_MODAL:  # an outcome is chosen from the list (it is counted), a note is optional
        blocks = [intro, outcome_kind_input(_), text_input("text", _("Note (optional)"), optional=True,
                                                           hint=_("Next steps, in a few words."))]
    else:
        blocks = [intro, text_input("text", _(label))]
    view = modal(_, callback, _(title), {"i": item, "c": container_channel(body), "t": container_thread(body)},
                 blocks)
    open_view(ctx, body, user, view)


def on_partner_submit(ctx: SlackContext, ack: Ack, body: dict, view: dict) -> None:
    if view["callback_id"] == OUTCOME_MODAL:
        user = body["user"]["id"]
        _ = ctx.tr(user)
        vals = values(view)
        errors = {**text_check(required=False)(ctx, _, vals), **OUTCOME(ctx, _, vals)}
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        ctx.after_ack(partner_answer, OUTCOME_MODAL, json.loads(view.get("private_metadata") or "{}"), user,
                      text_of(vals, "text") or "", selected(vals, "outcome")[0])
        return
    submitted = submitted_text(ctx, ack, body, view)
    if submitted is not None:
        user, meta, text = submitted
        ctx.after_ack(partner_answer, view["callback_id"], meta, user, text)


def partner_answer(ctx: SlackContext, callback_id: str, meta: dict, user: str, text: str,
                   kind: str | None = None) -> None:
    """`kind`: the outcome chosen from the list (work stored before outcomes had a kind has none: kept
    as "onbekend" with the partner's text as its note)."""
    item = int(meta.get("i") or 0)
    if callback_id == ADVICE_MODAL:
        result = core_cases.give_advice(ctx.core, item, user, text)
    else:
        result = core_cases.record_outcome(ctx.core, item, user, text or None, kind=kind or LEGACY_OUTCOME)
    report(ctx, user, result, meta=meta)


# -- replies typed in threads


@hooks.thread_reply("reporter_root:submitted")
def on_reporter_thread(ctx: SlackContext, event: dict, root: Any) -> None:
    """The reporter writes in their signal thread after sending: relay it to the case thread."""
    user, text = event.get("user") or "", event.get("text") or ""
    if root is None or root.signal_id is None:
        return
    _ = ctx.tr(user)
    result = core_cases.reporter_answer(ctx.core, root.signal_id, user, text)
    if result.ok and result.data.get("closed"):
        ctx.ephemeral(event["channel"], user, _("This signal is closed. Your message was passed on to the attention "
                                                "officer, who can reopen it."), event["thread_ts"])
    elif result.ok:
        ctx.ephemeral(event["channel"], user, _("Sent to the attention officer."), event["thread_ts"])
    else:
        ctx.ephemeral(event["channel"], user, result_text(_, result), event["thread_ts"])


@hooks.thread_reply("case_card")
def on_case_thread(ctx: SlackContext, event: dict, root: Any) -> None:
    """The AF writes in the case card's thread: an internal note, never sent to the reporter."""
    user, text = event.get("user") or "", event.get("text") or ""
    if root is None or root.signal_id is None:
        return
    _ = ctx.tr(user)
    result = core_cases.note(ctx.core, root.signal_id, user, text)
    if result.ok:
        ctx.ephemeral(event["channel"], user,
                      _("Saved as an internal note; the reporter does not see it. Your own message can stay in "
                        "Slack after the case's retention period, because the bot cannot delete it: please delete "
                        "it yourself now (⋯ on your message → Delete message). Next time use *Internal note* in "
                        "the ⋯ menu of the card: the bot shows that note in this thread and removes it at the "
                        "end of the retention period. To write to the reporter, use *Message to reporter* in the "
                        "⋯ menu of the card."), event["thread_ts"])
    else:
        ctx.ephemeral(event["channel"], user, result_text(_, result), event["thread_ts"])


# Where an earlier version stored the same after-ack work (its listeners were closures in `register`).
_STORED_AS = "bot.slack.cases:register.<locals>."


@hooks.feature
def register(ctx: SlackContext, app: App) -> None:
    """Wire the module-level listeners above to this app (Bolt passes arguments by parameter name)."""
    app.view(re.compile(rf"^{MODAL}:[a-z_]+$"))(lambda ack, body, view: on_case_modal(ctx, ack, body, view))
    app.action("case_reply:answer")(lambda ack, body: on_answer_button(ctx, ack, body))
    app.view(REPORTER_MODAL)(lambda ack, body, view: on_answer_submit(ctx, ack, body, view))
    for action_id in PARTNER_BUTTONS:
        app.action(action_id)(lambda ack, body: on_partner_button(ctx, ack, body))
    app.view(re.compile(rf"^({ADVICE_MODAL}|{OUTCOME_MODAL})$"))(
        lambda ack, body, view: on_partner_submit(ctx, ack, body, view))
    ctx.work_fn_of(case_step, stored_as=(_STORED_AS + "_case_step",))
    ctx.work_fn_of(reporter_answer, stored_as=(_STORED_AS + "_reporter_answer",))
    ctx.work_fn_of(partner_answer, stored_as=(_STORED_AS + "_partner_answer",))
