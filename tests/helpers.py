"""Test helpers that act like a person in Slack: find the bot's messages, click, type."""

from __future__ import annotations

from typing import Any

from tests.conftest import Running

REPORTER = "U0REP00001"
AF = "U0AF000001"
BACKUP = "U0AF000002"
AF_OTHER = "U0AF000003"
KETENREGISSEUR = "U0KR000001"
COLLEAGUE = "U0COLL0001"
CASES_CHANNEL = "C0AFCASES1"

DEFAULT_ANSWERS: dict[str, Any] = {
    "municipality": "Breda",
    "form": "AU",
    "signals": ["conditions", "dependency"],
    "acute": "no",
    "minor": "no",
    "sector": "horeca",
    "source": "balie",
    "description": "Twee mannen slapen in de keuken van het restaurant en werken 7 dagen per week.",
    "location": "Restaurant aan de Haven",
    "feedback": "yes",
}


def block_ids(message: dict[str, Any]) -> list[str]:
    return [b.get("block_id", "") for b in message.get("blocks") or []]


def find_block(message: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    return next((b for b in message.get("blocks") or [] if b.get("block_id", "").startswith(prefix)), None)


def _roots(r: Running, user: str) -> list[dict[str, Any]]:
    """The signal roots in the user's DM (header 'Signaal S-…'), oldest first."""
    dm = r.fake.dm_channel_for(user)
    roots = [m for m in r.fake.messages_in(dm) if not m.get("thread_ts") or m.get("thread_ts") == m.get("ts")]
    return [m for m in roots if (m.get("blocks") or [{}])[0].get("type") == "header"]


def root_message(r: Running, user: str = REPORTER) -> dict[str, Any]:
    """The newest signal root in the user's DM (header 'Signaal S-…')."""

    def found() -> dict[str, Any] | None:
        roots = _roots(r, user)
        return roots[-1] if roots else None

    return r.fake.wait_for(found)


def thread_of(r: Running, message: dict[str, Any]) -> list[dict[str, Any]]:
    """The replies in a message's thread (the root itself first)."""
    return r.fake.thread(r.fake.locate(message["ts"])[0], message["ts"])


def thread_texts(r: Running, message: dict[str, Any]) -> str:
    """Everything readable in a thread: top-level texts and block texts, for assertions."""
    out = []
    for msg in thread_of(r, message):
        out.append(msg.get("text") or "")
        out.append(str(msg.get("blocks") or ""))
    return "\n".join(out)


def open_question(r: Running, user: str) -> tuple[str, dict[str, Any]] | None:
    """(key, message) of the question waiting for an answer in the user's newest signal thread."""
    root = root_message(r, user)
    channel = r.fake.locate(root["ts"])[0]
    for msg in reversed(r.fake.thread(channel, root["ts"])):
        for b in msg.get("blocks") or []:
            bid = b.get("block_id", "")
            if b.get("type") == "actions" and bid.startswith("q:"):
                return bid.split(":")[2], msg
    return None


def wait_question(r: Running, user: str, key: str) -> dict[str, Any]:
    """Wait until the open question `key` is in the user's signal thread; return that message."""

    def found() -> dict[str, Any] | None:
        current = open_question(r, user)
        return current[1] if current and current[0] == key else None

    return r.fake.wait_for(found)


def wait_summary(r: Running, user: str) -> dict[str, Any]:
    root = root_message(r, user)
    channel = r.fake.locate(root["ts"])[0]

    def found() -> dict[str, Any] | None:
        for msg in reversed(r.fake.thread(channel, root["ts"])):
            if find_block(msg, "sum:"):
                return msg
        return None

    return r.fake.wait_for(found)


def answer(r: Running, user: str, key: str, value: Any) -> None:
    msg = wait_question(r, user, key)
    block = next(b for b in msg["blocks"] if b.get("block_id", "").startswith("q:"))
    elements = block["elements"]
    if isinstance(value, list):
        for_ticks = next(e for e in elements if e["type"] == "checkboxes")
        r.driver.click(user, msg, for_ticks["action_id"], selected=value)
        msg = wait_question(r, user, key)
        resp = r.driver.click(user, msg, "triage:multi_done")
    elif any(e.get("action_id") == "triage:text" for e in elements):
        if value == "" and any(e.get("action_id") == "triage:skip" for e in elements):
            resp = r.driver.click(user, msg, "triage:skip")
        else:
            resp = r.driver.click(user, msg, "triage:text")
            assert resp.status == 200
            view = r.fake.wait_for(lambda: (r.fake.views_for(user) or [None])[-1])
            resp = r.driver.submit_view(user, view["id"], r.driver.fill(view, {"value": value}))
    elif any(e["type"] == "static_select" for e in elements):
        resp = r.driver.click(user, msg, "triage:select", selected=value)
    else:
        button = next(e for e in elements if e.get("value") == value)
        resp = r.driver.click(user, msg, button["action_id"])
    assert resp.status == 200, resp.body


def report(r: Running, user: str = REPORTER, answers: dict[str, Any] | None = None, text: str = "",
           send: bool = True) -> str:
    """Report a signal through /signaal and the triage; returns its reference."""
    answers = {**DEFAULT_ANSWERS, **(answers or {})}
    earlier = {m["ts"] for m in _roots(r, user)}
    resp = r.driver.slash(user, text=text)
    assert resp.status == 200
    if text:
        answers.pop("description", None)
    # Wait for this signal's own thread: until its root is posted, the newest root is the previous
    # signal's, whose last question may still show its buttons (the update that removes them goes
    # through the outbox), and it would be taken for this signal's first question.
    r.fake.wait_for(lambda: [m for m in _roots(r, user) if m["ts"] not in earlier])
    first = r.fake.wait_for(lambda: open_question(r, user))
    if first[0] != "municipality":
        answers.pop("municipality", None)
    for key in ["municipality", "form", "signals", "acute", "minor", "sector", "source", "description",
                "location", "feedback"]:
        if key in answers:
            answer(r, user, key, answers[key])
    summary = wait_summary(r, user)
    root = root_message(r, user)
    reference = root["blocks"][0]["text"]["text"].split()[-1]
    if send:
        resp = r.driver.click(user, summary, "triage:submit")
        assert resp.status == 200
        r.fake.wait_for(lambda: signal_status(r, reference) == "new")
    return reference


def signal_status(r: Running, reference: str) -> str | None:
    from sqlmodel import Session, select

    from models import Signal

    with Session(r.core.engine) as session:
        signal = session.exec(select(Signal).where(Signal.reference == reference)).first()
        return signal.status if signal else None


def case_card(r: Running, reference: str, channel: str = CASES_CHANNEL) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for msg in r.fake.messages_in(channel):
            is_root = not msg.get("thread_ts") or msg.get("thread_ts") == msg.get("ts")  # a thread's parent
            if is_root and msg.get("blocks") and reference in msg["blocks"][0].get("text", {}).get("text", ""):
                return msg
        return None

    return r.fake.wait_for(found)
