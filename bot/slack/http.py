"""HTTP mode: POST /slack/events, and the probes and metrics of `bot.health`, as an ASGI app served by uvicorn.

Bolt verifies the signature (401 when missing, wrong or older than five minutes). A listener runs in
a worker thread, so the event loop keeps answering while it waits for the database or Slack; except,
when the app answers after its listener returns (`process_before_response`, HTTP mode's front), a
request whose listener only acks and hands its work on (`hooks.inline`): that one is dispatched on
the event loop. Its listener takes a tenth of a millisecond, and the hand-over to a thread and back
cost several, up to 20 ms when the threads wait for the interpreter lock (bench/NOTES.md, part 1).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.request import BoltRequest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot import health
from bot.config import ConfigError
from bot.core.metrics import ACK_SECONDS, REQUESTS, request_kind
from bot.slack import hooks
from bot.slack.common import SlackContext
from models.base import error_name

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes; Slack's largest payloads (a full modal's state) are far below this


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refused (BodyTooLarge) past `limit` bytes: by its Content-Length before a
    byte is read, else counted while it streams in, so a huge body is never held in memory."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge
        except ValueError as exc:
            raise BodyTooLarge from exc  # a Content-Length that is no number: refuse it unread as well
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def refused(status: int, error: str) -> Response:
    # Connection: close, so a client still sending a body that was refused unread is cut off.
    return JSONResponse({"ok": False, "error": error}, status_code=status, headers={"connection": "close"})


def make_asgi(app: App, healthy: health.Ready, extra_routes: list[BaseRoute] | None = None,
              *, intake: SlackContext | None = None, metrics: health.Metrics | None = None) -> Starlette:
    """`intake` (the app's SlackContext): dispatch `hooks.inline` requests on the event loop. Their
    listener hands its work on; that is stored in the inbox by a writer thread while the loop serves
    the other requests, and the answer goes back once it is stored (bench/NOTES.md, part 1)."""
    if not getattr(app, "_signing_secret", ""):
        raise ConfigError(["SLACK_SIGNING_SECRET is required in HTTP mode (find it under Basic Information in "
                           "your Slack app), or set SLACK_APP_TOKEN to use Socket Mode."])
    # Without process_before_response Bolt's dispatch waits for the ack in another thread.
    on_loop = app.process_before_response and intake is not None

    async def events(request: Request) -> Response:
        started, seen = time.perf_counter(), ["other", 500]  # (request kind, status) for /metrics
        try:
            response = await answer(request, seen)
            seen[1] = response.status_code
            return response
        finally:
            REQUESTS.labels(seen[0], str(seen[1])).inc()
            ACK_SECONDS.labels(seen[0]).observe(time.perf_counter() - started)

    async def answer(request: Request, seen: list[Any]) -> Response:
        try:
            body = (await read_body(request)).decode("utf-8")
            seen[0] = request_kind(body)
            bolt_req = BoltRequest(body=body, query=request.url.query, headers=dict(request.headers))
        except BodyTooLarge:
            return refused(413, "request_too_large")
        except ValueError:  # not UTF-8, or a body Bolt cannot parse (JSON, form, payload): never a traceback
            return refused(400, "invalid_body")
        if on_loop and intake is not None and inline(body, request.headers.get("content-type", ""), intake.registry):
            rows, token = intake.collect()
            try:
                resp = app.dispatch(bolt_req)
            finally:
                intake.stop_collecting(token)
            if rows:
                try:
                    await intake.store_collected(rows)
                except Exception as exc:  # noqa: BLE001 - not stored: no 200, so Slack (or the user) tries again
                    log.error("could not store the work of a request (%s); answering 503", error_name(exc))
                    return refused(503, "try_again")
        else:
            resp = await run_in_threadpool(app.dispatch, bolt_req)
        headers = {k: v[0] for k, v in resp.headers.items() if v and k.lower() != "content-length"}
        return Response(content=resp.body, status_code=resp.status, headers=headers)

    routes: list[BaseRoute] = [
        Route("/slack/events", events, methods=["POST"]),
        *health.routes(healthy, metrics),
        *(extra_routes or []),
    ]
    return Starlette(routes=routes)


def inline(body: str, content_type: str, registry: hooks.Registry) -> bool:
    """Whether `hooks.inline` says this request's listener only acks and hands its work on. Slash
    commands and interactive payloads come form-encoded; events (JSON) never qualify."""
    if not content_type.startswith("application/x-www-form-urlencoded") or not registry.inline:
        return False
    try:
        form = dict(parse_qsl(body))
        request: Any = json.loads(form["payload"]) if "payload" in form else form
        return isinstance(request, dict) and any(check(request, registry) for check in registry.inline)
    except (ValueError, TypeError, KeyError, AttributeError):
        return False  # Bolt answers what it makes of it, in a thread as any other request
