"""The bot's Teams token from Azure's managed identity (TEAMS_APP_MANAGED_IDENTITY): no secret and no
certificate; msal's ManagedIdentityClient asks Azure's local identity endpoint for the token of the
user-assigned identity whose client id is the app id (Azure Bot's "User-assigned managed identity"
type). Offline, the fake Teams serves that endpoint over real HTTP, as App Service and Container Apps
do (IDENTITY_ENDPOINT + IDENTITY_HEADER) and as a VM's instance metadata service does; the connector
takes the token it issues. Exactly one of the three ways may be set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from bot.config import Settings, load_settings
from bot.core.outbox import TransientError, Unauthorized
from bot.runtime import health
from bot.sandbox.fake_teams import FakeTeams
from bot.sandbox.server import free_port
from bot.teams.auth import BotToken
from tests.teams_support import REPORTER_CHAT, start_teams_bot, wait_for
from tests.test_teams_certificate import _env, _problem

RESOURCE = "https://api.botframework.com"
# What msal reads to find the identity endpoint; none may leak in from the machine running the tests.
IDENTITY_ENV = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT",
                "MSI_SECRET", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZUREPS_HOST_ENVIRONMENT")


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTeams]:
    """The fake Teams with Azure's identity endpoint, as App Service or Container Apps give it to the
    app: IDENTITY_ENDPOINT and IDENTITY_HEADER in the environment."""
    teams = FakeTeams().start()
    for name in IDENTITY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", teams.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", teams.identity_header)
    try:
        yield teams
    finally:
        teams.stop()


def _settings(teams: FakeTeams) -> Settings:
    return Settings(teams_app_id=teams.app_id, teams_tenant_id=teams.tenant, teams_app_managed_identity=True,
                    teams_openid_metadata_url=teams.openid_metadata_url)


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


# -- the token ------------------------------------------------------------------------------------


def test_the_bots_token_comes_from_the_identity_endpoint_for_the_app_ids_identity(azure: FakeTeams) -> None:
    azure.assign_identity()
    with httpx.Client() as http:
        token = BotToken(_settings(azure), http)
        first = token.get()
        assert azure.identity_tokens == [first] and _claims(first)["appid"] == azure.app_id
        [asked] = azure.identity_requests
        assert asked["path"] == "/msi/token" and asked["identity_header"] == azure.identity_header
        assert asked["params"]["client_id"] == azure.app_id and asked["params"]["resource"] == RESOURCE
        assert token.get() == first and len(azure.identity_requests) == 1  # kept until shortly before it expires
        second = token.get(fresh=True)  # after a 401 from the connector: a new one, not msal's cached one
        assert len(azure.identity_requests) == 2 and second == azure.identity_tokens[-1]
        token.forget()
        token.get()
        assert len(azure.identity_requests) == 3
        token.close()
    assert azure.tokens_issued == 0  # the token endpoint of the secret and the certificate was never asked


def test_on_a_vm_the_token_comes_from_the_instance_metadata_service_bypassing_the_proxy(
        azure: FakeTeams, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without IDENTITY_ENDPOINT msal asks the VM's instance metadata service (here at the fake, as
    AZURE_POD_IDENTITY_AUTHORITY_HOST lets it be moved). The endpoint is local: a proxy in HTTP(S)_PROXY
    is not used for it (it would see the request; here it does not even exist)."""
    azure.assign_identity()
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", azure.url)
    nowhere = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, nowhere)
    with httpx.Client(trust_env=False) as http:
        token = BotToken(_settings(azure), http).get()
    [asked] = azure.identity_requests
    assert asked["path"] == "/metadata/identity/oauth2/token" and asked["metadata"] == "true"
    assert asked["params"]["client_id"] == azure.app_id and asked["params"]["resource"] == RESOURCE
    assert azure.identity_tokens == [token]


def test_an_identity_not_assigned_gets_no_token_and_a_busy_endpoint_is_transient(azure: FakeTeams) -> None:
    with httpx.Client() as http:
        with pytest.raises(Unauthorized, match="managed identity http_400"):
            BotToken(_settings(azure), http).get()  # no identity with the app id on this app service
        azure.assign_identity("11111111-0000-4000-8000-000000000000")  # another one: still not the app's
        with pytest.raises(Unauthorized, match="managed identity"):
            BotToken(_settings(azure), http).get()
        azure.assign_identity()
        azure.fail_identity(503, retry_after=7)
        with pytest.raises(TransientError, match="http_503") as busy:
            BotToken(_settings(azure), http).get()
        assert busy.value.retry_after == 7
        assert BotToken(_settings(azure), http).get() == azure.identity_tokens[-1]
    assert {r["params"]["client_id"] for r in azure.identity_requests} == {azure.app_id}


