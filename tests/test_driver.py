"""The signed-request driver against a real slack_bolt App behind a stdlib HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack

SECRET = "secret"

SIGNAL_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "signal_modal",
    "notify_on_close": True,
    "private_metadata": "gemeente=utrecht",
    "title": {"type": "plain_text", "text": "Signaal melden"},
    "submit": {"type": "plain_text", "text": "Versturen"},
    "blocks": [
        {
            "type": "input",
            "block_id": "desc_block",
            "label": {"type": "plain_text", "text": "Wat heb je gezien?"},
            "element": {"type": "plain_text_input", "action_id": "description", "multiline": True},
        },
        {
            "type": "input",
            "block_id": "kind_block",
            "label": {"type": "plain_text", "text": "Soort"},
            "element": {
                "type": "static_select",
                "action_id": "kind",
                "options": [
                    {"text": {"type": "plain_text", "text": "Arbeidsuitbuiting"}, "value": "arbeid"},
                    {"text": {"type": "plain_text", "text": "Seksuele uitbuiting"}, "value": "seksueel"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "flags_block",
            "optional": True,
            "label": {"type": "plain_text", "text": "Signalen"},
            "element": {
                "type": "checkboxes",
                "action_id": "flags",
                "options": [
                    {"text": {"type": "plain_text", "text": "Geen paspoort"}, "value": "paspoort"},
                    {"text": {"type": "plain_text", "text": "Slaapt op werk"}, "value": "slapen"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "date_block",
            "label": {"type": "plain_text", "text": "Datum"},
            "element": {"type": "datepicker", "action_id": "date"},
        },
        {
            "type": "actions",
            "block_id": "urgency_block",
            "elements": [
                {
                    "type": "radio_buttons",
                    "action_id": "urgency",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Spoed"}, "value": "spoed"},
                        {"text": {"type": "plain_text", "text": "Normaal"}, "value": "normaal"},
                    ],
                }
            ],
        },
    ],
}

CONFIRM_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Signaal ontvangen. Klopt dit?"}},
    {
        "type": "actions",
        "block_id": "confirm_block",
        "elements": [
            {"type": "button", "action_id": "confirm", "text": {"type": "plain_text", "text": "Ja"}, "value": "sig-1"},
            {"type": "button", "action_id": "withdraw", "text": {"type": "plain_text", "text": "Intrekken"}},
            {
                "type": "static_select",
                "action_id": "region",
                "options": [
                    {"text": {"type": "plain_text", "text": "Utrecht"}, "value": "utrecht"},
                    {"text": {"type": "plain_text", "text": "Amersfoort"}, "value": "amersfoort"},
                ],
            },
        ],
    },
]


class Recorder:
    """What the bolt listeners saw, keyed by listener name."""

    def __init__(self) -> None:
        self.seen: dict[str, list[Any]] = {}
        self.lock = threading.Lock()

    def add(self, key: str, value: Any) -> None:
        with self.lock:
            self.seen.setdefault(key, []).append(value)

    def get(self, key: str) -> list[Any]:
        with self.lock:
            return list(self.seen.get(key, []))


def build_app(fake: FakeSlack, recorder: Recorder) -> App:
    app = App(client=WebClient(token="xoxb-test", base_url=fake.base_url), signing_secret=SECRET)

    @app.command("/signaal")
    def open_signal(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack("Even geduld, het formulier opent.")
        recorder.add("command", body)
        client.views_open(trigger_id=body["trigger_id"], view=SIGNAL_MODAL)

    @app.view("signal_modal")
    def submit_signal(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        values = view["state"]["values"]
        recorder.add("submission", body)
        if not values["desc_block"]["description"]["value"]:
            ack(response_action="errors", errors={"desc_block": "Vul een omschrijving in."})
            return
        ack()
        client.chat_postMessage(channel=body["user"]["id"], text="Signaal ontvangen", blocks=CONFIRM_BLOCKS)

    @app.view_closed("signal_modal")
    def closed(ack: Any, body: dict[str, Any]) -> None:
        ack()
        recorder.add("closed", body)

    @app.action("confirm")
    def confirm(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        recorder.add("confirm", body)
        container = body["container"]
        client.chat_update(channel=container["channel_id"], ts=container["message_ts"], text="Bevestigd", blocks=[])

    @app.action("withdraw")
    def withdraw(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        recorder.add("withdraw", body)
        respond(replace_original=True, text="Ingetrokken")

    @app.action("region")
    def region(ack: Any, body: dict[str, Any]) -> None:
        ack()
        recorder.add("region", body)

    @app.action("urgency")
    def urgency(ack: Any, body: dict[str, Any]) -> None:
        ack()
        recorder.add("urgency", body)

    @app.event("message")
    def on_message(event: dict[str, Any], say: Any, request: BoltRequest) -> None:
        recorder.add("message", (event, request.headers.get("x-slack-retry-num")))
        say(text=f"Ontvangen: {event['text']}", thread_ts=event.get("thread_ts"))

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        home_view = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Welkom"}}]}
        client.views_publish(user_id=event["user"], view=home_view)

    return app


def serve_bolt(app: App) -> ThreadingHTTPServer:
    """A minimal HTTP endpoint in front of ``app.dispatch`` (what a Bolt adapter does)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
            headers = {key.lower(): [value] for key, value in self.headers.items()}
            request = BoltRequest(body=raw, query=urlsplit(self.path).query, headers=headers)
            response = app.dispatch(request)
            body = response.body.encode("utf-8")
            self.send_response(response.status)
            for name, values in response.headers.items():
                for value in values:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[FakeSlack, Recorder, str]]:
    recorder = Recorder()
    with FakeSlack() as fake:
        server = serve_bolt(build_app(fake, recorder))
        try:
            yield fake, recorder, f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture
