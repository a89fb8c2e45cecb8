"""The fake Slack Web API, exercised through a real slack_sdk WebClient over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.sandbox import blockkit
from bot.sandbox.fake_slack import BOT_ID, BOT_USER_ID, FakeSlack, MessageEvent, SpecNotFoundError


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeSlack) -> FakeSlack:
    server.reset()
    server.valid_tokens = {"xoxb-test"}
    server.socket_url = None
    return server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url)


@pytest.fixture
def anna(fake: FakeSlack) -> str:
    return fake.add_user("anna", real_name="Anna de Vries", email="anna@gemeente.example").id


def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def modal(title: str = "Signaal", blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": blocks or [], **extra}


# ----------------------------------------------------------------------------- basics


def test_auth_test_identifies_the_bot(client: WebClient) -> None:
    response = client.auth_test()
    assert response["team_id"] == "T0SANDBOX"
    assert response["user_id"] == BOT_USER_ID
    assert response["bot_id"] == BOT_ID


def test_base_url_is_what_webclient_takes(fake: FakeSlack) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake.base_url.endswith("/api/")


def test_post_message_is_stored_and_listed(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("meldingen").id
    first = client.chat_postMessage(channel=channel, text="eerste")
    second = client.chat_postMessage(channel="#meldingen", text="tweede")
    assert first["channel"] == channel and second["channel"] == channel
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["bot_id"] == BOT_ID
    history = client.conversations_history(channel=channel)["messages"]
    assert [m["text"] for m in history] == ["tweede", "eerste"]  # newest first, like Slack
    assert [m["text"] for m in fake.messages_in(channel)] == ["eerste", "tweede"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_needs_text_or_blocks(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("meldingen").id
    assert api_error(lambda: client.chat_postMessage(channel=channel)).response["error"] == "no_text"


def test_threads(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("meldingen").id
    parent = client.chat_postMessage(channel=channel, text="melding")
    client.chat_postMessage(channel=channel, text="antwoord 1", thread_ts=parent["ts"])
    reply = client.chat_postMessage(channel=channel, text="antwoord 2", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    replies = client.conversations_replies(channel=channel, ts=parent["ts"])["messages"]
    assert [m["text"] for m in replies] == ["melding", "antwoord 1", "antwoord 2"]
    assert replies[0]["reply_count"] == 2
    assert [m["text"] for m in fake.thread(channel, parent["ts"])] == ["melding", "antwoord 1", "antwoord 2"]
    history = client.conversations_history(channel=channel)["messages"]
    assert [m["text"] for m in history] == ["melding"]  # replies stay in the thread
    error = api_error(lambda: client.chat_postMessage(channel=channel, text="x", thread_ts="1.000001"))
    assert error.response["error"] == "thread_not_found"


def test_dm_via_user_id(fake: FakeSlack, client: WebClient, anna: str) -> None:
    posted = client.chat_postMessage(channel=anna, text="Hallo Anna")
    assert posted["channel"].startswith("D")
    opened = client.conversations_open(users=anna)
    assert opened["channel"]["id"] == posted["channel"] == fake.dm_channel_for(anna)
    info = client.conversations_info(channel=posted["channel"])["channel"]
    assert info["is_im"] and info["user"] == anna
    assert client.conversations_members(channel=posted["channel"])["members"] == [anna, BOT_USER_ID]
    assert [m["text"] for m in fake.messages_in(anna)] == ["Hallo Anna"]


def test_metadata_and_permalink(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("meldingen").id
    metadata = {"event_type": "signal_created", "event_payload": {"signal_id": 7}}
    posted = client.chat_postMessage(channel=channel, text="melding", metadata=metadata)
    assert fake.messages_in(channel)[0]["metadata"] == metadata
    link = client.chat_getPermalink(channel=channel, message_ts=posted["ts"])["permalink"]
    assert link.endswith(f"/archives/{channel}/p{posted['ts'].replace('.', '')}")


def test_update_and_delete(fake: FakeSlack, client: WebClient, anna: str) -> None:
    channel = fake.add_channel("meldingen", members=[anna]).id
    posted = client.chat_postMessage(channel=channel, text="oud")
    updated = client.chat_update(channel=channel, ts=posted["ts"], text="nieuw")
    assert updated["message"]["text"] == "nieuw" and "edited" in updated["message"]
    assert fake.messages_in(channel)[0]["text"] == "nieuw"
    missing = api_error(lambda: client.chat_update(channel=channel, ts="1.000001", text="x"))
    assert missing.response["error"] == "message_not_found"
    users_message = fake.post_user_message(anna, channel, "van Anna")
    not_ours = api_error(lambda: client.chat_update(channel=channel, ts=users_message["ts"], text="x"))
    assert not_ours.response["error"] == "cant_update_message"
    client.chat_delete(channel=channel, ts=posted["ts"])
    assert [m["text"] for m in fake.messages_in(channel)] == ["van Anna"]


def test_post_ephemeral(fake: FakeSlack, client: WebClient, anna: str) -> None:
    channel = fake.add_channel("meldingen", members=[anna]).id
    response = client.chat_postEphemeral(channel=channel, user=anna, text="alleen voor jou")
    assert response["message_ts"]
    assert [e["text"] for e in fake.ephemerals_for(anna)] == ["alleen voor jou"]
    outsider = fake.add_user("bob").id
    error = api_error(lambda: client.chat_postEphemeral(channel=channel, user=outsider, text="x"))
    assert error.response["error"] == "user_not_in_channel"


def test_users_info_and_lookup(client: WebClient, anna: str) -> None:
    user = client.users_info(user=anna, include_locale=True)["user"]
    assert user["real_name"] == "Anna de Vries"
    assert user["tz"] == "Europe/Amsterdam" and user["locale"] == "nl-NL"
    assert "locale" not in client.users_info(user=anna)["user"]
    assert client.users_lookupByEmail(email="anna@gemeente.example")["user"]["id"] == anna
    assert api_error(lambda: client.users_info(user="U404")).response["error"] == "user_not_found"
    error = api_error(lambda: client.users_lookupByEmail(email="niemand@example.nl"))
    assert error.response["error"] == "users_not_found"


# ----------------------------------------------------------------------------- spec, auth, arguments


def test_unknown_method_is_404(client: WebClient) -> None:
    error = api_error(lambda: client.api_call("chat.postMessag"))
    assert error.response.status_code == 404
    assert error.response["error"] == "unknown_method"


def test_missing_required_argument(client: WebClient) -> None:
    error = api_error(lambda: client.chat_postEphemeral(channel="C1", text="x", user=""))
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == ["[ERROR] missing required field: user"]


def test_spec_method_without_handler_answers_ok_and_is_recorded(fake: FakeSlack, client: WebClient) -> None:
    assert client.reactions_add(channel="C1", name="eyes", timestamp="1.000001")["ok"]
    assert fake.calls_to("reactions.add")[0].args["name"] == "eyes"


def test_bad_and_missing_tokens(fake: FakeSlack) -> None:
    bad = api_error(lambda: WebClient(token="xoxb-wrong", base_url=fake.base_url).auth_test())
    assert bad.response["error"] == "invalid_auth"
    missing = api_error(lambda: WebClient(base_url=fake.base_url).auth_test())
    assert missing.response["error"] == "not_authed"
    fake.valid_tokens.add("xoxb-other")
    assert WebClient(token="xoxb-other", base_url=fake.base_url).auth_test()["ok"]


def test_form_encoded_blocks_arrive_as_json_strings(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("meldingen").id
    params = {"channel": channel, "blocks": '[{"type": "divider", "block_id": "d1"}]'}
    response = client.api_call("chat.postMessage", params=params)
    assert response["message"]["blocks"] == [{"type": "divider", "block_id": "d1"}]


def test_socket_mode_url(fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.base_url)
    error = api_error(lambda: client.apps_connections_open(app_token="xapp-test"))
    assert error.response["error"] == "not_allowed_token_type"
    fake.socket_url = "ws://127.0.0.1:1/socket"
    assert client.apps_connections_open(app_token="xapp-test")["url"] == "ws://127.0.0.1:1/socket"
    bot_token = api_error(lambda: client.apps_connections_open(app_token="xoxb-test"))
    assert bot_token.response["error"] == "not_allowed_token_type"


def test_spec_env_var_must_point_to_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("SLACK_OPENAPI_SPEC", str(tmp_path / "missing.json"))
    with pytest.raises(SpecNotFoundError, match="SLACK_OPENAPI_SPEC"):
        FakeSlack()


# ----------------------------------------------------------------------------- Block Kit limits


def _options(count: int) -> list[dict[str, Any]]:
    return [{"text": {"type": "plain_text", "text": f"optie {i}"}, "value": f"v{i}"} for i in range(count)]


BAD_MESSAGES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "too many blocks": ([{"type": "divider"}] * 51, "at most 50 blocks"),
    "long section text": ([section("x" * 3001)], "/blocks/0/text/text"),
    "too many fields": (
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
        "at most 10 fields",
    ),
    "long header": ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "at most 150"),
    "mrkdwn header": ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "plain_text"),
    "too many select options": (
        [section("kies", "b1") | {"accessory": {"type": "static_select", "action_id": "s", "options": _options(101)}}],
        "at most 100 options",
    ),
    "too many checkboxes": (
        [{"type": "actions", "elements": [{"type": "checkboxes", "action_id": "c", "options": _options(11)}]}],
        "at most 10 options",
    ),
    "long button value": (
        [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "b",
                        "text": {"type": "plain_text", "text": "OK"},
                        "value": "v" * 2001,
                    }
                ],
            }
        ],
        "/blocks/0/elements/0/value",
    ),
    "duplicate block_id": ([section("a", "same"), section("b", "same")], "duplicate block_id"),
    "unknown block type": ([{"type": "carousel"}], "unknown block type"),
    "text object without text": ([{"type": "section", "text": {"type": "mrkdwn"}}], "missing required field: text"),
}


@pytest.mark.parametrize("case", sorted(BAD_MESSAGES))
def test_message_block_kit_violations(fake: FakeSlack, client: WebClient, case: str) -> None:
    blocks, expected = BAD_MESSAGES[case]
    channel = fake.add_channel("meldingen").id
    error = api_error(lambda: client.chat_postMessage(channel=channel, text="fallback", blocks=blocks))
    assert error.response["error"] == "invalid_blocks"
    assert any(expected in problem for problem in error.response["errors"]), error.response["errors"]
    assert fake.messages_in(channel) == []


def test_message_text_limit(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("meldingen").id
    error = api_error(lambda: client.chat_postMessage(channel=channel, text="x" * 40_001))
    assert error.response["error"] == "msg_too_long"


def test_valid_blocks_pass_the_validator() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Nieuw signaal"}},
        section("*Locatie:* Utrecht", "loc"),
        {
            "type": "actions",
            "elements": [
                {"type": "button", "action_id": "ok", "text": {"type": "plain_text", "text": "OK"}, "value": "1"},
                {"type": "static_select", "action_id": "kind", "options": _options(3)},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Vertrouwelijk"}]},
    ]
    assert blockkit.validate_message("Nieuw signaal", blocks) == []


def _input(action_id: str = "desc", **element: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": f"b_{action_id}",
        "label": {"type": "plain_text", "text": "Omschrijving"},
        "element": {"type": "plain_text_input", "action_id": action_id, **element},
    }


BAD_VIEWS: dict[str, tuple[dict[str, Any], str]] = {
    "title over 24": (modal("Een veel te lange titel voor Slack"), "/view/title/text"),
    "input without submit": (modal(blocks=[_input()]), "submit is required"),
    "submit over 24": (modal(submit={"type": "plain_text", "text": "s" * 25}), "/view/submit/text"),
    "max_length 0": (modal(blocks=[_input(max_length=0)], submit={"type": "plain_text", "text": "OK"}), "max_length"),
    "private_metadata": (modal(private_metadata="m" * 3001), "/view/private_metadata"),
    "callback_id": (modal(callback_id="c" * 256), "/view/callback_id"),
    "too many blocks": (modal(blocks=[{"type": "divider"}] * 101), "at most 100 blocks"),
}


@pytest.mark.parametrize("case", sorted(BAD_VIEWS))
def test_view_block_kit_violations(fake: FakeSlack, client: WebClient, anna: str, case: str) -> None:
    view, expected = BAD_VIEWS[case]
    error = api_error(lambda: client.views_open(trigger_id=fake.new_trigger_id(anna), view=view))
    # Slack answers bad views with invalid_arguments and "[ERROR] … [json-pointer:…]" messages.
    assert error.response["error"] == "invalid_arguments"
    messages = error.response["response_metadata"]["messages"]
    assert all(m.startswith("[ERROR] ") for m in messages)
    assert any(expected in m for m in messages), messages
    assert fake.views_for(anna) == []


def test_view_too_large(fake: FakeSlack, client: WebClient, anna: str) -> None:
    blocks = [section("x" * 2900) for _ in range(90)]
    error = api_error(lambda: client.views_open(trigger_id=fake.new_trigger_id(anna), view=modal(blocks=blocks)))
    assert error.response["error"] == "view_too_large"


# ----------------------------------------------------------------------------- views and triggers


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_views_open_update_and_state(fake: FakeSlack, client: WebClient, anna: str) -> None:
    view = modal(blocks=[_input(initial_value="begin")], submit={"type": "plain_text", "text": "Verstuur"})
    opened = client.views_open(trigger_id=fake.new_trigger_id(anna), view=view)["view"]
    assert opened["id"].startswith("V") and opened["hash"]
    assert opened["state"]["values"]["b_desc"]["desc"] == {"type": "plain_text_input", "value": "begin"}
    assert [v["id"] for v in fake.views_for(anna)] == [opened["id"]]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Stap 2"))["view"]
    assert updated["title"]["text"] == "Stap 2" and updated["hash"] != opened["hash"]
    stale = api_error(lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal()))
    assert stale.response["error"] == "hash_conflict"


def test_trigger_id_rules(fake: FakeSlack, client: WebClient, anna: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(fake, "clock", clock)
    unknown = api_error(lambda: client.views_open(trigger_id="123.456.abc", view=modal()))
    assert unknown.response["error"] == "invalid_trigger_id"
    trigger = fake.new_trigger_id(anna)
    client.views_open(trigger_id=trigger, view=modal())
    reused = api_error(lambda: client.views_open(trigger_id=trigger, view=modal()))
    assert reused.response["error"] == "exchanged_trigger_id"
    late = fake.new_trigger_id(anna)
    clock.now += 3.5
    expired = api_error(lambda: client.views_open(trigger_id=late, view=modal()))
    assert expired.response["error"] == "expired_trigger_id"


def test_push_limit_reached(fake: FakeSlack, client: WebClient, anna: str) -> None:
    client.views_open(trigger_id=fake.new_trigger_id(anna), view=modal("1"))
    client.views_push(trigger_id=fake.new_trigger_id(anna), view=modal("2"))
    client.views_push(trigger_id=fake.new_trigger_id(anna), view=modal("3"))
    error = api_error(lambda: client.views_push(trigger_id=fake.new_trigger_id(anna), view=modal("4")))
    assert error.response["error"] == "push_limit_reached"
    assert [v["title"]["text"] for v in fake.views_for(anna)] == ["1", "2", "3"]


def test_views_publish_home(fake: FakeSlack, client: WebClient, anna: str) -> None:
    home = {"type": "home", "blocks": [section("Welkom")]}
    first = client.views_publish(user_id=anna, view=home)["view"]
    second = client.views_publish(user_id=anna, view=home)["view"]
    assert first["id"] == second["id"] and fake.home_view(anna)["type"] == "home"
    wrong = api_error(lambda: client.views_publish(user_id=anna, view=modal()))
    assert wrong.response["error"] == "invalid_arguments"


# ----------------------------------------------------------------------------- error injection


def test_rate_limit_then_retry_handler_succeeds(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("meldingen").id
    fake.fail_next("chat.postMessage", retry_after=1)
    error = api_error(lambda: client.chat_postMessage(channel=channel, text="x"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "1"
    assert error.response["error"] == "ratelimited"

    fake.fail_next("chat.postMessage", retry_after=1)
    retrying = WebClient(
        token="xoxb-test", base_url=fake.base_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    assert retrying.chat_postMessage(channel=channel, text="toch gelukt")["ok"]
    outcomes = [(c.ok, c.error) for c in fake.calls_to("chat.postMessage")]
    assert outcomes == [(False, "ratelimited"), (False, "ratelimited"), (True, None)]


def test_server_error_injection(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("auth.test", status=500)
    error = api_error(client.auth_test)
    assert error.response.status_code == 500 and error.response["error"] == "internal_error"
    fake.fail_next("auth.test", status=500)
    retrying = WebClient(token="xoxb-test", base_url=fake.base_url, retry_handlers=[ServerErrorRetryHandler()])
    assert retrying.auth_test()["ok"]


def test_any_error_string_with_200(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("auth.test", "account_inactive", times=2)
    for _ in range(2):
        error = api_error(client.auth_test)
        assert error.response.status_code == 200 and error.response["error"] == "account_inactive"
    assert client.auth_test()["ok"]


# ----------------------------------------------------------------------------- recording, hooks, response_url


def test_calls_are_recorded_without_token(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()
    call = fake.calls_to("auth.test")[0]
    assert call.ok and call.error is None and "token" not in call.args
    fake.clear_calls()
    assert fake.calls == []


def test_on_message_runs_outside_the_lock(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("meldingen").id
    seen: list[tuple[str, str]] = []

    def callback(event: MessageEvent) -> None:
        # Calling the API from the callback would deadlock if the fake still held its lock.
        info = WebClient(token="xoxb-test", base_url=fake.base_url, timeout=3).conversations_info(channel=channel)
        seen.append((event.kind, info["channel"]["id"]))

    unsubscribe = fake.on_message(callback)
    posted = client.chat_postMessage(channel=channel, text="a")
    client.chat_update(channel=channel, ts=posted["ts"], text="b")
    unsubscribe()
    client.chat_postMessage(channel=channel, text="c")
    assert seen == [("posted", channel), ("updated", channel)]


def test_wait_for(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("meldingen").id
    threading.Timer(0.1, lambda: client.chat_postMessage(channel=channel, text="later")).start()
    messages = fake.wait_for(lambda: fake.messages_in(channel), timeout=3)
    assert messages[0]["text"] == "later"
    with pytest.raises(TimeoutError):
        fake.wait_for(lambda: False, timeout=0.1)


def test_response_url_messages(fake: FakeSlack, client: WebClient, anna: str) -> None:
    channel = fake.add_channel("meldingen", members=[anna]).id
    url = fake.new_response_url(anna, channel)
    assert WebhookClient(url).send(text="alleen voor Anna").status_code == 200
    assert WebhookClient(url).send(text="voor iedereen", response_type="in_channel").status_code == 200
    assert [e["text"] for e in fake.ephemerals_for(anna, channel)] == ["alleen voor Anna"]
    assert [m["text"] for m in fake.messages_in(channel)] == ["voor iedereen"]
    assert WebhookClient(fake.url + "/response_url/unknown").send(text="x").status_code == 404


def test_snapshot_is_json_ready(fake: FakeSlack, client: WebClient, anna: str) -> None:
    import json

    client.chat_postMessage(channel=anna, text="hoi")
    snapshot = json.loads(json.dumps(fake.snapshot()))
    assert snapshot["team"]["id"] == "T0SANDBOX"
    assert any(u["id"] == anna for u in snapshot["users"])
    assert snapshot["messages"][fake.dm_channel_for(anna)][0]["text"] == "hoi"


# ------------------------------------------------------------------ files_upload_v2


def test_files_upload_v2_shares_the_file_into_the_channel(fake: FakeSlack, client: WebClient, anna: str) -> None:
    dm = client.conversations_open(users=anna)["channel"]["id"]
    resp = client.files_upload_v2(channel=dm, initial_comment="Maandcijfers", file_uploads=[
        {"content": b"\x89PNG one", "filename": "a.png", "title": "A", "alt_txt": "first"},
        {"content": b"two", "filename": "b.csv", "title": "B"}])
    assert [f["title"] for f in resp["files"]] == ["A", "B"]
    assert [c.method for c in fake.calls][-5:] == ["files.getUploadURLExternal", "files.getUploadURLExternal",
                                                    "(upload)", "(upload)", "files.completeUploadExternal"]
    (message,) = fake.messages_in(dm)
    assert message["text"] == "Maandcijfers" and message["upload"] is True
    assert [(f["name"], f["mimetype"], f["size"]) for f in message["files"]] == [
        ("a.png", "image/png", 8), ("b.csv", "text/csv", 3)]
    assert fake.file_content(resp["files"][0]["id"]) == (b"\x89PNG one", "image/png")
    assert fake.file_content(resp["files"][0]["id"], viewer=anna)[0] == b"\x89PNG one"
    assert fake.file_content(resp["files"][0]["id"], viewer=BOT_USER_ID)[0] is not None


def test_files_upload_arguments_are_checked_as_slack_documents_them(fake: FakeSlack, client: WebClient,
                                                                    anna: str) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.api_call("files.getUploadURLExternal", params={"filename": "x.png"})
    assert exc.value.response["error"] == "invalid_arguments"
    assert "missing required field: length" in str(exc.value.response["response_metadata"])
    with pytest.raises(SlackApiError) as exc:
        client.files_completeUploadExternal(files=[])
    assert exc.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as exc:
        client.files_completeUploadExternal(files=[{"id": "F0NOPE", "title": "x"}])
    assert exc.value.response["error"] == "file_not_found"
    # An upload URL whose bytes never arrived cannot be completed.
    started = client.files_getUploadURLExternal(filename="x.png", length=3)
    with pytest.raises(SlackApiError) as exc:
        client.files_completeUploadExternal(files=[{"id": started["file_id"]}])
    assert exc.value.response["error"] == "file_upload_size_mismatch"


def test_a_file_completed_without_a_channel_is_private(fake: FakeSlack, client: WebClient, anna: str) -> None:
    resp = client.files_upload_v2(content=b"abc", filename="x.txt", title="X")
    assert resp["file"]["id"] and fake.all_messages() == []
    assert fake.file_content(resp["file"]["id"], viewer=anna) == (None, "")


def test_files_upload_v2_retries_after_a_server_error(fake: FakeSlack, client: WebClient, anna: str) -> None:
    fake.fail_next("files.completeUploadExternal", status=500)
    dm = fake.dm_channel_for(anna)
    with pytest.raises(SlackApiError):
        client.files_upload_v2(channel=dm, content=b"abc", filename="x.txt")
    client.files_upload_v2(channel=dm, content=b"abc", filename="x.txt")
    assert len([m for m in fake.messages_in(dm) if m.get("files")]) == 1
