"""One gate for every case action: who may act (flows.permissions) and whether the case's state
allows it (flows.cases). A forged or stale click gets an ephemeral explanation and changes nothing.

The check and the action run after the ack (`ctx.after_ack`), except for an action that opens a modal
(its row in `bot.slack.cases.CASE_ACTIONS`): views.open needs the click's trigger_id within 3 s, so
that one is checked and opened in the listener."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from slack_bolt import Ack, App

from bot.core import cases as core_cases
from bot.slack import hooks
from bot.slack.cases import act_on_click, open_action_modal
from bot.slack.common import SlackContext, container_channel, container_thread, result_text
from flows.cases import CaseAction

log = logging.getLogger(__name__)
# How a refused click is answered: ctx.ephemeral in after-ack work, ctx.ephemeral_after_ack in the listener.
Tell = Callable[[str | None, str, str, str | None], None]
# (ctx, body, action, signal id, user): what an allowed click does.
Handler = Callable[[SlackContext, dict, CaseAction, int, str], None]


def check(ctx: SlackContext, user: str, signal_id: int, action: str) -> tuple[bool, str | None]:
    """(allowed, message for the user when not): the core's gate (`bot.core.cases.check`)."""
    result = core_cases.check(ctx.core, signal_id, user, CaseAction(action))
    return result.ok, (None if result.ok else result_text(ctx.tr(user), result))


def parse_click(body: dict) -> tuple[CaseAction, int] | None:
    """(action, signal id) of a click on a case card: a button, or an entry of its ⋯ menu."""
    act = body["actions"][0]
    name = act["action_id"].split(":", 1)[1]
    value = act.get("value") or ""
    if name == "more" or name.startswith("more_"):  # an overflow menu: "<action>:<signal id>"
        name, _sep, value = (act.get("selected_option") or {}).get("value", "").partition(":")
    try:
        return CaseAction(name), int(value)
    except ValueError:
        return None


def guarded(ctx: SlackContext, body: dict, action: CaseAction, signal_id: int, handler: Handler | None,
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
    handler(ctx, body, action, signal_id, user)


def on_case_action(ctx: SlackContext, ack: Ack, body: dict) -> None:
    """A click on a case card's action (`ctx.registry.case_actions`, the table in bot.slack.cases)."""
    ack()
    user = body["user"]["id"]
    parsed = parse_click(body)
    if parsed is None:
        _ = ctx.tr(user)
        ctx.ephemeral_after_ack(container_channel(body), user, _("This button no longer works (the message is "
                                                                 "out of date)."), container_thread(body))
        return
    action, signal_id = parsed
    spec = ctx.registry.case_actions.get(action)
    if spec is not None and spec.opens_modal(ctx, signal_id):
        # views.open needs the click's trigger_id (3 s): check and open here (a refusal is told after the ack).
        guarded(ctx, body, action, signal_id, open_action_modal, ctx.ephemeral_after_ack)
        return
    ctx.after_ack(act, body, action.value, signal_id)


def act(ctx: SlackContext, body: dict, action: str, signal_id: int) -> None:
    """After the ack: check the click and run the action's step (when it acts on a click)."""
    spec = ctx.registry.case_actions.get(action)
    guarded(ctx, body, CaseAction(action), signal_id, act_on_click if spec is not None and spec.acts_on_click
            else None, ctx.ephemeral)


@hooks.feature
def register(ctx: SlackContext, app: App) -> None:
    app.action(re.compile(r"^case:[a-z_]+$"))(lambda ack, body: on_case_action(ctx, ack, body))
    ctx.work_fn_of(act, stored_as=("bot.slack.case_guard:register.<locals>._act",))
