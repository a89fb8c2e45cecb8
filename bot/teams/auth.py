"""Tokens, both ways. Incoming: every activity carries a JWT the Bot Framework signed; the Teams
SDK's validator checks its signature (the key from the JWKS beside TEAMS_OPENID_METADATA_URL), issuer,
audience (our app id), expiry, and that its `serviceurl` claim is the activity's `serviceUrl` — so an
address we later send to was vouched for by the token. Outgoing: the bot's own token, by the OAuth
client-credentials grant at TEAMS_TOKEN_URL (with the secret or a certificate) or from Azure's managed
identity, kept until shortly before it expires."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from bot.config import TOKEN_PATH, Settings
from bot.core.outbox import TransientError, Unauthorized

log = logging.getLogger(__name__)
BOT_SCOPE = "https://api.botframework.com/.default"
BOT_RESOURCE = BOT_SCOPE.removesuffix("/.default")  # the same, as a managed identity asks for it
IDENTITY_TIMEOUT = 15.0  # seconds: Azure's identity endpoint (a VM's may answer slowly at first)
RENEW_BEFORE = 300.0  # seconds before its expiry a token is renewed


class IncomingTokens:
    def __init__(self, settings: Settings) -> None:
        import warnings

        from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides

        with warnings.catch_warnings():  # the SDK's package warns about its preview features on import
            warnings.simplefilter("ignore")
            from microsoft_teams.apps.auth.token_validator import TokenValidator

        # It logs every refused token at ERROR: anyone can send those. Ours says it once, at INFO.
        logging.getLogger("microsoft_teams.apps.auth.token_validator").setLevel(logging.CRITICAL)
        cloud = with_overrides(PUBLIC, openid_metadata_url=settings.teams_openid_metadata_url)
        self._validator = TokenValidator.for_service(settings.teams_app_id or "", cloud=cloud)

    async def claims(self, authorization: str | None, service_url: str | None) -> dict[str, Any] | None:
        """The token's claims when it is valid for this activity, else None."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or not service_url:
            return None
        import jwt

        token = token.strip()
        try:
            if self._keys_at_hand(token):  # a signature check, no I/O: here, on the event loop
                return await self._validator.validate_token(token, service_url)
            # The validator's JWKS client fetches the keys with a blocking call: off the event loop.
            return await run_in_threadpool(asyncio.run, self._validator.validate_token(token, service_url))
        except (jwt.PyJWTError, ValueError) as exc:
            log.info("Teams: refused an activity's token (%s)", type(exc).__name__)
            return None


    def _keys_at_hand(self, token: str) -> bool:
        """Whether checking `token` needs no fetch: the validator's key set (PyJWT's PyJWKClient) is
        cached and fresh and holds the token's key. A thread hop per request costs more than the check
        under load (bench/NOTES.md, part 7); a token naming an unknown key (a forgery, or keys Microsoft
        rotated) goes to a thread, where a fetch does not hold up the other requests."""
        import jwt

        cache = getattr(getattr(self._validator, "_jwks_client", None), "jwk_set_cache", None)
        keys = cache.get() if cache is not None else None  # None: never fetched, or expired
        if keys is None:
            return False
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except (jwt.PyJWTError, ValueError):
            return False
        return bool(kid) and any(key.key_id == kid and key.public_key_use in ("sig", None) for key in keys.keys)


