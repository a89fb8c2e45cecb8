"""A fake Bot Connector and Bot Framework login, on loopback, for tests (and later the Teams
sandbox): what Teams' side of a bot conversation does, over real HTTP.

- The bot's token: `POST /botframework.com/oauth2/v2.0/token` (client credentials; the app id and
  password must be the ones it was made with) answers a JWT it signs with its own key. Or, as Entra
  does for a certificate credential, a client assertion (`client_assertion_type=…jwt-bearer`): a JWT
  signed RS256 or PS256 whose header names a certificate registered for the app (`x5t#S256` or `x5t`;
  `new_certificate` makes and registers one, as an upload to the app registration), checked against that
  certificate's public key, with aud = the token URL, iss = sub = the app id, an exp not passed, a jti,
  and the certificate not expired; anything else is `invalid_client`. `tls=True` serves everything over
  https with a certificate of its own CA (`ca_file`: what a client must trust), as msal needs an https
  authority: `GET /botframework.com/v2.0/.well-known/openid-configuration` names the token endpoint.
- Azure's local identity endpoint, for a bot with a managed identity: `GET /msi/token` as App Service
  and Container Apps serve it at IDENTITY_ENDPOINT (the `X-IDENTITY-HEADER` must be `identity_header`,
  which Azure gives the app as IDENTITY_HEADER; api-version 2019-08-01; `expires_on` in the answer), and
  `GET /metadata/identity/oauth2/token` as a VM's instance metadata service (`Metadata: true`;
  api-version 2018-02-01; `expires_in`). Both take only the Bot Framework's resource and a `client_id`
  among `managed_identities` (`assign_identity`: a user-assigned identity given to the app or VM), and
  answer a token the connector takes when that client id is the app id. `identity_requests` records
  what they were asked; `fail_identity` makes the next answers 429 or 5xx.
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

import base64
import itertools
import json
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.server import ThreadedServer

ISSUER = "https://api.botframework.com"  # the Bot Framework's issuer of activities' tokens
CARD = "application/vnd.microsoft.card.adaptive"
KID = "fake-teams-key"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


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
    tls: bool = False  # serve https (a CA of its own: `ca_file`)
    # The app registration's certificates, by thumbprint ("x5t#S256" or "x5t", base64url), and the
    # client assertions accepted (their header and claims).
    certificates: dict[tuple[str, str], x509.Certificate] = field(default_factory=dict)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    # Azure's identity endpoint: the user-assigned identities (client ids) the app service or VM has, the
    # secret it gives the app (IDENTITY_HEADER), what it was asked, the tokens it issued.
    managed_identities: set[str] = field(default_factory=set)
    identity_header: str = field(default_factory=lambda: uuid.uuid4().hex)
    identity_requests: list[dict[str, Any]] = field(default_factory=list)
    identity_tokens: list[str] = field(default_factory=list)
    bearers: set[str] = field(default_factory=set)  # the bot's tokens the connector accepted

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._bot_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # for the bot's tokens
        self._failures: list[tuple[int, float | None]] = []
        self._identity_failures: list[tuple[int, float | None]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.server: ThreadedServer | None = None
        self._tls_dir: Path | None = None
        self.ca_file: str | None = None

    # -- running --------------------------------------------------------------------------------

    def start(self) -> FakeTeams:
        tls = None
        if self.tls:
            self._tls_dir = Path(tempfile.mkdtemp(prefix="fake-teams-tls-"))
            self.ca_file, *files = _tls_files(self._tls_dir)
            tls = (files[0], files[1])
        self.server = ThreadedServer(self.asgi(), tls=tls).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)

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

    @property
    def identity_endpoint(self) -> str:
        """What App Service and Container Apps put in IDENTITY_ENDPOINT."""
        return self.url + "/msi/token"

    def new_certificate(self, *, register: bool = True, key: Any = None, days: float = 365,
                        starts: datetime | None = None) -> str:
        """A certificate credential for the app, as PEM (private key, then certificate): what an IT
        department makes and, with `register`, uploads to the app registration. `key`: the private key
        written into the file (another one than the certificate's: a wrong key)."""
        own = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        start = starts or datetime.now(UTC) - timedelta(minutes=5)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signaalbot-teams")])
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(own.public_key())
                       .serial_number(x509.random_serial_number()).not_valid_before(start)
                       .not_valid_after(start + timedelta(days=days)).sign(own, hashes.SHA256()))
        if register:
            self.register(certificate)
        return (key or own).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode() + \
            certificate.public_bytes(serialization.Encoding.PEM).decode()

    def register(self, certificate: x509.Certificate) -> None:
        """A certificate uploaded to the app registration (Certificates & secrets)."""
        der = certificate.public_bytes(serialization.Encoding.DER)
        for header, digest in (("x5t#S256", hashes.SHA256()), ("x5t", hashes.SHA1())):  # noqa: S303
            hasher = hashes.Hash(digest)
            hasher.update(der)
            self.certificates[(header, _b64url(hasher.finalize()))] = certificate

    def assign_identity(self, client_id: str | None = None) -> None:
        """A user-assigned managed identity given to the app service or VM the bot runs on (by default
        one whose client id is the app id, as Azure Bot's "User-assigned managed identity" type has it)."""
        self.managed_identities.add(client_id or self.app_id)

    def fail_identity(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        """The identity endpoint's next `times` answers are `status` (429 with Retry-After, or a 5xx)."""
        with self._lock:
            self._identity_failures += [(status, retry_after)] * times

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
            Route("/botframework.com/v2.0/.well-known/openid-configuration", self._login_metadata, methods=["GET"]),
            Route("/msi/token", self._identity, methods=["GET"]),
            Route("/metadata/identity/oauth2/token", self._identity, methods=["GET"]),
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

    async def _login_metadata(self, request: Request) -> Response:
        """The OpenID configuration of the login (Entra's, per tenant): where msal finds the token endpoint."""
        tenant = self.url + "/botframework.com"
        return JSONResponse({"issuer": tenant + "/v2.0", "token_endpoint": self.token_url,
                             "authorization_endpoint": tenant + "/oauth2/v2.0/authorize",
                             "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                                       "client_secret_basic"]})

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials" or form.get("scope") != "https://api.botframework.com/.default":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if "client_assertion" in form or "client_assertion_type" in form:
            why = self._assertion_refused(form)
            if why:
                return JSONResponse({"error": "invalid_client", "error_description": why}, status_code=401)
        elif form.get("client_id") != self.app_id or form.get("client_secret") != self.app_password:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        now = int(time.time())
        token = jwt.encode({"iss": f"https://login.microsoftonline.com/{self.tenant}/v2.0", "aud": ISSUER,
                            "appid": self.app_id, "iat": now, "exp": now + 3600}, self._bot_key, algorithm="RS256")
        self.tokens_issued += 1
        return JSONResponse({"token_type": "Bearer", "expires_in": 3600, "access_token": token})

    async def _identity(self, request: Request) -> Response:
        """Azure's identity endpoint: App Service's (`/msi/token`) or a VM's instance metadata service."""
        app_service = request.url.path == "/msi/token"
        params = dict(request.query_params)
        self.identity_requests.append({"path": request.url.path, "params": params,
                                       "identity_header": request.headers.get("x-identity-header"),
                                       "metadata": request.headers.get("metadata")})

        def refuse(status: int, message: str) -> Response:
            if app_service:  # App Service's shape of an error; the VM's is OAuth's
                return JSONResponse({"statusCode": status, "message": message}, status_code=status)
            return JSONResponse({"error": "invalid_request", "error_description": message}, status_code=status)

        with self._lock:
            failure = self._identity_failures.pop(0) if self._identity_failures else None
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            return JSONResponse({"statusCode": status, "message": "try again"}, status_code=status, headers=headers)
        if app_service and request.headers.get("x-identity-header") != self.identity_header:
            return refuse(401, "the X-IDENTITY-HEADER is missing or wrong")
        if not app_service and request.headers.get("metadata") != "true":
            return refuse(400, "Required metadata header not specified")
        if params.get("api-version") != ("2019-08-01" if app_service else "2018-02-01"):
            return refuse(400, "an api-version this fake does not serve")
        if params.get("resource") != "https://api.botframework.com":
            return refuse(400, "only the Bot Framework's resource is served here")
        client_id = params.get("client_id")
        if client_id not in self.managed_identities:
            return refuse(400, "Unable to load the proper Managed Identity (no identity with that client id)")
        now = int(time.time())
        token = jwt.encode({"iss": f"https://login.microsoftonline.com/{self.tenant}/v2.0", "aud": ISSUER,
                            "appid": client_id, "idtyp": "app", "iat": now, "exp": now + 86400,
                            "xms_mirid": f"/subscriptions/x/resourcegroups/y/providers/"
                                         f"Microsoft.ManagedIdentity/userAssignedIdentities/{client_id}"},
                           self._bot_key, algorithm="RS256")
        self.identity_tokens.append(token)
        body: dict[str, Any] = {"access_token": token, "resource": params["resource"], "token_type": "Bearer",
                                "client_id": client_id}
        if app_service:
            body["expires_on"] = str(now + 86400)
        else:
            body |= {"expires_in": "86400", "expires_on": str(now + 86400)}
        return JSONResponse(body)

    def _assertion_refused(self, form: dict[str, str]) -> str | None:
        """Why Entra would refuse this client assertion (None: it takes it)."""
        if form.get("client_assertion_type") != JWT_BEARER:
            return "client_assertion_type must be " + JWT_BEARER
        assertion = form.get("client_assertion") or ""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "client_assertion is not a JWT"
        alg = header.get("alg")
        if alg not in ("RS256", "PS256"):
            return f"alg {alg!r} is not taken"
        # base64url, with or without padding (msal pads it)
        certificate = (self.certificates.get(("x5t#S256", str(header.get("x5t#S256")).rstrip("=")))
                       or self.certificates.get(("x5t", str(header.get("x5t")).rstrip("="))))
        if certificate is None:
            return "AADSTS700027: the key in the assertion's header (x5t) is not registered for the app"
        now = datetime.now(UTC)
        if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
            return "AADSTS700027: the certificate is not valid now"
        try:
            claims = jwt.decode(assertion, certificate.public_key(), algorithms=[alg], audience=self.token_url,
                                issuer=self.app_id, options={"require": ["exp", "aud", "iss", "sub", "jti"]})
        except jwt.PyJWTError as exc:
            return f"AADSTS700027: {type(exc).__name__}"
        if claims.get("sub") != self.app_id or form.get("client_id", self.app_id) != self.app_id:
            return "AADSTS700021: sub and client_id must be the app id"
        self.assertions.append({"header": header, "claims": claims})
        return None

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer":
            return False
        try:
            claims = jwt.decode(token, self._bot_key.public_key(), algorithms=["RS256"], audience=ISSUER)
        except jwt.PyJWTError:
            return False
        if claims.get("appid") != self.app_id:
            return False
        self.bearers.add(token)
        return True

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


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _tls_files(directory: Path) -> tuple[str, str, str]:
    """A CA of the fake's own and a server certificate for 127.0.0.1 and localhost signed by it: (the
    CA's certificate file, the server's certificate file, its key file)."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake Teams test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start + timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])).issuer_name(ca_name)
              .public_key(key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(start)
              .not_valid_after(start + timedelta(days=2))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1")),
                                                          x509.DNSName("localhost")]), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    files = (directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    files[0].write_bytes(ca.public_bytes(pem))
    files[1].write_bytes(server.public_bytes(pem))
    files[2].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(files[0]), str(files[1]), str(files[2])


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
