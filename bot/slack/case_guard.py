"""One gate for every case action: who may act (flows.permissions) and whether the case's state
allows it (flows.cases). A forged or stale click gets an ephemeral explanation and changes nothing.

The check and the action run after the ack (`ctx.after_ack`), except for an action that opens a modal
(`hooks.case_modal`): views.open needs the click's trigger_id within 3 s, so that one is checked and
opened in the listener."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from slack_bolt import Ack, App
from sqlmodel import Session

from bot.core import access, audit
from bot.i18n import N_, Translate
from bot.slack import hooks
from bot.slack.case_views import case_view
from bot.slack.common import SlackContext, container_channel, container_thread
from flows.cases import CaseAction, Reason, decide
from flows.permissions import Denial, can_act_on_case
from models import Signal
from models.db import session_scope

log = logging.getLogger(__name__)
# How a refused click is answered: ctx.ephemeral in after-ack work, ctx.ephemeral_after_ack in the listener.
Tell = Callable[[str | None, str, str, str | None], None]

DENIALS = {
    Denial.NOT_AF_OF_MUNICIPALITY: N_("Only the attention officers (AF and backup) of this signal's municipality can "
                                   "do this. Nothing was changed."),
    Denial.AGGREGATES_ONLY: N_("As ketenregisseur you see figures, not the content of cases. Nothing was changed."),
    Denial.PARTNER_RECORDS_ONLY: N_("Partners give advice or report an outcome with the button in the request the "
                                 "bot sent them in a direct message, not through the case card. Nothing was "
                                 "changed."),
    Denial.PARTNER_NOT_INVOLVED: N_("This case was not sent to your organisation."),
    Denial.NOT_YOUR_SIGNAL: N_("This is not your signal."),
    Denial.REPORTER_VIEW_ONLY: N_("You reported this signal; the attention officer handles it. Nothing was changed."),
}
REFUSALS = {
    Reason.CLOSED: N_("This case is closed. Reopen it first if you need to change something."),
    Reason.NOT_CLOSED: N_("This case is not closed, so it cannot be reopened."),
    Reason.NOT_SUBMITTED: N_("This signal has not been sent yet."),
    Reason.ALREADY_CLAIMED: N_("{who} already handles this case."),
    Reason.NEEDS_CONCLUSION: N_("Record a conclusion before closing the case."),
    Reason.FEEDBACK_MISSING: N_("The reporter asked for feedback and has had none yet. Give feedback first, or "
                             "say why not when closing."),
}


def denial_text(_: Translate, reason: Denial | None) -> str:
    return _(DENIALS.get(reason, N_("You cannot do this. Nothing was changed."))) if reason else ""


def refusal_text(_: Translate, reason: Reason | None, who: str | None = None) -> str:
    text = REFUSALS.get(reason) if reason else None
    if text is None:
        return _("This is not possible in the current state of the case. Nothing was changed.")
    return _(text, who=f"<@{who}>") if "{who}" in text else _(text)


def check(ctx: SlackContext, user: str, signal_id: int, action: str) -> tuple[bool, str | None]:
    """(allowed, message for the user when not)."""
    _ = ctx.tr(user)
    with session_scope(ctx.core.engine) as session:
        signal = session.get(Signal, signal_id)
        if signal is None or signal.purged_at:
            return False, _("This signal no longer exists (it may have been removed according to the retention "
                            "period).")
        actor = access.actor(session, user)
        permission = can_act_on_case(actor, access.case_ref(session, signal), action)
        if not permission:
            audit.record(session, user, "case.denied", signal_id=signal.id, subject=action,
                         reason=str(permission.reason), at=ctx.core.clock.now())
            return False, denial_text(_, permission.reason)
        decision = decide(case_view(session, signal), action)
        # Input-dependent refusals (a conclusion still to choose, a reason still to write) are for the
        # action's modal to handle, not for the button.
        if not decision.allowed and decision.reason not in (Reason.NEEDS_CONCLUSION, Reason.FEEDBACK_MISSING,
                                                             Reason.RATIONALE_REQUIRED, Reason.UNKNOWN_CONCLUSION):
            return False, refusal_text(_, decision.reason, decision.claimed_by)
    return True, None


def parse_click(body: dict) -> tuple[CaseAction, int] | None:
    """(action, signal id) of a click on a case card: a button, or an entry of its ⋯ menu."""
    act = body["actions"][0]
    name = act["action_id"].split(":", 1)[1]
    value = act.get("value") or ""
    if name == "more":  # overflow: "<action>:<signal id>"
        name, _sep, value = (act.get("selected_option") or {}).get("value", "").partition(":")
    try:
        return CaseAction(name), int(value)
    except ValueError:
        return None


@hooks.feature
def register(ctx: SlackContext, app: App) -> None:
    def guarded(body: dict, action: CaseAction, signal_id: int, handler: Callable[..., None] | None,
                tell: Tell) -> None:
        """Check the click, then run the action's handler; `tell` answers a refused click."""
        user = body["user"]["id"]
        channel, thread = container_channel(body), container_thread(body)
        allowed, message = check(ctx, user, signal_id, action)
        if not allowed:
            tell(channel, user, message or "", thread)
            return
        if handler is None:
            log.error("no handler for case action %s", action.value)
            _ = ctx.tr(user)
            tell(channel, user, _("Something went wrong. Please try again; if it keeps happening, contact your "
                                  "attention officer."), thread)
            return
        with Session(ctx.core.engine) as session:
            who = access.actor(session, user)
        handler(ctx, body, signal_id, who)

    @app.action(re.compile(r"^case:[a-z_]+$"))
    def on_case_action(ack: Ack, body: dict) -> None:
        ack()
        user = body["user"]["id"]
        parsed = parse_click(body)
        if parsed is None:
            _ = ctx.tr(user)
            ctx.ephemeral_after_ack(container_channel(body), user, _("This button no longer works (the message is "
                                                                     "out of date)."), container_thread(body))
            return
        action, signal_id = parsed
        needed, opener = hooks.CASE_MODALS.get(action.value, (None, None))
        if opener is not None and needed is not None and needed(ctx, signal_id):
            # views.open needs the click's trigger_id (3 s): check and open here (a refusal is told after the ack).
            guarded(body, action, signal_id, opener, ctx.ephemeral_after_ack)
            return
        ctx.after_ack(_act, body, action.value, signal_id)

    @ctx.work_fn
    def _act(body: dict, action: str, signal_id: int) -> None:
        guarded(body, CaseAction(action), signal_id, hooks.CASE_ACTIONS.get(action), ctx.ephemeral)
