"""Settings from the environment and `.env` (python-dotenv).

Every problem is reported as one plain line; the CLI prints them and exits with code 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
LANGUAGES = ("nl", "en")
# Settings that are secrets may also come from a file named by <NAME>_FILE (Docker and Kubernetes
# mount secrets as files): the file's content, without surrounding white space, is the value.
SECRET_SETTINGS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SIGNAAL_DATA_KEY", "DATABASE_URL",
                   "TEAMS_APP_PASSWORD", "TEAMS_APP_CERTIFICATE_PASSPHRASE")
# Microsoft Teams (docs/teams.md): where incoming tokens' signing keys are found (the Bot Framework's
# OpenID metadata; the JWKS is beside it), and where the bot gets its own token (Entra's, per tenant).
DEFAULT_TEAMS_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
TOKEN_PATH = "/oauth2/v2.0/token"
TEAMS_TOKEN_URL_OF_TENANT = "https://login.microsoftonline.com/{tenant}" + TOKEN_PATH


class ConfigError(Exception):
    """One or more settings are invalid; `problems` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = "sqlite:///data/signaalbot.db"
    port: int = 3000
    health_port: int = 8081  # Socket Mode: /livez, /readyz and /metrics (HTTP mode serves them on `port`)
    host: str = "0.0.0.0"  # noqa: S104 - a server listens on all interfaces unless HOST says otherwise
    timezone: str = "Europe/Amsterdam"
    language: str = "nl"
    data_key: str | None = None
    data_dir: Path = Path("data")
    region_dir: Path | None = None
    outbox_poll_seconds: float = 1.0
    # The outbox (bot/core/outbox.py): while Slack refuses the token, ask it (auth.test) this often;
    # park an item as failed after this many refusals or errors; /healthz says degraded when the
    # oldest waiting item is older than this.
    outbox_probe_seconds: float = 60.0
    outbox_max_attempts: int = 5
    outbox_stuck_minutes: float = 10.0
    scheduler_enabled: bool = True
    work_process: bool = True  # HTTP mode: the work after ack in a process of its own (bot/workproc.py)
    # Microsoft Teams: enabled when teams_app_id is set (then a credential and the tenant are required:
    # the client secret, or a certificate — its PEM text, private key and certificate, the key perhaps
    # encrypted with the passphrase —, or Azure's managed identity whose client id is the app id; one).
    teams_app_id: str | None = None
    teams_app_password: str | None = field(default=None, repr=False)
    teams_app_certificate: str | None = field(default=None, repr=False)
    teams_app_certificate_passphrase: str | None = field(default=None, repr=False)
    teams_app_managed_identity: bool = False
    teams_tenant_id: str | None = None
    teams_openid_metadata_url: str = DEFAULT_TEAMS_OPENID_METADATA_URL
    teams_token_url: str | None = None  # None: Entra's token endpoint of teams_tenant_id
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def has_slack_tokens(self) -> bool:
        return bool(self.slack_bot_token)

    @property
    def teams_enabled(self) -> bool:
        return bool(self.teams_app_id)

    @property
    def teams_token_endpoint(self) -> str:
        return self.teams_token_url or TEAMS_TOKEN_URL_OF_TENANT.format(tenant=self.teams_tenant_id or "")

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def with_(self, **changes: object) -> Settings:
        values = {k: getattr(self, k) for k in self.__dataclass_fields__}
        values.update(changes)
        return Settings(**values)  # type: ignore[arg-type]


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "ja", "on"}


