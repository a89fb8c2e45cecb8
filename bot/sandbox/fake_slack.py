"""A fake Slack Web API over real HTTP, with a workspace model.

Slack is never reachable from the build machine, so the bot is tested against this server:
``slack_sdk.WebClient(base_url=fake.base_url)`` talks to it exactly as it talks to slack.com.
Method names and required parameters come from Slack's published OpenAPI 2.0 spec
(``shared/slack/slack_web_openapi_v2.json``), which is stale (FACTS.md §6), so a few methods and
required fields are supplemented below. Behaviour the fake adds on top of Slack (stricter checks,
invented error names) is marked "fake:" in comments.

The workspace state (users, channels, messages, ephemerals, views) is kept in plain dataclasses
so that a sandbox UI can render it from :meth:`FakeSlack.snapshot` and follow :meth:`on_message`.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import functools
import itertools
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox import blockkit

log = logging.getLogger(__name__)

T = TypeVar("T")

TEAM_ID = "T0SANDBOX"
TEAM_DOMAIN = "sandbox"
BOT_USER_ID = "U0BOT00001"
BOT_ID = "B0BOT00001"
APP_ID = "A0APP00001"
BOT_NAME = "signaalbot"
SPEC_ENV = "SLACK_OPENAPI_SPEC"
SPEC_RELATIVE = (Path("shared/slack/slack_web_openapi_v2.json"), Path("../shared/slack/slack_web_openapi_v2.json"))
TRIGGER_TTL_SECONDS = 3.0  # FACTS §1: a trigger_id must be used within 3 s.
MAX_VIEW_STACK = 3  # FACTS §2: root view plus 2 pushed views.
# Arguments that slack_sdk sends as JSON strings inside form bodies.
JSON_ARGS = ("blocks", "view", "metadata", "attachments")
UPLOAD_PATH = "/upload/v1/"  # where files.getUploadURLExternal's upload URLs point (Slack: files.slack.com)

# The published spec is stale (FACTS §6): methods it lacks and required fields it does not mark.
# files.getUploadURLExternal / files.completeUploadExternal (what slack_sdk's files_upload_v2 calls) came
# after the spec; their required arguments as docs.slack.dev/reference/methods/<method> lists them.
EXTRA_METHODS = frozenset({"apps.connections.open", "files.getUploadURLExternal", "files.completeUploadExternal"})
EXTRA_REQUIRED: dict[str, frozenset[str]] = {
    "files.getUploadURLExternal": frozenset({"filename", "length"}),
    "files.completeUploadExternal": frozenset({"files"}),
    "conversations.info": frozenset({"channel"}),
    "conversations.members": frozenset({"channel"}),
    "conversations.history": frozenset({"channel"}),
    "conversations.replies": frozenset({"channel", "ts"}),
    "chat.delete": frozenset({"channel", "ts"}),
}


class SpecNotFoundError(FileNotFoundError):
    """Slack's OpenAPI spec could not be located."""


class ApiError(Exception):
    """A Slack error answer: ``{"ok": false, "error": error, **extra}``."""

    def __init__(self, error: str, status: int = 200, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra


# =========================================================================== OpenAPI spec


def find_spec_path() -> Path:
    """The spec path: ``$SLACK_OPENAPI_SPEC``, else ``shared/slack/`` searched upwards from this file and
    the cwd (the project's reference copy), else the copy bundled with this package."""
    env = os.environ.get(SPEC_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise SpecNotFoundError(f"{SPEC_ENV}={env} does not point to a file")
        return path
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for directory in (start, *start.parents):
            for relative in SPEC_RELATIVE:
                if (directory / relative).is_file():
                    return (directory / relative).resolve()
    # A copy ships with the package (MIT, slackapi/slack-api-specs), so a clone anywhere works.
    bundled = Path(__file__).resolve().parent / "slack_spec" / "slack_web_openapi_v2.json"
    if bundled.is_file():
        return bundled
    raise SpecNotFoundError(
        "Slack OpenAPI spec not found: looked for shared/slack/slack_web_openapi_v2.json above "
        f"{Path(__file__).parent} and {Path.cwd()}; set {SPEC_ENV} to its path"
    )


@functools.lru_cache(maxsize=4)
def load_spec(path: str) -> dict[str, frozenset[str]]:
    """Map each Web API method in the spec to its required parameters (without ``token``)."""
    with open(path, encoding="utf-8") as handle:
        spec = json.load(handle)
    methods: dict[str, frozenset[str]] = {}
    for route, operations in spec.get("paths", {}).items():
        required = {
            param["name"]
            for operation in operations.values()
            if isinstance(operation, dict)
            for param in operation.get("parameters", [])
            if param.get("required") and param.get("name") != "token"
        }
        methods[route.lstrip("/")] = frozenset(required)
    return methods


# =========================================================================== workspace model


@dataclass
class User:
    id: str
    name: str
    real_name: str
    email: str | None = None
    tz: str = "Europe/Amsterdam"
    locale: str = "nl-NL"
    is_bot: bool = False

    def to_slack(self, include_locale: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "tz": self.tz,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {"real_name": self.real_name, "display_name": self.name, "email": self.email},
        }
        if self.is_bot and self.id == BOT_USER_ID:
            data["profile"]["bot_id"] = BOT_ID
        if include_locale:
            data["locale"] = self.locale
        return data


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    members: list[str] = field(default_factory=list)
    user: str | None = None  # the other party of a DM

    def to_slack(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "is_channel": not (self.is_im or self.is_mpim or self.is_private),
            "is_group": self.is_private,
            "is_im": self.is_im,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_im or self.is_mpim,
            "is_member": BOT_USER_ID in self.members,
            "is_archived": False,
        }
        if self.is_im:
            data["user"] = self.user
        else:
            data["name"] = self.name
            data["num_members"] = len(self.members)
        return data


@dataclass
class Message:
    ts: str
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    user: str | None = None
    bot_id: str | None = None
    thread_ts: str | None = None
    reply_count: int = 0
    reply_users: list[str] = field(default_factory=list)
    latest_reply: str | None = None
    edited: dict[str, str] | None = None
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] | None = None  # a file share (files.completeUploadExternal with a channel)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_slack(self) -> dict[str, Any]:
        """The message as Slack returns it (``channel`` is not part of Slack's shape)."""
        data: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text, "team": TEAM_ID}
        if self.user:
            data["user"] = self.user
        if self.bot_id:
            data.update(bot_id=self.bot_id, app_id=APP_ID)
        if self.blocks is not None:
            data["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.reply_count:
            data.update(
                reply_count=self.reply_count,
                reply_users=list(self.reply_users),
                reply_users_count=len(self.reply_users),
                latest_reply=self.latest_reply,
            )
        if self.edited:
            data["edited"] = dict(self.edited)
        if self.metadata:
            data["metadata"] = copy.deepcopy(self.metadata)
        if self.files:
            data.update(files=copy.deepcopy(self.files), upload=True)
        return data


@dataclass
class UploadedFile:
    """A file of files.getUploadURLExternal: its bytes arrive at the upload URL, then
    files.completeUploadExternal makes it a file (shared into a channel, or private)."""

    id: str
    name: str
    length: int
    alt_txt: str | None = None
    content: bytes | None = None
    title: str | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)

    def to_slack(self, base_url: str) -> dict[str, Any]:
        kind = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary"
        mimetype = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
                    "csv": "text/csv", "txt": "text/plain"}.get(kind, "application/octet-stream")
        data: dict[str, Any] = {
            "id": self.id, "name": self.name, "title": self.title or self.name, "mimetype": mimetype,
            "filetype": kind, "size": len(self.content or b""), "user": BOT_USER_ID, "is_external": False,
            "url_private": f"{base_url}/files-pri/{TEAM_ID}-{self.id}/{self.name}",
            "channels": list(self.channels),
        }
        if self.alt_txt:
            data["alt_txt"] = self.alt_txt
        return data


