"""Helpers for the case tests: act like an AF, a partner or the reporter on a reported signal."""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.fake_slack import ApiError, element_state, initial_state_values
from models import Signal
from models.db import session_scope
from tests.conftest import Running
from tests.helpers import CASES_CHANNEL, REPORTER, case_card, find_block, thread_of, thread_texts

AVIM = "U0AVIM0001"
ZOCO = "U0ZOCO0001"


def signal_id(r: Running, reference: str) -> int:
    block = find_block(case_card(r, reference), "case:")
    assert block is not None, "the card has no actions"
    return int(block["block_id"].split(":")[1])


def signal_row(r: Running, reference: str) -> Signal:
    with session_scope(r.core.engine) as session:
        from sqlmodel import select

        row = session.exec(select(Signal).where(Signal.reference == reference)).one()
        session.expunge(row)
        return row


def card_actions(r: Running, reference: str) -> list[str]:
    """The action names offered on the card (buttons and overflow entries)."""
    block = find_block(case_card(r, reference), "case:") or {"elements": []}
    names = []
    for element in block["elements"]:
        if element["type"] == "button":
            names.append(element["action_id"].split(":", 1)[1])
        else:
            names += [o["value"].split(":")[0] for o in element.get("options", [])]
    return names


def settle(r: Running) -> None:
    """Wait until the outbox delivered everything queued so far."""
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0, timeout=10)


def events_count(r: Running, reference: str) -> int:
    from sqlmodel import func, select

    from models import CaseEvent

    with session_scope(r.core.engine) as session:
        sid = session.exec(select(Signal.id).where(Signal.reference == reference)).one()
        return int(session.exec(select(func.count()).select_from(CaseEvent)
                                .where(CaseEvent.signal_id == sid)).one())


def click_case(r: Running, user: str, reference: str, action: str) -> Any:
    """Click a case action on the card: a button, or the entry in the ⋯ menu (waiting until the card
    offers it: the previous step may still be on its way)."""
    settle(r)
    return click_on_card(r, user, reference, action)


def click_on_card(r: Any, user: str, reference: str, action: str) -> Any:
    """`click_case` for a bot in another process (no outbox here to settle): wait for the card to offer it."""
    r.fake.wait_for(lambda: action in card_actions(r, reference))
    card = case_card(r, reference)
    block = find_block(card, "case:")
    assert block is not None
    for element in block["elements"]:
        if element.get("action_id") == f"case:{action}":
            return r.driver.click(user, card, f"case:{action}")
    chosen = f"{action}:{signal_id(r, reference)}"
    menu = next((e for e in block["elements"] if e["type"] == "overflow"
                 and any(o["value"] == chosen for o in e["options"])), None)
    assert menu is not None, f"no {action} on the card"
    return r.driver.click(user, card, menu["action_id"], selected=chosen)


def forge_click(r: Running, user: str, message: dict[str, Any], action_id: str, value: str,
                block_id: str = "forged") -> Any:
    """A block_actions payload for a button that is not on the message (a forged or stale click)."""
    channel, stored = r.fake.locate(message["ts"])
    payload = r.driver._interaction_base("block_actions", user)
    payload.update(
        container={"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False},
        channel=r.driver._channel(channel), message={k: v for k, v in stored.items() if k != "channel"},
        state={"values": {}},
        actions=[{"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                  "action_ts": "1.0", "text": {"type": "plain_text", "text": "x"}}],
    )
    payload["response_url"] = r.fake.new_response_url(user, channel, message_ts=message["ts"])
    return r.driver._send_interaction(payload)


def modal_of(r: Running, user: str, callback_prefix: str = "") -> dict[str, Any]:
    """The modal the bot opened for the user (the top of their stack)."""

    def found() -> dict[str, Any] | None:
        stack = r.fake.views_for(user)
        if stack and stack[-1]["callback_id"].startswith(callback_prefix):
            return stack[-1]
        return None

    return r.fake.wait_for(found)


def submit(r: Running, user: str, view: dict[str, Any], answers: dict[str, Any]) -> Any:
    """Submit a modal: `answers` maps block_id → raw value (text, option value(s), date); the other
    inputs keep their initial values, as in Slack."""
    values = initial_state_values(view["blocks"])
    for block in view["blocks"]:
        if block.get("block_id") in answers and block.get("type") == "input":
            element = block["element"]
            values.setdefault(block["block_id"], {})[element["action_id"]] = element_state(
                element, answers[block["block_id"]])
    resp = r.driver.submit_view(user, view["id"], values)
    assert resp.status == 200, resp.body
    return resp


def act(r: Running, user: str, reference: str, action: str, answers: dict[str, Any]) -> Any:
    """Click a case action that opens a modal, fill it in and submit it."""
    resp = click_case(r, user, reference, action)
    assert resp.status == 200, resp.body
    view = modal_of(r, user, f"case_modal:{action}")
    before = events_count(r, reference)
    resp = submit(r, user, view, answers)
    assert not modal_errors(r, view), modal_errors(r, view)
    r.fake.wait_for(lambda: events_count(r, reference) > before)  # the step is stored
    return resp


def modal_errors(r: Running, view: dict[str, Any]) -> dict[str, str]:
    """Errors shown in a modal that stayed open (a closed modal had none)."""
    try:
        return r.fake.view_errors(view["id"])
    except ApiError:
        return {}


def case_thread(r: Running, reference: str) -> str:
    return thread_texts(r, case_card(r, reference))


def reporter_root(r: Running, reference: str, user: str = REPORTER) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for msg in r.fake.messages_in(r.fake.dm_channel_for(user)):
            first = (msg.get("blocks") or [{}])[0]
            if first.get("type") == "header" and reference in first["text"]["text"] and (
                    not msg.get("thread_ts") or msg.get("thread_ts") == msg.get("ts")):
                return msg
        return None

    return r.fake.wait_for(found)


def reporter_thread(r: Running, reference: str, user: str = REPORTER) -> str:
    return thread_texts(r, reporter_root(r, reference, user))


def reporter_replies(r: Running, reference: str, user: str = REPORTER) -> list[dict[str, Any]]:
    return thread_of(r, reporter_root(r, reference, user))[1:]


def wait_in(r: Running, read: Any, needle: str, timeout: float = 5.0) -> str:
    """Wait until `needle` shows up in `read()`; return what was read."""
    return r.fake.wait_for(lambda: (lambda text: text if needle in text else None)(read()), timeout=timeout)


def ephemeral_texts(r: Running, user: str) -> str:
    return "\n".join(json.dumps(e, ensure_ascii=False) for e in r.fake.ephemerals_for(user))


def dms(r: Running, user: str) -> list[dict[str, Any]]:
    return r.fake.messages_in(r.fake.dm_channel_for(user))


def dm_with(r: Running, user: str, reference: str, kind_text: str) -> dict[str, Any]:
    """The newest bot DM to `user` about `reference` whose header contains `kind_text`."""

    def found() -> dict[str, Any] | None:
        for msg in reversed(dms(r, user)):
            first = (msg.get("blocks") or [{}])[0]
            text = (first.get("text") or {}).get("text", "")
            if first.get("type") == "header" and reference in text and kind_text in text:
                return msg
        return None

    return r.fake.wait_for(found)


def text_of(message: dict[str, Any]) -> str:
    return (message.get("text") or "") + "\n" + json.dumps(message.get("blocks") or [], ensure_ascii=False)


__all__ = ["CASES_CHANNEL"]
