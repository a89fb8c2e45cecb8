"""An outbox that recovers by itself (issue 13, point 2): Slack refusing the token pauses the outbox as
a whole and it resumes without a restart; what depends on a failed message fails with its reason
instead of waiting for ever; any exception is recorded and retried, then parked; Retry-After is
capped; `signaalbot outbox retry` requeues; /healthz says degraded; a tombstone stays a tombstone."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, col, select

from bot.cli import main
from bot.core import outbox
from bot.core.outbox import (
    MAX_RETRY_AFTER,
    Delivered,
    NotReady,
    OutboxWorker,
    PermanentError,
    TransientError,
    Unauthorized,
)
from models import MessageRef, OutboxMessage
from models.crypto import configure
from models.db import session_scope, upgrade
from tests.conftest import start_bot
from tests.helpers import REPORTER, open_question

NOW = datetime.now(UTC).replace(microsecond=0)


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


class Platform:
    """A Deliverer whose answers a test sets: `refuse` (Unauthorized), `fail` (an exception per op)."""

    def __init__(self) -> None:
        self.refuse: str | None = None
        self.fail: dict[str, Exception] = {}
        self.sent: list[str] = []
        self.probes = 0

    def __call__(self, _session: Session, op: str, msg: MessageRef) -> Delivered:
        if self.refuse:
            raise Unauthorized(self.refuse)
        if msg.kind in self.fail:
            raise self.fail[msg.kind]
        self.sent.append(f"{op} {msg.kind}")
        return Delivered("D1", f"1.{len(self.sent)}")

    def probe(self) -> None:
        self.probes += 1
        if self.refuse:
            raise Unauthorized(self.refuse)


@pytest.fixture
def engine(engine_for):  # noqa: ANN001, ANN201
    configure(Fernet.generate_key().decode())
    upgrade(engine_for)
    return engine_for


def items(engine) -> list[OutboxMessage]:  # noqa: ANN001
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def test_a_refused_token_pauses_everything_probes_once_a_minute_and_resumes_in_order(engine) -> None:
    clock, platform = Clock(), Platform()
    with session_scope(engine) as session:
        root = outbox.post(session, template="t", kind="root", recipient="U1", now=NOW)
        for n in range(3):
            outbox.post(session, template="t", kind=f"reply-{n}", parent=root, now=NOW)
        outbox.post(session, template="t", kind="other", recipient="U2", now=NOW)
    worker = OutboxWorker(engine, platform, clock, max_attempts=2)
    platform.refuse = "invalid_auth"
    for _ in range(10):  # however often it runs: not a failure per message, no attempt counted
        clock.at += timedelta(seconds=5)
        assert [outcome for outcome, _, _ in worker.drain()] in ([], ["paused"])
    assert worker.paused == "invalid_auth"
    assert all(item.status == "pending" and item.attempts == 0 for item in items(engine))
    with Session(engine) as session:
        assert outbox.health(session, clock()).paused == "invalid_auth"
    assert platform.probes == 0  # 45 s after the pause began: not yet
    clock.at += timedelta(seconds=16)
    worker.drain()
    assert platform.probes == 1
    clock.at += timedelta(seconds=30)
    worker.drain()
    assert platform.probes == 1  # at most once a minute
    platform.refuse = None  # Slack accepts the token again
    clock.at += timedelta(seconds=31)
    worker.drain()
    assert platform.probes == 2 and worker.paused is None
    assert sorted(platform.sent) == sorted(["post root", "post reply-0", "post reply-1", "post reply-2", "post other"])
    assert [s for s in platform.sent if s.startswith("post r")] == ["post root", "post reply-0", "post reply-1",
                                                                    "post reply-2"]  # in order per thread
    assert {item.status for item in items(engine)} == {"sent"}
    with Session(engine) as session:
        assert outbox.health(session, clock()).degraded() is None


def test_a_reply_whose_root_failed_fails_with_its_reason_and_goes_when_the_root_is_retried(engine) -> None:
    clock, platform = Clock(), Platform()
    with session_scope(engine) as session:
        root = outbox.post(session, template="t", kind="root", conversation="C1", now=NOW)
        outbox.post(session, template="t", kind="reply", parent=root, now=NOW)
        outbox.update(session, root, now=NOW)
    platform.fail["root"] = PermanentError("channel_not_found")
    worker = OutboxWorker(engine, platform, clock, max_attempts=1)
    worker.drain()
    clock.at += timedelta(seconds=5)
    worker.drain()
    got = {(item.op, item.status, item.last_error) for item in items(engine)}
    assert got == {("post", "failed", "channel_not_found"),
                   ("post", "failed", "thread root failed: channel_not_found"),
                   ("update", "failed", "thread root failed: channel_not_found")}
    assert not [item for item in items(engine) if item.status == "pending"]
    root_item = items(engine)[0].id
    del platform.fail["root"]
    with session_scope(engine) as session:
        assert outbox.requeue(session, clock(), ids=[root_item]) == 3
    worker.drain()
    assert platform.sent == ["post root", "post reply", "update root"]
    assert {item.status for item in items(engine)} == {"sent"}


def test_any_exception_is_recorded_without_its_text_retried_with_backoff_then_parked(engine) -> None:
    clock, platform = Clock(), Platform()
    with session_scope(engine) as session:
        outbox.post(session, template="t", kind="broken", recipient="U1", now=NOW)
    platform.fail["broken"] = ValueError("case content that must not be logged")
    worker = OutboxWorker(engine, platform, clock, max_attempts=3)
    assert [outcome for outcome, _, _ in worker.drain()] == ["retry"]
    [item] = items(engine)
    assert item.status == "pending" and item.attempts == 1 and item.locked_until is None
    assert item.last_error is not None and item.last_error.startswith("ValueError at ")
    assert "case content" not in item.last_error
    assert item.next_attempt_at > clock()
    for _ in range(2):
        clock.at += timedelta(minutes=15)
        worker.drain()
    [item] = items(engine)
    assert item.status == "failed" and item.attempts == 3
    with Session(engine) as session:
        assert outbox.health(session, clock()).failed == 1


def test_retry_after_is_honoured_and_capped(engine) -> None:
    clock, platform = Clock(), Platform()
    with session_scope(engine) as session:
        outbox.post(session, template="t", kind="slow", recipient="U1", now=NOW)
        outbox.post(session, template="t", kind="slower", recipient="U2", now=NOW)
    platform.fail["slow"] = TransientError("ratelimited", retry_after=40)
    platform.fail["slower"] = TransientError("ratelimited", retry_after=86400)
    OutboxWorker(engine, platform, clock).drain()
    slow, slower = items(engine)
    assert slow.next_attempt_at == NOW + timedelta(seconds=40)
    assert slower.next_attempt_at == NOW + MAX_RETRY_AFTER == NOW + timedelta(minutes=15)


def test_once_tombstoned_no_update_puts_content_back(engine) -> None:
    clock, platform = Clock(), Platform()
    with session_scope(engine) as session:
        msg = outbox.post(session, template="t", kind="case", recipient="U1", now=NOW)
    worker = OutboxWorker(engine, platform, clock)
    worker.drain()
    with session_scope(engine) as session:
        msg = session.get(MessageRef, msg.id)
        outbox.update(session, msg, now=NOW)
    # Another process leased that update and is still sending it when the redact is queued …
    with session_scope(engine) as session:
        update_id = items(engine)[-1].id
        assert OutboxWorker._lease(session, update_id, "update", msg.id, clock())
    with session_scope(engine) as session:
        outbox.redact(session, session.get(MessageRef, msg.id), now=NOW)
        outbox.update(session, session.get(MessageRef, msg.id), now=NOW)  # … and a later update comes in
    worker.drain()
    assert platform.sent == ["post case"]  # the redact waits for that lease; the later update never goes
    clock.at += timedelta(minutes=2)  # the other process died: its lease expires
    worker.drain()
    assert platform.sent == ["post case", "redact case"]
    assert {(item.op, item.status, item.last_error) for item in items(engine)} == {
        ("post", "sent", None), ("redact", "sent", None), ("update", "sent", outbox.SUPERSEDED)}


def test_invalid_auth_for_a_while_then_everything_is_delivered_without_a_restart(settings, fake, caplog) -> None:
    caplog.set_level(logging.WARNING)
    r = start_bot(settings.with_(outbox_probe_seconds=0.5), fake)
    try:
        probes_before = len(fake.calls_to("auth.test"))  # Bolt's own, at start
        fake.valid_tokens.discard("xoxb-test")  # a rotated token, a re-install
        r.driver.slash(REPORTER)
        fake.wait_for(lambda: [c for c in fake.calls_to("chat.postMessage") if c.error == "invalid_auth"])
        # The outbox's probe: the pause began at least one interval ago.
        fake.wait_for(lambda: len(fake.calls_to("auth.test")) > probes_before)
        started = time.monotonic()
        refused_first = len([c for c in fake.calls_to("chat.postMessage") if not c.ok])
        time.sleep(1.2)
        url = f"{r.server.url}/healthz"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url)  # noqa: S310 - a local test server
        assert err.value.code == 503
        body = json.loads(err.value.read())
        assert body["ok"] is False and "invalid_auth" in body["reason"]
        refused = [c for c in fake.calls_to("chat.postMessage") if not c.ok]
        # One pause, not a failure per message: at most one refusal per delivery loop, none while paused.
        assert len(refused) == refused_first <= r.bot.worker.threads, [c.error for c in refused]
        probes = len(fake.calls_to("auth.test")) - probes_before
        assert 1 <= probes <= (time.monotonic() - started) / 0.5 + 2, "probed too often"
        assert not [i for i in items(r.core.engine) if i.status == "failed"]
        fake.valid_tokens.add("xoxb-test")  # Slack answers again
        fake.wait_for(lambda: open_question(r, REPORTER), timeout=10)
        with urllib.request.urlopen(url) as resp:  # noqa: S310
            assert resp.status == 200
        pauses = [m for m in caplog.messages if "outbox: paused" in m]
        assert len(pauses) == 1 and len([m for m in caplog.messages if "outbox: resumed" in m]) == 1
    finally:
        r.stop()


def test_healthz_is_degraded_by_failed_or_old_items_and_says_so_once(running, caplog) -> None:
    caplog.set_level(logging.WARNING)
    url = f"{running.server.url}/healthz"
    with urllib.request.urlopen(url) as resp:  # noqa: S310
        assert resp.status == 200
    running.bot.worker.stop()
    now = running.core.clock.now()
    with session_scope(running.core.engine) as session:
        outbox.post(session, template="t", kind="old", recipient="U1", now=now - timedelta(minutes=11))
    for _ in range(3):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url)  # noqa: S310
        assert err.value.code == 503
        assert "11 minutes old" in json.loads(err.value.read())["reason"]
    with session_scope(running.core.engine) as session:
        item = session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).one()
        item.status, item.last_error = "failed", "channel_not_found"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url)  # noqa: S310
    assert "1 message(s) failed" in json.loads(err.value.read())["reason"]
    with session_scope(running.core.engine) as session:
        session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).one().status = "sent"
    with urllib.request.urlopen(url) as resp:  # noqa: S310
        assert resp.status == 200
    assert len([m for m in caplog.messages if m.startswith("degraded:")]) == 1
    assert len([m for m in caplog.messages if m.startswith("no longer degraded")]) == 1


def test_outbox_command_shows_failed_and_stuck_items_and_retry_requeues(monkeypatch, tmp_path: Path,
                                                                        database_url: str, capsys) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SIGNAAL_DATA_KEY", Fernet.generate_key().decode())
    monkeypatch.chdir(tmp_path)
    from bot.config import load_settings
    from bot.runtime import open_database

    engine = open_database(load_settings())
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        failed = outbox.post(session, template="t", kind="a", recipient="U1", now=now - timedelta(hours=2))
        outbox.post(session, template="t", kind="b", recipient="U2", now=now - timedelta(minutes=30))
        outbox.post(session, template="t", kind="c", recipient="U3", now=now)
        item = session.exec(select(OutboxMessage).where(OutboxMessage.message_ref_id == failed.id)).one()
        item.status, item.last_error, item.attempts = "failed", "invalid_blocks", 5
    engine.dispose()
    assert main(["outbox"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Degraded: ")
    assert " failed post t age=2h00m attempts=5 " in out and "reason=invalid_blocks" in out
    assert " stuck post t age=30m " in out
    assert " pending post t age=0m " in out
    assert main(["outbox", "retry"]) == 2
    assert main(["outbox", "retry", "--failed"]) == 0
    assert "Requeued 1 message(s)" in capsys.readouterr().out
    assert main(["outbox"]) == 0
    out = capsys.readouterr().out
    assert " failed " not in out and "attempts=0" in out
    assert main(["outbox", "retry", "--id", "2"]) == 0
    assert "Requeued 1 message(s)" in capsys.readouterr().out


def test_an_attempt_whose_process_died_is_taken_over_after_its_lease_and_parked_after_n(engine) -> None:
    clock, platform = Clock(), Platform()
    with session_scope(engine) as session:
        msg = outbox.post(session, template="t", kind="crashy", recipient="U1", now=NOW)
    for _ in range(3):  # a process leases it and dies while sending, three times
        with session_scope(engine) as session:
            assert OutboxWorker._lease(session, items(engine)[0].id, "post", msg.id, clock())
        clock.at += outbox.LEASE + timedelta(seconds=1)
    worker = OutboxWorker(engine, platform, clock, max_attempts=3)
    assert [outcome for outcome, _, _ in worker.drain()] == ["failed"]
    [item] = items(engine)
    assert (item.status, item.last_error, item.locked_until) == ("failed", outbox.LEASE_EXPIRED, None)
    assert platform.sent == []


def test_an_update_that_cannot_be_decrypted_is_recorded_retried_and_parked_not_left_sending(settings, fake) -> None:
    """Restarted with another (valid) key: rendering the case card fails to decrypt. The update is
    retried with backoff and then parked as failed, with the reason; it never stays `sending`."""
    from bot.runtime import health
    from models import crypto
    from tests.helpers import case_card, report

    r = start_bot(settings.with_(outbox_max_attempts=2), fake)
    try:
        reference = report(r, answers={"description": "een zin die niemand mag zien"})
        case_card(r, reference)
        r.bot.worker.stop()
        crypto.configure(Fernet.generate_key().decode())  # the wrong key
        with session_scope(r.core.engine) as session:
            card = session.exec(select(MessageRef).where(MessageRef.template == "case_card")).one()
            outbox.update(session, card, now=r.core.clock.now())
        worker = r.bot.worker
        for _ in range(2):
            worker.drain()
            r.core.clock.advance(timedelta(minutes=15))
        broken = [i for i in items(r.core.engine) if i.op == "update" and i.status != "sent"]
        assert broken
        for item in broken:
            assert item.status == "failed" and item.attempts == 2 and item.locked_until is None
            assert item.last_error is not None and item.last_error.startswith("KeyError_ at ")
        assert "failed" in (health(r.bot).get("reason") or "")
    finally:
        r.stop()


@pytest.mark.parametrize("reached_slack", [True, False])
def test_a_post_whose_process_died_after_slack_took_it_is_not_sent_twice(running, reached_slack) -> None:
    """The process that posted died between Slack's answer and the commit (kill -9): the next attempt,
    after the lease, finds the message in its conversation by its marker (message metadata holding the
    MessageRef's opaque id) and records it instead of posting it again. Had it not reached Slack, it
    is posted, once."""
    r = running
    r.bot.worker.stop()
    deliver, clock = r.bot.worker.deliver, r.bot.core.clock
    with session_scope(r.core.engine) as session:
        msg = outbox.post(session, template="notice", kind="notice", recipient=REPORTER, now=clock.now(),
                          ref={"notice": "prefill_too_long", "length": 5200})
    before = len(r.fake.messages_in(r.fake.dm_channel_for(REPORTER)))
    with session_scope(r.core.engine) as session:  # the dying attempt: leased, and (maybe) sent
        [item] = [i for i in session.exec(select(OutboxMessage).where(OutboxMessage.message_ref_id == msg.id))]
        assert OutboxWorker._lease(session, item.id, "post", msg.id, r.bot.worker.now())
    with session_scope(r.core.engine) as session:
        if reached_slack:
            deliver(session, "post", session.get(MessageRef, msg.id))
        session.rollback()  # …and the process died before recording it
    with session_scope(r.core.engine) as session:  # its lease runs out
        session.get(OutboxMessage, item.id).locked_until = r.bot.worker.now() - timedelta(seconds=1)
    if reached_slack:
        assert len(r.fake.messages_in(r.fake.dm_channel_for(REPORTER))) == before + 1
    outcomes = r.bot.worker.drain()
    assert [(o, m.id) for o, m, _ in outcomes if m.id == msg.id] == [("sent", msg.id)]
    posted = [m for m in r.fake.messages_in(r.fake.dm_channel_for(REPORTER))
              if (m.get("metadata") or {}).get("event_payload") == {"ref": msg.id}]
    assert len(posted) == 1
    with Session(r.core.engine) as session:
        stored = session.get(MessageRef, msg.id)
        assert stored is not None and stored.message_id == posted[0]["ts"]


def test_a_reply_that_read_its_root_before_another_process_sent_it_waits_not_fails(engine) -> None:
    """Two processes: this attempt read the root without its message id; meanwhile another process
    sent the root. The reply tries again (it sees the id then) — it must not fail as 'root failed'."""
    with session_scope(engine) as session:
        root = outbox.post(session, template="t", kind="root", recipient="U1", now=NOW)
        outbox.post(session, template="t", kind="reply", parent=root, now=NOW)
    with session_scope(engine) as session:
        [item] = [i for i in items(engine) if i.message_ref_id == root.id]
        session.get(OutboxMessage, item.id).status = "sent"  # …by the other process, id not seen here
    with Session(engine) as session, pytest.raises(NotReady):
        OutboxWorker._wait_for(session, root.id)


def test_one_platform_refusing_our_credentials_pauses_only_its_own_messages(engine) -> None:
    """Slack and Teams in one deployment: Teams refusing a rotated secret holds up no Slack message;
    Teams' messages wait (uncounted) and go, in order, once it accepts the credentials again."""
    clock, slack, teams = Clock(), Platform(), Platform()
    with session_scope(engine) as session:
        for n in range(2):
            outbox.post(session, template="t", kind=f"teams-{n}", recipient="U9", platform="teams", now=NOW)
            outbox.post(session, template="t", kind=f"slack-{n}", recipient="U1", platform="slack", now=NOW)
    worker = OutboxWorker(engine, outbox.ByPlatform({"slack": slack, "teams": teams}), clock)
    teams.refuse = "token: invalid_client"
    worker.drain()
    assert slack.sent == ["post slack-0", "post slack-1"] and teams.sent == []
    assert worker.paused == "teams: token: invalid_client"
    with Session(engine) as session:
        assert outbox.health(session, clock()).paused == "teams: token: invalid_client"
    with session_scope(engine) as session:  # Slack work goes on while Teams is paused
        outbox.post(session, template="t", kind="slack-2", recipient="U1", platform="slack", now=clock())
    clock.at += timedelta(seconds=5)
    worker.drain()
    assert slack.sent[-1] == "post slack-2" and teams.sent == [] and slack.probes == 0 and teams.probes == 0
    teams.refuse = None
    clock.at += timedelta(seconds=61)
    worker.drain()
    assert teams.probes == 1 and slack.probes == 0 and worker.paused is None
    assert teams.sent == ["post teams-0", "post teams-1"]
    assert {item.status for item in items(engine)} == {"sent"}
    assert all(item.attempts == 1 for item in items(engine) if item.status == "sent")
