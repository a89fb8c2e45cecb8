"""Rendering: a MessageRef (template + opaque ref) and current database state → Slack text and blocks.

The top-level `text` is what a phone shows as the push preview, so it never carries case content.
Each feature module marks its templates with `@template("name")` (bot.slack.hooks); the app's
registry (`bot.slack.app.registry()`) collects them and the deliverer renders with that table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.config import Settings
from bot.core import people
from bot.i18n import Translate, translator
from bot.slack import hooks
from flows.questionnaire import Questionnaire
from models import MessageRef


@dataclass(frozen=True)
class Upload:
    """A file that goes with a message (a chart): uploaded into the conversation (files_upload_v2)."""

    filename: str
    content: bytes
    title: str
    alt: str = ""


@dataclass(frozen=True)
class Rendered:
    text: str
    blocks: list[dict[str, Any]]
    files: tuple[Upload, ...] = ()  # when set, a post uploads these with `text` as its comment


@dataclass
class RenderContext:
    session: Session
    settings: Settings
    questionnaire: Questionnaire
    msg: MessageRef
    _: Translate

    @property
    def tz(self) -> Any:
        return self.settings.tz


Template = Callable[[RenderContext], Rendered]
template = hooks.template


def language_for_message(session: Session, settings: Settings, msg: MessageRef) -> str:
    """A DM speaks the recipient's language; a shared (private) channel the bot's default."""
    return people.language_of(session, msg.recipient, settings.language)


def render(session: Session, settings: Settings, questionnaire: Questionnaire, msg: MessageRef,
           lang: str | None = None, *, templates: Mapping[str, Template]) -> Rendered:
    """`msg` as it reads now, in `lang` (by default: language_for_message)."""
    lang = lang or language_for_message(session, settings, msg)
    ctx = RenderContext(session, settings, questionnaire, msg, translator(lang))
    try:
        fn = templates[msg.template]
    except KeyError as exc:
        raise LookupError(f"no template {msg.template!r}") from exc
    return fn(ctx)


def tombstone(_: Translate) -> Rendered:
    text = _("Details removed according to the retention period.")
    return Rendered(text, [{"type": "context", "elements": [{"type": "mrkdwn", "text": f"_{text}_"}]}])
