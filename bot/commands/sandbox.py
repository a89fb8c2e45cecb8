"""`signaalbot sandbox`: the real bot in an offline workspace with a web UI (what `make run` starts
when no Slack tokens are configured)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def cmd_sandbox(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.sandbox.app import OFFLINE_NOTICE, Sandbox, make_web_app
    from bot.sandbox.fake_slack import SpecNotFoundError

    port = args.port if args.port is not None else int(os.environ.get("PORT") or 3000)
    if args.platform == "teams":
        return _teams(args, port)
    try:
        sandbox = Sandbox(Path(args.data_dir), transport=args.transport).start()
    except SpecNotFoundError as exc:
        # The fake Slack checks every Web API call against Slack's published OpenAPI spec.
        print(f"\n  The sandbox cannot start: {exc}.\n"
              "  It lies in shared/slack/ beside this repository (../shared/slack/slack_web_openapi_v2.json);\n"
              "  elsewhere, download it from https://github.com/slackapi/slack-api-specs (web-api/) and set\n"
              "  SLACK_OPENAPI_SPEC=/path/to/slack_web_openapi_v2.json.\n", file=sys.stderr)
        return 2
    url = f"http://{args.host}:{port}"
    bot_side = (f"signed HTTP requests to {sandbox.bot_server.url}/slack/events" if sandbox.bot_server
                else f"Socket Mode over {sandbox.fake.socket_url.split('?')[0]}" if sandbox.fake.socket_url else "")
    print(f"\n  Signaalbot sandbox: open {url} in your browser (Ctrl+C stops it).\n"
          f"  {OFFLINE_NOTICE}.\n"
          f"  Fake Slack Web API: {sandbox.fake.base_url} · the bot gets {bot_side}.\n"
          f"  Data: {sandbox.database_path} (wiped at every start and by Reset).\n", flush=True)
    try:
        uvicorn.run(make_web_app(sandbox), host=args.host, port=port, log_level="warning")
    finally:
        sandbox.stop()
    return 0


def _teams(args: argparse.Namespace, port: int) -> int:
    """The Teams sandbox: the bot with Teams enabled against the fake Bot Connector, a Teams-like UI."""
    import uvicorn

    from bot.sandbox.teams_app import OFFLINE_NOTICE, TeamsSandbox, make_teams_web_app

    if args.transport != "http":
        print("\n  Teams has no Socket Mode: --transport applies to the Slack sandbox only.\n", file=sys.stderr)
        return 2
    sandbox = TeamsSandbox(Path(args.data_dir)).start()
    url = f"http://{args.host}:{port}"
    assert sandbox.teams is not None and sandbox.bot_server is not None
    print(f"\n  Signaalbot sandbox (Teams): open {url} in your browser (Ctrl+C stops it).\n"
          f"  {OFFLINE_NOTICE}.\n"
          f"  Fake Bot Connector: {sandbox.teams.url} · the bot gets signed activities at "
          f"{sandbox.bot_server.url}/api/messages.\n"
          f"  Data: {sandbox.database_path} (wiped at every start and by Reset).\n", flush=True)
    try:
        uvicorn.run(make_teams_web_app(sandbox), host=args.host, port=port, log_level="warning")
    finally:
        sandbox.stop()
    return 0


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sandbox", help="try the bot offline: a Slack or Teams workspace in your browser")
    p.add_argument("--port", type=int, default=None, help="web UI port (default: PORT or 3000)")
    p.add_argument("--host", default="127.0.0.1", help="web UI address (default: 127.0.0.1, this machine only; "
                   "the page answers only when opened as 127.0.0.1 or localhost)")
    p.add_argument("--platform", choices=["slack", "teams"], default="slack",
                   help="the client to show: a Slack workspace (default) or Microsoft Teams")
    p.add_argument("--transport", choices=["http", "socket"], default="http",
                   help="how Slack's requests reach the bot: signed HTTP (default) or Socket Mode")
    p.add_argument("--data-dir", default="data/sandbox", help="where the sandbox database lives")
    p.set_defaults(func=cmd_sandbox)
