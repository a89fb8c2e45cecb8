"""Helpers shared by the Slack listeners: who is the user, in which language, and how to tell
them something privately."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

from bot.core import people
from bot.core.context import Core
from bot.i18n import Translate, language_for, translator
from models import Person
from models.db import session_scope

log = logging.getLogger(__name__)
LOCALE_TTL = timedelta(days=1)


@dataclass
class SlackContext:
    core: Core
    client: WebClient

    def lang(self, user_id: str | None) -> str:
        with Session(self.core.engine) as session:
            return people.language_of(session, user_id, self.core.settings.language)

    def tr(self, user_id: str | None) -> Translate:
        return translator(self.lang(user_id))

    def refresh_locale(self, user_id: str) -> str:
        """Learn the user's Slack language (users.info include_locale), at most once a day."""
        now = self.core.clock.now()
        with Session(self.core.engine) as session:
            person = session.exec(select(Person).where(Person.user_id == user_id)).first()
            if person and person.locale_checked_at and now - person.locale_checked_at < LOCALE_TTL:
                return language_for(person.locale, self.core.settings.language)
        locale = None
        try:
            resp = self.client.users_info(user=user_id, include_locale=True)
            user = resp.get("user") or {}
            locale = user.get("locale")
            name = user.get("real_name") or user.get("name")
        except SlackApiError as exc:
            log.warning("users.info failed (%s); using the default language", exc.response.get("error"))
            return self.core.settings.language
        with session_scope(self.core.engine) as session:
            people.remember_locale(session, user_id, locale, now)
            person = people.get_or_create(session, user_id)
            if name and not person.name:
                person.name = name
        return language_for(locale, self.core.settings.language)

    def ephemeral(self, channel: str | None, user: str, text: str, thread_ts: str | None = None,
                  blocks: list | None = None) -> None:
        """Tell one user something privately; never fails the listener."""
        if not channel:
            channel = user
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts,
                                           blocks=blocks)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in {"user_not_in_channel", "channel_not_found", "not_in_channel"} and channel != user:
                # Someone outside the channel (a forged or shared click) still gets the explanation,
                # in their DM with the bot.
                self.ephemeral(user, user, text, None, blocks)
                return
            log.warning("chat.postEphemeral failed: %s", error)


def container_channel(body: dict) -> str | None:
    return (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")


def container_thread(body: dict) -> str | None:
    container = body.get("container") or {}
    return container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")
