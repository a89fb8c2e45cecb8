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
from datetime import date
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot.core import cases as core_cases
from bot.core import people
from bot.core import result as core_result
from bot.i18n import N_, Translate
from bot.slack import hooks
from bot.slack import mrkdwn as m
from bot.slack.case_messages import ROUTE_REASONS, partner_name
from bot.slack.common import SlackContext, container_channel, container_thread, result_text
from flows.cases import RATIONALE_MAX, CaseAction, CaseStatus, CaseView, Conclusion, Reason, decide
from models import Consultation, Handover, Signal

log = logging.getLogger(__name__)

MODAL = "case_modal"
REPORTER_MODAL = "case_reporter_answer"
ADVICE_MODAL = "partner_advice"
OUTCOME_MODAL = "partner_outcome"
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
    Reason.REFERRAL_ONLY_WITH_GEEN: ("referral", N_("A referral to care goes with the conclusion \"no human "
                                                    "trafficking\" only.")),
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
        for p in core_cases.consultation_partners(session):
            note = _("in Slack") if people.partner_members(session, p.key) else _("outside Slack: record by hand")
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
        tick_input("referral", _("Referral"), _("Referred to care (with \"no human trafficking\" only)")),
        text_input("organisation", _("Care organisation"), optional=True, multiline=False),
    ], submit=_("Save"))


def route_modal(ctx: SlackContext, _: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    suggestion = core_cases.route_suggestion(s)
    lines = []
    with Session(ctx.core.engine) as session:
        for sug in suggestion:
            lead = ("🚨 " + _("now")) if sug.urgent else _("step {n}", n=sug.priority)
            reason = _(ROUTE_REASONS[sug.reason]) if sug.reason in ROUTE_REASONS else ""
            lines.append(f"{sug.order}. *{m.esc(partner_name(session, sug.partner_key))}* — {lead}"
                         + (f" ({reason})" if reason else ""))
    options = partner_options(ctx, _)
    initial = [o for key in (x.partner_key for x in suggestion) for o in options if o["value"] == key]
    default = core_cases.default_outcome_date(ctx.core).astimezone(ctx.core.settings.tz).date()
    picker = {"type": "datepicker", "action_id": "value", "initial_date": default.isoformat()}
    return modal(_, f"{MODAL}:{CaseAction.ROUTE.value}", _(TITLES[CaseAction.ROUTE]), meta, [
        m.section("*" + _("The meldroute suggests") + "*\n" + "\n".join(lines)),
        select_input("partners", _("Route to"), options, multi=True, initial=initial,
                     hint=_("Confirm the suggestion or change it.")),
        {"type": "input", "block_id": "expected", "label": m.plain(_("Expected outcome date")), "element": picker},
        text_input("text", _("Message to the partner(s)"), optional=True,
                   hint=_("What you ask of them and the outcome you expect.")),
        tick_input("share", _("Description"), _("Share the description of the signal")),
        privacy_context(_),
    ])


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
        text_input("text", _("Outcome and next steps")),
    ], submit=_("Save"))


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


def close_needs_reason(ctx: SlackContext, signal_id: int) -> bool:
    """Closing a concluded case whose reporter asked for feedback and has had none needs a reason,
    which the close modal asks. Read in the listener (it decides whether a modal opens), so only
    the columns it needs."""
    with Session(ctx.core.engine) as session:
        row = session.exec(select(Signal.wants_feedback, Signal.first_feedback_at, Signal.conclusion)
                           .where(Signal.id == signal_id)).first()
    return row is not None and bool(row[0]) and row[1] is None and bool(row[2])


