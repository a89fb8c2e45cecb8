"""Nothing is lost, nothing is done twice, nobody is fooled: signatures, retries, restarts, Slack
failures, escaping and Block Kit limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from sqlmodel import Session, col, select

from bot.core.clock import Clock
from models import OutboxMessage, Signal
from tests.conftest import DATA, SECRET, TOKEN, start_bot
from tests.helpers import (
    AF_OTHER,
    CASES_CHANNEL,
    COLLEAGUE,
    KETENREGISSEUR,
    REPORTER,
    answer,
    case_card,
    open_question,
    report,
    root_message,
    signal_status,
    wait_question,
)


def signals(r) -> list[Signal]:
    with Session(r.core.engine) as session:
        return list(session.exec(select(Signal)).all())


def test_unsigned_wrongly_signed_or_stale_requests_are_refused_without_effect(running) -> None:
    r = running
    for mode in ("none", "bad", "stale"):
        with r.driver.signing(mode):
            assert r.driver.slash(REPORTER).status == 401
            envelope = r.driver.envelope({"type": "app_home_opened", "user": REPORTER, "tab": "home"})
            assert r.driver.send_event(envelope).status == 401
    assert signals(r) == []
    assert r.fake.calls_to("chat.postMessage") == []


def test_an_event_delivered_again_by_slack_is_handled_once(running) -> None:
    r = running
    r.driver.slash(REPORTER)
    for key, value in [("municipality", "Breda"), ("form", "AU"), ("signals", []), ("acute", "no"),
                       ("minor", "no"), ("sector", "bouw"), ("source", "controle")]:
        answer(r, REPORTER, key, value)
    wait_question(r, REPORTER, "description")
    root = root_message(r)
    channel = r.fake.locate(root["ts"])[0]
    first = r.driver.message(REPORTER, channel, "Bouwvakkers wonen in een container op het terrein", root["ts"])
    wait_question(r, REPORTER, "location")
    # Slack retries the same event (same event_id): it must not answer the next question too.
    assert r.driver.send_event(first.payload, retry_num=1).status == 200
    assert r.driver.send_event(first.payload, retry_num=2).status == 200
    wait_question(r, REPORTER, "location")
    with Session(r.core.engine) as session:
        signal = session.exec(select(Signal)).one()
        assert signal.location is None and "location" not in signal.answers


def test_a_triage_survives_a_hard_restart(settings, fake) -> None:
    first = start_bot(settings, fake)
    first.driver.slash(REPORTER)
    for key, value in [("municipality", "Breda"), ("form", "SU"), ("signals", ["freedom"])]:
        answer(first, REPORTER, key, value)
    old_question = wait_question(first, REPORTER, "acute")
    stale = fake.locate(root_message(first)["ts"])
    first.stop()
    first.bot.core.engine.dispose()

    second = start_bot(settings, fake, network_file=None)
    try:
        assert open_question(second, REPORTER)[0] == "acute"
        answer(second, REPORTER, "acute", "no")
        wait_question(second, REPORTER, "minor")
        # The button of the question that moved on says so kindly and changes nothing.
        resp = second.driver.click(REPORTER, old_question, next(
            e["action_id"] for b in old_question["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e.get("value") == "yes"), stale=True)
        assert resp.status == 200
        fake.wait_for(lambda: any("al beantwoord" in (e.get("text") or "") for e in fake.ephemerals_for(REPORTER)))
        assert open_question(second, REPORTER)[0] == "minor"
        assert stale
    finally:
        second.stop()


def first_item_waits_after(r, attempts: int) -> bool:
    with Session(r.core.engine) as session:
        item = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).first()
        return item is not None and item.status == "pending" and item.attempts == attempts


def test_three_slack_failures_in_a_row_lose_nothing_and_nothing_is_sent_twice(settings, fake) -> None:
    clock = Clock()
    clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    r = start_bot(settings, fake, clock=clock)
    try:
        fake.fail_next("chat.postMessage", status=500, times=3)
        r.driver.slash(REPORTER)
        for failures in (1, 2, 3):
            fake.wait_for(lambda n=failures: len([c for c in fake.calls_to("chat.postMessage") if not c.ok]) == n)
            fake.wait_for(lambda n=failures: first_item_waits_after(r, n))
            assert not [c for c in fake.calls_to("chat.postMessage") if c.ok]
            clock.advance(timedelta(minutes=5))  # the worker retries with backoff as time moves on
            r.bot.worker.kick()
        fake.wait_for(lambda: open_question(r, REPORTER), timeout=10)
        def roots() -> list[dict]:
            return [m for m in fake.messages_in(fake.dm_channel_for(REPORTER))
                    if m.get("thread_ts") in (None, m["ts"])]

        assert len(roots()) == 1
        clock.advance(timedelta(hours=1))
        r.bot.worker.drain()
        assert len(roots()) == 1
        assert len([c for c in fake.calls_to("chat.postMessage") if c.ok]) == 2  # root + first question
    finally:
        r.stop()


def test_a_rate_limit_is_honoured_with_retry_after(settings, fake) -> None:
    clock = Clock()
    start = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    clock.set(start)
    r = start_bot(settings, fake, clock=clock)
    try:
        fake.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=30)
        r.driver.slash(REPORTER)
        fake.wait_for(lambda: fake.calls_to("chat.postMessage"))

        def retried_later() -> bool:
            with Session(r.core.engine) as session:
                item = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).first()
                return item is not None and item.status == "pending" and item.attempts == 1 and \
                    item.next_attempt_at >= start + timedelta(seconds=30)

        fake.wait_for(retried_later)
        clock.advance(timedelta(seconds=31))
        r.bot.worker.kick()
        fake.wait_for(lambda: open_question(r, REPORTER), timeout=10)
    finally:
        r.stop()


def test_user_text_pings_nobody_and_creates_no_link(running) -> None:
    r = running
    sneaky = "Kijk <!channel> en <@U0AF000002> en <http://evil.example|klik hier> & <!here>"
    reference = report(r, answers={"description": sneaky, "location": "<#C0AFCASES1>"})
    card = str(case_card(r, reference)["blocks"])
    for raw in ("<!channel>", "<@U0AF000002>", "<http://evil.example|klik hier>", "<!here>", "<#C0AFCASES1>"):
        assert raw not in card
    assert "&lt;!channel&gt;" in card and "&amp;" in card


def test_block_kit_limits_hold_for_the_longest_nastiest_input(running) -> None:
    r = running
    # 3000 ampersands escape to 15000 characters: the card must still be valid Block Kit.
    reference = report(r, answers={"description": "&" * 3000, "location": "<" * 500})
    card = case_card(r, reference)
    assert len(card["blocks"]) <= 50
    assert signal_status(r, reference) == "new"
    assert not [c for c in r.fake.calls if not c.ok and c.error == "invalid_blocks"]


def test_clicks_on_unknown_or_stale_buttons_get_a_friendly_answer(running) -> None:
    r = running
    client = WebClient(token=TOKEN, base_url=r.fake.base_url)
    posted = client.chat_postMessage(channel=REPORTER, text="oud bericht", blocks=[
        {"type": "actions", "block_id": "old:1", "elements": [
            {"type": "button", "action_id": "something:retired", "text": {"type": "plain_text", "text": "Oud"}}]}])
    resp = r.driver.click(REPORTER, posted.data["message"] | {"ts": posted["ts"]}, "something:retired")
    assert resp.status == 200
    r.fake.wait_for(lambda: any("werkt niet meer" in (e.get("text") or "") for e in r.fake.ephemerals_for(REPORTER)))


def test_only_the_af_of_the_municipality_may_use_the_case_buttons(running) -> None:
    r = running
    reference = report(r)
    card = case_card(r, reference)
    # Say the channel has more members than its AFs (a colleague invited by mistake, say).
    r.fake.workspace.resolve_channel(CASES_CHANNEL).members.extend([COLLEAGUE, AF_OTHER, KETENREGISSEUR, REPORTER])
    for outsider in (COLLEAGUE, AF_OTHER, KETENREGISSEUR, REPORTER):
        resp = r.driver.click(outsider, card, "case:claim")
        assert resp.status == 200
        r.fake.wait_for(lambda u=outsider: r.fake.ephemerals_for(u, CASES_CHANNEL))
    with Session(r.core.engine) as session:
        signal = session.exec(select(Signal).where(Signal.reference == reference)).one()
        assert signal.claimed_by is None and signal.status == "new"
    assert "ketenregisseur" in r.fake.ephemerals_for(KETENREGISSEUR, CASES_CHANNEL)[-1]["text"]


def test_the_signing_secret_is_the_one_configured() -> None:
    assert SECRET and TOKEN.startswith("xoxb-")


def test_housekeeping_forgets_old_handled_deliveries_but_not_recent_ones(running) -> None:
    from bot.core.jobs import run_due
    from models import InboxItem

    r = running
    now = datetime.now(UTC)
    with Session(r.core.engine) as session:
        for key, done in (("event:Ev_old#1", now - timedelta(days=3)), ("event:Ev_new#1", now - timedelta(hours=1)),
                          ("event:Ev_open#1", None)):
            session.add(InboxItem(dedupe_key=key, work="w", received_at=now - timedelta(days=3), done_at=done))
        session.commit()
    lines = run_due(r.core, r.bot.worker, now)
    assert "housekeeping: forgot 1 handled inbox item(s)" in lines
    with Session(r.core.engine) as session:
        assert sorted(e.dedupe_key for e in session.exec(select(InboxItem)).all()) == ["event:Ev_new#1",
                                                                                       "event:Ev_open#1"]


def test_when_the_municipality_channel_cannot_be_reached_the_af_gets_the_card_by_dm(settings, fake,
                                                                                   tmp_path) -> None:
    net = tmp_path / "net.yaml"
    net.write_text((DATA / "network.yaml").read_text().replace("C0AFCASES1", "C0GONE0001"))
    r = start_bot(settings, fake, network_file=net)
    try:
        reference = report(r)
        card = case_card(r, reference, channel=fake.dm_channel_for("U0AF000001"))
        assert card["text"].startswith("<@U0AF000001>")
        assert any(c.error == "channel_not_found" for c in fake.calls_to("chat.postMessage"))
    finally:
        r.stop()
