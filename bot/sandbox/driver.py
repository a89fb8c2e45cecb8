"""Plays Slack's side towards the bot's HTTP endpoint: signed slash commands, clicks, events.

Payloads follow the shapes Slack sends (bolt-python's ``tests/scenario_tests`` fixtures and
docs.slack.dev), and every ID in them comes from the :class:`~bot.sandbox.fake_slack.FakeSlack`
workspace: trigger_ids are issued by the fake (so ``views.open`` checks them), response_urls point
at the fake, and clicked messages and views are read from its state. What the bot answers in the
HTTP response (a slash command's ack text, a view_submission's ``response_action``) is applied to
the fake the way Slack would apply it.

Signing: ``v0=HMAC-SHA256(secret, "v0:{ts}:{body}")`` via slack_sdk's ``SignatureVerifier``
(FACTS.md §1); :meth:`SlackDriver.signing` switches to a bad, missing or stale signature.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

from bot.sandbox.fake_slack import (
    APP_ID,
    BOT_USER_ID,
    STATEFUL_ELEMENTS,
    TEAM_DOMAIN,
    TEAM_ID,
    ApiError,
    FakeSlack,
    element_state,
    find_option,
    initial_state_values,
    iter_elements,
)
from bot.sandbox.socket_mode import SocketModeError, SocketModeServer

SignatureMode = Literal["valid", "bad", "none", "stale"]
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# The deprecated verification token Slack still puts in payloads; Bolt ignores it.
VERIFICATION_TOKEN = "sandbox-verification-token"
STALE_SECONDS = 6 * 60  # Bolt rejects timestamps more than 5 minutes off (FACTS §1).


@dataclass
class DriverResponse:
    """The bot's HTTP answer, plus the payload that was sent (to resend it as a retry)."""

    status: int
    headers: dict[str, str]
    body: str
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None


# =========================================================================== payload helpers


