"""Helpers shared by the Slack listeners: who is the user, in which language, and how to tell
them something privately."""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from bot.core import inbox, people, platforms
from bot.core.intake import INBOX as INBOX  # re-exported: the hand-over's key lives in the core
from bot.core.intake import Intake, work_key
from bot.core.intake import WorkExecutor as WorkExecutor
from bot.core.result import Result, message
from bot.i18n import Translate, language_for, translator
from bot.slack import hooks
from models import Person
from models.db import session_scope

log = logging.getLogger(__name__)
_LOCALE_OF = sa_select(Person.__table__.c.locale).where(Person.__table__.c.user_id == bindparam("user_id"))
# learning_locale → after_ack: the user whose language the listener's after-ack work refreshes first.
_REFRESH_FIRST: ContextVar[str | None] = ContextVar("refresh_first", default=None)
_LOCALE_CHECKED_AT = sa_select(Person.__table__.c.locale_checked_at).where(
    Person.__table__.c.user_id == bindparam("user_id"))
# delivery_key → after_ack: the platform's id of the request being handled, so each piece of work it
# starts is stored once however often the request is delivered (set per request by a middleware).
_DELIVERY: ContextVar[list[Any] | None] = ContextVar("delivery", default=None)
# An event-loop dispatch (bot.slack.http): after_ack's rows, stored together before the answer.
_COLLECTED: ContextVar[list[Any] | None] = ContextVar("collected", default=None)
LOCALE_TTL = timedelta(days=1)
LANG_CACHE_SECONDS = 60.0
LANG_CACHE_SIZE = 10_000


def delivery_key(body: dict[str, Any]) -> str | None:
    """Slack's identity of one delivery, the same when Slack retries or the same request comes twice:
    the event id, the view id + hash of a submission, action_ts + action of a click, the trigger id of a
    command or shortcut. None for what carries no such id."""
    kind = body.get("type")
    if kind == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view") or {}
        if view.get("id"):
            # A view's hash changes only when the bot updates it: what was filled in tells apart a
            # corrected second submission of the same view from the same one delivered twice.
            state = json.dumps((view.get("state") or {}).get("values") or {}, sort_keys=True)
            digest = hashlib.sha256(state.encode()).hexdigest()[:16]
            return f"view:{view['id']}:{view.get('hash') or ''}:{digest}:{kind}"
    if kind == "block_actions":
        action = (body.get("actions") or [{}])[0]
        if action.get("action_ts"):
            user = (body.get("user") or {}).get("id") or ""
            return f"action:{user}:{action['action_ts']}:{action.get('block_id') or ''}:{action.get('action_id') or ''}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None


def start_delivery(body: dict[str, Any]) -> None:
    """A middleware calls this for every request, before its listener."""
    key = delivery_key(body)
    _DELIVERY.set([key, 0] if key else None)


