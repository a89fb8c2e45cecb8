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

from bot.core import access
from bot.core import cases as core_cases
from bot.slack import hooks
from bot.slack.common import SlackContext, container_channel, container_thread, result_text
from flows.cases import CaseAction

log = logging.getLogger(__name__)
# How a refused click is answered: ctx.ephemeral in after-ack work, ctx.ephemeral_after_ack in the listener.
Tell = Callable[[str | None, str, str, str | None], None]


def check(ctx: SlackContext, user: str, signal_id: int, action: str) -> tuple[bool, str | None]:
    """(allowed, message for the user when not): the core's gate (`bot.core.cases.check`)."""
    result = core_cases.check(ctx.core, signal_id, user, CaseAction(action))
    return result.ok, (None if result.ok else result_text(ctx.tr(user), result))


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
