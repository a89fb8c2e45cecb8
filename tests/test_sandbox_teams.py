"""The Teams sandbox (`signaalbot sandbox --platform teams`) without a browser: its JSON API, driven as
the web UI drives it — a report in the reporter's 1:1 chat and the AF's claim on the case card in
Breda's channel, every click an activity the bot checks for real."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from bot.sandbox.app import AF_BREDA, DEMO_PEOPLE, REPORTER, SandboxError
from bot.sandbox.server import ThreadedServer
from bot.sandbox.teams_app import CHANNEL, TeamsSandbox, chat_id, entra_id, make_teams_web_app, network_yaml

T = TypeVar("T")
BACKUP = "U0DEMOAF02"
ANSWERS: dict[str, str] = {
    "municipality": "Breda", "form": "AU", "signals": "conditions,dependency", "acute": "no", "minor": "no",
    "sector": "horeca", "source": "balie", "description": "Twee mannen slapen in de keuken <b>van</b> het restaurant.",
    "location": "Restaurant aan de Haven", "feedback": "yes",
}
WEB = Path(__file__).parent.parent / "bot" / "sandbox" / "web"


def wait_for(predicate: Callable[[], T], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(0.05)


@pytest.fixture
def box(tmp_path: Path) -> Iterator[TeamsSandbox]:
    sandbox = TeamsSandbox(tmp_path / "sandbox", scheduler=False, outbox_poll_seconds=0.1).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


def actions_of(card: dict[str, Any], path: list[Any] | None = None) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """Every action on a card with its path, as the renderer names it (ShowCards' cards and ActionSets too)."""
    path = path or []
    for i, element in enumerate(card.get("body") or []):
        if element.get("type") == "ActionSet":
            for j, action in enumerate(element.get("actions") or []):
                yield [*path, "body", i, "actions", j], action
    for i, action in enumerate(card.get("actions") or []):
        yield [*path, "actions", i], action
        if action.get("type") == "Action.ShowCard":
            yield from actions_of(action.get("card") or {}, [*path, "actions", i, "card"])


def newest_with(box: TeamsSandbox, user: str, place: str, verb: Callable[[str], bool],
                after: str = "") -> tuple[dict[str, Any], list[Any], dict[str, Any]]:
    """Wait for the newest activity in `place` (after id `after`) with an action whose verb passes."""
    def found() -> tuple[dict[str, Any], list[Any], dict[str, Any]] | None:
        for item in reversed(box.state(user)["activities"].get(place, [])):
            if item["id"] <= after or not item["card"]:
                continue
            for path, action in actions_of(item["card"]):
                if verb(str(action.get("verb") or (action.get("data") or {}).get("verb") or "")):
                    return item, path, action
        return None
    return wait_for(found)


def dialog_step(shown: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """The open dialog's button for the next step (Volgende, or Versturen on the summary), with its path."""
    return next((path, action) for path, action in actions_of(shown["card"])
                if (action.get("data") or {}).get("verb") in ("answer", "submit"))


def report(box: TeamsSandbox) -> str:
    """Rita writes to the bot, clicks Signaal melden, answers every question in the dialog and sends: the
    reference."""
    chat = chat_id(REPORTER)
    box.compose(REPORTER, "Hallo")
    assert any(i["text"] == "Hallo" and i["from"] == REPORTER for i in box.state(REPORTER)["activities"][chat])
    last = max(i["id"] for i in box.state(REPORTER)["activities"][chat])
    item, path, _action = newest_with(box, REPORTER, chat, lambda v: v == "start", after=last)
    shown = box.click(REPORTER, item["conversation"], item["id"], path)["dialog"]  # the dialog opens
    assert box.state(REPORTER)["dialog"] == shown and box.state(AF_BREDA)["dialog"] is None
    while True:
        path, action = dialog_step(shown)
        if action["data"]["verb"] == "submit":
            break
        shown = box.dialog_submit(REPORTER, path, {"answer": ANSWERS[action["data"]["q"]]})["dialog"]
    assert "Twee mannen slapen" in json.dumps(shown["card"])
    result = box.dialog_submit(REPORTER, path)
    assert "is verstuurd" in result["message"] and box.state(REPORTER)["dialog"] is None  # closed, with a word
    receipt = wait_for(lambda: next((i for i in box.state(REPORTER)["activities"][chat]
                                     if "is verstuurd" in json.dumps(i["card"], ensure_ascii=False)), None))
    reference = next(word for word in json.dumps(receipt["card"]).replace('"', " ").split() if word.startswith("S-"))
    return reference.rstrip(".")


def test_meld_als_signaal_on_a_message_opens_the_dialog_and_closing_it_keeps_the_draft(box: TeamsSandbox) -> None:
    chat = chat_id(REPORTER)
    box.compose(REPORTER, "Mijn buurman laat arbeiders in een schuur slapen.")
    mine = next(i for i in box.state(REPORTER)["activities"][chat] if i["from"] == REPORTER)
    shown = box.from_message(REPORTER, chat, mine["id"])["dialog"]
    assert "Teams-bericht" in json.dumps(shown["card"], ensure_ascii=False)
    with pytest.raises(SandboxError, match="niet van jou"):
        box.from_message(AF_BREDA, chat, mine["id"])
    assert box.dialog_close(REPORTER)["ok"] and box.state(REPORTER)["dialog"] is None
    # The draft stays; its first card in the chat reopens the dialog where it was.
    item, path, _ = newest_with(box, REPORTER, chat, lambda v: v == "resume")
    again = box.click(REPORTER, item["conversation"], item["id"], path)["dialog"]
    assert dialog_step(again)[1]["data"]["q"] == dialog_step(shown)[1]["data"]["q"]
    with pytest.raises(SandboxError, match="venster"):
        box.dialog_submit(REPORTER, ["body", 0])


def test_a_report_in_the_reporters_chat_reaches_the_af_in_the_channel_who_claims_it(box: TeamsSandbox) -> None:
    reference = report(box)
    # The case card is in Breda's channel, with an @-mention of the AF, its preview without content.
    assert CHANNEL not in box.state(REPORTER)["activities"]
    card = wait_for(lambda: next((i for i in box.state(AF_BREDA)["activities"][CHANNEL]
                                  if reference in json.dumps(i["card"])), None))
    assert entra_id(AF_BREDA) in json.dumps(card["card"]["msteams"])
    assert reference in card["summary"] and "Twee mannen" not in card["summary"]
    assert box.state(BACKUP)["activities"][CHANNEL]  # the backup is in the team too
    # The AF claims the case on the card; the card is updated in place.
    item, path, _ = newest_with(box, AF_BREDA, CHANNEL, lambda v: v == "case.claim")
    assert item["id"] == card["id"]
    box.click(AF_BREDA, item["conversation"], item["id"], path)
    claimed = wait_for(lambda: next((i for i in box.state(AF_BREDA)["activities"][CHANNEL]
                                     if i["id"] == card["id"] and i["key"] != card["key"]
                                     and "Anna Jansen" in json.dumps(i["card"], ensure_ascii=False)), None))
    assert not any(a.get("verb") == "case.claim" for _p, a in actions_of(claimed["card"]))


def test_a_click_is_refused_for_an_action_not_on_the_card_or_a_conversation_not_ones_own(box: TeamsSandbox) -> None:
    chat = chat_id(REPORTER)
    welcome = wait_for(lambda: box.state(REPORTER)["activities"][chat])[0]
    with pytest.raises(SandboxError, match="knop"):
        box.click(REPORTER, welcome["conversation"], welcome["id"], ["body", 0])  # a TextBlock, not an action
    with pytest.raises(SandboxError, match="knop"):
        box.click(REPORTER, welcome["conversation"], welcome["id"], ["actions", 7])
    with pytest.raises(SandboxError, match="niet van jou"):
        box.click(AF_BREDA, welcome["conversation"], welcome["id"], ["actions", 0])
    with pytest.raises(SandboxError):
        box.compose("U0NOBODY01", "hallo")


def test_every_demo_person_of_the_network_is_in_it_as_a_teams_person() -> None:
    text = network_yaml()
    assert "U0DEMO" not in text and f"teams:{CHANNEL}" in text
    for person in DEMO_PEOPLE:
        if person.user_id != REPORTER:  # the reporter is in no role
            assert f"teams:{entra_id(person.user_id)}" in text


def test_the_web_api_is_json_only_and_local_only(box: TeamsSandbox) -> None:
    web = ThreadedServer(make_teams_web_app(box)).start()
    try:
        page = httpx.get(web.url + "/")
        assert page.status_code == 200 and "adaptivecards" not in page.text and "teams.js" in page.text
        assert httpx.get(web.url + "/static/adaptivecards.js").status_code == 200
        state = httpx.get(web.url + "/api/state", params={"user": AF_BREDA}).json()
        assert state["platform"] == "teams" and {c["id"] for c in state["chats"]} == {chat_id(AF_BREDA), CHANNEL}
        form = httpx.post(web.url + "/api/compose", data={"user": REPORTER, "text": "hallo"})
        assert form.status_code == 415
        foreign = httpx.post(web.url + "/api/compose", json={"user": REPORTER, "text": "hallo"},
                             headers={"origin": "http://evil.example"})
        assert foreign.status_code == 403
        rebound = httpx.get(web.url + "/api/state", headers={"host": f"evil.example:{web.port}"})
        assert rebound.status_code == 421
        assert httpx.post(web.url + "/api/compose", json={"user": REPORTER}).status_code == 400
        assert httpx.post(web.url + "/api/compose", json={"user": REPORTER, "text": "hallo"}).json()["ok"]
    finally:
        web.stop()


def test_every_card_type_the_teams_edge_produces_is_one_the_renderer_draws() -> None:
    """A static check: each `"type": "…"` the card modules in bot/teams/ write (elements, inlines, actions)
    is in the renderer's KNOWN_TYPES (bot/sandbox/web/adaptivecards.js)."""
    known = renderer_known_types()
    teams = Path(__file__).parent.parent / "bot" / "teams"
    used = set()
    for module in teams.glob("*.py"):
        used |= set(re.findall(r'"type":\s*"([A-Za-z.]+)"', module.read_text(encoding="utf-8")))
    used -= {"message"}  # the activity's type, not the card's
    assert used, "no card types found in bot/teams/"
    assert used <= known, f"the sandbox's Adaptive Card renderer does not draw {sorted(used - known)}"


def renderer_known_types() -> set[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the renderer's list of types is read with Node 20+")
    module = json.dumps((WEB / "adaptivecards.js").as_uri())
    script = f"import({module}).then(m => console.log(JSON.stringify(m.KNOWN_TYPES)))"
    result = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30,
                            check=True)
    return set(json.loads(result.stdout))



def test_the_clock_moves_and_reset_starts_teams_afresh(box: TeamsSandbox) -> None:
    before = box.state(REPORTER)["clock"]["now"]
    moved = box.move_clock("day")
    assert moved["clock"]["now"] > before and isinstance(moved["jobs"], list)
    box.compose(REPORTER, "Hallo")
    chat = chat_id(REPORTER)
    assert any(i["text"] == "Hallo" for i in box.state(REPORTER)["activities"][chat])
    box.reset()
    after = box.state(REPORTER)["activities"][chat]
    assert after and not any(i["text"] == "Hallo" for i in after)  # only the welcome of the new start
    assert box.state(AF_BREDA)["activities"][CHANNEL] == []


def test_teams_has_no_socket_mode_so_the_cli_refuses_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["sandbox", "--platform", "teams", "--transport", "socket", "--data-dir", str(tmp_path)]) == 2
    assert "Socket Mode" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing was started