def fake(stack: tuple[FakeSlack, Recorder, str]) -> FakeSlack:
    return stack[0]


@pytest.fixture
def recorder(stack: tuple[FakeSlack, Recorder, str]) -> Recorder:
    stack[1].seen.clear()
    return stack[1]


@pytest.fixture
def driver(stack: tuple[FakeSlack, Recorder, str]) -> SlackDriver:
    return SlackDriver(stack[2], SECRET, stack[0])


@pytest.fixture
def anna(fake: FakeSlack) -> str:
    return fake.add_user("anna", real_name="Anna de Vries").id


def open_modal(fake: FakeSlack, driver: SlackDriver, user: str) -> str:
    assert driver.slash(user, text="nieuw").status == 200
    views = fake.wait_for(lambda: fake.views_for(user))
    return str(views[-1]["id"])


def confirm_message(fake: FakeSlack, user: str) -> dict[str, Any]:
    client = WebClient(token="xoxb-test", base_url=fake.base_url)
    return dict(client.chat_postMessage(channel=user, text="Signaal ontvangen", blocks=CONFIRM_BLOCKS)["message"])


# ----------------------------------------------------------------------------- tests


def test_slash_command_opens_modal_and_shows_ack_text(
    fake: FakeSlack, driver: SlackDriver, recorder: Recorder, anna: str
) -> None:
    view_id = open_modal(fake, driver, anna)
    command = recorder.get("command")[0]
    assert command["command"] == "/signaal" and command["text"] == "nieuw"
    assert command["user_id"] == anna and command["user_name"] == "anna"
    assert command["channel_id"] == fake.dm_channel_for(anna) and command["team_id"] == "T0SANDBOX"
    assert command["response_url"].startswith(fake.url + "/response_url/")
    assert fake.view(view_id)["callback_id"] == "signal_modal"
    # The ack text is shown to the user as an ephemeral message, as Slack does.
    assert [e["text"] for e in fake.ephemerals_for(anna)] == ["Even geduld, het formulier opent."]


def test_view_submission_errors_then_success(
    fake: FakeSlack, driver: SlackDriver, recorder: Recorder, anna: str
) -> None:
    view_id = open_modal(fake, driver, anna)
    response = driver.submit_view(anna, view_id)
    assert response.json()["response_action"] == "errors"
    assert fake.view_errors(view_id) == {"desc_block": "Vul een omschrijving in."}
    assert fake.views_for(anna), "the modal stays open on errors"

    answers = {"description": "Busje haalt elke ochtend mensen op", "kind": "arbeid", "flags": ["paspoort"]}
    answers["date"] = "2024-05-01"
    assert driver.submit_view(anna, view_id, driver.fill(view_id, answers)).status == 200
    submitted = recorder.get("submission")[-1]["view"]
    values = submitted["state"]["values"]
    assert values["desc_block"]["description"] == {"type": "plain_text_input", "value": answers["description"]}
    assert values["kind_block"]["kind"]["selected_option"]["value"] == "arbeid"
    assert [o["value"] for o in values["flags_block"]["flags"]["selected_options"]] == ["paspoort"]
    assert values["date_block"]["date"] == {"type": "datepicker", "selected_date": "2024-05-01"}
    assert submitted["private_metadata"] == "gemeente=utrecht" and submitted["hash"]
    assert fake.views_for(anna) == [], "an empty ack closes the modal"
    fake.wait_for(lambda: [m for m in fake.messages_in(anna) if m["text"] == "Signaal ontvangen"])


def test_click_in_view_keeps_state(fake: FakeSlack, driver: SlackDriver, recorder: Recorder, anna: str) -> None:
    view_id = open_modal(fake, driver, anna)
    assert driver.click_in_view(anna, view_id, "urgency", selected="spoed").status == 200
    body = fake.wait_for(lambda: recorder.get("urgency"))[0]
    assert body["container"] == {"type": "view", "view_id": view_id}
    assert body["actions"][0]["selected_option"]["value"] == "spoed"
    assert body["actions"][0]["block_id"] == "urgency_block"
    assert body["view"]["state"]["values"]["urgency_block"]["urgency"]["selected_option"]["value"] == "spoed"
    driver.submit_view(anna, view_id, driver.fill(view_id, {"description": "x", "kind": "seksueel"}))
    submitted = recorder.get("submission")[-1]["view"]["state"]["values"]
    assert submitted["urgency_block"]["urgency"]["selected_option"]["value"] == "spoed"


