"""`signaalbot teams manifest --out signaalbot-teams.zip`: the Teams app package an administrator uploads
(Teams admin center → Manage apps → Upload) and pre-installs with an app setup policy, so the bot can
send people messages before they write to it (docs/teams.md). The package is manifest.json and the two
icons, drawn here with matplotlib; the bot's id is TEAMS_APP_ID."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import zipfile
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from bot.i18n import DEFAULT_LANGUAGE, translator

FROM_MESSAGE = "signal_from_message"  # the message action's command id; bot/teams/edge.py takes its fetchTask

MANIFEST_VERSION = "1.22"  # the newest schema of the Teams app manifest at the time of writing
SCHEMA = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
COLOR_SIZE, OUTLINE_SIZE = 192, 32  # what Teams requires of the two icons
ACCENT = "#1F4E79"
RSC_CHANNEL_MESSAGES = "ChannelMessage.Read.Group"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ManifestError(Exception):
    pass


def _app_version() -> str:
    try:
        return package_version("signaalbot")
    except PackageNotFoundError:
        return "0.1.0"


def manifest(app_id: str, *, domains: list[str], website: str, privacy: str, terms: str,
             channel_messages: bool = False, language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """manifest.json: a bot in the 1:1 chat (personal) and in teams (its channel for case cards)."""
    if not GUID.match(app_id):
        raise ManifestError("TEAMS_APP_ID must be the app registration's Application (client) ID, a GUID")
    _ = translator(language)
    data: dict[str, Any] = {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": _app_version(),
        "id": app_id,
        "developer": {"name": "Signaalbot", "websiteUrl": website, "privacyUrl": privacy, "termsOfUseUrl": terms},
        "name": {"short": "Signaalbot", "full": _("Signaalbot: signals of human trafficking")},
        "description": {
            "short": _("Report a hunch of human trafficking, privately, in a few minutes."),
            "full": _("Report a signal of human trafficking in the bot's chat. Only you and the attention officer "
                      "of your municipality see your answers. The attention officer handles the signal along "
                      "the region's meldroute; reminders, requests for advice and training invitations arrive "
                      "in this chat."),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "localizationInfo": {"defaultLanguageTag": language},
        "bots": [{
            "botId": app_id,
            "scopes": ["personal", "team"],
            "supportsFiles": False,
            "isNotificationOnly": False,
            "commandLists": [{"scopes": ["personal"], "commands": [
                {"title": "signaal", "description": _("Report a signal of human trafficking")},
            ]}],
        }],
        # The message action "Meld als signaal" (… on any message): a new signal with that message's text
        # as its description, in the bot's 1:1 chat (bot/teams/edge.py answers the fetchTask).
        "composeExtensions": [{
            "botId": app_id,
            "commands": [{
                "id": FROM_MESSAGE, "type": "action", "context": ["message"], "fetchTask": True,
                "title": _("Report as signal"),
                "description": _("Report a signal of human trafficking with this message's text as its description"),
            }],
        }],
        "validDomains": sorted(set(domains)),
    }
    if channel_messages:
        # Resource-specific consent: the bot receives every message in the channels of a team it is
        # added to, not only those that @mention it. Granted by a team owner when the app is added.
        data["webApplicationInfo"] = {"id": app_id, "resource": f"api://botid-{app_id}"}
        data["authorization"] = {"permissions": {"resourceSpecific": [
            {"name": RSC_CHANNEL_MESSAGES, "type": "Application"}]}}
    return data


def icon(size: int, *, outline: bool) -> bytes:
    """The app's icon as PNG: a speech balloon with an exclamation mark. The colour icon on the accent
    colour; the outline icon white on transparent (Teams tints it)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Polygon

    fig = Figure(figsize=(1, 1), dpi=size)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    fg = "white"
    if not outline:
        fig.patch.set_facecolor(ACCENT)
    ax.add_patch(Circle((0.5, 0.54), 0.36, fill=not outline, facecolor="none" if outline else "white",
                        edgecolor=fg, linewidth=size / 16 if outline else 0))
    ax.add_patch(Polygon([(0.26, 0.30), (0.18, 0.10), (0.42, 0.22)], closed=True,
                         color=fg if outline else "white"))
    mark = fg if outline else ACCENT
    ax.add_patch(Polygon([(0.46, 0.76), (0.54, 0.76), (0.52, 0.46), (0.48, 0.46)], closed=True, color=mark))
    ax.add_patch(Circle((0.5, 0.36), 0.045, color=mark))
    buf = io.BytesIO()
    if outline:
        fig.savefig(buf, format="png", dpi=size, transparent=True)
    else:
        fig.savefig(buf, format="png", dpi=size, facecolor=ACCENT)
    return buf.getvalue()


def package(manifest_json: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest_json, indent=2, ensure_ascii=False))
        zf.writestr("color.png", icon(COLOR_SIZE, outline=False))
        zf.writestr("outline.png", icon(OUTLINE_SIZE, outline=True))
    return buf.getvalue()


def cmd_teams_manifest(args: argparse.Namespace) -> int:
    app_id = (args.app_id or os.environ.get("TEAMS_APP_ID") or "").strip()
    if not app_id:
        print("Set TEAMS_APP_ID (or pass --app-id): the Application (client) ID of the bot's app registration.")
        return 2
    website = args.website
    try:
        data = manifest(app_id, domains=args.domain or [], website=website, privacy=args.privacy_url or website,
                        terms=args.terms_url or website, channel_messages=args.channel_messages,
                        language=args.language)
    except ManifestError as exc:
        print(exc)
        return 2
    out = Path(args.out)
    out.write_bytes(package(data))
    print(f"Wrote {out}: manifest.json (schema {MANIFEST_VERSION}, bot {app_id}), color.png, outline.png. "
          "Upload it in the Teams admin center and pre-install it with an app setup policy (docs/teams.md).")
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:
    teams = sub.add_parser("teams", help="Microsoft Teams").add_subparsers(dest="teams_command", required=True)
    build = teams.add_parser("manifest", help="build the Teams app package (manifest.json and icons) as a zip")
    build.add_argument("--out", default="signaalbot-teams.zip", help="where to write the zip")
    build.add_argument("--app-id", help="the bot's Application (client) ID (default: TEAMS_APP_ID)")
    build.add_argument("--domain", action="append", help="a domain the app may open (repeat); e.g. the "
                                                         "bot's own host")
    build.add_argument("--website", default="https://example.org/signaalbot",
                       help="the developer's website (the municipality's or the region's page about the bot)")
    build.add_argument("--privacy-url", help="the privacy statement (default: --website)")
    build.add_argument("--terms-url", help="the terms of use (default: --website)")
    build.add_argument("--language", default=DEFAULT_LANGUAGE, help="the language of the app's name and "
                                                                     "description (nl, en)")
    build.add_argument("--channel-messages", action="store_true",
                       help=f"ask resource-specific consent {RSC_CHANNEL_MESSAGES}: the bot receives every "
                            "channel message, not only those that @mention it")
    build.set_defaults(func=cmd_teams_manifest)