class ContextExecutor(ThreadPoolExecutor):
    """Bolt's listener executor (when the ack does not wait for the listener): the listener runs with
    the request's context variables (its delivery key), as it does in the request's own thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


@dataclass(kw_only=True)
class SlackContext(Intake):
    """The Slack edge's intake (bot.core.intake.Intake), with what is Slack's: each request's delivery
    key, the users' languages, private answers."""

    client: WebClient
    # process_before_response: the listener's return is the ack, and Bolt runs the middleware and then
    # the listener in the request's thread (learn_locale relies on both).
    answers_after_listener: bool = False
    # What the app's features add (bot.slack.app.registry()): subcommands, thread handlers, App Home
    # sections, templates, case actions. One per app.
    registry: hooks.Registry = field(default_factory=hooks.Registry, repr=False)
    _langs: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)  # user → (lang, until)
    _checked: dict[str, datetime] = field(default_factory=dict, repr=False)  # user → locale asked of Slack

    def __post_init__(self) -> None:
        self.work_fn(self.ephemeral)
        self.work_fn(self.refresh_locale)
        self.work_fn(self._refreshed_then)

    def after_ack(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a listener's work after its `ack()`, off the request path, durably: the work is stored
        in the inbox (bot.core.inbox) before this returns, so before the listener's answer goes back,
        and it is deduplicated by the request's delivery key. Then it runs in the work process when
        there is one, else on this process's WorkExecutor; a crash meanwhile leaves it to the inbox's
        recovery. Only for work that needs no trigger_id: `views.open` stays in the listener (3 s
        limit). `fn` must be registered with `work_fn`; its arguments must be JSON (dicts, lists,
        strings, numbers)."""
        key = work_key(fn)
        registered = self._work_fns.get(key)
        if registered != fn and getattr(registered, "func", None) is not fn:
            raise LookupError(f"{key} is not registered with SlackContext.work_fn")
        user = _REFRESH_FIRST.get()
        if user is not None:  # learn_locale: the user's language first, in the same piece of work
            _REFRESH_FIRST.set(None)
            key, args = work_key(self._refreshed_then), (user, key, args)
        dedupe = inbox.child_key()  # handed on by after-ack work: the same key when that work is rerun
        delivery = _DELIVERY.get()
        if dedupe is None and delivery is not None:
            delivery[1] += 1  # a listener that hands on several pieces: each its own key, in order
            dedupe = f"{delivery[0]}#{delivery[1]}"
        row = (dedupe or f"local:{uuid.uuid4().hex}", key, list(args))
        collected = _COLLECTED.get()
        if collected is not None:  # dispatched on the event loop: stored by `store_collected` before the ack
            collected.append(row)
            return
        self.hand_over([row], self.writer.submit([row]).result())

    @staticmethod
    def collect() -> tuple[list[inbox.Row], contextvars.Token[list[inbox.Row] | None]]:
        """For a request dispatched on the event loop: after_ack collects its rows instead of waiting for
        the database on the loop; the caller awaits `store_collected` before it sends the answer."""
        rows: list[inbox.Row] = []
        return rows, _COLLECTED.set(rows)

    @staticmethod
    def stop_collecting(token: contextvars.Token[list[inbox.Row] | None]) -> None:
        _COLLECTED.reset(token)

    async def store_collected(self, rows: list[inbox.Row]) -> None:
        """Store what a request dispatched on the loop handed on (the loop serves others meanwhile;
        concurrent requests share one commit), then hand it over."""
        self.hand_over(rows, await self.writer.submit_async(rows))

    def lang(self, user_id: str | None) -> str:
        """The user's language. Asked on every request that answers someone, so once known it is
        remembered for a minute (it changes only when Slack tells a new locale: refresh_locale)."""
        if not user_id:
            return self.core.settings.language
        now = time.monotonic()
        known = self._langs.get(user_id)
        if known is not None and known[1] > now:
            return known[0]
        with self.core.engine.connect() as conn:
            locale = conn.execute(_LOCALE_OF, {"user_id": user_id}).scalar()
        lang = language_for(locale, self.core.settings.language)
        if locale is not None:  # not yet known: ask again (the work process may be learning it now)
            if len(self._langs) >= LANG_CACHE_SIZE:
                self._langs.clear()
            self._langs[user_id] = (lang, now + LANG_CACHE_SECONDS)
        return lang

    def tr(self, user_id: str | None) -> Translate:
        return translator(self.lang(user_id))

    def learn_locale(self, user_id: str) -> None:
        """Before a listener answers someone (middleware): their language known. At first contact
        it is asked of Slack at once (the listener's answer may be in it). A day after it was last
        asked, again: when the listener's return is the ack, after the ack (the known one serves
        meanwhile, so the ack path makes no Web API call), as the first step of the listener's own
        after-ack work, so that what the work writes is in the new language. (A listener that hands
        nothing on leaves it to the user's next one that does.)"""
        _REFRESH_FIRST.set(None)  # set per request: Bolt runs its middleware, then the listener
        now = self.core.clock.now()
        checked = self._checked.get(user_id)  # known fresh here: no read on every click
        if checked is not None and now - checked < LOCALE_TTL:
            return
        try:
            with self.core.engine.connect() as conn:
                checked = conn.execute(_LOCALE_CHECKED_AT, {"user_id": user_id}).scalar()
            if checked is not None and now - checked < LOCALE_TTL:
                if len(self._checked) >= LANG_CACHE_SIZE:
                    self._checked.clear()
                self._checked[user_id] = checked
                return
            if checked is None or not self.answers_after_listener:
                self.refresh_locale(user_id)
            else:
                _REFRESH_FIRST.set(user_id)
        except Exception:  # noqa: BLE001 - the language known (or the default) is a fine fallback
            log.warning("could not learn the language of a user; using the default")

    def _refreshed_then(self, user_id: str, key: str, args: list[Any]) -> None:
        """After-ack work that learn_locale put the user's language first in."""
        with inbox.aside():  # learning the language is not the work's effect: that is still to come
            self.refresh_locale(user_id)
        self._work_fns[key](*args)

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
            team = str(user.get("team_id") or "")
        except SlackApiError as exc:
            log.warning("users.info failed (%s); using the default language", exc.response.get("error"))
            return self.core.settings.language
        with session_scope(self.core.engine) as session:
            # A Slack user id is its person key; resolving records the identity's team, once known.
            people.resolve(session, platforms.SLACK, team, user_id)
            people.remember_locale(session, user_id, locale, now)
            person = people.get_or_create(session, user_id)
            if name and not person.name:
                person.name = name
        self._langs.pop(user_id, None)
        return language_for(locale, self.core.settings.language)

    def ephemeral_after_ack(self, channel: str | None, user: str, text: str, thread_ts: str | None = None) -> None:
        """`ephemeral` as after-ack work: a listener's answer need not wait for this Web API call."""
        self.after_ack(self.ephemeral, channel, user, text, thread_ts)

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


def result_text(_: Translate, result: Result) -> str:
    """Why a core service refused, in the user's language: the core's msgid (`bot.core.result`),
    translated, with a person shown as a Slack mention."""
    text, params = message(result)
    if "who" in params:
        params["who"] = f"<@{params['who']}>"
    return _(text, **params)