def test_close_view_sends_view_closed(fake: FakeSlack, driver: SlackDriver, recorder: Recorder, anna: str) -> None:
    view_id = open_modal(fake, driver, anna)
    response = driver.close_view(anna, view_id)
    assert response is not None and response.status == 200
    body = fake.wait_for(lambda: recorder.get("closed"))[0]
    assert body["type"] == "view_closed" and body["view"]["id"] == view_id
    assert fake.views_for(anna) == []


def test_button_click_reaches_listener_and_updates_message(
    fake: FakeSlack, driver: SlackDriver, recorder: Recorder, anna: str
) -> None:
    message = confirm_message(fake, anna)
    assert driver.click(anna, message, "confirm").status == 200
    body = fake.wait_for(lambda: recorder.get("confirm"))[0]
    assert body["type"] == "block_actions"
    assert body["container"]["message_ts"] == message["ts"] and body["container"]["is_ephemeral"] is False
    assert body["channel"]["id"] == fake.dm_channel_for(anna)
    assert body["message"]["ts"] == message["ts"]
    action = body["actions"][0]
    assert (action["type"], action["value"], action["block_id"]) == ("button", "sig-1", "confirm_block")
    assert body["user"]["id"] == anna and body["trigger_id"]
    fake.wait_for(lambda: fake.messages_in(anna)[-1]["text"] == "Bevestigd")


def test_select_click_and_respond_replace_original(
    fake: FakeSlack, driver: SlackDriver, recorder: Recorder, anna: str
) -> None:
    message = confirm_message(fake, anna)
    driver.click(anna, message, "region", selected="amersfoort")
    body = fake.wait_for(lambda: recorder.get("region"))[0]
    assert body["actions"][0]["selected_option"]["value"] == "amersfoort"
    assert body["state"]["values"]["confirm_block"]["region"]["selected_option"]["value"] == "amersfoort"

    driver.click(anna, message, "withdraw")
    fake.wait_for(lambda: fake.messages_in(anna)[-1]["text"] == "Ingetrokken")
    assert fake.calls_to("response_url")[-1].ok


def test_message_event_reaches_listener_and_retry_headers(
    fake: FakeSlack, driver: SlackDriver, recorder: Recorder, anna: str
) -> None:
    response = driver.message(anna, anna, "Ik wil iets melden")
    assert response.status == 200
    event, retry_num = fake.wait_for(lambda: recorder.get("message"))[0]
    assert event["channel_type"] == "im" and event["text"] == "Ik wil iets melden" and retry_num is None
    assert response.payload["event_id"].startswith("Ev")
    reply = fake.wait_for(lambda: [m for m in fake.messages_in(anna) if m["text"].startswith("Ontvangen")])
    assert reply[0]["bot_id"]

    assert driver.send_event(response.payload, retry_num=1).status == 200
    fake.wait_for(lambda: len(recorder.get("message")) == 2)
    retried, retry_num = recorder.get("message")[1]
    assert retried == event and retry_num == ["1"]


def test_thread_reply_event(fake: FakeSlack, driver: SlackDriver, recorder: Recorder, anna: str) -> None:
    parent = confirm_message(fake, anna)
    driver.message(anna, anna, "aanvulling", thread_ts=parent["ts"])
    event, _ = fake.wait_for(lambda: recorder.get("message"))[0]
    assert event["thread_ts"] == parent["ts"]
    fake.wait_for(lambda: len(fake.thread(anna, parent["ts"])) == 3)  # parent, user reply, bot reply


def test_app_home_opened(fake: FakeSlack, driver: SlackDriver, anna: str) -> None:
    assert driver.app_home_opened(anna).status == 200
    home = fake.wait_for(lambda: fake.home_view(anna))
    assert home["blocks"][0]["text"]["text"] == "Welkom"


def test_url_verification(driver: SlackDriver) -> None:
    response = driver.url_verification("uitdaging-123")
    assert response.status == 200 and response.json() == {"challenge": "uitdaging-123"}


@pytest.mark.parametrize("mode", ["bad", "none", "stale"])
def test_bad_signatures_are_rejected(
    fake: FakeSlack, driver: SlackDriver, recorder: Recorder, anna: str, mode: Any
) -> None:
    with driver.signing(mode):
        assert driver.slash(anna).status == 401
        assert driver.message(anna, anna, "hallo").status == 401
        assert driver.click(anna, confirm_message(fake, anna), "confirm").status == 401
    assert recorder.get("command") == recorder.get("message") == recorder.get("confirm") == []
    assert driver.signature_mode == "valid"
