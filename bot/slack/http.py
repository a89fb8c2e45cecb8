"""HTTP mode: POST /slack/events and GET /healthz as an ASGI app, served by uvicorn.

Bolt verifies the signature (401 when missing, wrong or older than five minutes); the listener
runs in a worker thread so the event loop keeps answering while the database works.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App
from slack_bolt.request import BoltRequest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route


def make_asgi(app: App, healthy: Callable[[], bool], extra_routes: list[BaseRoute] | None = None) -> Starlette:
    async def events(request: Request) -> Response:
        body = (await request.body()).decode("utf-8")
        bolt_req = BoltRequest(body=body, query=request.url.query, headers=dict(request.headers))
        resp = await run_in_threadpool(app.dispatch, bolt_req)
        headers = {k: v[0] for k, v in resp.headers.items() if v and k.lower() != "content-length"}
        return Response(content=resp.body, status_code=resp.status, headers=headers)

    async def healthz(_: Request) -> Response:
        ok = await run_in_threadpool(healthy)
        return JSONResponse({"ok": ok, "database": "ok" if ok else "unreachable"}, status_code=200 if ok else 503)

    routes: list[BaseRoute] = [
        Route("/slack/events", events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        *(extra_routes or []),
    ]
    return Starlette(routes=routes)
