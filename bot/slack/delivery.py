"""The Slack side of the outbox: render a MessageRef and post, update or redact it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlmodel import Session, select

from bot.config import Settings
from bot.core import people, platforms
from bot.core.outbox import Delivered, NotReady, PermanentError, Refusal, TransientError, Unauthorized
from bot.i18n import language_for, translator
from bot.slack.render import Rendered, Template, language_for_message, render, tombstone
from flows.questionnaire import Questionnaire
from models import MessageRef, Person

log = logging.getLogger(__name__)
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# Slack refuses our token: no message can go until it is fixed (the outbox pauses as a whole).
AUTH_ERRORS = {"invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired"}
# The channel cannot take the message (bot not invited, archived, posting restricted).
PLACE_ERRORS = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


class SlackDeliverer:
    def __init__(self, client: WebClient, settings: Settings, questionnaire: Questionnaire,
                 now: Callable[[], datetime] | None = None, *, templates: Mapping[str, Template]) -> None:
        self.client = client
        self.templates = templates  # the app's registry: bot.slack.app.registry().templates
        self.settings = settings
        self.questionnaire = questionnaire
        self.now = now or (lambda: datetime.now(UTC))

    def language(self, session: Session, msg: MessageRef, learn: bool) -> str:
        """The language `msg` is written in: a DM speaks the recipient's, a channel the default
        (render.language_for_message), read with what `learn` needs in one query. `learn` (a new
        post): someone the bot has not heard from yet (a partner asked for advice, a member invited
        to a training) is written to in their Slack language too: ask Slack once (users.info)."""
        default = self.settings.language
        if not msg.recipient:
            return default
        row = session.exec(select(Person.locale, Person.locale_checked_at)
                           .where(Person.user_id == msg.recipient)).first()
        locale = row[0] if row is not None else None
        if learn and (row is None or row[1] is None):
            try:
                user = self.client.users_info(user=msg.recipient, include_locale=True).get("user") or {}
            except SlackApiError as exc:
                log.warning("users.info failed (%s); writing in the default language", exc.response.get("error"))
            else:
                locale = user.get("locale")
                people.remember_locale(session, msg.recipient, locale, self.now())
                session.flush()
        return language_for(locale, default)

    def __call__(self, session: Session, op: str, msg: MessageRef) -> Delivered:
        try:
            return self._deliver(session, op, msg)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error") or f"http_{status}")
            if status == 429 or error == "ratelimited":
                retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
                raise TransientError("ratelimited", float(retry_after) if retry_after else None) from exc
            if error in AUTH_ERRORS:
                raise Unauthorized(error) from exc
            if status >= 500 or error in TRANSIENT_ERRORS:
                raise TransientError(error) from exc
            raise PermanentError(error, Refusal.PLACE_UNREACHABLE if error in PLACE_ERRORS
                                 else Refusal.OTHER) from exc
        except (URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise TransientError(type(exc).__name__) from exc
        except SlackRequestError as exc:  # files_upload_v2: the upload URL did not take the file
            raise TransientError("upload_failed") from exc

    def probe(self) -> None:
        """auth.test: returns when Slack accepts the token again; Unauthorized while it does not."""
        try:
            self.client.auth_test()
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
            if error in AUTH_ERRORS:
                raise Unauthorized(error) from exc
            raise

    def _deliver(self, session: Session, op: str, msg: MessageRef) -> Delivered:
        # A MessageRef's (conversation, message id) is Slack's (channel, ts).
        if msg.platform != platforms.SLACK:
            raise PermanentError(f"not a Slack message: {msg.platform}"[:60])
        if op == "redact" or (op == "update" and msg.redacted_at is not None):
            # Once a tombstone, always a tombstone: a late update must not bring details back.
            lang = language_for_message(session, self.settings, msg)
            out = tombstone(translator(lang))
            self.client.chat_update(channel=msg.conversation, ts=msg.message_id, text=out.text, blocks=out.blocks)
            return Delivered(msg.conversation, msg.message_id)
        out = render(session, self.settings, self.questionnaire, msg, self.language(session, msg, op == "post"),
                     templates=self.templates)
        if op == "update":
            self.client.chat_update(channel=msg.conversation, ts=msg.message_id, text=out.text, blocks=out.blocks)
            return Delivered(msg.conversation, msg.message_id)
        if out.files:
            return self._upload(msg, out)
        thread_ts = None
        channel = msg.conversation or msg.recipient  # a person key of Slack's is their user id: their DM
        if msg.parent_id:
            parent = session.get(MessageRef, msg.parent_id)
            if parent is None or not parent.message_id:
                raise NotReady()
            thread_ts, channel = parent.message_id, parent.conversation
        resp = self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=out.text, blocks=out.blocks,
                                            unfurl_links=False, unfurl_media=False, metadata=marker(msg))
        return Delivered(resp["channel"], resp["ts"])

    def _upload(self, msg: MessageRef, out: Rendered) -> Delivered:
        """A post with files (the digest's charts): files_upload_v2 into the conversation, `text` as the
        comment. Slack shares the files into a channel ID, so a DM is opened first. The message id kept is
        the first file's id (Slack shares asynchronously: there is no message ts to keep)."""
        channel = msg.conversation
        if not channel:
            channel = self.client.conversations_open(users=msg.recipient)["channel"]["id"]
        resp = self.client.files_upload_v2(
            channel=channel, initial_comment=out.text,
            file_uploads=[{"content": f.content, "filename": f.filename, "title": f.title, "alt_txt": f.alt}
                          for f in out.files])
        files = resp.get("files") or []
        return Delivered(channel, str(files[0]["id"]) if files else None)

    def find(self, session: Session, msg: MessageRef) -> Delivered | None:
        """A post whose earlier attempt did not finish: look for it in its conversation by the marker
        every post carries (message metadata with the MessageRef's opaque id — no content); an upload
        by its comment and file names."""
        if msg.parent_id:
            parent = session.get(MessageRef, msg.parent_id)
            if parent is None or not parent.message_id:
                return None
            found = self.client.conversations_replies(channel=parent.conversation, ts=parent.message_id,
                                                      limit=200, include_all_metadata=True)
            channel = parent.conversation
        else:
            channel = msg.conversation
            if not channel and msg.recipient:
                channel = self.client.conversations_open(users=msg.recipient)["channel"]["id"]
            if not channel:
                return None
            since = msg.created_at.timestamp() - 60 if msg.created_at else 0
            found = self.client.conversations_history(channel=channel, oldest=f"{since:.6f}", limit=200,
                                                      include_all_metadata=True)
        messages = found.get("messages") or []
        for message in messages:
            if message.get("metadata") == marker(msg):
                return Delivered(channel, message["ts"])
        if not msg.parent_id and any(message.get("files") for message in messages):
            # An upload (the digest's charts) carries no metadata: it is the file message since then with
            # the same comment and the same file names (the comment names the month: one per digest).
            out = render(session, self.settings, self.questionnaire, msg, self.language(session, msg, False),
                         templates=self.templates)
            names = [f.filename for f in out.files]
            for message in messages:
                files = message.get("files") or []
                if names and message.get("text") == out.text and [f.get("name") for f in files] == names:
                    return Delivered(channel, str(files[0]["id"]))
        return None


def marker(msg: MessageRef) -> dict[str, Any]:
    return {"event_type": "signaalbot_message", "event_payload": {"ref": msg.id}}
