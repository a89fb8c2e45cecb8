"""A fake Bot Connector and Bot Framework login, on loopback, for tests (and later the Teams
sandbox): what Teams' side of a bot conversation does, over real HTTP.

- The bot's token: `POST /botframework.com/oauth2/v2.0/token` (client credentials; the app id and
  password must be the ones it was made with) answers a JWT it signs with its own key.
- Incoming tokens: `GET /v1/.well-known/openidconfiguration` and `/v1/.well-known/keys` serve the
  public key of the key `sign` uses, so the bot checks activities' tokens for real (`token(...)`
  makes one, with any claim changed; a test's own key makes a forged one).
- The connector: `POST /v3/conversations`, `POST /v3/conversations/{id}/activities`, `PUT` and
  `DELETE /v3/conversations/{id}/activities/{activityId}`. Each checks the bot's bearer token (one
  this fake issued, unexpired) and the activity's shape (a message with an Adaptive Card; mentions
  that the card's text names), records what it received (`received`), and keeps each conversation's
  activities as they are now (`activities`). It takes posts only in conversations the bot is a member
  of (`join`, or one it opened); elsewhere 403, as Teams answers a bot that is not in the team.
- `fail(status, times, retry_after)`: the next calls answer 429 (with Retry-After) or a 5xx.
- For the Teams sandbox: `reply_to` (a reply's activity id → the activity it answers, for posts to
  `{channel};messageid={id}`) and `person_posted` (what a person typed, kept in the conversation beside
  the bot's activities, as Teams shows it).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.server import ThreadedServer

ISSUER = "https://api.botframework.com"  # the Bot Framework's issuer of activities' tokens
CARD = "application/vnd.microsoft.card.adaptive"
KID = "fake-teams-key"


@dataclass
class Received:
    method: str
    path: str
    conversation: str | None
    activity_id: str | None
    body: dict[str, Any] | None
    status: int


@dataclass
class FakeTeams:
    app_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    app_password: str = "fake-teams-secret"  # noqa: S105 - a test double's credential
    tenant: str = field(default_factory=lambda: str(uuid.uuid4()))
    received: list[Received] = field(default_factory=list)
    activities: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # conversation → id → activity
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)  # made by POST /v3/conversations
    tokens_issued: int = 0
    joined: set[str] = field(default_factory=set)  # conversations the bot is a member of (`join`)
    reply_to: dict[str, str] = field(default_factory=dict)  # a reply's activity id → the activity it answers
    # Members for whom the app is not installed: Teams refuses to open a 1:1 chat with them (403).
    not_installed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._bot_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # for the bot's tokens
        self._failures: list[tuple[int, float | None]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.server: ThreadedServer | None = None

    # -- running --------------------------------------------------------------------------------

    def start(self) -> FakeTeams:
        self.server = ThreadedServer(self.asgi()).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def service_url(self) -> str:
        return self.url + "/"

    @property
    def openid_metadata_url(self) -> str:
        return self.url + "/v1/.well-known/openidconfiguration"

    @property
    def token_url(self) -> str:
        return self.url + "/botframework.com/oauth2/v2.0/token"

    # -- what a test does -----------------------------------------------------------------------

    def token(self, *, key: Any = None, **claims: Any) -> str:
        """A token as the Bot Framework signs it for an activity to the bot; `claims` change or
        (with None) drop a claim; `key`: sign with another key (a forgery)."""
        now = int(time.time())
        body: dict[str, Any] = {"iss": ISSUER, "aud": self.app_id, "iat": now - 5, "nbf": now - 5, "exp": now + 3600,
                                "serviceurl": self.service_url}
        for name, value in claims.items():
            if value is None:
                body.pop(name, None)
            else:
                body[name] = value
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": KID})

    def join(self, conversation: str) -> None:
        """The bot is a member of `conversation` (a 1:1 chat, or a channel of a team the app was added
        to): Teams takes the bot's posts there. Elsewhere it answers 403, as Teams does."""
        self.joined.add(conversation.split(";messageid=")[0])

    def fail(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        """The next `times` connector calls answer `status` (429 with Retry-After, or a 5xx)."""
        with self._lock:
            self._failures += [(status, retry_after)] * times

    def posted(self, conversation: str | None = None) -> list[Received]:
        return [r for r in self.received if r.method == "POST" and r.activity_id is None and r.status < 300
                and r.conversation is not None and (conversation is None or r.conversation == conversation)]

    def person_posted(self, conversation: str, activity: dict[str, Any]) -> str:
        """A person's own message in `conversation` (the sandbox's composer): kept in the conversation's
        activities, as Teams shows it; returns its id."""
        with self._lock:
            activity_id = f"1{next(self._ids):012d}"
        self.activities.setdefault(conversation.split(";messageid=")[0], {})[activity_id] = activity
        return activity_id

    def chat_with(self, member: str) -> str | None:
        """The 1:1 chat the bot opened with `member` (POST /v3/conversations), if any."""
        return next((cid for cid, body in self.conversations.items()
                     if any(m.get("id") == member for m in body.get("members") or [])), None)

    def cards(self, conversation: str) -> list[dict[str, Any]]:
        """The conversation's activities as they are now (updates applied), oldest first."""
        return list(self.activities.get(conversation, {}).values())

    # -- the HTTP side ----------------------------------------------------------------------------

    def asgi(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/.well-known/openidconfiguration", self._openid, methods=["GET"]),
            Route("/v1/.well-known/keys", self._keys, methods=["GET"]),
            Route("/botframework.com/oauth2/v2.0/token", self._token, methods=["POST"]),
            Route("/v3/conversations", self._create, methods=["POST"]),
            Route("/v3/conversations/{conversation:path}/activities", self._post, methods=["POST"]),
            Route("/v3/conversations/{conversation:path}/activities/{activity}", self._change,
                  methods=["PUT", "DELETE"]),
        ])

    async def _openid(self, request: Request) -> Response:
        return JSONResponse({"issuer": ISSUER, "jwks_uri": self.url + "/v1/.well-known/keys",
                             "id_token_signing_alg_values_supported": ["RS256"]})

    async def _keys(self, request: Request) -> Response:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return JSONResponse({"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256",
                                       "endorsements": ["msteams"]}]})

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials" or form.get("scope") != "https://api.botframework.com/.default":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if form.get("client_id") != self.app_id or form.get("client_secret") != self.app_password:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        now = int(time.time())
        token = jwt.encode({"iss": f"https://login.microsoftonline.com/{self.tenant}/v2.0", "aud": ISSUER,
                            "appid": self.app_id, "iat": now, "exp": now + 3600}, self._bot_key, algorithm="RS256")
        self.tokens_issued += 1
        return JSONResponse({"token_type": "Bearer", "expires_in": 3600, "access_token": token})

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer":
            return False
        try:
            claims = jwt.decode(token, self._bot_key.public_key(), algorithms=["RS256"], audience=ISSUER)
        except jwt.PyJWTError:
            return False
        return claims.get("appid") == self.app_id

    def _gate(self, request: Request) -> Response | None:
        if not self._authorised(request):
            return JSONResponse({"error": {"code": "Unauthorized"}}, status_code=401)
        with self._lock:
            if self._failures:
                status, retry_after = self._failures.pop(0)
                headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
                return JSONResponse({"error": {"code": "Throttled" if status == 429 else "ServiceError"}},
                                    status_code=status, headers=headers)
        return None

    def _record(self, request: Request, conversation: str | None, activity: str | None, body: Any,
                status: int) -> None:
        self.received.append(Received(request.method, request.url.path, conversation, activity,
                                      body if isinstance(body, dict) else None, status))

    async def _create(self, request: Request) -> Response:
        body = await _json(request)
        refused = self._gate(request)
        if refused is not None:
            self._record(request, None, None, body, refused.status_code)
            return refused
        members = body.get("members") if isinstance(body, dict) else None
        if (not isinstance(members, list) or len(members) != 1 or not isinstance(members[0], dict)
                or not members[0].get("id") or body.get("isGroup") or not body.get("tenantId")):
            self._record(request, None, None, body, 400)
            return JSONResponse({"error": {"code": "BadArgument"}}, status_code=400)
        if members[0]["id"] in self.not_installed:
            self._record(request, None, None, body, 403)
            return JSONResponse({"error": {"code": "Forbidden", "message": "The app is not installed for this user"}},
                                status_code=403)
        # A person has one 1:1 chat with the bot: opening it again answers the same id (as Teams does).
        conversation = self.chat_with(str(members[0]["id"])) or f"a:1{uuid.uuid4().hex}"
        self.conversations[conversation] = body
        self._record(request, None, None, body, 201)
        return JSONResponse({"id": conversation}, status_code=201)

    async def _post(self, request: Request) -> Response:
        conversation = request.path_params["conversation"]
        body = await _json(request)
        refused = self._gate(request) or _bad_activity(body)
        base = conversation.split(";messageid=")[0]
        if refused is None and base not in self.joined and base not in self.conversations:
            refused = JSONResponse({"error": {"code": "BotNotInConversationRoster"}}, status_code=403)
        if refused is not None:
            self._record(request, conversation, None, body, refused.status_code)
            return refused
        activity_id = f"1{next(self._ids):012d}"
        base, _sep, parent = conversation.partition(";messageid=")
        self.activities.setdefault(base, {})[activity_id] = body
        if parent:
            self.reply_to[activity_id] = parent
        self._record(request, conversation, None, body, 201)
        return JSONResponse({"id": activity_id}, status_code=201)

    async def _change(self, request: Request) -> Response:
        conversation, activity_id = request.path_params["conversation"], request.path_params["activity"]
        body = await _json(request) if request.method == "PUT" else None
        refused = self._gate(request) or (_bad_activity(body) if request.method == "PUT" else None)
        known = self.activities.get(conversation, {})
        if refused is None and activity_id not in known:
            refused = JSONResponse({"error": {"code": "ActivityNotFound"}}, status_code=404)
        if refused is not None:
            self._record(request, conversation, activity_id, body, refused.status_code)
            return refused
        if request.method == "DELETE":
            known.pop(activity_id)
        else:
            known[activity_id] = body
        self._record(request, conversation, activity_id, body, 200)
        return JSONResponse({"id": activity_id})


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None