def load_settings(env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Read settings; raise ConfigError listing every problem at once."""
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = dict(os.environ)
    problems: list[str] = []

    def get(name: str) -> str | None:
        value = env.get(name)
        value = value.strip() if value and value.strip() else None
        if name not in SECRET_SETTINGS:
            return value
        path = (env.get(f"{name}_FILE") or "").strip()
        if not path:
            return value
        if value:
            problems.append(f"{name} and {name}_FILE are both set: keep one (the _FILE variant names a file "
                            "that holds the value, as container secrets are mounted).")
            return value
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            problems.append(f"{name}_FILE: cannot read {path} ({why}); check the path and that the bot's user "
                            "may read it.")
            return None

    bot_token = get("SLACK_BOT_TOKEN")
    if bot_token and not bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must start with 'xoxb-' (the Bot User OAuth Token of your Slack app).")
    app_token = get("SLACK_APP_TOKEN")
    if app_token and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must start with 'xapp-' (an app-level token with connections:write).")
    secret = get("SLACK_SIGNING_SECRET")
    if bot_token and not app_token and not secret:
        problems.append(
            "SLACK_SIGNING_SECRET is required in HTTP mode (find it under Basic Information in your Slack app), "
            "or set SLACK_APP_TOKEN to use Socket Mode."
        )
    if (app_token or secret) and not bot_token:
        problems.append("SLACK_BOT_TOKEN is missing: set it to the Bot User OAuth Token (xoxb-...) of your Slack app.")

    api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not api_url.startswith(("http://", "https://")):
        problems.append(f"SLACK_API_URL must be an http(s) URL, got {api_url!r}.")
    elif not api_url.endswith("/"):
        api_url += "/"

    def port_of(name: str, default: int) -> int:
        raw = get(name)
        if not raw:
            return default
        try:
            value = int(raw)
            if not 0 <= value <= 65535:
                raise ValueError
            return value
        except ValueError:
            problems.append(f"{name} must be a number from 0 to 65535, got {raw!r}.")
            return default

    port, health_port = port_of("PORT", 3000), port_of("HEALTH_PORT", 8081)

    timezone = get("BOT_TIMEZONE") or "Europe/Amsterdam"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"BOT_TIMEZONE {timezone!r} is not a known time zone (for example Europe/Amsterdam).")

    language = (get("BOT_LANGUAGE") or "nl").lower()
    if language not in LANGUAGES:
        problems.append(f"BOT_LANGUAGE must be one of {', '.join(LANGUAGES)}, got {language!r}.")

    data_dir = Path(get("SIGNAAL_DATA_DIR") or "data")
    database_url = get("DATABASE_URL") or f"sqlite:///{data_dir / 'signaalbot.db'}"
    if not database_url.startswith(("sqlite", "postgresql")):
        problems.append("DATABASE_URL must be a sqlite:/// or postgresql:// URL.")
    elif database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship.
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")

    region = get("SIGNAAL_REGION_DIR")
    data_key = get("SIGNAAL_DATA_KEY")
    teams = _teams_settings(get, problems)
    if problems:
        raise ConfigError(problems)
    return Settings(
        slack_bot_token=bot_token,
        slack_signing_secret=secret,
        slack_app_token=app_token,
        slack_api_url=api_url,
        database_url=database_url,
        port=port,
        health_port=health_port,
        host=get("HOST") or "0.0.0.0",  # noqa: S104 - a server listens on all interfaces by default
        timezone=timezone,
        language=language,
        data_key=data_key,
        data_dir=data_dir,
        region_dir=Path(region) if region else None,
        scheduler_enabled=_bool(get("SCHEDULER_ENABLED") or "true"),
        work_process=_bool(get("SIGNAAL_WORK_PROCESS") or "true"),
        **teams,
    )


def _teams_settings(get: Callable[[str], str | None], problems: list[str]) -> dict[str, str | bool | None]:
    """Teams is enabled by TEAMS_APP_ID; half a configuration is an error naming what is missing."""
    app_id, password, tenant = get("TEAMS_APP_ID"), get("TEAMS_APP_PASSWORD"), get("TEAMS_TENANT_ID")
    certificate_file, passphrase = get("TEAMS_APP_CERTIFICATE_FILE"), get("TEAMS_APP_CERTIFICATE_PASSPHRASE")
    managed_identity_setting = get("TEAMS_APP_MANAGED_IDENTITY")
    managed_identity = _bool(managed_identity_setting or "false")
    metadata, token_url = get("TEAMS_OPENID_METADATA_URL"), get("TEAMS_TOKEN_URL")
    if not app_id:
        others = [name for name, value in (("TEAMS_APP_PASSWORD", password), ("TEAMS_APP_CERTIFICATE_FILE",
                                                                               certificate_file),
                                           ("TEAMS_APP_CERTIFICATE_PASSPHRASE", passphrase),
                                           ("TEAMS_APP_MANAGED_IDENTITY", managed_identity_setting),
                                           ("TEAMS_TENANT_ID", tenant), ("TEAMS_OPENID_METADATA_URL", metadata),
                                           ("TEAMS_TOKEN_URL", token_url))
                  if value]
        if others:
            problems.append(f"{', '.join(others)} set but TEAMS_APP_ID is missing: set TEAMS_APP_ID to the "
                            "Application (client) ID of the bot's Entra app registration to enable Teams, or "
                            "remove the TEAMS_ settings.")
        return {}
    missing = [name for name, value in (("TEAMS_APP_PASSWORD (or TEAMS_APP_CERTIFICATE_FILE or "
                                         "TEAMS_APP_MANAGED_IDENTITY)", password or certificate_file or
                                         managed_identity), ("TEAMS_TENANT_ID", tenant)) if not value]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        problems.append(f"TEAMS_APP_ID is set but {' and '.join(missing)} {verb} missing: Teams needs a credential of "
                        "the app registration — its client secret (TEAMS_APP_PASSWORD or TEAMS_APP_PASSWORD_FILE), "
                        "its certificate (TEAMS_APP_CERTIFICATE_FILE) or, in Azure, the managed identity "
                        "(TEAMS_APP_MANAGED_IDENTITY=true) — and the Entra tenant id (TEAMS_TENANT_ID; the "
                        "bot is single-tenant). See docs/teams.md.")
    for name, url in (("TEAMS_OPENID_METADATA_URL", metadata), ("TEAMS_TOKEN_URL", token_url)):
        if url and not url.startswith(("http://", "https://")):
            problems.append(f"{name} must be an http(s) URL, got {url!r}.")
    ways = [name for name, value in (("TEAMS_APP_PASSWORD (or TEAMS_APP_PASSWORD_FILE)", password),
                                     ("TEAMS_APP_CERTIFICATE_FILE", certificate_file),
                                     ("TEAMS_APP_MANAGED_IDENTITY", managed_identity)) if value]
    certificate = None
    if len(ways) > 1:
        problems.append(f"{' and '.join(ways)} are {'both' if len(ways) == 2 else 'all'} set: keep one — the "
                        "client secret, the certificate or the managed identity of the app registration.")
    elif certificate_file:
        certificate = _teams_certificate(certificate_file, passphrase, token_url, problems)
    elif managed_identity and token_url:
        problems.append("TEAMS_TOKEN_URL is set with TEAMS_APP_MANAGED_IDENTITY: the bot's token then comes from "
                        "Azure's identity endpoint, not a token URL; remove TEAMS_TOKEN_URL.")
    if passphrase and not certificate_file:
        problems.append("TEAMS_APP_CERTIFICATE_PASSPHRASE is set without TEAMS_APP_CERTIFICATE_FILE: the passphrase "
                        "is for an encrypted key in the certificate file; set the file, or remove the passphrase.")
    if get("SLACK_APP_TOKEN"):
        problems.append("Teams needs HTTP mode (Teams posts to POST /api/messages): unset SLACK_APP_TOKEN (Socket "
                        "Mode) and set SLACK_SIGNING_SECRET, or leave TEAMS_APP_ID unset.")
    values: dict[str, str | bool | None] = {
        "teams_app_id": app_id, "teams_app_password": password, "teams_app_certificate": certificate,
        "teams_app_certificate_passphrase": passphrase if certificate else None,
        "teams_app_managed_identity": managed_identity and len(ways) == 1,
        "teams_tenant_id": tenant, "teams_token_url": token_url}
    if metadata:
        values["teams_openid_metadata_url"] = metadata
    return values


def _teams_certificate(path: str, passphrase: str | None, token_url: str | None,
                       problems: list[str]) -> str | None:
    """The certificate file's PEM text when it will do: readable, the private key (unencrypted, or
    encrypted and `passphrase` opens it) and its certificate, valid now. The bot's token then comes from
    msal, which needs an https authority."""
    from bot.teams.credentials import CertificateError, parse

    if token_url and not (token_url.startswith("https://") and token_url.endswith(TOKEN_PATH)):
        problems.append(f"TEAMS_TOKEN_URL must be an https URL ending in {TOKEN_PATH} with a certificate (msal "
                        f"finds Entra's endpoints beside it), got {token_url!r}.")
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        problems.append(f"TEAMS_APP_CERTIFICATE_FILE: cannot read {path} ({why}); check the path and that the bot's "
                        "user may read it.")
        return None
    try:
        parse(pem, passphrase=passphrase)
    except CertificateError as exc:
        problems.append(f"TEAMS_APP_CERTIFICATE_FILE: {path} will not do: {exc}. It must hold the private key and "
                        "the certificate uploaded to the app registration, in PEM (docs/teams.md).")
        return None
    return pem.decode("ascii", "replace")
