"""The peer for the Teams part: a bare Teams SDK app (`microsoft-teams-apps`: App + its FastAPI/uvicorn
HTTP server) that only answers a card action, with the same app id, tenant and token checks as the
project bot (the SDK's own JWT validation, keys from the bench's fake Bot Connector).

    python -m bench.bareteams PORT APP_ID APP_PASSWORD TENANT OPENID_METADATA_URL

It answers `POST /api/messages` for an `adaptiveCard/action` invoke with a message ("Received."), as
the project does, and sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import warnings

import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse


def main(argv: list[str]) -> None:
    port, app_id, password, tenant, metadata_url = int(argv[0]), *argv[1:5]
    with warnings.catch_warnings():  # the SDK warns about its preview features on import
        warnings.simplefilter("ignore")
        from microsoft_teams.api import AdaptiveCardActionMessageResponse
        from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
        from microsoft_teams.apps import App
        from microsoft_teams.apps.http import FastAPIAdapter

    logging.getLogger("microsoft_teams").setLevel(logging.WARNING)
    web = FastAPI()

    @web.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    def server(fastapi: FastAPI) -> uvicorn.Server:
        return uvicorn.Server(uvicorn.Config(app=fastapi, host="127.0.0.1", port=port, log_level="warning"))

    app = App(client_id=app_id, client_secret=password, tenant_id=tenant,
              cloud=with_overrides(PUBLIC, openid_metadata_url=metadata_url),
              http_server_adapter=FastAPIAdapter(app=web, server_factory=server))

    @app.on_card_action_execute
    async def on_action(_ctx) -> AdaptiveCardActionMessageResponse:  # noqa: ANN001
        return AdaptiveCardActionMessageResponse(value="Received.")

    asyncio.run(app.start(port))


if __name__ == "__main__":
    main(sys.argv[1:])
