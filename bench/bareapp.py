"""The peer: a bare Bolt app that only acks `/signaal` — slack_bolt's AsyncApp + its Starlette
adapter (AsyncSlackRequestHandler) + uvicorn, with the same signing secret as the project bot.

    python -m bench.bareapp PORT SLACK_API_URL

Its Web API client points at the bench's FakeSlack: Bolt's single-team authorization calls
`auth.test` once (then caches it), as the project bot does at start.
"""

from __future__ import annotations

import sys

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bench.common import SECRET, TOKEN


def build(api_url: str) -> Starlette:
    app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api_url), signing_secret=SECRET)

    @app.command("/signaal")
    async def signaal(ack) -> None:  # noqa: ANN001
        await ack()

    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request):  # noqa: ANN202
        return await handler.handle(request)

    async def healthz(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz)])


if __name__ == "__main__":
    uvicorn.run(build(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
