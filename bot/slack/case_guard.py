"""One gate for every case action: who may act (flows.permissions) and whether the case's state
allows it (flows.cases). A forged or stale click gets an ephemeral explanation and changes nothing."""

from __future__ import annotations

import logging
import re

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

DENIALS = {
    Denial.NOT_AF_OF_MUNICIPALITY: N_("Only the attention officers (AF and backup) of this signal's municipality can "
                                   "do this. Nothing was changed."),
    Denial.AGGREGATES_ONLY: N_("As ketenregisseur you see figures, not the content of cases. Nothing was changed."),
    Denial.PARTNER_RECORDS_ONLY: N_("Partners can only give advice or report an outcome on what was sent to them."),
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


@hooks.feature
def register(ctx: SlackContext, app: App) -> None:
    @app.action(re.compile(r"^case:[a-z_]+$"))
    def on_case_action(ack: Ack, body: dict) -> None:
        ack()
        user = body["user"]["id"]
        act = body["actions"][0]
        name = act["action_id"].split(":", 1)[1]
        value = act.get("value") or ""
        if name == "more":  # overflow: "<action>:<signal id>"
            name, _sep, value = (act.get("selected_option") or {}).get("value", "").partition(":")
        try:
            action = CaseAction(name)
            signal_id = int(value)
        except ValueError:
            _ = ctx.tr(user)
            ctx.ephemeral(container_channel(body), user, _("This button no longer works (the message is out of "
                                                           "date)."), container_thread(body))
            return
        allowed, message = check(ctx, user, signal_id, action)
        if not allowed:
            ctx.ephemeral(container_channel(body), user, message or "", container_thread(body))
            return
        handler = hooks.CASE_ACTIONS.get(action.value)
        if handler is None:
            log.error("no handler for case action %s", action.value)
            _ = ctx.tr(user)
            ctx.ephemeral(container_channel(body), user, _("Something went wrong. Please try again; if it keeps "
                                                           "happening, contact your attention officer."),
                          container_thread(body))
            return
        with Session(ctx.core.engine) as session:
            who = access.actor(session, user)
        handler(ctx, body, signal_id, who)
