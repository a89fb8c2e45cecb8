"""`/signaal info`: the knowledge the regional policy asks to spread (flows/knowledge.yaml), for
everyone who may use the bot, privately (a slash command's answer only the person sees)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack

from bot.i18n import Translate
from bot.slack import hooks
from bot.slack import mrkdwn as m
from bot.slack.common import SlackContext
from flows.knowledge import Knowledge

MAX_BLOCKS = 50  # Slack's limit for a message


def knowledge_blocks(_: Translate, knowledge: Knowledge) -> list[dict[str, Any]]:
    """One section a topic: its title in bold, its text, its points as bullets (clipped to Slack's limits)."""
    blocks: list[dict[str, Any]] = [m.header(_("Human trafficking: what to know"))]
    for section in knowledge.sections:
        lines = ["*" + _(section.title) + "*"]
        if section.text:
            lines.append(_(section.text))
        lines += ["• " + _(point) for point in section.points]
        blocks.append(m.section("\n".join(lines)))
    blocks.append(m.context(_("To report a signal: type `/signaal`. Questions about this? Ask the attention "
                              "officer of your municipality.")))
    return blocks[:MAX_BLOCKS]


@hooks.subcommand("info", "kennis", "uitleg")
def info_command(ctx: SlackContext, ack: Ack, command: dict, respond: Any, rest: str) -> None:
    user = command["user_id"]
    ctx.learn_locale(user)  # in the person's language from the first contact (a Web API call only then)
    _ = ctx.tr(user)
    ack(text=_("Human trafficking: what to know"), blocks=knowledge_blocks(_, ctx.core.knowledge))
