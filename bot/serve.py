"""`signaalbot run`: Socket Mode when SLACK_APP_TOKEN is set, else HTTP (uvicorn) on PORT."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

import uvicorn

from bot.config import Settings
from bot.runtime import Bot, build_bot, healthy
from bot.slack.http import make_asgi

log = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    bot = build_bot(settings)
    bot.start_background()
    try:
        if settings.socket_mode:
            return _socket_mode(bot)
        return _http(bot)
    finally:
        bot.stop()


def _http(bot: Bot) -> int:
    asgi = make_asgi(bot.app, lambda: healthy(bot))
    log.info("Signaalbot listens on http://%s:%s/slack/events (HTTP mode)", bot.settings.host, bot.settings.port)
    uvicorn.run(asgi, host=bot.settings.host, port=bot.settings.port, log_level="warning")
    return 0


def socket_mode_handler(bot: Bot):  # noqa: ANN201 - slack_bolt's SocketModeHandler
    """Bolt's built-in Socket Mode adapter (no extra dependency); the sandbox and the tests use this
    same function, so the offline runs exercise the production path."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(bot.app, bot.settings.slack_app_token)


def _socket_mode(bot: Bot) -> int:
    handler = socket_mode_handler(bot)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    handler.connect()
    log.info("Signaalbot is connected to Slack (Socket Mode)")
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    handler.close()
    return 0
