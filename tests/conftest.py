"""Shared fixtures: a database (SQLite always, PostgreSQL when TEST_DATABASE_URL is set), the fake
Slack Web API, and the bot running on its real HTTP endpoint, driven by signed requests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import Settings
from bot.core import network
from bot.runtime import Bot, build_bot, health
from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.server import ThreadedServer
from bot.sandbox.socket_mode import SocketModeServer
from bot.serve import close_socket_mode, socket_mode_handler
from bot.slack.http import make_asgi
from models.db import make_engine, session_scope
from tests.databases import database_url as database_url  # the fixture, shared with tests/core

DATA = Path(__file__).parent / "data"
SECRET = "test-signing-secret"
TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
PEOPLE = {
    "U0REP00001": ("Rita Reporter", "rita@breda.example"),
    "U0REP00002": ("Ron Reporter", "ron@ettenleur.example"),
    "U0AF000001": ("Anna AF Breda", "anna@breda.example"),
    "U0AF000002": ("Bert Backup Breda", "bert@breda.example"),
    "U0AF000003": ("Eva AF Etten-Leur", "eva@ettenleur.example"),
    "U0KR000001": ("Karin Ketenregisseur", "karin@regio.example"),
    "U0AVIM0001": ("Ahmed AVIM", "ahmed@politie.example"),
    "U0ZOCO0001": ("Zoë ZoCo", "zoe@zvh.example"),
    "U0NET00001": ("Nina Netwerk", "nina@breda.example"),
    "U0NET00002": ("Noah Netwerk", "noah@breda.example"),
    "U0COLL0001": ("Cees Collega", "cees@breda.example"),
}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    slack = FakeSlack()
    slack.start()
    for uid, (name, email) in PEOPLE.items():
        slack.add_user(name.split()[0].lower(), user_id=uid, real_name=name, email=email)
    slack.add_channel("mh-breda-casussen", channel_id="C0AFCASES1", is_private=True,
                      members=["U0AF000001", "U0AF000002"])
    try:
        yield slack
    finally:
        slack.stop()


def make_settings(database_url: str, fake: FakeSlack, **overrides: object) -> Settings:
    base = Settings(
        slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=fake.base_url,
        database_url=database_url, data_key=Fernet.generate_key().decode(), scheduler_enabled=False,
        outbox_poll_seconds=0.2,
    )
    return base.with_(**overrides)


@dataclass
class Running:
    bot: Bot
    server: ThreadedServer | None
    fake: FakeSlack
    driver: SlackDriver
    socket: SocketModeServer | None = None
    handler: object | None = None  # slack_bolt's SocketModeHandler in Socket Mode

    @property
    def core(self):  # noqa: ANN201
        return self.bot.core

    def stop(self) -> None:
        if self.handler is not None:
            close_socket_mode(self.handler)
        if self.socket is not None:
            self.socket.stop()
        if self.server is not None:
            self.server.stop()
        self.bot.stop()


def start_bot(settings: Settings, fake: FakeSlack, *, clock=None, network_file: Path | None = DATA / "network.yaml",
              transport: str = "http", process_before_response: bool = True) -> Running:  # noqa: ANN001
    """The bot on its real HTTP endpoint (signed requests), or connected over Socket Mode.
    `process_before_response`: answer when the listener returns, as HTTP mode's front does."""
    if transport == "socket":
        settings = settings.with_(slack_app_token=APP_TOKEN, slack_signing_secret=None)
    bot = build_bot(settings, clock=clock, process_before_response=process_before_response)
    if network_file is not None:
        cfg = network.parse(network_file.read_text(encoding="utf-8"))
        with session_scope(bot.core.engine) as session:
            network.apply(session, cfg, bot.core.clock.now())
    bot.worker.start(settings.outbox_poll_seconds)
    if transport == "socket":
        socket = SocketModeServer(fake).start()
        handler = socket_mode_handler(bot)
        handler.connect()
        socket.wait_connected()
        return Running(bot, None, fake, SlackDriver(None, None, fake, socket=socket), socket, handler)
    server = ThreadedServer(make_asgi(bot.app, lambda: health(bot), intake=bot.slack)).start()
    driver = SlackDriver(f"{server.url}/slack/events", SECRET, fake)
    return Running(bot, server, fake, driver)


@pytest.fixture
def settings(database_url: str, fake: FakeSlack) -> Settings:
    return make_settings(database_url, fake)


@pytest.fixture
def running(settings: Settings, fake: FakeSlack) -> Iterator[Running]:
    r = start_bot(settings, fake)
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(params=["http", "socket"])
def running_both_transports(request: pytest.FixtureRequest, settings: Settings, fake: FakeSlack) -> Iterator[Running]:
    """The bot over HTTP (signed requests) and over Socket Mode (envelopes on a local WebSocket)."""
    r = start_bot(settings, fake, transport=request.param)
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def engine_for(database_url: str):  # noqa: ANN201
    engine = make_engine(database_url)
    yield engine
    engine.dispose()