def find_element(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(block, element)`` for an action_id (optionally in a given block)."""
    for block, element in iter_elements(blocks):
        if element.get("action_id") == action_id and block_id in (None, block.get("block_id")):
            return block, element
    known = sorted({str(e.get("action_id")) for _b, e in iter_elements(blocks)})
    raise KeyError(f"action_id {action_id!r} not found; known action_ids: {known}")


def build_action(
    block: dict[str, Any], element: dict[str, Any], value: Any = None, selected: Any = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The ``actions[0]`` entry Slack sends for an element, and its new state (None if stateless).

    ``value`` is a button's value (default: the button's own) or a text/date input's content;
    ``selected`` is an option value, or a list of them for multi selects and checkboxes.
    """
    kind = element.get("type", "")
    action: dict[str, Any] = {
        "type": kind,
        "action_id": element["action_id"],
        "block_id": block["block_id"],
        "action_ts": f"{time.time():.6f}",
    }
    if kind == "button":
        action["text"] = element.get("text")
        button_value = value if value is not None else element.get("value")
        if button_value is not None:
            action["value"] = button_value
        if "style" in element:
            action["style"] = element["style"]
        return action, None
    raw = selected if selected is not None else value
    if kind == "overflow":
        action["selected_option"] = find_option(element, raw)
        return action, None
    state = element_state(element, raw)
    action.update({key: val for key, val in state.items() if key != "type"})
    for key in ("placeholder", "initial_option", "initial_options", "initial_date", "initial_value"):
        if key in element:
            action[key] = element[key]
    return action, state if kind in STATEFUL_ELEMENTS else None


def fill(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """``state.values`` entries ``{block_id: {action_id: state}}`` from ``{action_id: raw value}``.

    Raw values: text for text inputs and dates, an option value for selects and radio buttons, a
    list of option values for multi selects and checkboxes.
    """
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for action_id, raw in answers.items():
        block, element = find_element(view.get("blocks", []), action_id)
        values.setdefault(block["block_id"], {})[action_id] = element_state(element, raw)
    return values


def _shape_values(view: dict[str, Any], values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accept state entries or raw values in ``values``; raw ones are shaped from the element."""
    shaped: dict[str, dict[str, Any]] = {}
    for block_id, actions in values.items():
        for action_id, entry in actions.items():
            if not (isinstance(entry, dict) and "type" in entry):
                _block, element = find_element(view.get("blocks", []), action_id, block_id)
                entry = element_state(element, entry)
            shaped.setdefault(block_id, {})[action_id] = entry
    return shaped


def _channel_type(channel: Any) -> str:
    if channel.is_im:
        return "im"
    if channel.is_mpim:
        return "mpim"
    return "group" if channel.is_private else "channel"


# =========================================================================== the driver


class SlackDriver:
    """Sends what Slack would send to the bot: signed HTTP requests to ``bot_url``, or — with a
    ``socket`` server — Socket Mode envelopes over the app's WebSocket connection.

    The payloads are the same either way (Slack's own), so every person-like test helper runs
    over both transports; only the wrapping differs (a signed form/JSON body, or an envelope).
    """

    def __init__(
        self,
        bot_url: str | None,
        signing_secret: str | None,
        fake: FakeSlack,
        team_id: str = TEAM_ID,
        timeout: float = 10.0,
        socket: SocketModeServer | None = None,
    ) -> None:
        if socket is None and not (bot_url and signing_secret):
            raise ValueError("SlackDriver needs bot_url and signing_secret (HTTP) or a socket server")
        self.bot_url = bot_url or ""
        self.signing_secret = signing_secret or ""
        self.fake = fake
        self.team_id = team_id
        self.timeout = timeout
        self.socket = socket
        self.signature_mode: SignatureMode = "valid"

    @property
    def transport(self) -> Literal["http", "socket"]:
        return "socket" if self.socket is not None else "http"

    def _over_socket(self, envelope_type: str, payload: dict[str, Any], accepts_response_payload: bool,
                     retry_num: int | None = None, retry_reason: str | None = None) -> DriverResponse:
        """One Socket Mode envelope; the ack's payload plays the part of the HTTP response body."""
        assert self.socket is not None
        try:
            ack = self.socket.send(envelope_type, payload, accepts_response_payload=accepts_response_payload,
                                   retry_attempt=retry_num, retry_reason=retry_reason)
        except SocketModeError as exc:
            return DriverResponse(504, {}, str(exc), payload)
        body = json.dumps(ack.payload) if ack.payload else ""
        return DriverResponse(200, {"content-type": JSON}, body, payload)

    # ------------------------------------------------------------------ signing and transport

    @contextmanager
    def signing(self, mode: SignatureMode) -> Iterator[None]:
        """Send requests in the block with a ``bad``, ``none`` (missing) or ``stale`` signature."""
        previous, self.signature_mode = self.signature_mode, mode
        try:
            yield
        finally:
            self.signature_mode = previous

    def _signature_headers(self, body: str) -> dict[str, str]:
        mode = self.signature_mode
        if mode == "none":
            return {}
        now = int(time.time())
        timestamp = str(now - STALE_SECONDS if mode == "stale" else now)
        secret = self.signing_secret + "-wrong" if mode == "bad" else self.signing_secret
        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}

    def send_raw(
        self,
        body: str,
        content_type: str,
        payload: dict[str, Any] | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> DriverResponse:
        """POST a body to the bot, signed according to :attr:`signature_mode`."""
        parts = urlsplit(self.bot_url)
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(parts.netloc, timeout=self.timeout)
        headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        headers.update(self._signature_headers(body))
        headers.update(extra_headers or {})
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=body.encode("utf-8"), headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            return DriverResponse(response.status, dict(response.getheaders()), text, payload or {})
        finally:
            connection.close()

    def _send_form(self, form: dict[str, str]) -> DriverResponse:
        if self.socket is not None:
            # Slash commands: the form fields become the envelope's JSON payload.
            return self._over_socket("slash_commands", dict(form), accepts_response_payload=True)
        return self.send_raw(urlencode(form), FORM, payload=form)

    def _send_interaction(self, payload: dict[str, Any]) -> DriverResponse:
        if self.socket is not None:
            # Only view submissions (and option requests) take a response payload in the ack.
            accepts = payload.get("type") in ("view_submission", "block_suggestion")
            return self._over_socket("interactive", payload, accepts_response_payload=accepts)
        # Interactivity arrives as a form with one field, payload=<json> (bolt scenario tests).
        return self.send_raw(urlencode({"payload": json.dumps(payload)}), FORM, payload=payload)

    # ------------------------------------------------------------------ shared payload parts

    def _user(self, user_id: str) -> dict[str, Any]:
        user = self.fake.ensure_user(user_id)
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.team_id}

    def _team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": TEAM_DOMAIN}

    def _channel(self, channel_id: str) -> dict[str, Any]:
        channel = self.fake.channel(channel_id)
        return {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name}

    def _interaction_base(self, kind: str, user_id: str) -> dict[str, Any]:
        return {
            "type": kind,
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.fake.new_trigger_id(user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # ------------------------------------------------------------------ slash commands

    def slash(
        self, user_id: str, command: str = "/signaal", text: str = "", channel_id: str | None = None
    ) -> DriverResponse:
        """A slash command, sent from ``channel_id`` (default: the user's DM with the bot)."""
        user = self.fake.ensure_user(user_id)
        channel = self._channel(channel_id or self.fake.dm_channel_for(user_id))
        response_url = self.fake.new_response_url(user_id, channel["id"])
        form = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel["id"],
            "channel_name": channel["name"],
            "user_id": user_id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self.fake.new_trigger_id(user_id),
        }
        response = self._send_form(form)
        self._apply_command_ack(response, response_url)
        return response

    def _apply_command_ack(self, response: DriverResponse, response_url: str) -> None:
        """Slack shows a non-empty ack body to the user, like a response_url message."""
        if response.status != 200 or not response.body.strip():
            return
        try:
            message = response.json()
        except json.JSONDecodeError:
            message = {"text": response.body}
        if not isinstance(message, dict) or not (message.get("text") or message.get("blocks")):
            return
        # A rejected ack (e.g. bad blocks) is recorded by the fake as a failed "response_url" call.
        with contextlib.suppress(ApiError):
            self.fake.post_response(response_url, message)

    # ------------------------------------------------------------------ block actions

    def click(
        self,
        user_id: str,
        message: dict[str, Any],
        action_id: str,
        value: Any = None,
        selected: Any = None,
        block_id: str | None = None,
        state_values: dict[str, dict[str, Any]] | None = None,
        stale: bool = False,
    ) -> DriverResponse:
        """A ``block_actions`` payload for an element in a message the bot posted.

        ``message`` needs a ``ts`` (a stored message, a chat.postMessage response or an
        ephemeral's ``message_ts``); the current stored version is what Slack sends. ``state_values``
        (``{block_id: {action_id: raw value}}``) is what the user set in the message's other elements
        before clicking: Slack's client keeps that state and sends it along. With ``stale=True`` the
        given copy is clicked, as a client that has not refreshed would.
        """
        ts = message.get("ts") or message.get("message_ts")
        if not ts:
            raise ValueError("click() needs a message with 'ts' or 'message_ts'")
        channel_id, stored = self.fake.locate(str(ts))
        if stale:
            stored = {**stored, "blocks": message.get("blocks") or []}
        block, element = find_element(stored.get("blocks") or [], action_id, block_id)
        action, state = build_action(block, element, value, selected)
        is_ephemeral = bool(stored.get("is_ephemeral"))
        values = initial_state_values(stored.get("blocks") or [])
        for other_block, actions in _shape_values(stored, state_values or {}).items():
            values.setdefault(other_block, {}).update(actions)
        if state is not None:
            values.setdefault(block["block_id"], {})[action["action_id"]] = state
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": str(ts),
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        if stored.get("thread_ts"):
            container["thread_ts"] = stored["thread_ts"]
        payload = self._interaction_base("block_actions", user_id)
        payload.update(container=container, channel=self._channel(channel_id), state={"values": values})
        if not is_ephemeral:
            # Slack does not send the message body for ephemeral messages (it never stored them).
            payload["message"] = {k: v for k, v in stored.items() if k != "channel"}
        payload["response_url"] = self.fake.new_response_url(
            user_id, channel_id, message_ts=str(ts), is_ephemeral=is_ephemeral, thread_ts=stored.get("thread_ts")
        )
        payload["actions"] = [action]
        return self._send_interaction(payload)

    def click_in_view(
        self,
        user_id: str,
        view_id: str,
        action_id: str,
        value: Any = None,
        selected: Any = None,
        block_id: str | None = None,
    ) -> DriverResponse:
        """A ``block_actions`` payload for an element in a modal or the Home tab."""
        view = self.fake.view(view_id)
        block, element = find_element(view.get("blocks", []), action_id, block_id)
        action, state = build_action(block, element, value, selected)
        if state is not None:
            # Slack keeps the user's selection in the view, so later payloads must show it too.
            self.fake.set_view_state(view_id, block["block_id"], action["action_id"], state)
            view = self.fake.view(view_id)
        payload = self._interaction_base("block_actions", user_id)
        payload.update(container={"type": "view", "view_id": view_id}, view=view, actions=[action])
        return self._send_interaction(payload)

    # ------------------------------------------------------------------ shortcuts

    def global_shortcut(self, user_id: str, callback_id: str) -> DriverResponse:
        """A global shortcut, chosen from the search bar's shortcut menu (``shortcut`` payload)."""
        payload = self._interaction_base("shortcut", user_id)
        payload.update(callback_id=callback_id, action_ts=f"{time.time():.6f}")
        return self._send_interaction(payload)

    def message_shortcut(self, user_id: str, message: dict[str, Any], callback_id: str) -> DriverResponse:
        """A message shortcut from a message's ⋯ menu (``message_action`` payload, with the message)."""
        ts = message.get("ts")
        if not ts:
            raise ValueError("message_shortcut() needs a message with 'ts'")
        channel_id, stored = self.fake.locate(str(ts))
        payload = self._interaction_base("message_action", user_id)
        payload.update(
            callback_id=callback_id,
            action_ts=f"{time.time():.6f}",
            channel=self._channel(channel_id),
            message_ts=str(ts),
            message={"type": "message", **{k: v for k, v in stored.items() if k != "channel"}},
            response_url=self.fake.new_response_url(user_id, channel_id),
        )
        return self._send_interaction(payload)

    # ------------------------------------------------------------------ views

    def fill(self, view: dict[str, Any] | str, answers: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
        """``values`` for :meth:`submit_view` from ``{action_id: raw value}``; view may be an ID."""
        return fill(self.fake.view(view) if isinstance(view, str) else view, answers)

    def submit_view(
        self, user_id: str, view_id: str, values: dict[str, dict[str, Any]] | None = None
    ) -> DriverResponse:
        """A ``view_submission``; the bot's ack (close, errors, update, push, clear) is applied."""
        view = self.fake.view(view_id)
        for block_id, actions in _shape_values(view, values or {}).items():
            for action_id, state in actions.items():
                self.fake.set_view_state(view_id, block_id, action_id, state)
        view = self.fake.view(view_id)
        payload = self._interaction_base("view_submission", user_id)
        payload.update(view=view, response_urls=self._response_urls(user_id, view))
        response = self._send_interaction(payload)
        if response.status == 200:
            ack = self._json_or_none(response)
            self.fake.apply_view_submission_ack(view_id, ack if isinstance(ack, dict) else None)
        return response

    def _response_urls(self, user_id: str, view: dict[str, Any]) -> list[dict[str, Any]]:
        """Slack adds response_urls for conversation selects marked ``response_url_enabled``."""
        urls: list[dict[str, Any]] = []
        for block, element in iter_elements(view.get("blocks", [])):
            if not element.get("response_url_enabled"):
                continue
            state = view["state"]["values"].get(block["block_id"], {}).get(element["action_id"], {})
            channel_id = state.get("selected_conversation") or state.get("selected_channel")
            if channel_id:
                urls.append(
                    {
                        "block_id": block["block_id"],
                        "action_id": element["action_id"],
                        "channel_id": channel_id,
                        "response_url": self.fake.new_response_url(user_id, channel_id),
                    }
                )
        return urls

    @staticmethod
    def _json_or_none(response: DriverResponse) -> Any:
        try:
            return response.json()
        except json.JSONDecodeError:
            return None

    def close_view(self, user_id: str, view_id: str, force: bool = False) -> DriverResponse | None:
        """The user closes a modal. Slack only sends ``view_closed`` when the view has
        ``notify_on_close: true``; otherwise this returns None unless ``force`` is set."""
        view = self.fake.view(view_id)
        closed = self.fake.close_view(view_id)
        if not view.get("notify_on_close") and not force:
            return None
        payload = self._interaction_base("view_closed", user_id)
        payload.pop("trigger_id")  # view_closed carries no trigger_id: nothing can be opened from it.
        payload.update(view=view, is_cleared=len(closed) > 1)
        return self._send_interaction(payload)

    # ------------------------------------------------------------------ Events API

    def envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        """An ``event_callback`` envelope with a unique ``event_id``."""
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + uuid.uuid4().hex,
        }

    def send_event(
        self, envelope: dict[str, Any], retry_num: int | None = None, retry_reason: str = "http_timeout"
    ) -> DriverResponse:
        """POST an envelope as JSON; with ``retry_num`` it is a retry of an earlier delivery."""
        if self.socket is not None:
            return self._over_socket("events_api", envelope, accepts_response_payload=False,
                                     retry_num=retry_num, retry_reason=retry_reason if retry_num else None)
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.send_raw(json.dumps(envelope), JSON, payload=envelope, extra_headers=headers)

    def message(self, user_id: str, channel: str, text: str, thread_ts: str | None = None) -> DriverResponse:
        """The user types a message; it is stored in the fake and sent as a ``message`` event."""
        blocks = [_rich_text_block(text)]
        stored = self.fake.post_user_message(user_id, channel, text, thread_ts, blocks=blocks)
        target = self.fake.channel(stored["channel"])
        event: dict[str, Any] = {
            "type": "message",
            "channel": target.id,
            "user": user_id,
            "text": text,
            "ts": stored["ts"],
            "event_ts": stored["ts"],
            "channel_type": _channel_type(target),
            "client_msg_id": str(uuid.uuid4()),
            "team": self.team_id,
            "blocks": stored.get("blocks"),
        }
        if stored.get("thread_ts"):
            parent = self.fake.thread(target.id, stored["thread_ts"])[0]
            event.update(thread_ts=stored["thread_ts"], parent_user_id=parent.get("user"))
        return self.send_event(self.envelope(event))

    def app_home_opened(self, user_id: str, tab: str = "home") -> DriverResponse:
        self.fake.ensure_user(user_id)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.fake.dm_channel_for(user_id),
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        home = self.fake.home_view(user_id)
        if home is not None:
            event["view"] = home
        return self.send_event(self.envelope(event))

    def url_verification(self, challenge: str) -> DriverResponse:
        payload = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self.send_raw(json.dumps(payload), JSON, payload=payload)


def _rich_text_block(text: str) -> dict[str, Any]:
    """Slack adds a rich_text block to messages typed in the client."""
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return {"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [section]}
