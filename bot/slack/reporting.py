"""Ways into the reporting loop besides `/signaal`, and the acute way out of it:

- **Nu versturen** (the acute notice's button): the draft is sent at once with the answers so far;
  the remaining questions stay open in the same thread (`bot.core.triage.send_now`).
- **Meld als signaal**, a message shortcut: a new signal with that message's text as its description.
  Nothing else of the message is kept (not its channel, author or time); the original stays where it
  is, and the reporter is reminded they may want to remove sensitive details from the channel.
- **Signaal melden**, a global shortcut (the search bar's shortcut menu): a new signal, as `/signaal`.

Each listener only acks; the work goes through `ctx.after_ack`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.core import triage
from bot.core.result import Result
from bot.slack import hooks
from bot.slack.common import SlackContext, container_channel, container_thread, result_text

log = logging.getLogger(__name__)

SEND_NOW = "triage:send_now"
FROM_MESSAGE = "signal_from_message"  # slack-app-manifest.yaml: the message shortcut "Meld als signaal"
START = "signal_start"  # slack-app-manifest.yaml: the global shortcut "Signaal melden"


def slack_text(text: str | None) -> str:
    """A message's `text` as the person wrote it: Slack escapes &, < and > in it (our own display
    escapes them again)."""
    return (text or "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# -- Nu versturen


def on_send_now(ctx: SlackContext, ack: Ack, body: dict) -> None:
    ack()
    ctx.after_ack(send_now, body["user"]["id"], body["actions"][0].get("value") or "",
                  container_channel(body), container_thread(body))


def send_now(ctx: SlackContext, user: str, value: str, channel: str | None, thread: str | None) -> None:
    result = triage.send_now(ctx.core, int(value), user) if value.isdigit() else Result(False)
    if not result.ok:
        ctx.ephemeral(channel, user, result_text(ctx.tr(user), result), thread)


# -- the shortcuts


def on_message_shortcut(ctx: SlackContext, ack: Ack, body: dict) -> None:
    ack()
    # Only the text is handed on: the message's channel, author and time are not kept anywhere.
    text = slack_text((body.get("message") or {}).get("text"))
    ctx.after_ack(start_from_message, body["user"]["id"], text, body.get("response_url"))


def start_from_message(ctx: SlackContext, user: str, text: str, response_url: str | None) -> None:
    ctx.refresh_locale(user)
    _ = ctx.tr(user)
    result = triage.start(ctx.core, user, text or None, from_message=True)
    answer = (_("I have sent you a private message: answer the questions there.") if result.ok
              else result_text(_, result))
    if response_url:
        try:
            Respond(response_url=response_url)(text=answer, response_type="ephemeral")
        except Exception:  # noqa: BLE001 - the signal was started; the note in the channel is a courtesy
            log.warning("could not answer the message shortcut through its response_url")
    elif not result.ok:
        ctx.ephemeral(None, user, answer)


def on_global_shortcut(ctx: SlackContext, ack: Ack, body: dict) -> None:
    ack()
    ctx.after_ack(start_from_shortcut, body["user"]["id"])


def start_from_shortcut(ctx: SlackContext, user: str) -> None:
    ctx.refresh_locale(user)
    result = triage.start(ctx.core, user)
    if not result.ok:
        ctx.ephemeral(None, user, result_text(ctx.tr(user), result))


@hooks.feature
def register(ctx: SlackContext, app: App) -> None:
    app.action(SEND_NOW)(lambda ack, body: on_send_now(ctx, ack, body))
    app.message_shortcut(FROM_MESSAGE)(lambda ack, body: on_message_shortcut(ctx, ack, body))
    app.global_shortcut(START)(lambda ack, body: on_global_shortcut(ctx, ack, body))
    for fn in (send_now, start_from_message, start_from_shortcut):
        ctx.work_fn_of(fn)


@hooks.inline
def acks_and_hands_on(request: dict[str, Any], registry: hooks.Registry) -> bool:
    """Nu versturen and both shortcuts only ack and hand their work on."""
    kind = request.get("type")
    if kind == "block_actions":
        actions = request.get("actions") or []
        return len(actions) == 1 and actions[0].get("action_id") == SEND_NOW
    if kind == "message_action":
        return request.get("callback_id") == FROM_MESSAGE
    if kind == "shortcut":
        return request.get("callback_id") == START
    return False
