"""Health and metrics over HTTP, the same in every mode: `/livez` (the process answers), `/readyz`
(the database answers, the schema is current, the outbox is not paused, failed or stuck — 503 with
the reason otherwise; `/healthz` is the same), `/metrics` (Prometheus). HTTP mode serves them on PORT
beside the platform's endpoint; Socket Mode, which has no HTTP endpoint of its own, on HEALTH_PORT."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)

Ready = Callable[[], "bool | dict[str, Any]"]
Metrics = Callable[[], tuple[bytes, str]]


def routes(ready: Ready, metrics: Metrics | None = None) -> list[BaseRoute]:
    async def livez(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(_: Request) -> Response:
        # `ready`: a bool, or runtime.health's JSON body (ok: false → 503 with the reason).
        state = await run_in_threadpool(ready)
        body = state if isinstance(state, dict) else {"ok": state, "database": "ok" if state else "unreachable"}
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    found: list[BaseRoute] = [Route("/livez", livez, methods=["GET"]), Route("/readyz", readyz, methods=["GET"]),
                              Route("/healthz", readyz, methods=["GET"])]
    if metrics is not None:
        async def scrape(_: Request) -> Response:
            body, content_type = await run_in_threadpool(metrics)
            return Response(body, media_type=content_type)

        found.append(Route("/metrics", scrape, methods=["GET"]))
    return found


class HealthServer:
    """Socket Mode's small HTTP server for the probes and the scrape (uvicorn in a thread)."""

    def __init__(self, ready: Ready, metrics: Metrics | None, host: str, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(Starlette(routes=routes(ready, metrics)), host=host, port=port,
                                log_level="warning", log_config=None, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="health-http", daemon=True)

    def start(self) -> HealthServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
