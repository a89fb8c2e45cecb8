"""The bot with Teams enabled, on its real HTTP endpoint, beside a fake Bot Connector
(bot/sandbox/fake_teams.py): helpers that act as Teams does — post activities with a token the
fake signs — and as a person in Teams — find the bot's cards, click their buttons."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from sqlmodel import Session

from bot.core import network
from bot.runtime import Bot, build_bot, health
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.fake_teams import FakeTeams
from bot.sandbox.server import ThreadedServer
from bot.slack.http import make_asgi
from bot.teams import store
from models.db import session_scope
from tests.conftest import make_settings

T = TypeVar("T")
REPORTER_AAD = "0b5e1c2a-1111-4a4a-9b9b-000000000001"
REPORTER_29 = "29:1reporter-teams-id-0001"
AF_AAD = "0b5e1c2a-2222-4a4a-9b9b-000000000002"
ADMIN_AAD = "0b5e1c2a-3333-4a4a-9b9b-000000000003"
CHANNEL = "19:zundert-casussen@thread.tacv2"
REPORTER_CHAT = "a:1reporter-chat-with-the-bot"
NETWORK = f"""
municipalities:
  - name: Zundert
    aandachtsfunctionarissen: [teams:{AF_AAD}]
    channel: teams:{CHANNEL}
regional:
  ketenregisseur: [U0KR000001]
partners:
  - key: avim
    name: AVIM (politie)
    members: []
network: [teams:{AF_AAD}]
"""
ANSWERS: dict[str, Any] = {
    "form": "AU", "signals": ["conditions", "dependency"], "acute": "no", "minor": "no", "sector": "horeca",
    "source": "balie", "description": "Twee mannen slapen in de keuken van het restaurant.",
    "location": "Restaurant aan de Haven", "feedback": "yes",
}


def wait_for(predicate: Callable[[], T], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(0.02)


@dataclass
class TeamsRun:
    bot: Bot
    server: ThreadedServer
    teams: FakeTeams

    @property
    def endpoint(self) -> str:
        return f"{self.server.url}/api/messages"

    def send(self, activity: dict[str, Any], token: str | None = "valid") -> httpx.Response:
        """POST an activity as the Bot Framework does (`token`: "valid", another token, or None: no header)."""
        headers = {"content-type": "application/json"}
        if token == "valid":
            token = self.teams.token()
            # Teams sends the bot activities only from conversations it is a member of.
            self.teams.join(str((activity.get("conversation") or {}).get("id") or ""))
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        return httpx.post(self.endpoint, content=json.dumps(activity), headers=headers, timeout=30)

    def activity(self, kind: str, *, conversation: str = REPORTER_CHAT, conversation_type: str = "personal",
                 sender: tuple[str, str] = (REPORTER_29, REPORTER_AAD), **extra: Any) -> dict[str, Any]:
        return {"type": kind, "id": uuid.uuid4().hex, "timestamp": "2026-12-01T10:00:00Z",
                "serviceUrl": self.teams.service_url, "channelId": "msteams", "locale": "nl-NL",
                "from": {"id": sender[0], "aadObjectId": sender[1], "name": "Rita Reporter"},
                "recipient": {"id": f"28:{self.teams.app_id}", "name": "Signaalbot"},
                "conversation": {"id": conversation, "conversationType": conversation_type,
                                 "tenantId": self.teams.tenant},
                "channelData": {"tenant": {"id": self.teams.tenant}}, **extra}

    def click(self, verb: str, data: dict[str, Any], **inputs: Any) -> httpx.Response:
        """Action.Execute on a card in the reporter's chat: the inputs come merged into the data."""
        value = {"action": {"type": "Action.Execute", "verb": verb, "data": {**data, **inputs}}, "trigger": "manual"}
        return self.send(self.activity("invoke", name="adaptiveCard/action", value=value))

    def fetch(self, data: dict[str, Any], **extra: Any) -> httpx.Response:
        """A click on a card's button that opens a dialog (`Action.Submit` with `msteams: {type:
        task/fetch}`): Teams sends `task/fetch` with the button's data."""
        value = {"data": {**data, "msteams": {"type": "task/fetch"}}, "context": {"theme": "default"}}
        return self.send(self.activity("invoke", name="task/fetch", value=value, **extra))

    def submit(self, action: dict[str, Any], **inputs: Any) -> httpx.Response:
        """A button in the dialog (`Action.Submit`): Teams sends `task/submit` with its data and — unless it
        says `associatedInputs: none` — the card's inputs merged in."""
        given = {} if action.get("associatedInputs") == "none" else inputs
        value = {"data": {**action["data"], **given}, "context": {"theme": "default"}}
        return self.send(self.activity("invoke", name="task/submit", value=value))

    def card_with(self, conversation: str, verb: str, since: int = 0) -> tuple[int, dict[str, Any], dict[str, Any]]:
        """Wait for a card in `conversation` (after the first `since`) offering `verb` (an `Action.Execute`'s,
        or the step a button that opens the dialog names): (its index, the card, that action)."""
        def found() -> tuple[int, dict[str, Any], dict[str, Any]] | None:
            for i, activity in reversed(list(enumerate(self.teams.cards(conversation)))):
                if i < since:
                    break
                for action in card_of(activity).get("actions") or []:
                    if verb in (action.get("verb"), (action.get("data") or {}).get("verb")):
                        return i, card_of(activity), action
            return None
        return wait_for(found)

    def add_to_team(self) -> None:
        """The app is added to the municipality's team: Teams tells the bot the channel's address (kept
        after the answer, as all of an activity's work: waited for here, so what a test does next —
        inviting people the bot has never heard from — finds the tenant's address)."""
        resp = self.send(self.activity("conversationUpdate", conversation=CHANNEL, conversation_type="channel",
                                       sender=("29:1team-admin-0000001", ADMIN_AAD),
                                       membersAdded=[{"id": f"28:{self.teams.app_id}"}]))
        assert resp.status_code == 200, resp.text

        def known() -> bool:
            with Session(self.bot.core.engine) as session:
                return store.address(session, CHANNEL) is not None

        wait_for(known)

    def report(self, answers: dict[str, Any], *, first: httpx.Response | None = None) -> str:
        """Signal melden on the start card (or the dialog `first` opened otherwise), then every question
        answered in the dialog as a person would, then Versturen: the receipt in the 1:1 chat; its reference."""
        if first is None:
            assert self.send(self.activity("message", text="signaal")).status_code == 200
            _, _, start = self.card_with(REPORTER_CHAT, "start")
            first = self.fetch(start["data"])
        card = dialog_of(first)
        for _ in range(30):
            send = button(card, "submit")
            if send is not None:
                break
            step = button(card, "answer")
            assert step is not None, card
            value = answers[step["data"]["q"]]
            card = dialog_of(self.submit(step, answer=",".join(value) if isinstance(value, list) else value))
        reference = closed_with(self.submit(send))
        receipt = wait_for(lambda: next((a for a in self.teams.cards(REPORTER_CHAT)
                                         if "has been sent" in a.get("summary", "")
                                         or "is verstuurd" in a.get("summary", "")), None))
        found = re.search(r"S-\d{4}-\d{4}", reference)
        assert found and found.group(0) in texts(card_of(receipt))
        return found.group(0)

    def stop(self) -> None:
        self.server.stop()
        self.bot.stop()