def close_modal(_: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    return modal(_, f"{MODAL}:{CaseAction.CLOSE.value}", _(TITLES[CaseAction.CLOSE]), meta, [
        m.section(_("The reporter asked for feedback about signal {reference} and has not had any yet. Cancel and "
                    "use *Feedback to reporter* first, or say here why you close without feedback.",
                    reference=s.reference)),
        text_input("reason", _("Why no feedback"), hint=_("At most {limit} characters.", limit=1000)),
    ], submit=_("Close case"))


# ------------------------------------------------------------------------------ listeners


@hooks.feature
def register(ctx: SlackContext, app: App) -> None:
    core = ctx.core

    def meta_of(body: dict, signal_id: int) -> dict[str, Any]:
        container = body.get("container") or {}
        return {"s": signal_id, "c": container_channel(body),
                "t": container_thread(body) or container.get("message_ts")}

    def tell(body: dict, user: str, text: str) -> None:
        ctx.ephemeral(container_channel(body), user, text, container_thread(body))

    def tell_meta(meta: dict[str, Any], user: str, text: str) -> None:
        ctx.ephemeral(meta.get("c"), user, text, meta.get("t"))

    def tell_after_ack(body: dict, user: str, text: str) -> None:
        ctx.ephemeral_after_ack(container_channel(body), user, text, container_thread(body))

    def open_view(body: dict, user: str, view: dict[str, Any]) -> None:
        """In the listener only: the click's trigger_id expires 3 s after the click."""
        try:
            ctx.client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as exc:
            log.warning("views.open failed: %s", exc.response.get("error"))
            _ = ctx.tr(user)
            tell_after_ack(body, user, _("The input window could not be opened (Slack was too slow). Please click "
                                         "the button again."))

    def report(body_or_meta: dict, user: str, result: core_result.Result, *, meta: bool = False) -> None:
        if result.ok:
            return
        text = result_text(ctx.tr(user), result)
        if meta:
            tell_meta(body_or_meta, user, text)
        else:
            tell(body_or_meta, user, text)

    # -- card actions (case_guard already checked permission and state) --------------------------
    # After the ack, except the modals (hooks.case_modal): those open in the listener.

    @hooks.case_action(CaseAction.CLAIM.value)
    def on_claim(ctx_: SlackContext, body: dict, signal_id: int, actor: Any) -> None:
        report(body, actor.user_id, core_cases.claim(core, signal_id, actor.user_id))

    @hooks.case_action(CaseAction.REOPEN.value)
    def on_reopen(ctx_: SlackContext, body: dict, signal_id: int, actor: Any) -> None:
        report(body, actor.user_id, core_cases.reopen(core, signal_id, actor.user_id))

    @hooks.case_action(CaseAction.TIMELINE.value)
    def on_timeline(ctx_: SlackContext, body: dict, signal_id: int, actor: Any) -> None:
        meta = meta_of(body, signal_id)
        report(body, actor.user_id, core_cases.timeline(core, signal_id, actor.user_id, post_to_card_ts=meta["t"]))

    @hooks.case_action(CaseAction.CLOSE.value)
    def on_close(ctx_: SlackContext, body: dict, signal_id: int, actor: Any) -> None:
        # Concluded meanwhile, so a reason is needed after all: the core refuses and says so, and the
        # next click opens the close modal.
        report(body, actor.user_id, core_cases.close(core, signal_id, actor.user_id))

    @hooks.case_modal(CaseAction.CLOSE.value, needed=close_needs_reason)
    def on_close_modal(ctx_: SlackContext, body: dict, signal_id: int, actor: Any) -> None:
        s = _signal(ctx, signal_id)
        if s is not None:
            open_view(body, actor.user_id, close_modal(ctx.tr(actor.user_id), s, meta_of(body, signal_id)))

    @hooks.case_modal(CaseAction.ASK_INFO.value, CaseAction.CONSULT.value, CaseAction.RECORD_ADVICE.value,
                       CaseAction.CONCLUDE.value, CaseAction.ROUTE.value, CaseAction.RECORD_OUTCOME.value,
                       CaseAction.FEEDBACK.value, CaseAction.MESSAGE_REPORTER.value, CaseAction.NOTE.value)
    def on_modal_action(ctx_: SlackContext, body: dict, signal_id: int, actor: Any) -> None:
        user = actor.user_id
        _ = ctx.tr(user)
        s = _signal(ctx, signal_id)
        if s is None:
            return
        name = body["actions"][0]["action_id"].split(":", 1)[1]
        if name == "more":
            name = (body["actions"][0].get("selected_option") or {}).get("value", "").partition(":")[0]
        action = CaseAction(name)
        meta = meta_of(body, signal_id)
        if action is CaseAction.ASK_INFO:
            view = ask_info_modal(_, s, meta)
        elif action is CaseAction.CONSULT:
            view = consult_modal(ctx, _, s, meta)
        elif action is CaseAction.RECORD_ADVICE:
            view = record_advice_modal(ctx, _, s, meta)
        elif action is CaseAction.CONCLUDE:
            view = conclude_modal(_, s, meta)
        elif action is CaseAction.ROUTE:
            view = route_modal(ctx, _, s, meta)
        elif action is CaseAction.RECORD_OUTCOME:
            view = record_outcome_modal(ctx, _, s, meta)
        elif action is CaseAction.FEEDBACK:
            view = feedback_modal(_, s, meta)
        elif action is CaseAction.MESSAGE_REPORTER:
            view = simple_text_modal(_, action, s, meta, _("Message to the reporter"),
                                     hint=_("Delivered in the reporter's signal thread."))
        else:
            view = simple_text_modal(_, action, s, meta, _("Internal note"),
                                     hint=_("Stored with the case; the reporter does not see it."))
        open_view(body, user, view)

    # -- the AF's modal submissions ---------------------------------------------------------------

    @app.view(re.compile(rf"^{MODAL}:[a-z_]+$"))
    def on_case_modal(ack: Ack, body: dict, view: dict) -> None:
        user = body["user"]["id"]
        _ = ctx.tr(user)
        meta = json.loads(view.get("private_metadata") or "{}")
        try:
            action = CaseAction(view["callback_id"].split(":", 1)[1])
            sid = int(meta.get("s", 0))
        except ValueError:
            ack()
            return
        vals = values(view)
        errors: dict[str, str] = {}
        text = text_of(vals, "text")
        if action in (CaseAction.ASK_INFO, CaseAction.FEEDBACK, CaseAction.MESSAGE_REPORTER, CaseAction.NOTE,
                      CaseAction.CONSULT, CaseAction.RECORD_ADVICE, CaseAction.RECORD_OUTCOME):
            problem = text_problem(_, text)
            if problem:
                errors["text"] = problem
        if action is CaseAction.ROUTE:
            problem = text_problem(_, text, required=False)
            if problem:
                errors["text"] = problem
        if action in (CaseAction.CONSULT, CaseAction.ROUTE) and not selected(vals, "partners"):
            errors["partners"] = _("Choose at least one partner.")
        if action is CaseAction.RECORD_ADVICE:
            if not selected(vals, "consultation"):
                errors["consultation"] = _("Choose whose advice this is.")
            problem = text_problem(_, text_of(vals, "question"), required=False)
            if problem:
                errors["question"] = problem
        if action is CaseAction.RECORD_OUTCOME and not selected(vals, "handover"):
            errors["handover"] = _("Choose the hand-over.")
        expected: date | None = None
        if action is CaseAction.ROUTE:
            raw = (vals.get("expected") or {}).get("selected_date")
            try:
                expected = date.fromisoformat(raw) if raw else None
            except ValueError:
                errors["expected"] = _("Choose a date.")
            today = core.clock.now().astimezone(core.settings.tz).date()
            if expected is not None and expected < today:
                errors["expected"] = _("The expected outcome date cannot be in the past.")
        conclusion_inputs: dict[str, Any] = {}
        if action is CaseAction.CONCLUDE:
            chosen = selected(vals, "conclusion")
            conclusion_inputs = {"conclusion": chosen[0] if chosen else None,
                                 "rationale": text_of(vals, "rationale"),
                                 "referred_to_care": bool(selected(vals, "referral")),
                                 "care_organisation": text_of(vals, "organisation")}
            # flows.cases validates the inputs (pure); the state is checked again by the core.
            check = decide(CaseView(status=CaseStatus.IN_PROGRESS, municipality=""), CaseAction.CONCLUDE,
                           **conclusion_inputs)
            if not check.allowed and check.reason in CONCLUSION_REASONS:
                block, message = CONCLUSION_REASONS[check.reason]
                errors[block] = _(message, limit=RATIONALE_MAX) if "{limit}" in message else _(message)
        if action is CaseAction.CLOSE:
            problem = text_problem(_, text_of(vals, "reason"), limit=1000)
            if problem:
                errors["reason"] = problem
        if errors:
            ack(response_action="errors", errors={k: m.clip(v, 2000) for k, v in errors.items()})
            return
        ack()
        picks = {block: selected(vals, block) for block in ("partners", "consultation", "handover", "share")}
        texts = {block: text_of(vals, block) for block in ("text", "question", "reason")}
        ctx.after_ack(_case_step, action.value, sid, user, texts, picks,
                      expected.isoformat() if expected else None, conclusion_inputs, meta)

    @ctx.work_fn
    def _case_step(action_value: str, sid: int, user: str, texts: dict[str, str | None], picks: dict[str, list[str]],
                   expected: str | None, conclusion_inputs: dict[str, Any], meta: dict[str, Any]) -> None:
        """The step a valid case modal asked for (`texts` and `picks`: its inputs by block id)."""
        action = CaseAction(action_value)
        text, share = texts["text"], bool(picks["share"])
        if action is CaseAction.ASK_INFO:
            result = core_cases.ask_info(core, sid, user, text or "")
        elif action is CaseAction.FEEDBACK:
            result = core_cases.feedback(core, sid, user, text or "")
        elif action is CaseAction.MESSAGE_REPORTER:
            result = core_cases.message_reporter(core, sid, user, text or "")
        elif action is CaseAction.NOTE:
            result = core_cases.note(core, sid, user, text or "", echo=True)
        elif action is CaseAction.CONSULT:
            result = core_cases.consult(core, sid, user, picks["partners"], text or "", share)
        elif action is CaseAction.RECORD_ADVICE:
            kind, _sep, key = picks["consultation"][0].partition(":")
            if kind == "c" and key.isdigit():
                result = core_cases.record_advice(core, sid, user, text or "", consultation_id=int(key))
            else:
                result = core_cases.record_advice(core, sid, user, text or "", partner_key=key,
                                                  question=texts["question"])
        elif action is CaseAction.RECORD_OUTCOME:
            key = picks["handover"][0].partition(":")[2]
            result = core_cases.record_outcome(core, int(key) if key.isdigit() else 0, user, text or "", signal_id=sid)
        elif action is CaseAction.CONCLUDE:
            result = core_cases.conclude(core, sid, user, **conclusion_inputs)
        elif action is CaseAction.ROUTE:
            result = core_cases.route(core, sid, user, picks["partners"],
                                      expected=date.fromisoformat(expected) if expected else None,
                                      message=text, include_description=share)
        elif action is CaseAction.CLOSE:
            result = core_cases.close(core, sid, user, no_feedback_reason=texts["reason"])
        else:
            return
        report(meta, user, result, meta=True)

    # -- the reporter's Answer button -------------------------------------------------------------

    @app.action("case_reply:answer")
    def on_answer_button(ack: Ack, body: dict) -> None:
        ack()
        user = body["user"]["id"]
        _ = ctx.tr(user)
        try:
            event_id = int(body["actions"][0].get("value") or "")
        except ValueError:
            return
        check = core_cases.check_reporter(core, event_id, user)
        if not check.ok:
            tell_after_ack(body, user, result_text(_, check))
            return
        view = modal(_, REPORTER_MODAL, _("Answer"), {"e": event_id, "s": check.signal_id,
                                                      "c": container_channel(body), "t": container_thread(body)}, [
            m.section(_("Signal {reference}: your answer goes to the attention officer.", reference=check.reference)),
            text_input("text", _("Your answer")),
        ])
        open_view(body, user, view)

    @app.view(REPORTER_MODAL)
    def on_answer_submit(ack: Ack, body: dict, view: dict) -> None:
        user = body["user"]["id"]
        _ = ctx.tr(user)
        meta = json.loads(view.get("private_metadata") or "{}")
        text = text_of(values(view), "text")
        problem = text_problem(_, text)
        if problem:
            ack(response_action="errors", errors={"text": problem})
            return
        ack()
        ctx.after_ack(_reporter_answer, meta, user, text or "")

    @ctx.work_fn
    def _reporter_answer(meta: dict, user: str, text: str) -> None:
        result = core_cases.reporter_answer(core, int(meta.get("s") or 0), user, text,
                                            question_event_id=int(meta.get("e") or 0))
        report(meta, user, result, meta=True)

    # -- partner buttons --------------------------------------------------------------------------

    def partner_button(kind: str, callback: str, title: str, label: str) -> Any:
        def on_click(ack: Ack, body: dict) -> None:
            ack()
            user = body["user"]["id"]
            _ = ctx.tr(user)
            try:
                item = int(body["actions"][0].get("value") or "")
            except ValueError:
                return
            check = core_cases.check_partner(core, kind, item, user)
            if not check.ok:
                tell_after_ack(body, user, result_text(_, check))
                return
            view = modal(_, callback, _(title), {"i": item, "c": container_channel(body),
                                                 "t": container_thread(body)}, [
                m.section(_("Signal {reference}: your answer goes to the attention officer only.",
                            reference=check.reference)),
                text_input("text", _(label)),
            ])
            open_view(body, user, view)

        return on_click

    app.action("partner:advice")(partner_button("consultation", ADVICE_MODAL, N_("Give advice"), N_("Your advice")))
    app.action("partner:outcome")(partner_button("handover", OUTCOME_MODAL, N_("Report outcome"),
                                                 N_("Outcome and next steps")))

    @app.view(re.compile(rf"^({ADVICE_MODAL}|{OUTCOME_MODAL})$"))
    def on_partner_submit(ack: Ack, body: dict, view: dict) -> None:
        user = body["user"]["id"]
        _ = ctx.tr(user)
        meta = json.loads(view.get("private_metadata") or "{}")
        text = text_of(values(view), "text")
        problem = text_problem(_, text)
        if problem:
            ack(response_action="errors", errors={"text": problem})
            return
        ack()
        ctx.after_ack(_partner_answer, view["callback_id"], meta, user, text or "")

    @ctx.work_fn
    def _partner_answer(callback_id: str, meta: dict, user: str, text: str) -> None:
        item = int(meta.get("i") or 0)
        if callback_id == ADVICE_MODAL:
            result = core_cases.give_advice(core, item, user, text)
        else:
            result = core_cases.record_outcome(core, item, user, text)
        report(meta, user, result, meta=True)

    # -- replies typed in threads -----------------------------------------------------------------

    def on_reporter_thread(ctx_: SlackContext, event: dict, root: Any) -> None:
        """The reporter writes in their signal thread after sending: relay it to the case thread."""
        user, text = event.get("user") or "", event.get("text") or ""
        if root is None or root.signal_id is None:
            return
        _ = ctx.tr(user)
        result = core_cases.reporter_answer(core, root.signal_id, user, text)
        if result.ok:
            ctx.ephemeral(event["channel"], user, _("Sent to the attention officer."), event["thread_ts"])
        else:
            ctx.ephemeral(event["channel"], user, result_text(_, result), event["thread_ts"])

    def on_case_thread(ctx_: SlackContext, event: dict, root: Any) -> None:
        """The AF writes in the case card's thread: an internal note, never sent to the reporter."""
        user, text = event.get("user") or "", event.get("text") or ""
        if root is None or root.signal_id is None:
            return
        _ = ctx.tr(user)
        result = core_cases.note(core, root.signal_id, user, text)
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

    hooks.THREAD_HANDLERS["reporter_root:submitted"] = on_reporter_thread
    hooks.THREAD_HANDLERS["case_card"] = on_case_thread