def test_a_wrong_identity_header_gets_no_token(azure: FakeTeams, monkeypatch: pytest.MonkeyPatch) -> None:
    azure.assign_identity()
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-one-azure-gave")
    with httpx.Client() as http, pytest.raises(Unauthorized, match="http_401"):
        BotToken(_settings(azure), http).get()
    assert azure.identity_tokens == []


def test_no_identity_endpoint_is_a_transient_error_and_says_so_once(
        azure: FakeTeams, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The bot started with TEAMS_APP_MANAGED_IDENTITY where nothing answers (not in Azure)."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{free_port()}/msi/token")
    with httpx.Client() as http:
        token = BotToken(_settings(azure), http)
        for _ in range(2):
            with pytest.raises(TransientError, match="ConnectError"):
                token.get()
    warned = [r for r in caplog.records if "no managed identity endpoint answered" in r.getMessage()]
    [warning] = warned
    assert "only for a bot running in Azure" in warning.getMessage()


# -- the settings ---------------------------------------------------------------------------------


def test_the_managed_identity_is_a_credential_instead_of_a_secret_or_certificate(tmp_path: Path) -> None:
    settings = load_settings(_env(TEAMS_APP_MANAGED_IDENTITY="true"), dotenv=False)
    assert settings.teams_enabled and settings.teams_app_managed_identity
    assert settings.teams_app_password is None and settings.teams_app_certificate is None
    assert not load_settings(_env(TEAMS_APP_PASSWORD="p", TEAMS_APP_MANAGED_IDENTITY="false"),
                             dotenv=False).teams_app_managed_identity

    pem = tmp_path / "teams.pem"
    pem.write_text(FakeTeams().new_certificate())
    line = _problem(_env(TEAMS_APP_PASSWORD="p", TEAMS_APP_MANAGED_IDENTITY="true"))
    assert line.startswith("TEAMS_APP_PASSWORD (or TEAMS_APP_PASSWORD_FILE) and TEAMS_APP_MANAGED_IDENTITY are "
                           "both set: keep one")
    line = _problem(_env(TEAMS_APP_CERTIFICATE_FILE=str(pem), TEAMS_APP_MANAGED_IDENTITY="yes"))
    assert "TEAMS_APP_CERTIFICATE_FILE and TEAMS_APP_MANAGED_IDENTITY are both set" in line
    line = _problem(_env(TEAMS_APP_PASSWORD="p", TEAMS_APP_CERTIFICATE_FILE=str(pem), TEAMS_APP_MANAGED_IDENTITY="1"))
    assert "are all set: keep one" in line
    line = _problem({"TEAMS_APP_MANAGED_IDENTITY": "true"})
    assert "TEAMS_APP_MANAGED_IDENTITY set but TEAMS_APP_ID is missing" in line
    line = _problem(_env(TEAMS_APP_MANAGED_IDENTITY="true", TEAMS_TOKEN_URL="https://login.example/t/oauth2/v2.0/token"))
    assert "remove TEAMS_TOKEN_URL" in line
    line = _problem(_env(TEAMS_APP_MANAGED_IDENTITY="false"))
    assert "TEAMS_APP_MANAGED_IDENTITY" in line and "is missing" in line


# -- end to end -----------------------------------------------------------------------------------


def test_a_bot_with_a_managed_identity_delivers_once_the_identity_is_assigned(
        database_url: str, fake: Any, azure: FakeTeams) -> None:
    """The whole way: the bot's messages go out with the token the identity endpoint issued. While the
    identity is not assigned to where the bot runs, the outbox pauses and nothing is lost; once it is,
    delivering resumes by itself."""
    run = start_teams_bot(database_url, fake, azure, teams_app_password=None, teams_token_url=None,
                          teams_app_managed_identity=True, outbox_probe_seconds=0.3)
    try:
        assert run.send(run.activity("message", text="hallo")).status_code == 200
        state = wait_for(lambda: (h := health(run.bot))["outbox"]["paused"] and h)
        assert "managed identity" in state["outbox"]["paused"] and not azure.posted()
        azure.assign_identity()
        wait_for(lambda: azure.posted(REPORTER_CHAT))
        wait_for(lambda: health(run.bot)["outbox"]["paused"] is None)
        assert azure.bearers and azure.bearers <= set(azure.identity_tokens)
        assert azure.tokens_issued == 0
        assert {r["params"]["client_id"] for r in azure.identity_requests} == {azure.app_id}
    finally:
        run.stop()