def dialog_of(resp: httpx.Response) -> dict[str, Any]:
    """The card a dialog shows (the invoke's answer `continue`); fails on anything else."""
    assert resp.status_code == 200, resp.text
    task = resp.json()["task"]
    assert task["type"] == "continue", task
    attachment = task["value"]["card"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]


def closed_with(resp: httpx.Response) -> str:
    """The text a dialog closes with (the invoke's answer `message`); fails on anything else."""
    assert resp.status_code == 200, resp.text
    task = resp.json()["task"]
    assert task["type"] == "message", task
    return task["value"]


def button(card: dict[str, Any], verb: str) -> dict[str, Any] | None:
    """The dialog card's button for step `verb`."""
    return next((a for a in card.get("actions") or [] if (a.get("data") or {}).get("verb") == verb), None)


def inputs_of(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every input of the card and its forms, by id."""
    found = {b["id"]: b for b in card.get("body") or [] if str(b.get("type", "")).startswith("Input.")}
    for action in card.get("actions") or []:
        if action.get("type") == "Action.ShowCard":
            found.update(inputs_of(action.get("card") or {}))
    return found


def card_of(activity: dict[str, Any]) -> dict[str, Any]:
    return (activity.get("attachments") or [{}])[0].get("content") or {}


def texts(card: dict[str, Any]) -> str:
    """Every text a card shows (TextBlocks, TextRuns, facts, inputs' labels)."""
    return json.dumps(card.get("body"), ensure_ascii=False)


def start_teams_bot(database_url: str, fake: FakeSlack, teams: FakeTeams, network_yaml: str = NETWORK,
                    clock: Any = None, **overrides: Any) -> TeamsRun:
    settings = make_settings(database_url, fake, **{
        "teams_app_id": teams.app_id, "teams_app_password": teams.app_password, "teams_tenant_id": teams.tenant,
        "teams_openid_metadata_url": teams.openid_metadata_url, "teams_token_url": teams.token_url, **overrides})
    bot = build_bot(settings, clock=clock)
    with session_scope(bot.core.engine) as session:
        network.apply(session, network.parse(network_yaml), bot.core.clock.now())
    bot.worker.start(settings.outbox_poll_seconds)
    server = ThreadedServer(make_asgi(bot.app, lambda: health(bot), intake=bot.slack,
                                      extra_routes=bot.teams.routes())).start()
    return TeamsRun(bot, server, teams)


@pytest.fixture
def fake_teams() -> Iterator[FakeTeams]:
    teams = FakeTeams().start()
    try:
        yield teams
    finally:
        teams.stop()


@pytest.fixture
def teams_run(database_url: str, fake: FakeSlack, fake_teams: FakeTeams) -> Iterator[TeamsRun]:
    run = start_teams_bot(database_url, fake, fake_teams)
    try:
        yield run
    finally:
        run.stop()


