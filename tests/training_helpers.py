"""Helpers that act like network members and organisers around trainings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.jobs import run_due
from bot.core.training import calendar_for, reminder_config
from flows.reminder_rules import training_reminder_times
from tests.conftest import Running

NET1 = "U0NET00001"
NET2 = "U0NET00002"
AF = "U0AF000001"
BACKUP = "U0AF000002"
AF_OTHER = "U0AF000003"
KR = "U0KR000001"
COLLEAGUE = "U0COLL0001"
NETWORK = [AF, BACKUP, AF_OTHER, NET1, NET2]  # tests/data/network.yaml


def start_of_test() -> datetime:
    """Now, on the minute: the tests run relative to the wall clock (members join 'now')."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def at(r: Running, moment: datetime) -> list[str]:
    """Run the due sweeps as `signaalbot jobs run-due --at` does, and deliver the outbox."""
    r.core.clock.set(moment)
    return run_due(r.core, r.bot.worker, moment)


def office(r: Running, moment: datetime) -> datetime:
    """`moment`, or the next office moment after it (training reminders keep to office hours)."""
    return calendar_for(r.core.settings).next_office_moment(moment)


def reminder_moments(r: Running, starts: datetime, planned: datetime) -> list[datetime]:
    return training_reminder_times(starts, calendar_for(r.core.settings), reminder_config(r.core.settings),
                                   after=planned)


def dms(r: Running, user: str) -> list[dict[str, Any]]:
    return r.fake.messages_in(user)


def with_block(r: Running, user: str, prefix: str) -> list[dict[str, Any]]:
    return [msg for msg in dms(r, user)
            if any(str(b.get("block_id", "")).startswith(prefix) for b in msg.get("blocks") or [])]


def invitations(r: Running, user: str) -> list[dict[str, Any]]:
    """Announcements and reminders (they carry the Ik kom / Ik kan niet buttons)."""
    return with_block(r, user, "trinv:")


def texts(r: Running, user: str) -> list[str]:
    return [msg.get("text") or "" for msg in dms(r, user)]


def count_texts(r: Running, user: str, start: str) -> int:
    return sum(1 for t in texts(r, user) if t.startswith(start))


def everything(msg: dict[str, Any]) -> str:
    return (msg.get("text") or "") + str(msg.get("blocks") or "")


def plan_in_modal(r: Running, user: str, *, title: str = "FairWork-training voor baliemedewerkers",
                  starts: datetime, ends: datetime, location: str = "Stadskantoor Breda, zaal 3",
                  url: str | None = None, audience: str | None = "network", capacity: str | None = None,
                  text: str = "training") -> tuple[dict[str, str], dict[str, Any]]:
    """/signaal training, fill in the modal and submit; returns (errors, the view)."""
    view = open_modal(r, user, text)
    values: dict[str, dict[str, Any]] = {
        "title": {"value": title},
        "starts": {"value": int(starts.timestamp())},
        "ends": {"value": int(ends.timestamp())},
        "location": {"value": location},
        "url": {"value": url},
        "capacity": {"value": capacity},
    }
    if audience is not None:
        values["audience"] = {"value": audience}
    return submit(r, user, view, values), view


def wait_invitation(r: Running, user: str, n: int = 1) -> dict[str, Any]:
    return r.fake.wait_for(lambda: invitations(r, user)[n - 1] if len(invitations(r, user)) >= n else None)


def click(r: Running, user: str, msg: dict[str, Any], action: str) -> None:
    resp = r.driver.click(user, msg, action)
    assert resp.status == 200, resp.body


def settle(r: Running) -> None:
    """Deliver everything queued (the worker runs in the background too)."""
    r.bot.worker.drain()
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0 or None)


def in_days(base: datetime, days: int, hour: int = 14) -> datetime:
    """`days` after base at `hour`:00 Amsterdam time, as UTC."""
    from zoneinfo import ZoneInfo

    local = (base + timedelta(days=days)).astimezone(ZoneInfo("Europe/Amsterdam"))
    return local.replace(hour=hour, minute=0, second=0, microsecond=0).astimezone(UTC)


def submit(r: Running, user: str, view: dict[str, Any], values: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Submit a modal; returns the errors the bot answered (empty: accepted and closed, and then saved:
    forms are saved after the ack, so this waits for the confirmation)."""
    before = len(r.fake.ephemerals_for(user))
    resp = r.driver.submit_view(user, view["id"], values)
    assert resp.status == 200, resp.body
    body = resp.json() or {}
    errors = body.get("errors") or {} if body.get("response_action") == "errors" else {}
    if not errors:
        r.fake.wait_for(lambda: len(r.fake.ephemerals_for(user)) > before or None)
    return errors


def open_modal(r: Running, user: str, text: str) -> dict[str, Any]:
    before = len(r.fake.calls_to("views.open"))
    resp = r.driver.slash(user, text=text)
    assert resp.status == 200, resp.body
    r.fake.wait_for(lambda: len(r.fake.calls_to("views.open")) > before or None)
    return r.fake.views_for(user)[-1]


def answer(r: Running, user: str, action: str, msg: dict[str, Any] | None = None) -> None:
    """Click Ik kom / Ik kan niet and wait for the confirmation (clicks are handled after the ack)."""
    before = len(r.fake.ephemerals_for(user))
    click(r, user, msg or wait_invitation(r, user), action)
    r.fake.wait_for(lambda: len(r.fake.ephemerals_for(user)) > before or None)
