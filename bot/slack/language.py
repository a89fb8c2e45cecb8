"""Speak each person's language from their first contact: /signaal learns it itself; here button
clicks, form submissions and shortcuts do too (users.info include_locale: at first contact before
the listener answers, then at most once a day; in HTTP mode's front after the ack)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack import hooks
from bot.slack.common import SlackContext

INTERACTIVE = frozenset({"block_actions", "view_submission", "shortcut", "message_action"})


@hooks.feature
def register(ctx: SlackContext, app: App) -> None:
    @app.middleware
    def learn_language(body: dict, next: Any) -> Any:  # noqa: A002 - Bolt's name for the next middleware
        user = (body.get("user") or {}).get("id") if body.get("type") in INTERACTIVE else None
        if user:
            ctx.learn_locale(user)
        return next()