@dataclass
class Ephemeral:
    message_ts: str
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None

    def to_slack(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "message", "subtype": "bot_message", "ts": self.message_ts}
        data.update(text=self.text, bot_id=BOT_ID, is_ephemeral=True, channel=self.channel, user=self.user)
        if self.blocks is not None:
            data["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        return data


@dataclass
class View:
    id: str
    user: str
    type: str  # "modal" | "home"
    definition: dict[str, Any]  # the view JSON as the app sent it, block_ids filled in
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    state_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # from response_action "errors"

    def to_slack(self) -> dict[str, Any]:
        """The view object as Slack returns it from views.* and sends it in payloads."""
        spec = self.definition
        data: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "type": self.type,
            "blocks": copy.deepcopy(spec.get("blocks", [])),
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "state": {"values": copy.deepcopy(self.state_values)},
            "hash": self.hash,
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id,
            "app_id": APP_ID,
            "external_id": spec.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        for key in ("title", "submit", "close"):
            if key in spec:
                data[key] = copy.deepcopy(spec[key])
        return data


@dataclass
class Trigger:
    id: str
    user: str
    issued_at: float
    used: bool = False


@dataclass
class ResponseTarget:
    """Where a response_url answer lands: the context of the slash command or click."""

    id: str
    user: str
    channel: str
    message_ts: str | None = None
    is_ephemeral: bool = False
    thread_ts: str | None = None


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    time: float
    ok: bool
    error: str | None = None


@dataclass
class MessageEvent:
    """Passed to :meth:`FakeSlack.on_message` callbacks."""

    kind: str  # "posted" | "updated" | "deleted" | "ephemeral"
    channel: str
    message: dict[str, Any]


@dataclass
class _Injection:
    error: str
    status: int
    retry_after: int
    remaining: int


# =========================================================================== Block Kit state helpers


_VALUE_ELEMENTS = {
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
}
_SINGLE_OPTION = {"static_select", "radio_buttons", "external_select", "overflow"}
_MULTI_OPTION = {"multi_static_select", "checkboxes", "multi_external_select"}
# element type -> (state key, initial_* key) for elements holding an ID, date or time.
_SCALAR_STATE = {
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
}
_LIST_STATE = {
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}
# Elements that keep state in view.state.values (buttons and overflow menus do not).
STATEFUL_ELEMENTS = (
    _VALUE_ELEMENTS
    | (_SINGLE_OPTION - {"overflow"})
    | _MULTI_OPTION
    | set(_SCALAR_STATE)
    | set(_LIST_STATE)
    | {"rich_text_input"}
)
_UNSET: Any = object()


def iter_elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield ``(block, element)`` for every interactive element in the blocks."""
    for block in blocks:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield block, block["element"]
        elif block.get("type") == "actions":
            for element in block.get("elements") or []:
                if isinstance(element, dict):
                    yield block, element
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            yield block, block["accessory"]


def find_option(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The option object with this value; an option dict is passed through."""
    if isinstance(value, dict):
        return copy.deepcopy(value)
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    for option in options:
        if option.get("value") == value:
            return copy.deepcopy(option)
    if element.get("type", "").endswith("external_select"):
        # External selects load options from the app, so any value is plausible.
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    raise ValueError(f"no option with value {value!r} in element {element.get('action_id')!r}")


def element_state(element: dict[str, Any], raw: Any = _UNSET) -> dict[str, Any]:
    """The ``state.values`` entry for an element, from ``raw`` or else its ``initial_*``.

    Raw values: a string for text inputs, dates, times and IDs; an option value (or option
    dict) for single selects; a list of those for multi selects and checkboxes.
    """
    kind = element.get("type", "")
    state: dict[str, Any] = {"type": kind}
    if kind in _VALUE_ELEMENTS:
        state["value"] = element.get("initial_value") if raw is _UNSET else raw
    elif kind == "rich_text_input":
        state["rich_text_value"] = element.get("initial_value") if raw is _UNSET else _rich_text(str(raw))
    elif kind in _SINGLE_OPTION:
        state["selected_option"] = (
            element.get("initial_option") if raw is _UNSET else find_option(element, raw) if raw else None
        )
    elif kind in _MULTI_OPTION:
        chosen = element.get("initial_options", []) if raw is _UNSET else [find_option(element, v) for v in raw or []]
        state["selected_options"] = copy.deepcopy(chosen)
    elif kind in _SCALAR_STATE:
        key, initial = _SCALAR_STATE[kind]
        state[key] = element.get(initial) if raw is _UNSET else raw
    elif kind in _LIST_STATE:
        key, initial = _LIST_STATE[kind]
        state[key] = list(element.get(initial, []) if raw is _UNSET else raw or [])
    return state


def initial_state_values(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``state.values`` as Slack builds it before the user touches anything."""
    values: dict[str, dict[str, Any]] = {}
    for block, element in iter_elements(blocks):
        if element.get("type") in STATEFUL_ELEMENTS and "action_id" in element:
            values.setdefault(block["block_id"], {})[element["action_id"]] = element_state(element)
    return values


def _rich_text(text: str) -> dict[str, Any]:
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return {"type": "rich_text", "elements": [section]}


def _random_id(length: int = 5) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def assign_ids(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """A copy of the blocks with missing block_ids and action_ids filled in, as Slack does."""
    if blocks is None:
        return None
    blocks = copy.deepcopy(blocks)
    for block in blocks:
        if isinstance(block, dict) and "block_id" not in block:
            block["block_id"] = _random_id()
    for _block, element in iter_elements(blocks):
        if element.get("type") != "image" and "action_id" not in element:
            element["action_id"] = _random_id()
    return blocks


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


# =========================================================================== the workspace


class Workspace:
    """The state of the fake workspace. Not locked itself: :class:`FakeSlack` holds the lock."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, list[Message]] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.modal_stacks: dict[str, list[str]] = {}  # user -> view ids, root first
        self.home_views: dict[str, str] = {}  # user -> view id
        self.dms: dict[str, str] = {}  # user -> D channel id
        self.files: dict[str, UploadedFile] = {}  # file id -> file (files_upload_v2)
        self.upload_urls: dict[str, str] = {}  # secret of an upload URL -> file id
        self._counter = itertools.count(1)
        self._last_micros = 0
        self.add_user(BOT_NAME, user_id=BOT_USER_ID, real_name="Signaalbot", is_bot=True)

    # ---- ids

    def new_id(self, prefix: str) -> str:
        return f"{prefix}0S{next(self._counter):07d}"

    def next_ts(self) -> str:
        """A unique, increasing Slack timestamp ("seconds.micros") across the whole workspace."""
        self._last_micros = max(int(time.time() * 1_000_000), self._last_micros + 1)
        return f"{self._last_micros // 1_000_000}.{self._last_micros % 1_000_000:06d}"

    # ---- users and channels

    def add_user(
        self,
        name: str,
        *,
        user_id: str | None = None,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/Amsterdam",
        locale: str = "nl-NL",
        is_bot: bool = False,
    ) -> User:
        user = User(user_id or self.new_id("U"), name, real_name or name, email, tz, locale, is_bot)
        self.users[user.id] = user
        return user

    def add_channel(
        self, name: str, *, channel_id: str | None = None, members: list[str] | None = None, is_private: bool = False
    ) -> Channel:
        member_ids = list(dict.fromkeys([*(members or []), BOT_USER_ID]))
        channel = Channel(channel_id or self.new_id("C"), name.lstrip("#"), is_private, members=member_ids)
        self.channels[channel.id] = channel
        self.messages.setdefault(channel.id, [])
        return channel

    def dm_channel_for(self, user_id: str) -> Channel:
        """The stable DM channel between the bot and a user, opened on first use."""
        if user_id not in self.users:
            raise ApiError("user_not_found")
        if user_id not in self.dms:
            channel = Channel(self.new_id("D"), user_id, is_im=True, members=[user_id, BOT_USER_ID], user=user_id)
            self.channels[channel.id] = channel
            self.messages[channel.id] = []
            self.dms[user_id] = channel.id
        return self.channels[self.dms[user_id]]

    def resolve_channel(self, ref: str) -> Channel:
        """A channel by ID, by ``#name``, or a user ID meaning that user's DM (as Slack allows)."""
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users:
            return self.dm_channel_for(ref)
        for channel in self.channels.values():
            if not channel.is_im and channel.name == ref.lstrip("#"):
                return channel
        raise ApiError("channel_not_found")

    def user(self, user_id: str) -> User:
        if user_id not in self.users:
            raise ApiError("user_not_found")
        return self.users[user_id]

    # ---- messages

    def find_message(self, channel_id: str, ts: str) -> Message:
        for message in self.messages.get(channel_id, []):
            if message.ts == ts:
                return message
        raise ApiError("message_not_found")

    def locate(self, ts: str) -> tuple[str, Message | Ephemeral]:
        """Channel and message for a ts; works because ts values are unique workspace-wide."""
        for channel_id, messages in self.messages.items():
            for message in messages:
                if message.ts == ts:
                    return channel_id, message
        for ephemeral in self.ephemerals:
            if ephemeral.message_ts == ts:
                return ephemeral.channel, ephemeral
        raise KeyError(f"no message with ts {ts}")

    def post(
        self,
        channel: Channel,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        user: str | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        parent = self._thread_parent(channel.id, thread_ts) if thread_ts else None
        message = Message(
            ts=self.next_ts(),
            channel=channel.id,
            text=text,
            blocks=assign_ids(blocks),
            user=user or BOT_USER_ID,
            bot_id=None if user else BOT_ID,
            thread_ts=parent.ts if parent else None,
            metadata=metadata,
        )
        self.messages.setdefault(channel.id, []).append(message)
        if parent:
            self._count_reply(parent, message)
        return message

    def _thread_parent(self, channel_id: str, thread_ts: str) -> Message:
        try:
            target = self.find_message(channel_id, thread_ts)
        except ApiError:
            # fake: Slack may accept an unknown thread_ts; failing here catches wrong-channel bugs.
            raise ApiError("thread_not_found") from None
        # A reply's ts means its parent's thread (Slack: "use its parent's value instead").
        return self.find_message(channel_id, target.thread_ts) if target.is_reply else target

    @staticmethod
    def _count_reply(parent: Message, reply: Message) -> None:
        parent.thread_ts = parent.ts
        parent.reply_count += 1
        parent.latest_reply = reply.ts
        author = reply.user or BOT_USER_ID
        if author not in parent.reply_users:
            parent.reply_users.append(author)

    def delete(self, message: Message) -> None:
        self.messages[message.channel].remove(message)
        if message.is_reply:
            parent = self.find_message(message.channel, message.thread_ts or "")
            parent.reply_count = max(0, parent.reply_count - 1)

    def thread(self, channel_id: str, ts: str) -> list[Message]:
        parent = self.find_message(channel_id, ts)
        replies = [m for m in self.messages[channel_id] if m.is_reply and m.thread_ts == parent.ts]
        return [parent, *replies]

    # ---- views

    def open_modal(self, user_id: str, definition: dict[str, Any]) -> View:
        view = self._new_view(user_id, definition, root=None, previous=None)
        self.modal_stacks[user_id] = [view.id]
        return view

    def push_modal(self, user_id: str, definition: dict[str, Any]) -> View:
        stack = self.modal_stacks.get(user_id) or []
        if not stack:
            raise ApiError("not_found")  # fake: no modal open to push onto.
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        view = self._new_view(user_id, definition, root=stack[0], previous=stack[-1])
        stack.append(view.id)
        return view

    def publish_home(self, user_id: str, definition: dict[str, Any]) -> View:
        existing = self.views.get(self.home_views.get(user_id, ""))
        if existing:
            return self.replace_view(existing, definition)
        view = self._new_view(user_id, definition, root=None, previous=None)
        self.home_views[user_id] = view.id
        return view

    def replace_view(self, view: View, definition: dict[str, Any]) -> View:
        definition = self._with_ids(definition)
        view.definition = definition
        view.type = definition.get("type", view.type)
        view.hash = self._new_hash()
        view.errors = {}
        # Slack keeps what the user typed in blocks that survive an update; new blocks start fresh.
        fresh = initial_state_values(definition.get("blocks", []))
        for block_id, actions in fresh.items():
            for action_id in actions:
                if action_id in view.state_values.get(block_id, {}):
                    actions[action_id] = view.state_values[block_id][action_id]
        view.state_values = fresh
        return view

    def close_view(self, view_id: str) -> list[View]:
        """Close a modal and any views pushed above it; returns the closed views."""
        view = self.views.get(view_id)
        stack = self.modal_stacks.get(view.user, []) if view else []
        if view is None or view_id not in stack:
            return []
        closed_ids = stack[stack.index(view_id) :]
        del stack[stack.index(view_id) :]
        if not stack:
            self.modal_stacks.pop(view.user, None)
        return [self.views.pop(closed_id) for closed_id in closed_ids]

    def find_view(self, view_id: str | None = None, external_id: str | None = None) -> View:
        if view_id and view_id in self.views:
            return self.views[view_id]
        if external_id:
            for view in self.views.values():
                if view.definition.get("external_id") == external_id:
                    return view
        raise ApiError("not_found")

    def _new_view(self, user_id: str, definition: dict[str, Any], root: str | None, previous: str | None) -> View:
        definition = self._with_ids(definition)
        view_id = self.new_id("V")
        view = View(
            id=view_id,
            user=user_id,
            type=definition.get("type", "modal"),
            definition=definition,
            hash=self._new_hash(),
            root_view_id=root or view_id,
            previous_view_id=previous,
            state_values=initial_state_values(definition.get("blocks", [])),
        )
        self.views[view.id] = view
        return view

    @staticmethod
    def _with_ids(definition: dict[str, Any]) -> dict[str, Any]:
        definition = copy.deepcopy(definition)
        definition["blocks"] = assign_ids(definition.get("blocks") or [])
        return definition

    @staticmethod
    def _new_hash() -> str:
        return f"{int(time.time())}.{_random_id(8)}"

    # ---- export

    def snapshot(self) -> dict[str, Any]:
        """The whole workspace as JSON-safe data, for a sandbox UI."""
        return {
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "bot": {"user_id": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID},
            "users": [asdict(u) for u in self.users.values()],
            "channels": [asdict(c) for c in self.channels.values()],
            "messages": {cid: [m.to_slack() for m in msgs] for cid, msgs in self.messages.items()},
            "ephemerals": [e.to_slack() for e in self.ephemerals],
            "views": [{**v.to_slack(), "user": v.user, "errors": dict(v.errors)} for v in self.views.values()],
            "modal_stacks": {user: list(stack) for user, stack in self.modal_stacks.items()},
            "home_views": dict(self.home_views),
        }


# =========================================================================== HTTP plumbing


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    """Form, JSON or multipart body to a dict (slack_sdk uses all three)."""
    kind = content_type.split(";")[0].strip().lower()
    if not raw:
        return {}
    if kind == "application/json":
        parsed = json.loads(raw.decode("utf-8"))
        return parsed if isinstance(parsed, dict) else {}
    if kind == "multipart/form-data":
        return _parse_multipart(content_type, raw)
    return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))


def _parse_multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    header = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + raw)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True) or b""
            fields[str(name)] = payload if part.get_filename() else payload.decode("utf-8", "replace")
    return fields


