"""HTTP mode's front answers when the listener returns (process_before_response). A request whose
listener only acks and hands its work on is dispatched on the event loop (no thread hand-over);
every other request in a worker thread, so a listener that waits (the database, Slack) never holds
up the others."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode

from bot.core import triage
from bot.slack.http import inline
from tests.conftest import start_bot
from tests.helpers import COLLEAGUE, REPORTER, answer, open_question, wait_question

FORM = "application/x-www-form-urlencoded"


def _command(text: str) -> str:
    return urlencode({"command": "/signaal", "text": text, "user_id": REPORTER})


def _click(action_id: str, callback: str | None = None) -> str:
    if callback is not None:
        payload = {"type": "view_submission", "view": {"callback_id": callback}}
    else:
        payload = {"type": "block_actions", "actions": [{"action_id": action_id}]}
    return urlencode({"payload": json.dumps(payload)})


def test_only_requests_that_ack_and_hand_on_are_dispatched_on_the_event_loop(running) -> None:
    r = running  # its app's registry: the features' subcommands and inline predicates
    on_loop = [_command(""), _command("Twee mannen slapen in de keuken"), _command("help"),
               _click("triage:answer:2"), _click("triage:select"), _click("triage:multi_done"),
               _click("triage:submit"), _click("", callback="triage_text")]
    in_thread = [_command("status"), _command("netwerk"), _command("training"),
                 _click("triage:text"),  # opens a modal: views.open
                 _click("case:claim"), _click("case:ask_info"), _click("", callback="case_modal:note")]
    assert [inline(body, FORM, r.bot.slack.registry) for body in on_loop] == [True] * len(on_loop)
    assert [inline(body, FORM, r.bot.slack.registry) for body in in_thread] == [False] * len(in_thread)
    assert not inline(json.dumps({"type": "event_callback", "event": {"type": "app_home_opened"}}),
                      "application/json", r.bot.slack.registry)
    assert not inline("payload=%7Bnot+json", FORM, r.bot.slack.registry)
    assert not inline(_click("triage:answer:2"), "text/plain", r.bot.slack.registry)


def test_a_listener_that_waits_does_not_hold_up_a_new_signal(settings, fake, monkeypatch) -> None:
    r = start_bot(settings, fake, process_before_response=True)
    try:
        threads: dict[str, str] = {}
        dispatch = r.bot.app.dispatch

        def recording(req):  # noqa: ANN001, ANN202
            text = req.body.get("text") or ""
            threads[(text[0] if isinstance(text, list) else text) or "start"] = threading.current_thread().name
            return dispatch(req)

        monkeypatch.setattr(r.bot.app, "dispatch", recording)
        released = threading.Event()
        own_signals = triage.own_signals

        def slow_own_signals(core, user):  # noqa: ANN001, ANN202 - the database is slow right now
            released.wait(10)
            return own_signals(core, user)

        monkeypatch.setattr(triage, "own_signals", slow_own_signals)
        status: list[int] = []
        waiting = threading.Thread(target=lambda: status.append(r.driver.slash(COLLEAGUE, text="status").status))
        waiting.start()
        deadline = time.monotonic() + 5
        while "status" not in threads and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        answered = r.driver.slash(REPORTER)
        assert answered.status == 200 and time.monotonic() - started < 2.0
        assert waiting.is_alive() and not status  # still waiting for its database
        released.set()
        waiting.join(10)
        assert status == [200]
        fake.wait_for(lambda: open_question(r, REPORTER))
        # /signaal ran on the server's event loop; status in a worker thread.
        assert threads["start"] == r.server.thread.name  # type: ignore[union-attr]
        assert threads["status"] != r.server.thread.name  # type: ignore[union-attr]
    finally:
        r.stop()


def test_a_day_old_language_is_learned_after_the_ack_and_before_the_next_question(settings, fake) -> None:
    """The front's ack path makes no Web API call for a known user: Slack is asked again for a
    day-old language after the ack, as the first step of the click's own work, so the next question
    is already in the new language."""
    r = start_bot(settings, fake, process_before_response=True)
    try:
        r.driver.slash(REPORTER)  # the bot learns she reads Dutch
        wait_question(r, REPORTER, "municipality")
        r.fake.add_user("rita", user_id=REPORTER, real_name="Rita Reporter", locale="en-US")  # she switches
        r.core.clock.set(r.core.clock.now() + timedelta(days=2))
        asked = threading.Event()
        released = threading.Event()
        users_info = r.bot.slack.client.users_info

        def slow_users_info(**kwargs):  # noqa: ANN003, ANN202 - Slack is slow right now
            asked.set()
            released.wait(10)
            return users_info(**kwargs)

        r.bot.slack.client.users_info = slow_users_info  # type: ignore[method-assign]
        started = time.monotonic()
        answer(r, REPORTER, "municipality", "Breda")  # her next click: answered while Slack is asked
        assert time.monotonic() - started < 2.0
        assert asked.wait(5)
        time.sleep(0.3)
        assert open_question(r, REPORTER)[0] == "municipality"  # type: ignore[index] # her answer waits for it
        released.set()
        question = wait_question(r, REPORTER, "form")
        assert "What kind of exploitation do you think it is?" in str(question["blocks"])
    finally:
        r.stop()
