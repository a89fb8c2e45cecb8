"""The Bolt app: middleware (delivery keys), every feature's listeners, and friendly fallbacks."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core.context import Core
from bot.slack import hooks
from bot.slack.common import (
    ContextExecutor,
    SlackContext,
    WorkExecutor,
    container_channel,
    container_thread,
    start_delivery,
)

log = logging.getLogger(__name__)


def registry() -> hooks.Registry:
    """What every feature of the Slack edge adds (listeners, subcommands, thread handlers, App Home
    sections, templates, case actions), collected afresh from this explicit list of modules: a new
    feature module is added here. In this order Bolt tries their listeners (after `feature(order=…)`)."""
    from bot.slack import (
        case_guard,
        case_messages,
        case_views,
        cases,
        home,
        knowledge,
        language,
        members,
        related_views,
        reminder_views,
        reminders,
        reporting,
        stats_views,
        training,
        triage,
        triage_views,
    )

    return hooks.collect([case_guard, case_messages, case_views, cases, home, knowledge, language, members,
                          related_views, reminder_views, reminders, reporting, stats_views, training, triage,
                          triage_views])


def build_app(core: Core, client: WebClient, *, token_verification: bool = True,
              process_before_response: bool = False,
              features: hooks.Registry | None = None) -> tuple[App, SlackContext]:
    """The Bolt app with every feature's listeners. `process_before_response` (HTTP mode): the
    response goes back when the listener returns instead of when Bolt's 10 ms poll sees the ack;
    listeners ack first and hand slow work to `ctx.after_ack`, so that is sooner (bench/NOTES.md)."""
    features = features or registry()
    settings = core.settings
    app = App(
        client=client,
        # No made-up secret: in Socket Mode Slack's own connection is authenticated and there is
        # nothing to verify; an app without a secret is never served over HTTP (bot.slack.http).
        # ("" keeps Bolt from reading SLACK_SIGNING_SECRET from the environment behind our back.)
        signing_secret=settings.slack_signing_secret or "",
        token_verification_enabled=token_verification,
        request_verification_enabled=not settings.socket_mode or bool(settings.slack_signing_secret),
        ignoring_self_events_enabled=True,
        url_verification_enabled=True,
        process_before_response=process_before_response,
        listener_executor=ContextExecutor(max_workers=5, thread_name_prefix="listener"),
    )
    ctx = SlackContext(core=core, client=client, work=WorkExecutor.for_database(settings.database_url),
                       answers_after_listener=process_before_response, registry=features)

    @app.middleware
    def delivery(body: dict, next: Any) -> Any:  # noqa: A002 - Bolt's name for the next middleware
        """Each request's delivery key (event id, view id + hash, action…): the work its listener hands
        on is stored in the inbox once under it, so Slack's retries and doubled deliveries take effect
        once, across restarts (SlackContext.after_ack)."""
        start_delivery(body)
        return next()

    for register in features.features:
        register(ctx, app)

    @app.event("message")
    def on_message(event: dict) -> None:
        if event.get("subtype") or event.get("bot_id"):
            return
        if not event.get("thread_ts"):
            if event.get("channel_type") == "im" and "direct_message" in features.thread_handlers:
                # Typed to the bot, outside a signal's thread: a short answer on how to report.
                ctx.after_ack(_direct_message, {"user": event.get("user"), "channel": event.get("channel")})
            return
        if event.get("thread_ts") == event.get("ts"):
            return
        ctx.after_ack(_thread_reply, event)

    @ctx.work_fn
    def _direct_message(event: dict) -> None:
        features.thread_handlers["direct_message"](ctx, event, None)

    @ctx.work_fn
    def _thread_reply(event: dict) -> None:
        from bot.core import triage

        signal, root = triage.signal_for_thread(core, event["channel"], event["thread_ts"])
        if root is None:
            return
        handler = features.thread_handlers.get(root.kind)
        if handler:
            handler(ctx, event, root)

    @app.event("app_home_opened")
    def on_home(event: dict) -> None:
        ctx.after_ack(_home, event)  # views.publish needs no trigger_id: the whole tab is built after the ack

    @ctx.work_fn
    def _home(event: dict) -> None:
        handler = features.thread_handlers.get("app_home")
        if handler:
            handler(ctx, event, None)

    # Fallbacks, registered last: an old or unknown button gets a kind answer, never a 500.
    @app.action(re.compile(".*"))
    def unknown_action(ack: Ack, body: dict) -> None:
        ack()
        user = body["user"]["id"]
        _ = ctx.tr(user)
        ctx.ephemeral_after_ack(container_channel(body), user,
                                _("This button no longer works (the message is out of date). Type /signaal help "
                                  "to see what you can do."), container_thread(body))

    @app.view(re.compile(".*"))
    def unknown_view(ack: Ack) -> None:
        ack()

    @app.event(re.compile(".*"))
    def other_events() -> None:
        return None

    return app, ctx
