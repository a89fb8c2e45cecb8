"""`signaalbot run`: Socket Mode when SLACK_APP_TOKEN is set, else HTTP (uvicorn) on PORT: Slack's
`/slack/events` when Slack's settings are set, Teams' `/api/messages` when Teams' are (either or both)."""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import threading
from typing import Any

import uvicorn

from bot.config import Settings
from bot.health import HealthServer
from bot.runtime import Bot, build_bot, health, metrics, open_database
from bot.workproc import WorkProcess

log = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    if settings.socket_mode:
        # The ack goes back when the listener returns, so after what it handed on is in the inbox.
        bot = build_bot(settings, process_before_response=True)
        bot.start_background()
        try:
            return _socket_mode(bot)
        finally:
            bot.stop()
    bot = http_bot(settings)
    try:
        return _http(bot)
    finally:
        bot.stop()


def http_bot(settings: Settings) -> Bot:
    """The bot for HTTP mode: with the work process (bot/workproc.py) unless SIGNAAL_WORK_PROCESS=false."""
    if not settings.work_process:
        bot = build_bot(settings, process_before_response=True)
        release_memory()
        bot.start_background()
        return bot
    migrate_apart(settings)  # once, before the fork, so the two do not race
    preload(settings)
    release_memory()
    work = WorkProcess(settings)
    work.start()
    bot = build_bot(settings, engine=open_database(settings, migrate=False), process_before_response=True)
    bot.intake.forward, bot.core.kick, bot.work_process = work.forward, work.kick, work
    work.watch(lambda: take_over(bot))
    gc.freeze()  # what start-up built lives as long as the process: keep it out of the collector's scans
    return bot


def migrate_apart(settings: Settings) -> None:
    """Bring the schema up to date (and check the key) in a short-lived child process: what a
    migration builds up in memory (schema reflection, the migration scripts) leaves with it instead
    of staying in both of HTTP mode's processes. Its error (a wrong key, an unreachable database) is
    raised here, as if it had happened here."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_migrate, args=(settings, send), name="signaalbot-migrate")
    child.start()
    send.close()
    try:
        failure = receive.recv()
    except EOFError:
        failure = RuntimeError(f"the schema upgrade stopped (exit code {child.join() or child.exitcode})")
    child.join()
    if failure is not None:
        raise failure


def _migrate(settings: Settings, send: Any) -> None:
    try:
        open_database(settings).dispose()
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        try:
            send.send(exc)
        except Exception:  # noqa: BLE001 - not picklable: its type and text
            send.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
    else:
        send.send(None)
    finally:
        send.close()


def preload(settings: Settings) -> None:
    """Import the code both processes run before the fork: its pages are then shared (copy-on-write)
    instead of loaded twice (bench part 5: the memory of the two processes together)."""
    from bot.core import jobs
    from bot.runtime import slack_enabled

    if slack_enabled(settings):
        from bot.slack import app

        app.registry()
    jobs.load_sweeps()


def release_memory() -> None:
    """What start-up freed (a migration's schema reflection, the import machinery's caches) goes back
    to the system instead of staying in the C allocator's free lists of both processes (glibc's
    malloc_trim; elsewhere nothing happens)."""
    import ctypes
    import ctypes.util

    gc.collect()
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def take_over(bot: Bot) -> None:
    """The work process is gone: do its work here, as in one process."""
    bot.intake.forward = None
    bot.core.kick = bot.worker.kick
    bot.start_background()


def _http(bot: Bot) -> int:
    asgi = http_app(bot)
    where = f"http://{bot.settings.host}:{bot.settings.port}"
    log.info("Signaalbot listens on %s (HTTP mode); platforms: %s", where, ", ".join(platforms_on(bot)))
    if bot.app is not None:
        log.info("Slack requests on %s/slack/events", where)
    if bot.teams is not None:
        log.info("Teams activities on %s/api/messages", where)
    # uvicorn shuts down gracefully on SIGTERM and then raises the signal again; catch that one, so
    # the caller's bot.stop() still runs (finish acked work, stop the work process).
    signal.signal(signal.SIGTERM, lambda *_: None)
    # log_config=None: uvicorn logs through our handlers (LOG_FORMAT=json too), not its own.
    uvicorn.run(asgi, host=bot.settings.host, port=bot.settings.port, log_level="warning", log_config=None)
    return 0


def platforms_on(bot: Bot) -> list[str]:
    return [name for name, edge in (("Slack", bot.app), ("Teams", bot.teams)) if edge is not None]


def http_app(bot: Bot) -> Any:
    """The ASGI app of HTTP mode: the probes and /metrics, `/slack/events` with Slack (its module
    builds the routes), `/api/messages` with Teams. Teams only: nothing of Slack is loaded."""
    teams = bot.teams.routes() if bot.teams is not None else []
    if bot.app is not None:
        from bot.slack.http import make_asgi

        return make_asgi(bot.app, lambda: health(bot), intake=bot.slack, metrics=lambda: metrics(bot),
                         extra_routes=teams or None)
    from starlette.applications import Starlette

    from bot import health as probes

    return Starlette(routes=[*probes.routes(lambda: health(bot), lambda: metrics(bot)), *teams])


def socket_mode_handler(bot: Bot):  # noqa: ANN201 - slack_bolt's SocketModeHandler
    """Bolt's built-in Socket Mode adapter (no extra dependency); the sandbox and the tests use this
    same function, so the offline runs exercise the production path."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(bot.app, bot.settings.slack_app_token)


SOCKET_CLOSE_SECONDS = 10.0


def close_socket_mode(handler: Any, timeout: float = SOCKET_CLOSE_SECONDS) -> bool:
    """Close the Socket Mode connection, waiting at most `timeout`: slack_sdk's close joins its
    threads without a limit, and one of them can stay in a socket read under load — the stop (and the
    bot's own shutdown behind it: the outbox, the work of acked requests) must not hang on that. Its
    threads are daemons: they end with the process. Whether it closed in time."""
    closer = threading.Thread(target=handler.close, name="socket-mode-close", daemon=True)
    closer.start()
    closer.join(timeout)
    if closer.is_alive():
        log.warning("the Socket Mode connection did not close within %.0fs; going on with the shutdown", timeout)
        return False
    return True


def _socket_mode(bot: Bot) -> int:
    handler = socket_mode_handler(bot)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Socket Mode has no HTTP endpoint of its own: the probes and /metrics get a small one.
    probes = HealthServer(lambda: health(bot), lambda: metrics(bot), bot.settings.host,
                          bot.settings.health_port).start()
    handler.connect()
    log.info("Signaalbot is connected to Slack (Socket Mode); /livez, /readyz and /metrics on port %s",
             bot.settings.health_port)
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    close_socket_mode(handler)
    probes.stop()
    return 0