class BotToken:
    """The bot's bearer token for the Bot Connector, one of three ways: client credentials with the
    client secret; with a certificate (TEAMS_APP_CERTIFICATE_FILE), through msal, which signs the client
    assertion; or, in Azure, from the managed identity (TEAMS_APP_MANAGED_IDENTITY), through msal. Each
    is kept here until shortly before it expires, and fetched anew on `get(fresh=True)`."""

    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self.url = settings.teams_token_endpoint
        self.http = http
        self._grant: CertificateGrant | ManagedIdentityGrant | None = (
            CertificateGrant(settings, http) if settings.teams_app_certificate
            else ManagedIdentityGrant(settings) if settings.teams_app_managed_identity
            else None)
        self.form = {"grant_type": "client_credentials", "client_id": settings.teams_app_id or "",
                     "client_secret": settings.teams_app_password or "", "scope": BOT_SCOPE}
        self._lock = threading.Lock()
        self._token: str | None = None
        self._until = 0.0

    def get(self, *, fresh: bool = False) -> str:
        with self._lock:
            if fresh or self._token is None or time.monotonic() >= self._until:
                self._token, lifetime = self._fetch(fresh)
                self._until = time.monotonic() + max(lifetime - RENEW_BEFORE, lifetime / 2)
            return self._token

    def forget(self) -> None:
        with self._lock:
            self._token = None
            if self._grant is not None:
                self._grant.forget()

    def close(self) -> None:
        if isinstance(self._grant, ManagedIdentityGrant):
            self._grant.close()

    def _fetch(self, fresh: bool = False) -> tuple[str, float]:
        if self._grant is not None:
            return self._grant.fetch(fresh)
        try:
            resp = self.http.post(self.url, data=self.form)
        except httpx.TransportError as exc:
            raise TransientError(f"token: {type(exc).__name__}") from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientError(f"token: http_{resp.status_code}", _retry_after(resp))
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200 or not body.get("access_token"):
            # invalid_client, unauthorized_client…: our credentials (a rotated secret): pause the outbox.
            raise Unauthorized(f"token: {body.get('error') or f'http_{resp.status_code}'}"[:60])
        return str(body["access_token"]), float(body.get("expires_in") or 3600)


class CertificateGrant:
    """Client credentials with a certificate: msal's ConfidentialClientApplication signs the client
    assertion (a JWT for Entra's token endpoint, with the certificate's SHA-256 thumbprint in its
    header) and posts it. msal finds the endpoint through the authority's OpenID configuration: the
    authority is TEAMS_TOKEN_URL without /oauth2/v2.0/token (https only). Its requests go through our
    httpx client (the proxy, the trusted certificates); what the token endpoint answered decides, as for
    the secret, between a transient error and refused credentials."""

    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        from bot.teams.credentials import parse

        self.app_id = settings.teams_app_id or ""
        self.authority = settings.teams_token_endpoint.removesuffix(TOKEN_PATH)
        self.certificate = parse((settings.teams_app_certificate or "").encode("ascii", "replace"),
                                 passphrase=settings.teams_app_certificate_passphrase)
        self.http = _MsalHttp(http)
        self._app: Any = None

    def forget(self) -> None:
        if self._app is not None:
            self._app.remove_tokens_for_client()

    def fetch(self, fresh: bool) -> tuple[str, float]:
        import msal
        from msal.exceptions import MsalServiceError

        try:
            if self._app is None:  # msal reads the authority's OpenID configuration here
                self._app = msal.ConfidentialClientApplication(
                    self.app_id, authority=self.authority, http_client=self.http, instance_discovery=False,
                    client_credential={"private_key": self.certificate.private_key_pem,
                                       "public_certificate": self.certificate.certificate_pem},
                    token_cache=msal.TokenCache())
                log.info("Teams: the bot's token comes with the certificate %s (valid until %s)",
                         self.certificate.thumbprint, f"{self.certificate.not_after:%Y-%m-%d}")
            elif fresh:
                self._app.remove_tokens_for_client()
            result = self._app.acquire_token_for_client([BOT_SCOPE])
        except httpx.TransportError as exc:
            raise TransientError(f"token: {type(exc).__name__}") from exc
        except (ValueError, MsalServiceError, httpx.HTTPStatusError) as exc:
            result = {"error": type(exc).__name__}
        token = result.get("access_token") if isinstance(result, dict) else None
        if token:
            return str(token), float(result.get("expires_in") or 3600)
        resp = self.http.last  # msal answers a 429 or 5xx again from its cache until Retry-After: the last real one
        if resp is not None and (resp.status_code == 429 or resp.status_code >= 500):
            raise TransientError(f"token: http_{resp.status_code}", _retry_after(resp))
        # invalid_client (a certificate Entra does not know, or expired), an unknown tenant: pause the outbox.
        raise Unauthorized(f"token: {result.get('error') or 'refused'}"[:60])


