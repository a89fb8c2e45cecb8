"""The bot's Teams token with a certificate instead of a client secret (TEAMS_APP_CERTIFICATE_FILE):
msal signs a client assertion with the certificate's private key; the fake login (over https, as msal
requires) checks it as Entra does — the certificate registered for the app, the signature with its
public key, aud, iss = sub = the app id, exp. A wrong certificate or key gets no token. A file that
will not do, or a secret and a certificate both, stop the bot at start with a line saying why."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import ConfigError, Settings, load_settings
from bot.core.outbox import TransientError, Unauthorized
from bot.runtime import health
from bot.sandbox.fake_teams import JWT_BEARER, FakeTeams
from bot.sandbox.server import free_port
from bot.teams.auth import BOT_SCOPE, BotToken
from tests.teams_support import REPORTER_CHAT, start_teams_bot, wait_for

APP_ID = "00000000-0000-4000-8000-0000000000a1"
TENANT = "00000000-0000-4000-8000-0000000000b2"


@pytest.fixture
def login(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTeams]:
    """The fake Bot Connector and login over https; this process trusts its CA (SSL_CERT_FILE, which
    httpx and the standard library honour, as a municipality's own CA would be trusted)."""
    teams = FakeTeams(tls=True).start()
    assert teams.ca_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", teams.ca_file)
    try:
        yield teams
    finally:
        teams.stop()


def _settings(teams: FakeTeams, pem: str) -> Settings:
    return Settings(teams_app_id=teams.app_id, teams_tenant_id=teams.tenant, teams_app_certificate=pem,
                    teams_token_url=teams.token_url, teams_openid_metadata_url=teams.openid_metadata_url)


def _thumbprint(pem: str, digest: hashes.HashAlgorithm) -> str:
    import base64

    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    hasher = hashes.Hash(digest)
    hasher.update(der)
    return base64.urlsafe_b64encode(hasher.finalize()).decode().rstrip("=")


# -- the token ------------------------------------------------------------------------------------


def test_the_bots_token_comes_with_a_client_assertion_signed_by_its_certificate(login: FakeTeams) -> None:
    pem = login.new_certificate()
    with httpx.Client() as http:
        token = BotToken(_settings(login, pem), http)
        first = token.get()
        assert jwt.decode(first, options={"verify_signature": False})["appid"] == login.app_id
        [taken] = login.assertions
        # What Entra checks, checked by the fake; here what msal put in it.
        assert taken["header"]["alg"] in ("RS256", "PS256")
        assert taken["header"]["x5t#S256"].rstrip("=") == _thumbprint(pem, hashes.SHA256())
        claims = taken["claims"]
        assert claims["aud"] == login.token_url and claims["iss"] == claims["sub"] == login.app_id
        assert claims["exp"] > time.time() and claims["jti"]
        assert token.get() == first and login.tokens_issued == 1  # kept until shortly before it expires
        token.get(fresh=True)  # after a 401 from the connector: a new one, not msal's cached one
        assert login.tokens_issued == 2 and len(login.assertions) == 2
        token.forget()
        token.get()
        assert login.tokens_issued == 3


def test_a_certificate_entra_does_not_know_gets_no_token(login: FakeTeams) -> None:
    login.new_certificate()  # the one uploaded to the app registration …
    other = login.new_certificate(register=False)  # … is not the one in the bot's file
    with httpx.Client() as http, pytest.raises(Unauthorized, match="invalid_client"):
        BotToken(_settings(login, other), http).get()
    assert login.tokens_issued == 0 and login.assertions == []


def test_an_unreachable_login_is_a_transient_error(login: FakeTeams) -> None:
    pem = login.new_certificate()
    gone = f"https://127.0.0.1:{free_port()}/botframework.com/oauth2/v2.0/token"
    with httpx.Client() as http, pytest.raises(TransientError):
        BotToken(_settings(login, pem).with_(teams_token_url=gone), http).get()


def _assertion(teams: FakeTeams, key: Any, pem: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"aud": teams.token_url, "iss": teams.app_id, "sub": teams.app_id, "jti": str(uuid.uuid4()),
            "iat": now, "nbf": now, "exp": now + 600}
    for name, value in claims.items():
        if value is None:
            body.pop(name)
        else:
            body[name] = value
    return jwt.encode(body, key, algorithm="PS256", headers={"x5t#S256": _thumbprint(pem, hashes.SHA256())})


def test_the_fake_login_checks_an_assertion_as_entra_does(login: FakeTeams) -> None:
    """The checks the certificate path relies on can fail: each wrong assertion is refused."""
    pem = login.new_certificate()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    wrong_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    unregistered = login.new_certificate(register=False)
    cases = {
        "good": _assertion(login, key, pem),
        "signed with another key": _assertion(login, wrong_key, pem),
        "another audience": _assertion(login, key, pem, aud="https://login.microsoftonline.com/x/oauth2/v2.0/token"),
        "another issuer": _assertion(login, key, pem, iss=str(uuid.uuid4())),
        "subject is not the app": _assertion(login, key, pem, sub=str(uuid.uuid4())),
        "expired": _assertion(login, key, pem, iat=now - 3600, nbf=now - 3600, exp=now - 60),
        "no jti": _assertion(login, key, pem, jti=None),
        "a certificate not registered": _assertion(
            login, serialization.load_pem_private_key(unregistered.encode(), password=None), unregistered),
        "an HMAC signature": jwt.encode({"aud": login.token_url, "iss": login.app_id, "sub": login.app_id,
                                         "exp": now + 600, "jti": "x"}, "a shared secret of thirty-two bytes",
                                        algorithm="HS256",
                                        headers={"x5t#S256": _thumbprint(pem, hashes.SHA256())}),
    }
    answers = {}
    with httpx.Client() as http:
        for why, assertion in cases.items():
            resp = http.post(login.token_url, data={
                "grant_type": "client_credentials", "client_id": login.app_id, "scope": BOT_SCOPE,
                "client_assertion_type": JWT_BEARER, "client_assertion": assertion})
            answers[why] = (resp.status_code, resp.json().get("error"))
    assert answers.pop("good")[0] == 200
    assert answers == {why: (401, "invalid_client") for why in answers}


# -- the settings ---------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    return {"TEAMS_APP_ID": APP_ID, "TEAMS_TENANT_ID": TENANT, **extra}


def _problem(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(env, dotenv=False)
    [line] = raised.value.problems
    return line


def test_a_certificate_file_is_a_credential_instead_of_the_secret(tmp_path: Path) -> None:
    teams = FakeTeams()
    path = tmp_path / "teams.pem"
    path.write_text(teams.new_certificate())
    settings = load_settings(_env(TEAMS_APP_CERTIFICATE_FILE=str(path)), dotenv=False)
    assert settings.teams_enabled and settings.teams_app_password is None
    assert settings.teams_app_certificate == path.read_text()
    assert "PRIVATE KEY" not in repr(settings)


def test_half_or_wrong_certificate_settings_stop_the_bot_naming_what_is_wrong(tmp_path: Path) -> None:
    teams = FakeTeams()
    good = tmp_path / "good.pem"
    good.write_text(teams.new_certificate())

    assert "both set" in _problem(_env(TEAMS_APP_PASSWORD="p", TEAMS_APP_CERTIFICATE_FILE=str(good)))
    line = _problem({"TEAMS_APP_CERTIFICATE_FILE": str(good)})
    assert "TEAMS_APP_CERTIFICATE_FILE" in line and "TEAMS_APP_ID is missing" in line
    line = _problem({"TEAMS_APP_ID": APP_ID, "TEAMS_TENANT_ID": TENANT})
    assert "TEAMS_APP_PASSWORD" in line and "TEAMS_APP_CERTIFICATE_FILE" in line
    line = _problem(_env(TEAMS_APP_CERTIFICATE_FILE=str(tmp_path / "missing.pem")))
    assert line.startswith("TEAMS_APP_CERTIFICATE_FILE: cannot read") and "missing.pem" in line
    line = _problem(_env(TEAMS_APP_CERTIFICATE_FILE=str(good), TEAMS_TOKEN_URL="http://127.0.0.1:1/t/oauth2/v2.0/token"))
    assert "TEAMS_TOKEN_URL must be an https URL" in line

    pem = good.read_text()
    key_pem = pem[:pem.index("-----BEGIN CERTIFICATE-----")]
    cert_pem = pem[len(key_pem):]
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"geheim")).decode()
    now = datetime.now(UTC)
    files = {
        "only the certificate": (cert_pem, "no PEM private key"),
        "only the key": (key_pem, "no PEM certificate"),
        "an encrypted key": (encrypted + cert_pem, "encrypted"),
        "another key": (teams.new_certificate(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
                        "does not belong to its private key"),
        "expired": (teams.new_certificate(starts=now - timedelta(days=10), days=5), "expired on"),
        "not yet valid": (teams.new_certificate(starts=now + timedelta(days=1)), "valid only from"),
        "not PEM": ("hallo", "no PEM private key"),
    }
    for what, (content, why) in files.items():
        path = tmp_path / f"{what}.pem"
        path.write_text(content)
        line = _problem(_env(TEAMS_APP_CERTIFICATE_FILE=str(path)))
        assert line.startswith(f"TEAMS_APP_CERTIFICATE_FILE: {path} will not do") and why in line, (what, line)


# -- end to end -----------------------------------------------------------------------------------


def test_a_bot_with_a_certificate_delivers_once_entra_knows_it(database_url: str, fake: Any,
                                                               login: FakeTeams) -> None:
    """The whole way: the bot's messages go out with a token from the certificate. While the app
    registration does not have the certificate (not uploaded yet), the outbox pauses and nothing is
    lost; once it is uploaded, delivering resumes by itself."""
    pem = login.new_certificate(register=False)
    run = start_teams_bot(database_url, fake, login, teams_app_password=None, teams_app_certificate=pem,
                          outbox_probe_seconds=0.3)
    try:
        assert run.send(run.activity("message", text="hallo")).status_code == 200
        state = wait_for(lambda: (h := health(run.bot))["outbox"]["paused"] and h)
        assert "invalid_client" in state["outbox"]["paused"] and not login.posted()
        login.register(x509.load_pem_x509_certificate(pem.encode()))  # uploaded to the app registration
        wait_for(lambda: login.posted(REPORTER_CHAT))
        wait_for(lambda: health(run.bot)["outbox"]["paused"] is None)
        assert login.assertions and login.tokens_issued >= 1
    finally:
        run.stop()


def test_signaalbot_run_with_a_secret_and_a_certificate_stops_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    pem = tmp_path / "teams.pem"
    pem.write_text(FakeTeams().new_certificate())
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "TEAMS_APP_PASSWORD_FILE",
                 "TEAMS_TOKEN_URL", "TEAMS_OPENID_METADATA_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in _env(TEAMS_APP_PASSWORD="p", TEAMS_APP_CERTIFICATE_FILE=str(pem)).items():
        monkeypatch.setenv(name, value)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "TEAMS_APP_CERTIFICATE_FILE are both set" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


# -- an encrypted private key (TEAMS_APP_CERTIFICATE_PASSPHRASE) --------------------------------------

PASSPHRASE = "correct horse battery staple ⚡"


def _encrypted(pem: str, passphrase: str, *, traditional: bool = False) -> str:
    """The same credential with its key encrypted: PKCS#8 (-----BEGIN ENCRYPTED PRIVATE KEY-----, what
    `openssl pkcs12` without -nodes writes) or OpenSSL's older form (Proc-Type: 4,ENCRYPTED)."""
    cert_pem = pem[pem.index("-----BEGIN CERTIFICATE-----"):]
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    form = serialization.PrivateFormat.TraditionalOpenSSL if traditional else serialization.PrivateFormat.PKCS8
    key_pem = key.private_bytes(serialization.Encoding.PEM, form,
                                serialization.BestAvailableEncryption(passphrase.encode())).decode()
    assert "ENCRYPTED" in key_pem
    return key_pem + cert_pem


def test_an_encrypted_key_and_its_passphrase_get_the_bots_token(login: FakeTeams, tmp_path: Path) -> None:
    """The passphrase from the environment or from a mounted secret (_FILE); the key in either PEM
    form. The fake login takes the assertion msal signed with the decrypted key."""
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    ways = {"PKCS#8, passphrase set": (False, {"TEAMS_APP_CERTIFICATE_PASSPHRASE": PASSPHRASE}),
            "OpenSSL's form, passphrase from a file": (True, {"TEAMS_APP_CERTIFICATE_PASSPHRASE_FILE": str(secret)})}
    for what, (traditional, passphrase) in ways.items():
        pem = login.new_certificate()
        path = tmp_path / f"{what}.pem"
        path.write_text(_encrypted(pem, PASSPHRASE, traditional=traditional))
        settings = load_settings({"TEAMS_APP_ID": login.app_id, "TEAMS_TENANT_ID": login.tenant,
                                  "TEAMS_APP_CERTIFICATE_FILE": str(path), "TEAMS_TOKEN_URL": login.token_url,
                                  **passphrase}, dotenv=False)
        assert settings.teams_app_certificate_passphrase == PASSPHRASE, what
        assert PASSPHRASE not in repr(settings) and "PRIVATE KEY" not in repr(settings)
        before = len(login.assertions)
        with httpx.Client() as http:
            token = BotToken(settings, http).get()
        assert jwt.decode(token, options={"verify_signature": False})["appid"] == login.app_id, what
        assert len(login.assertions) == before + 1
        assert login.assertions[-1]["header"]["x5t#S256"].rstrip("=") == _thumbprint(pem, hashes.SHA256())


def test_a_wrong_or_missing_passphrase_stops_the_bot_saying_what_to_set(tmp_path: Path) -> None:
    teams = FakeTeams()
    pem = teams.new_certificate()
    encrypted, plain = tmp_path / "encrypted.pem", tmp_path / "plain.pem"
    encrypted.write_text(_encrypted(pem, PASSPHRASE))
    plain.write_text(pem)
    wrong = "not-the-passphrase-4711"
    cases = {
        "a wrong passphrase": (_env(TEAMS_APP_CERTIFICATE_FILE=str(encrypted), TEAMS_APP_CERTIFICATE_PASSPHRASE=wrong),
                               "cannot be decrypted with TEAMS_APP_CERTIFICATE_PASSPHRASE"),
        "no passphrase": (_env(TEAMS_APP_CERTIFICATE_FILE=str(encrypted)),
                          "encrypted and TEAMS_APP_CERTIFICATE_PASSPHRASE is not set"),
        "a passphrase for a key that is not encrypted": (
            _env(TEAMS_APP_CERTIFICATE_FILE=str(plain), TEAMS_APP_CERTIFICATE_PASSPHRASE=wrong),
            "not encrypted, yet TEAMS_APP_CERTIFICATE_PASSPHRASE is set"),
        "a passphrase without a certificate": (_env(TEAMS_APP_PASSWORD="p", TEAMS_APP_CERTIFICATE_PASSPHRASE=wrong),
                                               "TEAMS_APP_CERTIFICATE_PASSPHRASE is set without"),
        "the passphrase twice": (
            _env(TEAMS_APP_CERTIFICATE_FILE=str(encrypted), TEAMS_APP_CERTIFICATE_PASSPHRASE=PASSPHRASE,
                 TEAMS_APP_CERTIFICATE_PASSPHRASE_FILE=str(tmp_path / "p")),
            "TEAMS_APP_CERTIFICATE_PASSPHRASE and TEAMS_APP_CERTIFICATE_PASSPHRASE_FILE are both"),
    }
    for what, (env, why) in cases.items():
        line = _problem(env)
        assert why in line, (what, line)
        assert wrong not in line and PASSPHRASE not in line, what


def test_signaalbot_run_with_a_wrong_passphrase_stops_with_one_line_that_does_not_tell_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    from bot.cli import main

    pem = tmp_path / "teams.pem"
    pem.write_text(_encrypted(FakeTeams().new_certificate(), PASSPHRASE))
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "TEAMS_APP_PASSWORD", "TEAMS_TOKEN_URL",
                 "TEAMS_APP_PASSWORD_FILE", "TEAMS_OPENID_METADATA_URL", "DATABASE_URL",
                 "TEAMS_APP_CERTIFICATE_PASSPHRASE_FILE", "TEAMS_APP_MANAGED_IDENTITY"):
        monkeypatch.delenv(name, raising=False)
    wrong = PASSPHRASE[::-1]
    for name, value in _env(TEAMS_APP_CERTIFICATE_FILE=str(pem), TEAMS_APP_CERTIFICATE_PASSPHRASE=wrong).items():
        monkeypatch.setenv(name, value)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "cannot be decrypted with TEAMS_APP_CERTIFICATE_PASSPHRASE" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert wrong not in err and PASSPHRASE not in err and wrong not in caplog.text
