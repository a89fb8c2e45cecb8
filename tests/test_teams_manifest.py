"""`signaalbot teams manifest`: the Teams app package has the manifest (the bot's id, personal and team
scopes, the command list, valid domains; resource-specific consent only when asked) and both icons in
the sizes Teams requires."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from matplotlib import image

from bot.cli import main
from bot.commands.teams import MANIFEST_VERSION, RSC_CHANNEL_MESSAGES
from bot.teams.edge import FROM_MESSAGE

APP_ID = "6f1c2b3a-9d8e-4f70-8a1b-2c3d4e5f6a7b"


def _open(path: Path) -> tuple[dict, zipfile.ZipFile]:
    zf = zipfile.ZipFile(path)
    return json.loads(zf.read("manifest.json")), zf


def test_the_app_package_holds_a_manifest_for_the_bot_and_both_icons(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TEAMS_APP_ID", APP_ID)
    out = tmp_path / "signaalbot-teams.zip"
    assert main(["teams", "manifest", "--out", str(out), "--domain", "signaalbot.zundert.example"]) == 0
    manifest, zf = _open(out)
    assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]
    assert manifest["manifestVersion"] == MANIFEST_VERSION and f"v{MANIFEST_VERSION}/" in manifest["$schema"]
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID and sorted(bot["scopes"]) == ["personal", "team"]
    assert bot["commandLists"][0]["commands"][0]["title"] == "signaal"
    assert manifest["validDomains"] == ["signaalbot.zundert.example"]
    # The message action "Meld als signaal" (… on any message), answered by the bot's fetchTask.
    [extension] = manifest["composeExtensions"]
    assert extension["botId"] == APP_ID
    [command] = extension["commands"]
    assert command["id"] == FROM_MESSAGE and command["type"] == "action" and command["context"] == ["message"]
    assert command["fetchTask"] is True and command["title"] == "Meld als signaal" and len(command["title"]) <= 32
    assert len(command["description"]) <= 128
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    assert "authorization" not in manifest and "webApplicationInfo" not in manifest
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert zf.read("color.png")[:8] == zf.read("outline.png")[:8] == b"\x89PNG\r\n\x1a\n"
    color = image.imread(io.BytesIO(zf.read("color.png")), format="png")
    outline = image.imread(io.BytesIO(zf.read("outline.png")), format="png")
    assert color.shape[:2] == (192, 192) and outline.shape[:2] == (32, 32)
    # The outline icon: white on a transparent background, as Teams requires.
    alpha = outline[:, :, 3]
    assert (alpha == 0).any() and (alpha == 1).any()
    assert (outline[alpha == 1][:, :3] == 1).all()


def test_channel_messages_consent_only_when_asked(tmp_path: Path) -> None:
    out = tmp_path / "app.zip"
    assert main(["teams", "manifest", "--out", str(out), "--app-id", APP_ID, "--channel-messages"]) == 0
    manifest, _zf = _open(out)
    assert manifest["webApplicationInfo"]["id"] == APP_ID
    assert manifest["authorization"]["permissions"]["resourceSpecific"] == [
        {"name": RSC_CHANNEL_MESSAGES, "type": "Application"}]


@pytest.mark.parametrize("app_id", ["", "not-a-guid"])
def test_without_a_valid_app_id_no_package_is_written(tmp_path: Path, monkeypatch, app_id: str) -> None:
    monkeypatch.delenv("TEAMS_APP_ID", raising=False)
    out = tmp_path / "app.zip"
    assert main(["teams", "manifest", "--out", str(out), "--app-id", app_id]) == 2
    assert not out.exists()
