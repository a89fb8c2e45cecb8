"""What the workspace and the logs can see: no case content in log output (even at DEBUG), none
in block ids, button values or message metadata; and the bot speaks each person's Slack language."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from bot.runtime import PAYLOAD_LOGGERS
from bot.sandbox.fake_slack import iter_elements
from tests.helpers import (
    AF,
    KETENREGISSEUR,
    REPORTER,
    answer,
    case_card,
    report,
    root_message,
    thread_texts,
    wait_question,
)
from tests.privacy_support import FREE_TEXT_BITS

ENGLISH_REPORTER = "U0ENG00001"
SENT_BY_BOT = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.push",
               "views.update", "views.publish")


def full_flow(r) -> str:  # noqa: ANN001
    """Report, the AF and the ketenregisseur open their Home tab, the jobs run."""
    reference = report(r)
    case_card(r, reference)
    root = root_message(r, REPORTER)
    r.fake.wait_for(lambda: "is verstuurd" in thread_texts(r, root))
    for user in (AF, KETENREGISSEUR, REPORTER):
        r.driver.app_home_opened(user)
        r.fake.wait_for(lambda u=user: r.fake.home_view(u))
    r.bot.run_due()
    return reference


def test_logs_never_contain_case_content_even_at_debug(running, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    full_flow(running)
    assert caplog.records, "nothing was logged: the capture is not working"
    for bit in FREE_TEXT_BITS:
        assert bit not in caplog.text
    # Libraries that would log Slack request bodies or SQL parameters stay quiet.
    for name in PAYLOAD_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING


def _opaque_parts(args: dict[str, Any]) -> list[str]:
    """Everything in a Web API call that any workspace member or app could read besides the text."""
    parts: list[str] = []
    if args.get("metadata"):
        parts.append(json.dumps(args["metadata"], ensure_ascii=False))
    views = [args["view"]] if isinstance(args.get("view"), dict) else []
    blocks = list(args.get("blocks") or []) + [b for v in views for b in v.get("blocks") or []]
    for view in views:
        parts += [str(view.get(k, "")) for k in ("private_metadata", "callback_id", "external_id")]
    for block in blocks:
        parts.append(str(block.get("block_id", "")))
    for _block, element in iter_elements(blocks):
        parts += [str(element.get("action_id", "")), str(element.get("value", ""))]
        for option in element.get("options") or []:
            parts.append(str(option.get("value", "")))
    return parts


def test_ids_values_and_metadata_of_every_bot_message_carry_no_free_text(running) -> None:
    r = running
    full_flow(r)
    calls = [c for c in r.fake.calls if c.method in SENT_BY_BOT]
    assert len(calls) > 10
    leaks = [(c.method, part) for c in calls for part in _opaque_parts(c.args)
             if any(bit in part for bit in FREE_TEXT_BITS)]
    assert leaks == []
    # And the push preview (top-level text) never carries it either.
    assert not [c.method for c in calls if any(bit in str(c.args.get("text", "")) for bit in FREE_TEXT_BITS)]


def test_a_reporter_whose_slack_is_in_english_gets_english_messages(running) -> None:
    r = running
    r.fake.add_user("erik", user_id=ENGLISH_REPORTER, real_name="Erik English", locale="en-US")
    reference = report(r, ENGLISH_REPORTER)
    root = root_message(r, ENGLISH_REPORTER)
    r.fake.wait_for(lambda: f"Thank you. Signal {reference} has been sent." in thread_texts(r, root))
    assert "is verstuurd" not in thread_texts(r, root)
    dutch = report(r, REPORTER)
    r.fake.wait_for(lambda: f"Signaal {dutch} is verstuurd" in thread_texts(r, root_message(r, REPORTER)))


def test_switching_slacks_language_switches_the_bot(running) -> None:
    r = running
    r.driver.app_home_opened(REPORTER)
    assert "Je signalen" in str(r.fake.wait_for(lambda: r.fake.home_view(REPORTER))["blocks"])
    r.fake.add_user("rita", user_id=REPORTER, real_name="Rita Reporter", locale="en-US")  # she switches
    r.core.clock.set(r.core.clock.now() + timedelta(days=2))  # the bot checks the language once a day
    r.driver.app_home_opened(REPORTER)
    r.fake.wait_for(lambda: "Your signals" in str((r.fake.home_view(REPORTER) or {}).get("blocks")))


def test_a_button_click_is_a_first_contact_too(running) -> None:
    r = running
    r.driver.slash(REPORTER, text="")  # /signaal: the bot learns she reads Dutch
    wait_question(r, REPORTER, "municipality")
    r.fake.add_user("rita", user_id=REPORTER, real_name="Rita Reporter", locale="en-US")  # she switches
    r.core.clock.set(r.core.clock.now() + timedelta(days=2))
    answer(r, REPORTER, "municipality", "Breda")  # her next click
    question = wait_question(r, REPORTER, "form")
    assert "What kind of exploitation do you think it is?" in str(question["blocks"])
