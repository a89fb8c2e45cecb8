"""Helpers shared by the Slack listeners: who is the user, in which language, and how to tell
them something privately."""

from __future__ import annotations

import contextvars
import functools
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from bot.core import inbox, people, platforms
from bot.core.context import Core
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
INBOX = "__inbox__"  # run_work(INBOX, (item_id,)): run a stored inbox item (the work process's hand-over)
LOCALE_TTL = timedelta(days=1)
LANG_CACHE_SECONDS = 60.0
LANG_CACHE_SIZE = 10_000


class WorkExecutor:
    """Where a listener's work goes after its `ack()`: a few threads sized for the database, so
    Bolt's listener threads return at once and the next request is acked without waiting for
    database work (bench/NOTES.md, part 1). SQLite has one writer: one thread serialises the writes
    instead of sleeping in SQLite's busy handler; PostgreSQL takes more. Bounded: when `max_queued`
    items wait already, the work runs in the caller's thread (back-pressure, as before)."""

    def __init__(self, workers: int, max_queued: int = 1000) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="work")
        self._slots = threading.BoundedSemaphore(max_queued)
        self._closed = False
        self._waiting = 0  # submitted, not finished
        self._count = threading.Lock()

    @classmethod
    def for_database(cls, url: str) -> WorkExecutor:
        return cls(1 if url.startswith("sqlite") else 4)

    def busy(self) -> bool:
        """Work is queued or running here."""
        return self._waiting > 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._count:
            self._waiting += 1
        if self._closed or not self._slots.acquire(blocking=False):
            self._run(fn, args, release=False)
            return
        try:
            self._pool.submit(self._run, fn, args, True)
        except RuntimeError:  # shut down meanwhile
            self._slots.release()
            self._run(fn, args, release=False)

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...], release: bool) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - as Bolt's listener runner does: log, keep serving
            log.exception("work after ack failed in %s", getattr(fn, "__qualname__", fn))
        finally:
            with self._count:
                self._waiting -= 1
            if release:
                self._slots.release()

    def shutdown(self, wait: bool = True) -> None:
        """Finish what was queued (the acks were given), then stop."""
        self._closed = True
        self._pool.shutdown(wait=wait)


def work_key(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


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


@dataclass
class SlackContext:
    core: Core
    client: WebClient
    work: WorkExecutor | None = field(default=None, repr=False)
    # HTTP mode in two processes (bot/workproc.py): hands (key, args) to the work process; False when
    # it cannot take them (stopped, queue full), and the work runs here as in one process.
    forward: Callable[[str, tuple[Any, ...]], bool] | None = field(default=None, repr=False)
    # process_before_response: the listener's return is the ack, and Bolt runs the middleware and then
    # the listener in the request's thread (learn_locale relies on both).
    answers_after_listener: bool = False
    # What the app's features add (bot.slack.app.registry()): subcommands, thread handlers, App Home
    # sections, templates, case actions. One per app.
    registry: hooks.Registry = field(default_factory=hooks.Registry, repr=False)
    _work_fns: dict[str, Callable[..., Any]] = field(default_factory=dict, repr=False)
    _langs: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)  # user → (lang, until)
    _checked: dict[str, datetime] = field(default_factory=dict, repr=False)  # user → locale asked of Slack

    def __post_init__(self) -> None:
        self.work_fn(self.ephemeral)
        self.work_fn(self.refresh_locale)
        self.work_fn(self._refreshed_then)

    def work_fn(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Register a listener's after-ack work by name, so the work process (which builds the same
        app) can run it. Its arguments must be plain data (dicts, strings, numbers)."""
        key = work_key(fn)
        # `!=`, not `is not`: a bound method (self.ephemeral) is a new object at every access.
        if key in self._work_fns and self._work_fns[key] != fn:
            raise ValueError(f"two after-ack functions named {key}")
        self._work_fns[key] = fn
        return fn

    def work_fn_of(self, fn: Callable[..., Any], *, stored_as: tuple[str, ...] = ()) -> None:
        """Register a module-level `fn(ctx, *args)` as after-ack work of this app, bound to this context
        (`ctx.after_ack(fn, *args)` then runs `fn(ctx, *args)`). `stored_as`: keys an earlier version
        stored the same work under, so inbox items stored before an upgrade still run."""
        bound = functools.partial(fn, self)
        for key in (work_key(fn), *stored_as):
            known = self._work_fns.get(key)
            if known is not None and getattr(known, "func", None) is not fn:
                raise ValueError(f"two after-ack functions named {key}")
            self._work_fns[key] = bound

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

    @cached_property
    def writer(self) -> inbox.Writer:
        return inbox.Writer(self.core.engine)

    def hand_over(self, rows: list[inbox.Row], item_ids: list[int | None]) -> None:
        """Stored: now run them, with their arguments at hand (the database is read again only by
        recovery, when a hand-over got lost). On SQLite they were staged (`inbox.Staging`): the
        runner admits them into the inbox first, by their dedupe key."""
        staged = self.core.engine.dialect.name == "sqlite"
        for (dedupe, key, args), item_id in zip(rows, item_ids, strict=True):
            if item_id is None:
                log.info("a repeated delivery was handled before; not again")
                continue
            handed = (item_id, key, args, dedupe if staged else None)
            if self.forward is None or not self.forward(INBOX, handed):
                self.run_item(*handed)

    def run_item(self, item_id: int, key: str, args: list[Any], staged: str | None = None) -> None:
        """Run a stored inbox item that was just handed over: marked done with its effect, unless the
        recovery took it meanwhile (then that one does it). `staged`: its dedupe key, when it waits in
        the staging file (SQLite) to be admitted."""
        item, lookup = inbox.Claimed(item_id, key, args, None), self._work_fns.__getitem__
        call: tuple[Any, ...] = ((inbox.run, self.core.engine, item, lookup) if staged is None else
                                 (inbox.run_staged, self.core.engine, item, staged, lookup))
        if self.work is None:
            call[0](*call[1:])
        else:
            self.work.submit(*call)

    def recovery(self) -> inbox.Recovery:
        """The inbox's recovery for the process that runs the work (started with the outbox)."""
        work = self.work
        return inbox.Recovery(self.core.engine, self._work_fns.__getitem__,
                              busy=(lambda: work.busy()) if work is not None else None)

    def run_work(self, key: str, args: tuple[Any, ...]) -> None:
        """Run work handed over by the front (the work process): a stored inbox item."""
        if key == INBOX:
            self.run_item(*args)
            return
        raise LookupError(f"unknown hand-over {key}")

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