class ManagedIdentityGrant:
    """The token of the bot's user-assigned managed identity, for a bot running in Azure (Azure Bot's
    "User-assigned managed identity" type: the identity's client id is the app id). msal's
    ManagedIdentityClient asks Azure's local identity endpoint: on App Service, Functions and Container
    Apps the one named by IDENTITY_ENDPOINT (with IDENTITY_HEADER as its key), on a VM the instance
    metadata service (169.254.169.254). It asks for the Bot Framework's resource, the scope the other ways
    ask for without "/.default". That endpoint is always local: its requests go through an httpx client of
    their own that ignores HTTPS_PROXY (a proxy must not see the identity header). What the endpoint
    answered decides, as for the other ways, between a transient error and refused credentials."""

    def __init__(self, settings: Settings) -> None:
        self.client_id = settings.teams_app_id or ""
        self._client = httpx.Client(timeout=httpx.Timeout(IDENTITY_TIMEOUT, connect=5.0), trust_env=False)
        self.http = _MsalHttp(self._client)
        self._app: Any = None
        self._cache: Any = None
        self._warned = False  # that no endpoint answered: said once, until one does

    def close(self) -> None:
        self._client.close()

    def forget(self) -> None:
        if self._cache is not None:  # the client has no remove_tokens_for_client: its cache, emptied
            for entry in list(self._cache.search(self._cache.CredentialType.ACCESS_TOKEN)):
                self._cache.remove_at(entry)

    def fetch(self, fresh: bool) -> tuple[str, float]:
        import msal

        try:
            if self._app is None:
                self._cache = msal.TokenCache()
                self._app = msal.ManagedIdentityClient(
                    msal.UserAssignedManagedIdentity(client_id=self.client_id), http_client=self.http,
                    token_cache=self._cache)
                log.info("Teams: the bot's token comes from the managed identity %s, through %s", self.client_id,
                         _identity_source())
            elif fresh:
                self.forget()
            result = self._app.acquire_token_for_client(resource=BOT_RESOURCE)
        except httpx.TransportError as exc:
            if not self._warned:
                self._warned = True
                log.warning("Teams: no managed identity endpoint answered (%s); TEAMS_APP_MANAGED_IDENTITY works "
                            "only for a bot running in Azure with the identity assigned (docs/teams.md)",
                            type(exc).__name__)
            raise TransientError(f"token: {type(exc).__name__}") from exc
        except ValueError as exc:  # ManagedIdentityError, an answer that is no JSON
            result = {"error": type(exc).__name__}
        token = result.get("access_token") if isinstance(result, dict) else None
        if token:
            self._warned = False
            return str(token), float(result.get("expires_in") or 3600)
        resp = self.http.last  # msal answers a 429 or 5xx again from its cache for a while: the last real one
        if resp is not None and (resp.status_code == 429 or resp.status_code >= 500):
            raise TransientError(f"token: http_{resp.status_code}", _retry_after(resp))
        # The identity not assigned to this app service or VM, or not the app id: pause the outbox.
        status = f"http_{resp.status_code}" if resp is not None else "refused"
        raise Unauthorized(f"token: managed identity {status} ({result.get('error') or 'no token'})"[:60])


def _identity_source() -> str:
    """Which of Azure's identity endpoints msal will ask here (for the log)."""
    from msal import managed_identity as mi

    tested = {mi.APP_SERVICE: "the identity endpoint of App Service or Container Apps (IDENTITY_ENDPOINT)",
              mi.DEFAULT_TO_VM: "the instance metadata service of an Azure VM"}
    untested = {mi.SERVICE_FABRIC: "Service Fabric", mi.AZURE_ARC: "Azure Arc",
                mi.MACHINE_LEARNING: "Azure Machine Learning", mi.CLOUD_SHELL: "Cloud Shell"}
    source = mi.get_managed_identity_source()  # one of msal's sentinel objects
    if source in tested:
        return tested[source]
    return f"{untested.get(source, 'an unknown source')} (untested here: docs/teams.md names where it works)"


class _MsalHttp:
    """msal's HTTP client (`post`, `get`, `close`) over ours, keeping the last answer it got."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.last: httpx.Response | None = None

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        if isinstance(data, dict):  # msal gives the assertion as bytes (requests sends those as they are)
            data = {k: v.decode("ascii") if isinstance(v, bytes) else v for k, v in data.items()}
        self.last = self.http.post(url, params=params, data=data, headers=headers)
        return self.last

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        self.last = self.http.get(url, params=params, headers=headers)
        return self.last

    def close(self) -> None:
        pass  # the client is the deliverer's, closed with it


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None