def _bad_activity(body: Any) -> Response | None:
    """The shape Teams takes: a message whose attachments are Adaptive Cards (type, version, body),
    a summary that is text, and mentions each named in the card as `<at>…</at>`."""
    problems = []
    if not isinstance(body, dict) or body.get("type") != "message":
        problems.append("not a message activity")
    else:
        if "summary" in body and not isinstance(body["summary"], str):
            problems.append("summary must be text")
        attachments = body.get("attachments") or []
        if not attachments and not body.get("text"):
            problems.append("neither text nor attachments")
        for attachment in attachments:
            card = attachment.get("content") if isinstance(attachment, dict) else None
            if attachment.get("contentType") != CARD or not isinstance(card, dict):
                problems.append("an attachment that is no Adaptive Card")
                continue
            if card.get("type") != "AdaptiveCard" or not card.get("version") or not isinstance(card.get("body"), list):
                problems.append("an Adaptive Card without type, version or body")
            for action in card.get("actions") or []:
                if action.get("type") == "Action.Execute" and not action.get("verb"):
                    problems.append("Action.Execute without a verb")
            shown = json.dumps(card.get("body"))
            for entity in (card.get("msteams") or {}).get("entities") or []:
                if entity.get("type") == "mention" and (entity.get("text") not in shown
                                                         or not (entity.get("mentioned") or {}).get("id")):
                    problems.append("a mention the card does not show, or without an id")
    if problems:
        return JSONResponse({"error": {"code": "BadArgument", "message": "; ".join(problems)}}, status_code=400)
    return None
