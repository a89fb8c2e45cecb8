"""Reminders on Slack: the Snooze buttons ("Morgen", "Over 3 werkdagen") under a reminder.

Only the AF and backup of the case's municipality may snooze (decided in `bot.core.reminders`
through `flows.permissions`); anyone else gets a private explanation and nothing changes.
"""

from __future__ import annotations

import re

from slack_bolt import Ack, App

from bot.core import reminders as core_reminders
from bot.slack import hooks
from bot.slack.common import SlackContext, container_channel, container_thread, result_text
from bot.slack.reminder_views import snooze_answer


@hooks.feature
def register(ctx: SlackContext, app: App) -> None:
    # The event handlers that arm reminders only get a session: tell them this database's calendar
    # (BOT_TIMEZONE) and ladder (the region's reminders.yaml).
    core_reminders.configure(ctx.core)

    @app.action(re.compile(r"^reminder:snooze:(tomorrow|3_working_days)$"))
    def on_snooze(ack: Ack, body: dict) -> None:
        ack()
        ctx.after_ack(_snooze, body)

    @ctx.work_fn
    def _snooze(body: dict) -> None:
        user = body["user"]["id"]
        act = body["actions"][0]
        _ = ctx.tr(user)
        channel, thread = container_channel(body), container_thread(body)
        try:
            deadline_id = int(act.get("value") or "")
        except ValueError:
            deadline_id = 0
        result = core_reminders.snooze(ctx.core, deadline_id, user, act["action_id"].rsplit(":", 1)[1])
        if result.ok and result.until is not None:
            text = snooze_answer(_, result.until, ctx.core.settings.tz)
        else:
            text = result_text(_, result)
        ctx.ephemeral(channel, user, text, thread)
