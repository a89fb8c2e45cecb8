"""A Teams-only deployment (issue 17): `signaalbot run` with Teams' settings and none of Slack's
serves `POST /api/messages` and the probes in HTTP mode — no Bolt app, no `/slack/events`, no Slack
deliverer — with the work process, the outbox and the inbox's recovery as with Slack. Run as a
municipality runs it: the real command in a subprocess, beside the fake Bot Connector."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, select

from bot.config import ConfigError, load_settings
from bot.core import inbox, network, outbox, platforms
from bot.core.clock import Clock
from bot.sandbox.fake_teams import FakeTeams
from models import OutboxMessage
from models.db import make_engine, session_scope, upgrade
from tests.teams_support import ANSWERS, CHANNEL, NETWORK, TeamsRun, card_of, texts, wait_for
from tests.teams_support import fake_teams as fake_teams  # noqa: F401 - the fixture
from tests.test_teams_endpoint import report_in_teams
from tests.test_work_process import _free_port, _healthy, _wait

ROOT = Path(__file__).resolve().parent.parent
TEAMS_ONLY = {"TEAMS_APP_ID": "00000000-0000-4000-8000-0000000000a1", "TEAMS_APP_PASSWORD": "p",
              "TEAMS_TENANT_ID": "00000000-0000-4000-8000-0000000000t1"}


class TeamsOnly:
    """`signaalbot run` with only Teams' settings (HTTP mode: the front and its work process), restartable."""

    def __init__(self, database_url: str, teams: FakeTeams, tmp_path: Path) -> None:
        key = Fernet.generate_key().decode()
        from bot.config import Settings
        from bot.runtime import configure_encryption

        configure_encryption(Settings(database_url=database_url, data_key=key, data_dir=tmp_path))
        self.engine = make_engine(database_url)
        upgrade(self.engine)
        with session_scope(self.engine) as session:
            network.apply(session, network.parse(NETWORK), Clock().now())
        self.port = _free_port()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("SLACK_", "TEAMS_", "SIGNAAL_", "DATABASE_URL"))}
        self.env.update(TEAMS_APP_ID=teams.app_id, TEAMS_APP_PASSWORD=teams.app_password,
                        TEAMS_TENANT_ID=teams.tenant, TEAMS_OPENID_METADATA_URL=teams.openid_metadata_url,
                        TEAMS_TOKEN_URL=teams.token_url, DATABASE_URL=database_url, SIGNAAL_DATA_KEY=key,
                        SIGNAAL_DATA_DIR=str(tmp_path), HOST="127.0.0.1", PORT=str(self.port),
                        SCHEDULER_ENABLED="false")
        self.url = f"http://127.0.0.1:{self.port}"
        self.teams, self.tmp = teams, tmp_path
        # What tests/teams_support.py's helpers need of a running bot: its URL, its database, the fake.
        self.run = TeamsRun(SimpleNamespace(core=SimpleNamespace(engine=self.engine)),  # type: ignore[arg-type]
                            SimpleNamespace(url=self.url), teams)  # type: ignore[arg-type]
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.log = self.tmp / f"bot-{self.starts}.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        _wait(lambda: _healthy(f"{self.url}/healthz") or self.proc.poll() is not None, 60, "start")
        assert self.proc.poll() is None, self.log.read_text()

    def cli(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.cli", *argv], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=60)

    def work_process(self) -> int:
        assert self.proc is not None
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return _wait(lambda: [int(p) for p in path.read_text().split()] if path.exists() else [],
                     what="the work process")[0]

    def kill_all(self) -> None:
        """kill -9 of every bot process: no chance to finish anything."""
        assert self.proc is not None
        work = self.work_process()
        os.kill(work, signal.SIGKILL)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        _wait(lambda: not Path(f"/proc/{work}").exists() or " Z " in Path(f"/proc/{work}/stat").read_text(), 10,
              "the work process to die")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.engine.dispose()


@pytest.fixture
def teams_only(database_url: str, fake_teams: FakeTeams, tmp_path: Path) -> Iterator[TeamsOnly]:  # noqa: F811
    bot = TeamsOnly(database_url, fake_teams, tmp_path)
    bot.start()
    try:
        yield bot
    finally:
        bot.stop()


def _status(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_teams_only_serves_teams_and_the_probes_and_nothing_of_slack(teams_only: TeamsOnly) -> None:
    bot, run = teams_only, teams_only.run
    assert bot.work_process()  # HTTP mode's two processes, as with Slack
    status, body = _status(f"{bot.url}/healthz")
    assert status == 200 and '"ok":true' in body.replace(" ", "")
    assert _status(f"{bot.url}/metrics")[0] == 200
    assert _status(f"{bot.url}/slack/events", "POST", b"command=%2Fsignaal")[0] == 404
    assert "platforms: Teams" in bot.log.read_text()

    # A report in the 1:1 chat: its cards, the receipt, and the case card in the municipality's channel.
    run.add_to_team()
    reference = report_in_teams(run, ANSWERS)
    wait_for(lambda: any(reference in texts(card_of(a)) for a in bot.teams.cards(CHANNEL)))

    # A message for a Slack person cannot go anywhere here: it fails in the outbox, with the reason
    # `signaalbot outbox` shows.
    with session_scope(bot.engine) as session:
        outbox.post(session, template="teams_start", recipient=platforms.person_key(platforms.SLACK, "U0KR000001"),
                    platform=platforms.SLACK, ref={}, contains_details=False, now=Clock().now())
    wait_for(lambda: _slack_error(bot))
    shown = bot.cli("outbox")
    assert shown.returncode == 0 and "no edge for platform slack: its settings are not set" in shown.stdout
    # The other commands work on the same settings.
    for argv in (("inbox",), ("network", "show"), ("jobs", "list")):
        done = bot.cli(*argv)
        assert done.returncode == 0, (argv, done.stderr)


def _slack_error(bot: TeamsOnly) -> str | None:
    with Session(bot.engine) as session:
        return next((row.last_error for row in session.exec(select(OutboxMessage)).all()
                     if row.last_error and "no edge" in row.last_error), None)


def test_a_kill_9_of_a_teams_only_bot_loses_nothing_acknowledged(teams_only: TeamsOnly) -> None:
    bot, run = teams_only, teams_only.run
    chats = [f"a:1chat-of-reporter-{i}" for i in range(3)]
    senders = [(f"29:1reporter-{i}", f"0b5e1c2a-4444-4a4a-9b9b-00000000000{i}") for i in range(3)]
    work = bot.work_process()
    # The work process is paused: the answers come, the work waits. Then every bot process is killed.
    os.kill(work, signal.SIGSTOP)
    for chat, sender in zip(chats, senders, strict=True):
        resp = run.send(run.activity("message", text="signaal", conversation=chat, sender=sender))
        assert resp.status_code == 200, resp.text
    time.sleep(0.5)
    assert not any(bot.teams.posted(chat) for chat in chats)  # nothing was done yet
    bot.kill_all()
    assert inbox.unfinished(bot.engine) == len(chats)  # stored before the 200s, none of it done

    # Restarted: every reporter gets the card that offers Signaal melden, once.
    bot.start()
    for chat in chats:
        run.card_with(chat, "start")
    wait_for(lambda: inbox.unfinished(bot.engine) == 0, timeout=30)
    time.sleep(1.0)  # time for anything done twice to show
    assert all(len(bot.teams.posted(chat)) == 1 for chat in chats), [len(bot.teams.posted(c)) for c in chats]


# -------------------------------------------------------------------------------- the settings' combinations


def test_teams_settings_alone_are_a_complete_configuration() -> None:
    settings = load_settings(dict(TEAMS_ONLY), dotenv=False)
    assert settings.teams_enabled and not settings.has_slack_tokens and not settings.socket_mode


def test_slack_and_teams_together_and_neither_still_load() -> None:
    both = load_settings({**TEAMS_ONLY, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, dotenv=False)
    assert both.teams_enabled and both.has_slack_tokens
    neither = load_settings({}, dotenv=False)
    assert not neither.teams_enabled and not neither.has_slack_tokens


@pytest.mark.parametrize("slack", [{"SLACK_SIGNING_SECRET": "s"}, {"SLACK_BOT_TOKEN": "xoxb-1"},
                                   {"SLACK_APP_TOKEN": "xapp-1"}])
def test_half_a_slack_configuration_beside_teams_is_still_an_error(slack: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({**TEAMS_ONLY, **slack}, dotenv=False)
    assert any("SLACK_" in problem for problem in raised.value.problems)


def test_the_bot_of_a_teams_only_deployment_has_no_slack_edge(settings, monkeypatch) -> None:  # noqa: ANN001
    from bot.core.intake import Intake
    from bot.core.outbox import ByPlatform
    from bot.runtime import build_bot

    teams_only = settings.with_(slack_bot_token=None, slack_signing_secret=None, teams_app_id="a",
                                teams_app_password="p", teams_tenant_id="t")
    bot = build_bot(teams_only)
    try:
        assert bot.app is None and bot.slack is None and bot.client is None
        assert type(bot.intake) is Intake and bot.teams is not None and bot.teams.intake is bot.intake
        assert isinstance(bot.worker.deliver, ByPlatform)
        assert set(bot.worker.deliver.deliverers) == {platforms.TEAMS}
    finally:
        bot.stop()
    with_slack = build_bot(settings)  # Slack's settings: as ever, the Bolt app, its context the intake
    try:
        assert with_slack.app is not None and with_slack.intake is with_slack.slack and with_slack.teams is None
    finally:
        with_slack.stop()