def _decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    """``blocks``/``view``/``metadata`` arrive as JSON strings in form bodies; parse them."""
    for key in JSON_ARGS:
        value = args.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            try:
                args[key] = json.loads(value)
            except json.JSONDecodeError:
                raise ApiError(f"invalid_{key}_format") from None
    return args


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _make_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, headers, body = fake.handle_http(self.path, dict(self.headers.items()), raw)
            self.send_response(status)
            for name, value in {"Content-Type": "application/json; charset=utf-8", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # Quiet by default: test output should show the bot's logs, not one line per API call.
            log.debug("fake slack: " + format, *args)

    return Handler


# =========================================================================== the fake


class FakeSlack:
    """A fake Slack Web API server. See the module docstring."""

    def __init__(self, spec_path: str | os.PathLike[str] | None = None, host: str = "127.0.0.1", port: int = 0):
        self.spec_path = Path(spec_path) if spec_path else find_spec_path()
        if not self.spec_path.is_file():
            raise SpecNotFoundError(f"Slack OpenAPI spec not found at {self.spec_path}")
        self.spec = load_spec(str(self.spec_path.resolve()))
        self.host, self.port = host, port
        self.valid_tokens: set[str] = {"xoxb-test"}
        self.app_tokens: set[str] = {"xapp-test"}
        self.socket_url: str | None = None
        self.trigger_ttl = TRIGGER_TTL_SECONDS
        self.clock: Callable[[], float] = time.monotonic
        self._lock = threading.RLock()
        self._depth = 0
        self._pending: list[MessageEvent] = []
        self._listeners: list[Callable[[MessageEvent], None]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._handlers = self._build_handlers()
        self._init_state()

    def _init_state(self) -> None:
        self.workspace = Workspace()
        self.calls: list[Call] = []
        self._injections: dict[str, list[_Injection]] = {}
        self._triggers: dict[str, Trigger] = {}
        self._response_targets: dict[str, ResponseTarget] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        self._server = ThreadingHTTPServer((self.host, self.port), _make_handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        # A short poll interval keeps stop() fast, which matters when every test starts a fake.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What ``slack_sdk.WebClient(base_url=...)`` takes."""
        return f"{self.url}/api/"

    def reset(self) -> None:
        """Forget all workspace state, calls and injections; tokens and socket_url are kept."""
        with self._mutating():
            self._init_state()

    # ------------------------------------------------------------------ locking and events

    @contextmanager
    def _mutating(self) -> Iterator[None]:
        """Hold the state lock; fire queued message events after the outermost release."""
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                events: list[MessageEvent] = []
                if self._depth == 0:
                    events, self._pending = self._pending, []
                listeners = list(self._listeners)
        # Outside the lock so a slow or re-entrant UI callback cannot block or deadlock the API.
        for event in events:
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    log.exception("fake slack: on_message callback failed")

    def _emit(self, kind: str, channel: str, message: dict[str, Any]) -> None:
        self._pending.append(MessageEvent(kind, channel, message))

    def on_message(self, callback: Callable[[MessageEvent], None]) -> Callable[[], None]:
        """Call ``callback`` whenever a message is posted, updated or deleted. Returns an unsubscriber."""
        with self._lock:
            self._listeners.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return unsubscribe

    # ------------------------------------------------------------------ workspace helpers

    def add_user(
        self,
        name: str,
        *,
        user_id: str | None = None,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/Amsterdam",
        locale: str = "nl-NL",
        is_bot: bool = False,
    ) -> User:
        """Add a user (a copy is returned; change state through the fake, not the copy)."""
        with self._mutating():
            user = self.workspace.add_user(
                name, user_id=user_id, real_name=real_name, email=email, tz=tz, locale=locale, is_bot=is_bot
            )
            return copy.deepcopy(user)

    def ensure_user(self, user_id: str) -> User:
        """The user with this ID, created with a placeholder name if unknown."""
        with self._mutating():
            user = self.workspace.users.get(user_id)
            if user is None:
                user = self.workspace.add_user(user_id.lower(), user_id=user_id)
            return copy.deepcopy(user)

    def add_channel(
        self,
        name: str,
        *,
        channel_id: str | None = None,
        members: list[str] | None = None,
        is_private: bool = False,
    ) -> Channel:
        """Add a channel; the bot is always a member (it must be, to post there)."""
        with self._mutating():
            channel = self.workspace.add_channel(name, channel_id=channel_id, members=members, is_private=is_private)
            return copy.deepcopy(channel)

    def dm_channel_for(self, user_id: str) -> str:
        """The DM channel ID between the bot and ``user_id`` (stable per user)."""
        with self._mutating():
            return self.workspace.dm_channel_for(user_id).id

    def user(self, user_id: str) -> User:
        with self._lock:
            return copy.deepcopy(self.workspace.user(user_id))

    def channel(self, ref: str) -> Channel:
        """A channel by ID, name or user ID (→ DM)."""
        with self._mutating():
            return copy.deepcopy(self.workspace.resolve_channel(ref))

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """All messages in a channel (thread replies included), oldest first; a user ID means the DM."""
        with self._mutating():
            channel_id = self.workspace.resolve_channel(channel).id
            return [m.to_slack() for m in self.workspace.messages.get(channel_id, [])]

    def all_messages(self) -> list[dict[str, Any]]:
        """Every message in every channel and DM (thread replies included), each with its `channel`."""
        with self._mutating():
            return [{**m.to_slack(), "channel": channel_id}
                    for channel_id, messages in self.workspace.messages.items() for m in messages]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Parent and replies of a thread, oldest first."""
        with self._mutating():
            channel_id = self.workspace.resolve_channel(channel).id
            return [m.to_slack() for m in self.workspace.thread(channel_id, ts)]

    def ephemerals_for(self, user_id: str, channel: str | None = None) -> list[dict[str, Any]]:
        with self._mutating():
            channel_id = self.workspace.resolve_channel(channel).id if channel else None
            return [
                e.to_slack() for e in self.workspace.ephemerals if e.user == user_id and channel_id in (None, e.channel)
            ]

    def locate(self, ts: str) -> tuple[str, dict[str, Any]]:
        """``(channel_id, message)`` for a message or ephemeral ts."""
        with self._lock:
            channel_id, message = self.workspace.locate(ts)
            return channel_id, message.to_slack()

    def view(self, view_id: str) -> dict[str, Any]:
        """An open view as Slack shapes it (with ``state``)."""
        with self._lock:
            return self.workspace.find_view(view_id).to_slack()

    def view_user(self, view_id: str) -> str:
        with self._lock:
            return self.workspace.find_view(view_id).user

    def view_errors(self, view_id: str) -> dict[str, str]:
        """Errors the app returned with ``response_action: errors`` for this view."""
        with self._lock:
            return dict(self.workspace.find_view(view_id).errors)

    def views_for(self, user_id: str) -> list[dict[str, Any]]:
        """The user's open modal stack, root first."""
        with self._lock:
            stack = self.workspace.modal_stacks.get(user_id, [])
            return [self.workspace.views[view_id].to_slack() for view_id in stack]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            view_id = self.workspace.home_views.get(user_id)
            return self.workspace.views[view_id].to_slack() if view_id else None

    def set_view_state(self, view_id: str, block_id: str, action_id: str, state: dict[str, Any]) -> None:
        """Record what the user entered in a view element (the driver calls this on clicks)."""
        with self._mutating():
            view = self.workspace.find_view(view_id)
            view.state_values.setdefault(block_id, {})[action_id] = copy.deepcopy(state)

    def post_user_message(
        self,
        user_id: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Store a message typed by a user; returns it with ``channel`` added."""
        with self._mutating():
            target = self.workspace.resolve_channel(channel)
            message = self.workspace.post(target, text, blocks=blocks, user=user_id, thread_ts=thread_ts)
            data = message.to_slack()
            self._emit("posted", target.id, data)
            return {**data, "channel": target.id}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.workspace.snapshot()

    # ------------------------------------------------------------------ triggers and response_urls

    def new_trigger_id(self, user_id: str) -> str:
        """Issue a trigger_id for a user interaction; valid once, for ``trigger_ttl`` seconds."""
        with self._lock:
            trigger_id = f"{secrets.randbelow(10**10)}.{int(time.time())}.{secrets.token_hex(16)}"
            self._triggers[trigger_id] = Trigger(trigger_id, user_id, self.clock())
            return trigger_id

    def _consume_trigger(self, trigger_id: str) -> Trigger:
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if self.clock() - trigger.issued_at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        return trigger

    def new_response_url(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
        thread_ts: str | None = None,
    ) -> str:
        """A response_url pointing at this fake, bound to a command's or click's context."""
        with self._lock:
            target_id = secrets.token_hex(12)
            self._response_targets[target_id] = ResponseTarget(
                target_id, user_id, channel_id, message_ts, is_ephemeral, thread_ts
            )
            return f"{self.url}/response_url/{target_id}"

    def post_response(self, response_url: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply a response_url message (also used for a slash command's ack body)."""
        target_id = response_url.rstrip("/").rsplit("/", 1)[-1]
        with self._mutating():
            try:
                self._apply_response(target_id, payload)
            except ApiError as exc:
                self._record("response_url", payload, exc.error)
                raise
            self._record("response_url", payload, None)
            return {"ok": True}

    def _apply_response(self, target_id: str, payload: dict[str, Any]) -> None:
        target = self._response_targets.get(target_id)
        if target is None:
            raise ApiError("expired_url", status=404)
        payload = _decode_json_args(dict(payload))
        text, blocks = str(payload.get("text") or ""), payload.get("blocks")
        if blocks is not None and blockkit.validate_message(text, blocks):
            raise ApiError("invalid_blocks", status=400, errors=blockkit.validate_message(text, blocks))
        if target.message_ts and _truthy(payload.get("delete_original")):
            self._delete_original(target)
        elif target.message_ts and _truthy(payload.get("replace_original")):
            self._replace_original(target, text, blocks)
        elif payload.get("response_type") == "in_channel":
            channel = self.workspace.channels[target.channel]
            thread_ts = payload.get("thread_ts") or target.thread_ts
            message = self.workspace.post(channel, text, blocks=blocks, thread_ts=thread_ts)
            self._emit("posted", channel.id, message.to_slack())
        else:
            self._add_ephemeral(target.channel, target.user, text, blocks, payload.get("thread_ts"))

    def _delete_original(self, target: ResponseTarget) -> None:
        channel_id, message = self.workspace.locate(target.message_ts or "")
        if isinstance(message, Ephemeral):
            self.workspace.ephemerals.remove(message)
        else:
            self.workspace.delete(message)
        self._emit("deleted", channel_id, message.to_slack())

    def _replace_original(self, target: ResponseTarget, text: str, blocks: list[dict[str, Any]] | None) -> None:
        channel_id, message = self.workspace.locate(target.message_ts or "")
        message.text, message.blocks = text, assign_ids(blocks)
        self._emit("ephemeral" if isinstance(message, Ephemeral) else "updated", channel_id, message.to_slack())

    def _add_ephemeral(
        self, channel_id: str, user_id: str, text: str, blocks: list[dict[str, Any]] | None, thread_ts: str | None
    ) -> Ephemeral:
        ephemeral = Ephemeral(self.workspace.next_ts(), channel_id, user_id, text, assign_ids(blocks), thread_ts)
        self.workspace.ephemerals.append(ephemeral)
        self._emit("ephemeral", channel_id, ephemeral.to_slack())
        return ephemeral

    # ------------------------------------------------------------------ view submission results

    def apply_view_submission_ack(self, view_id: str, body: dict[str, Any] | None) -> list[str]:
        """What Slack does with the app's ack to a view_submission. Returns problems, if any.

        No response_action closes the view; ``errors`` keeps it open with messages; ``update``,
        ``push`` and ``clear`` behave as in Slack's modal docs.
        """
        action = (body or {}).get("response_action")
        with self._mutating():
            try:
                self._apply_view_ack(view_id, action, body or {})
            except ApiError as exc:
                problems = [str(m) for m in exc.extra.get("response_metadata", {}).get("messages", [])]
                self._record("view_submission_ack", body or {}, exc.error)
                return problems or [exc.error]
            self._record("view_submission_ack", body or {}, None)
            return []

    def _apply_view_ack(self, view_id: str, action: str | None, body: dict[str, Any]) -> None:
        view = self.workspace.find_view(view_id)
        if action in (None, ""):
            self.workspace.close_view(view_id)
        elif action == "errors":
            view.errors = dict(body.get("errors") or {})
        elif action == "update":
            self.workspace.replace_view(view, self._checked_view(body.get("view"), "modal"))
        elif action == "push":
            self.workspace.push_modal(view.user, self._checked_view(body.get("view"), "modal"))
        elif action == "clear":
            stack = self.workspace.modal_stacks.get(view.user, [])
            if stack:
                self.workspace.close_view(stack[0])
        else:
            raise ApiError("invalid_response_action")

    def close_view(self, view_id: str) -> list[dict[str, Any]]:
        """The user closes a modal (and anything pushed above it); returns the closed views."""
        with self._mutating():
            return [view.to_slack() for view in self.workspace.close_view(view_id)]

    # ------------------------------------------------------------------ error injection and recording

    def fail_next(
        self,
        method: str,
        error: str | None = None,
        status: int | None = None,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail.

        Defaults: 429 ``ratelimited`` with ``Retry-After``; ``status=500`` gives ``internal_error``;
        any other error string is answered with HTTP 200, as Slack does for API errors.
        """
        if status is None:
            status = 429 if error in (None, "ratelimited") else 200
        if error is None:
            error = "ratelimited" if status == 429 else "internal_error" if status >= 500 else None
        if error is None:
            raise ValueError("fail_next needs an error string for this status")
        with self._lock:
            self._injections.setdefault(method, []).append(_Injection(error, status, retry_after, times))

    def injections_pending(self, method: str) -> int:
        """How many failures `fail_next` has queued for `method` that no call met yet."""
        with self._lock:
            return sum(i.remaining for i in self._injections.get(method) or [])

    def _take_injection(self, method: str) -> _Injection | None:
        queue = self._injections.get(method) or []
        if not queue:
            return None
        injection = queue[0]
        injection.remaining -= 1
        if injection.remaining <= 0:
            queue.pop(0)
        return injection

    def _record(self, method: str, args: dict[str, Any], error: str | None) -> None:
        self.calls.append(Call(method, copy.deepcopy(args), time.time(), error is None, error))

    def record_call(self, method: str, args: dict[str, Any], error: str | None) -> None:
        """Record something that is not a Web API call (e.g. a Socket Mode ack) in :attr:`calls`."""
        with self._lock:
            self._record(method, args, error)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def clear_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def wait_for(self, predicate: Callable[[], T], timeout: float = 15.0, interval: float = 0.02) -> T:
        """Poll until ``predicate()`` is truthy and return its value (for asynchronous bots)."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                with self._lock:
                    recent = [f"{c.method}:{'ok' if c.ok else c.error}" for c in self.calls[-8:]]
                raise TimeoutError(f"condition not met within {timeout}s; recent calls: {recent}")
            time.sleep(interval)

    # ------------------------------------------------------------------ request handling

    def handle_http(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """Route one HTTP request; returns (status, headers, body). Never raises."""
        try:
            return self._route(path, headers, raw)
        except Exception:
            # A bug in the fake must show up as a failed call, not as a hung or reset connection.
            log.exception("fake slack: error handling %s", path)
            return 500, {}, _json_bytes({"ok": False, "error": "internal_error"})

    def _route(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(path)
        lowered = {k.lower(): v for k, v in headers.items()}
        if parts.path.startswith(UPLOAD_PATH):
            return self._handle_upload(parts.path[len(UPLOAD_PATH):], lowered.get("content-type", ""), raw)
        if parts.path.startswith("/files-pri/"):
            return self._serve_file(parts.path)
        try:
            args = dict(parse_qsl(parts.query, keep_blank_values=True))
            args.update(_parse_body(lowered.get("content-type", ""), raw))
        except (ValueError, UnicodeDecodeError):
            return 400, {}, _json_bytes({"ok": False, "error": "invalid_form_data"})
        if parts.path.startswith("/api/"):
            return self._handle_api(parts.path[len("/api/") :], args, lowered)
        if parts.path.startswith("/response_url/"):
            return self._handle_response_url(parts.path, args)
        return 404, {}, _json_bytes({"ok": False, "error": "not_found"})

    def _handle_upload(self, secret: str, content_type: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """The upload URL of files.getUploadURLExternal: the file's bytes, raw or multipart-encoded (Slack
        takes both; docs.slack.dev/reference/methods/files.getUploadURLExternal), answered with HTTP 200."""
        with self._mutating():
            file_id = self.workspace.upload_urls.get(secret)
            upload = self.workspace.files.get(file_id or "")
            if upload is None or upload.completed:
                self._record("(upload)", {"url": secret}, "not_found")
                return 404, {"Content-Type": "text/plain"}, b"Not Found"  # fake: Slack's exact answer unknown
            content = raw
            if content_type.split(";")[0].strip().lower() == "multipart/form-data":
                parts = [v for v in _parse_multipart(content_type, raw).values() if isinstance(v, bytes)]
                content = parts[0] if parts else b""
            upload.content = content
            self._record("(upload)", {"file_id": upload.id, "size": len(content)}, None)
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, f"OK - {len(content)}".encode()

    def _serve_file(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """A shared file's url_private (fake: without the bot-token check Slack makes)."""
        file_id = path.split("/")[2].split("-", 1)[-1] if path.count("/") >= 3 else ""
        content, mimetype = self.file_content(file_id)
        if content is None:
            return 404, {"Content-Type": "text/plain"}, b"Not Found"
        return 200, {"Content-Type": mimetype}, content

    def file_content(self, file_id: str, viewer: str | None = None) -> tuple[bytes | None, str]:
        """The bytes and mimetype of a completed file (None if there is none, or if `viewer` is given
        and is in none of the conversations it was shared to)."""
        with self._lock:
            upload = self.workspace.files.get(file_id)
            if upload is None or not upload.completed or upload.content is None:
                return None, ""
            if viewer is not None and not any(viewer in self.workspace.channels[c].members for c in upload.channels
                                              if c in self.workspace.channels):
                return None, ""
            return upload.content, str(upload.to_slack(self.url)["mimetype"])

    def _handle_response_url(self, path: str, args: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if "payload" in args and isinstance(args["payload"], str):
            args = json.loads(args["payload"])
        try:
            return 200, {}, _json_bytes(self.post_response(path, args))
        except ApiError as exc:
            return exc.status, {}, _json_bytes({"ok": False, "error": exc.error, **exc.extra})

    def _handle_api(
        self, method: str, args: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        token = self._extract_token(args, headers)
        with self._mutating():
            try:
                result = self._dispatch(method, token, _decode_json_args(args))
            except ApiError as exc:
                self._record(method, args, exc.error)
                body = {"ok": False, "error": exc.error, **exc.extra}
                return exc.status, exc.headers, _json_bytes(body)
            self._record(method, args, None)
            return 200, {}, _json_bytes({"ok": True, **result})

    @staticmethod
    def _extract_token(args: dict[str, Any], headers: dict[str, str]) -> str | None:
        token = args.pop("token", None)
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[len("bearer ") :].strip()
        return token or None

    def _dispatch(self, method: str, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        if method not in self.spec and method not in EXTRA_METHODS:
            raise ApiError("unknown_method", status=404)
        injection = self._take_injection(method)
        if injection:
            self._raise_injection(injection)
        self._check_auth(method, token)
        self._check_required(method, args)
        handler = self._handlers.get(method)
        return handler(args) if handler else {}

    @staticmethod
    def _raise_injection(injection: _Injection) -> None:
        headers = {"Retry-After": str(injection.retry_after)} if injection.status == 429 else {}
        raise ApiError(injection.error, status=injection.status, headers=headers)

    def _check_auth(self, method: str, token: str | None) -> None:
        if not token:
            raise ApiError("not_authed")
        if token not in self.valid_tokens and token not in self.app_tokens:
            raise ApiError("invalid_auth")
        # App-level (xapp-) tokens only open Socket Mode connections, and only they can.
        is_app_token = token in self.app_tokens
        if is_app_token != (method == "apps.connections.open"):
            raise ApiError("not_allowed_token_type")

    def _check_required(self, method: str, args: dict[str, Any]) -> None:
        required = self.spec.get(method, frozenset()) | EXTRA_REQUIRED.get(method, frozenset())
        for name in sorted(required):
            if args.get(name) in (None, ""):
                raise ApiError(
                    "invalid_arguments",
                    response_metadata={"messages": [f"[ERROR] missing required field: {name}"]},
                )

    # ------------------------------------------------------------------ Web API methods

    def _build_handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "apps.connections.open": self._apps_connections_open,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Sandbox",
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _checked_message(self, args: dict[str, Any], require_content: bool = True) -> tuple[str, Any]:
        text, blocks = args.get("text"), args.get("blocks")
        if require_content and not text and not blocks:
            raise ApiError("no_text")
        if isinstance(text, str) and len(text) > blockkit.MAX_MESSAGE_TEXT:
            raise ApiError("msg_too_long")
        # Slack's shape for bad blocks: {"ok": false, "error": "invalid_blocks", "errors": [...]}
        # (quoted by a Slack engineer in slackapi/java-slack-sdk#1017).
        problems = blockkit.validate_message(None, blocks) if blocks is not None else []
        if problems:
            raise ApiError("invalid_blocks", errors=problems)
        return str(text or ""), blocks

    @staticmethod
    def _metadata(args: dict[str, Any]) -> dict[str, Any] | None:
        metadata = args.get("metadata")
        if metadata is None or isinstance(metadata, dict):
            return metadata
        raise ApiError("invalid_metadata_format")

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.workspace.resolve_channel(str(args["channel"]))
        text, blocks = self._checked_message(args)
        message = self.workspace.post(
            channel, text, blocks=blocks, thread_ts=args.get("thread_ts") or None, metadata=self._metadata(args)
        )
        data = message.to_slack()
        self._emit("posted", channel.id, data)
        return {"channel": channel.id, "ts": message.ts, "message": data}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.workspace.resolve_channel(str(args["channel"]))
        user = self.workspace.user(str(args["user"]))
        if user.id not in channel.members:
            raise ApiError("user_not_in_channel")
        text, blocks = self._checked_message(args)
        ephemeral = self._add_ephemeral(channel.id, user.id, text, blocks, args.get("thread_ts") or None)
        return {"message_ts": ephemeral.message_ts}

    def _own_message(self, args: dict[str, Any], error: str) -> Message:
        channel = self.workspace.resolve_channel(str(args["channel"]))
        message = self.workspace.find_message(channel.id, str(args["ts"]))
        if message.bot_id != BOT_ID:
            raise ApiError(error)
        return message

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(args, "cant_update_message")
        text, blocks = self._checked_message(args, require_content=False)
        if "text" in args:
            message.text = text
        if "blocks" in args:
            message.blocks = assign_ids(blocks)
        if "metadata" in args:
            message.metadata = self._metadata(args)
        message.edited = {"user": BOT_USER_ID, "ts": self.workspace.next_ts()}
        data = message.to_slack()
        self._emit("updated", message.channel, data)
        return {"channel": message.channel, "ts": message.ts, "text": message.text, "message": data}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(args, "cant_delete_message")
        self.workspace.delete(message)
        self._emit("deleted", message.channel, message.to_slack())
        return {"channel": message.channel, "ts": message.ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.workspace.resolve_channel(str(args["channel"]))
        message = self.workspace.find_message(channel.id, str(args["message_ts"]))
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
        if message.is_reply:
            link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            channel = self.workspace.resolve_channel(str(args["channel"]))
            return {"channel": channel.to_slack() if _truthy(args.get("return_im")) else {"id": channel.id}}
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise ApiError("users_list_not_supplied")
        for user_id in users:
            self.workspace.user(user_id)
        if len(users) == 1:
            already_open = users[0] in self.workspace.dms
            channel = self.workspace.dm_channel_for(users[0])
        else:
            already_open, channel = False, self._open_mpim(users)
        data = channel.to_slack() if _truthy(args.get("return_im")) else {"id": channel.id}
        return {"channel": data, "already_open": already_open, "no_op": already_open}

    def _open_mpim(self, users: list[str]) -> Channel:
        members = sorted({*users, BOT_USER_ID})
        for channel in self.workspace.channels.values():
            if channel.is_mpim and sorted(channel.members) == members:
                return channel
        channel = Channel(self.workspace.new_id("G"), "mpdm-" + "--".join(members), is_mpim=True, members=members)
        self.workspace.channels[channel.id] = channel
        self.workspace.messages[channel.id] = []
        return channel

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self.workspace.resolve_channel(str(args["channel"])).to_slack()}

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.workspace.resolve_channel(str(args["channel"]))
        return {"members": list(channel.members), "response_metadata": {"next_cursor": ""}}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.workspace.resolve_channel(str(args["channel"]))
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        limit = int(args.get("limit") or 100)
        top_level = [
            m for m in self.workspace.messages.get(channel.id, []) if not m.is_reply and oldest <= float(m.ts) <= latest
        ]
        newest_first = list(reversed(top_level))
        return {
            "messages": [m.to_slack() for m in newest_first[:limit]],
            "has_more": len(newest_first) > limit,
            "pin_count": 0,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.workspace.resolve_channel(str(args["channel"]))
        try:
            thread = self.workspace.thread(channel.id, str(args["ts"]))
        except ApiError:
            raise ApiError("thread_not_found") from None
        return {"messages": [m.to_slack() for m in thread], "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.workspace.user(str(args.get("user") or ""))
        return {"user": user.to_slack(include_locale=_truthy(args.get("include_locale")))}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        include_locale = _truthy(args.get("include_locale"))
        members = [u.to_slack(include_locale) for u in self.workspace.users.values()]
        return {"members": members, "response_metadata": {"next_cursor": ""}}

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = str(args["email"]).lower()
        for user in self.workspace.users.values():
            if user.email and user.email.lower() == wanted:
                return {"user": user.to_slack()}
        raise ApiError("users_not_found")

    def _checked_view(self, view: Any, expected_type: str) -> dict[str, Any]:
        """Validate a view; bad ones get Slack's ``invalid_arguments`` with ``[ERROR] …`` messages.

        Shape as Slack answers views.open with a too-long title (jeremeamia/slack-block-kit#3):
        ``[ERROR] must be less than 24 characters [json-pointer:/view/title/text]``.
        """
        if not isinstance(view, dict):
            raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] view must be an object"]})
        if blockkit.view_too_large(view):
            raise ApiError("view_too_large")
        problems = blockkit.validate_view(view)
        if view.get("type") != expected_type:
            problems.append(f"view type must be {expected_type!r} here [json-pointer:/view/type]")
        if problems:
            raise ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {p}" for p in problems]})
        return view

    def _open_or_push(self, args: dict[str, Any], push: bool) -> dict[str, Any]:
        trigger = self._consume_trigger(str(args["trigger_id"]))
        definition = self._checked_view(args["view"], "modal")
        if push:
            view = self.workspace.push_modal(trigger.user, definition)
        else:
            view = self.workspace.open_modal(trigger.user, definition)
        trigger.used = True
        return {"view": view.to_slack()}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open_or_push(args, push=False)

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open_or_push(args, push=True)

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("view_id") and not args.get("external_id"):
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] either view_id or external_id is required"]},
            )
        view = self.workspace.find_view(args.get("view_id"), args.get("external_id"))
        if args.get("hash") and args["hash"] != view.hash:
            raise ApiError("hash_conflict")
        definition = self._checked_view(args.get("view"), view.type)
        return {"view": self.workspace.replace_view(view, definition).to_slack()}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.workspace.user(str(args["user_id"]))
        current = self.workspace.views.get(self.workspace.home_views.get(user.id, ""))
        if args.get("hash") and current and args["hash"] != current.hash:
            raise ApiError("hash_conflict")
        definition = self._checked_view(args["view"], "home")
        return {"view": self.workspace.publish_home(user.id, definition).to_slack()}

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            length = int(str(args["length"]))
        except ValueError:
            raise ApiError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] length must be an integer"]}) from None
        if length <= 0:
            raise ApiError("invalid_length")  # fake: Slack's word for an empty file is not documented
        upload = UploadedFile(self.workspace.new_id("F"), str(args["filename"]), length,
                              alt_txt=args.get("alt_txt") or None)
        secret = secrets.token_urlsafe(12)
        self.workspace.files[upload.id] = upload
        self.workspace.upload_urls[secret] = upload.id
        return {"upload_url": f"{self.url}{UPLOAD_PATH}{secret}", "file_id": upload.id}

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        raw = args["files"]
        try:
            items = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            raise ApiError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] files must be a JSON array"]}) from None
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) and i.get("id") for i in items):
            raise ApiError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] files must be an array of objects with an id"]})
        uploads = []
        for item in items:
            upload = self.workspace.files.get(str(item["id"]))
            if upload is None or upload.completed:
                raise ApiError("file_not_found")
            if upload.content is None or len(upload.content) != upload.length:
                # fake: what Slack answers for bytes that never arrived (or another length) is not documented.
                raise ApiError("file_upload_size_mismatch")
            uploads.append((upload, item))
        channel = None
        if args.get("channel_id") or args.get("channels"):
            ref = str(args.get("channel_id") or str(args.get("channels")).split(",")[0])
            channel = self.workspace.resolve_channel(ref)
            if BOT_USER_ID not in channel.members:
                raise ApiError("not_in_channel")
        comment = str(args.get("initial_comment") or "")
        if len(comment) > blockkit.MAX_MESSAGE_TEXT:
            raise ApiError("msg_too_long")
        for upload, item in uploads:
            upload.completed, upload.title = True, str(item.get("title") or upload.name)
            if channel is not None:
                upload.channels.append(channel.id)
        files = [u.to_slack(self.url) for u, _item in uploads]
        if channel is not None:
            message = self.workspace.post(channel, comment, thread_ts=args.get("thread_ts") or None)
            message.files = copy.deepcopy(files)
            self._emit("posted", channel.id, message.to_slack())
        return {"files": [{"id": f["id"], "title": f["title"]} for f in files]}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            raise ApiError("not_allowed_token_type")  # fake: no Socket Mode server configured.
        return {"url": self.socket_url}
