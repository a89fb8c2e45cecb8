"""Teams, first slice (issue 17): POST /api/messages refuses every activity without a valid token and
stores the accepted ones durably, once; a report in the 1:1 chat reaches the AF's channel as a card
with an @-mention and a content-free notification; a throttled post is sent again after Retry-After."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func
from sqlmodel import Session, select

from bot.config import ConfigError, load_settings
from models import InboxItem, OutboxMessage, Signal
from models.teams import TeamsConversation
from tests.teams_support import (
    AF_AAD,
    ANSWERS,
    CHANNEL,
    REPORTER_AAD,
    REPORTER_CHAT,
    TeamsRun,
    button,
    card_of,
    closed_with,
    dialog_of,
    inputs_of,
    texts,
    wait_for,
)
from tests.teams_support import fake_teams as fake_teams  # noqa: F401 - fixtures
from tests.teams_support import teams_run as teams_run  # noqa: F401


def inbox_rows(run: TeamsRun) -> int:
    with Session(run.bot.core.engine) as session:
        return session.exec(select(func.count()).select_from(InboxItem)).one()


def outbox_rows(run: TeamsRun) -> int:
    with Session(run.bot.core.engine) as session:
        return session.exec(select(func.count()).select_from(OutboxMessage)).one()


def test_an_activity_without_a_valid_token_is_refused_and_has_no_effect(teams_run: TeamsRun) -> None:
    teams = teams_run.teams
    now = int(time.time())
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = {
        "missing": None,
        "garbage": "not-a-jwt",
        "expired": teams.token(iat=now - 7200, nbf=now - 7200, exp=now - 3600),
        "wrong audience": teams.token(aud="someone-elses-app-id"),
        "wrong issuer": teams.token(iss="https://evil.example"),
        "signed with another key": teams.token(key=forged_key),
        "for another serviceUrl": teams.token(serviceurl="https://elsewhere.example/"),
        "without a serviceUrl": teams.token(serviceurl=None),
    }
    for why, token in bad.items():
        resp = teams_run.send(teams_run.activity("message", text="signaal"), token=token)
        assert resp.status_code == 401, why
    resp = teams_run.send(teams_run.activity("message", text="signaal"), token="Basic " + teams.token())
    assert resp.status_code == 401, "a scheme other than Bearer"
    # A valid token, but from another organisation's Teams: this bot is single-tenant.
    other = teams_run.activity("message", text="signaal")
    other["conversation"]["tenantId"] = other["channelData"]["tenant"]["id"] = "another-tenant"
    assert teams_run.send(other).status_code == 403
    time.sleep(0.5)  # what an accepted activity would have started has had time to show
    assert inbox_rows(teams_run) == 0 and outbox_rows(teams_run) == 0
    assert teams.received == []
    with Session(teams_run.bot.core.engine) as session:
        assert session.exec(select(TeamsConversation)).all() == []

    # The same activity with a valid token is taken: the refusals above were the token's doing.
    assert teams_run.send(teams_run.activity("message", text="signaal")).status_code == 200
    wait_for(lambda: teams.posted(REPORTER_CHAT))
    assert inbox_rows(teams_run) == 1


def test_a_repeated_activity_takes_effect_once(teams_run: TeamsRun) -> None:
    activity = teams_run.activity("message", text="signaal")
    assert teams_run.send(activity).status_code == 200
    assert teams_run.send(activity).status_code == 200  # Teams delivers it again
    wait_for(lambda: teams_run.teams.posted(REPORTER_CHAT))
    wait_for(lambda: all(row.done_at for row in _inbox(teams_run)))
    time.sleep(0.5)
    assert len(teams_run.teams.posted(REPORTER_CHAT)) == 1
    assert len(_inbox(teams_run)) == 1


def _inbox(run: TeamsRun) -> list[InboxItem]:
    with Session(run.bot.core.engine) as session:
        return list(session.exec(select(InboxItem)).all())


def report_in_teams(run: TeamsRun, answers: dict[str, Any]) -> str:
    """From "signaal" in the 1:1 chat to the receipt, every question answered in the dialog."""
    return run.report(answers)


def test_a_report_in_teams_reaches_the_af_in_their_channel(teams_run: TeamsRun) -> None:
    teams = teams_run.teams
    teams_run.add_to_team()
    reference = report_in_teams(teams_run, ANSWERS)

    case = wait_for(lambda: teams.cards(CHANNEL))[0]
    card = card_of(case)
    shown = texts(card)
    assert reference in shown and ANSWERS["description"] in shown and ANSWERS["location"] in shown
    mention = card["msteams"]["entities"][0]
    assert mention["type"] == "mention" and mention["mentioned"]["id"] == AF_AAD and mention["text"] in shown
    # The notification (summary) and any top-level text say that there is a signal, nothing of it.
    preview = case.get("summary", "") + case.get("text", "")
    assert reference in preview
    for content in (ANSWERS["description"], ANSWERS["location"], "Restaurant", "horeca"):
        assert content not in preview
    # The user text is a TextRun (shown as written), never markdown.
    runs = [block for block in card["body"] if block.get("type") == "RichTextBlock"]
    assert any(inline["text"] == ANSWERS["description"] for block in runs for inline in block["inlines"])

    # The reporter's 1:1 chat got the receipt; the signal's first card was updated in place: its Verder gaan
    # (back into the dialog) is gone. No question or summary was posted in the chat: the dialog asked them.
    with Session(teams_run.bot.core.engine) as session:
        signal = session.exec(select(Signal).where(Signal.reference == reference)).one()
        assert signal.status == "new" and signal.reporter_id == f"teams:{REPORTER_AAD}"
    wait_for(lambda: not any(button(card_of(act), "resume") for act in teams.cards(REPORTER_CHAT)))
    puts = wait_for(lambda: [r for r in teams.received if r.method == "PUT" and r.conversation == REPORTER_CHAT])
    assert all(r.status == 200 for r in puts)
    assert not any(button(card_of(act), verb) for act in teams.cards(REPORTER_CHAT) for verb in ("answer", "submit"))


def test_without_the_channels_address_the_card_goes_to_the_af_directly(teams_run: TeamsRun) -> None:
    """The app was never added to the municipality's team: the channel is unreachable, and the case
    card falls back to the AF's own 1:1 chat, opened through the connector."""
    teams = teams_run.teams
    report_in_teams(teams_run, ANSWERS)
    wait_for(lambda: [r for r in teams.received if r.conversation == CHANNEL and r.status == 403])
    created = wait_for(lambda: [r for r in teams.received if r.path == "/v3/conversations" and r.status == 201])
    assert created[0].body["members"] == [{"id": AF_AAD}] and created[0].body["tenantId"] == teams.tenant
    chat = next(iter(teams.conversations))
    card = card_of(wait_for(lambda: teams.cards(chat))[0])
    assert ANSWERS["description"] in texts(card)


def test_a_throttled_post_is_sent_again_after_retry_after(teams_run: TeamsRun) -> None:
    teams = teams_run.teams
    teams.fail(429, times=1, retry_after=1)
    teams.fail(503, times=1)
    assert teams_run.send(teams_run.activity("message", text="signaal")).status_code == 200
    wait_for(lambda: teams.posted(REPORTER_CHAT), timeout=20)
    tried = [r.status for r in teams.received if r.conversation == REPORTER_CHAT]
    assert tried == [429, 503, 201]

    def sent() -> OutboxMessage | None:
        with Session(teams_run.bot.core.engine) as session:
            item = session.exec(select(OutboxMessage)).one()
        return item if item.status == "sent" else None
    assert wait_for(sent).attempts == 3


@pytest.mark.parametrize("env, missing", [
    ({"TEAMS_APP_ID": "x"}, ["TEAMS_APP_PASSWORD", "TEAMS_TENANT_ID"]),
    ({"TEAMS_APP_ID": "x", "TEAMS_APP_PASSWORD": "p"}, ["TEAMS_TENANT_ID"]),
    ({"TEAMS_APP_PASSWORD": "p", "TEAMS_TENANT_ID": "t"}, ["TEAMS_APP_ID"]),
])
def test_half_a_teams_configuration_is_a_clear_error(env: dict[str, str], missing: list[str]) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env, dotenv=False)
    problem = " ".join(raised.value.problems)
    assert all(name in problem for name in missing)


def test_teams_is_enabled_by_its_app_id_and_its_sdk_is_loaded_only_then() -> None:
    import subprocess
    import sys

    probe = ("import sys; from bot.config import Settings; from bot.runtime import build_bot; "
             "import bot.serve; print(any(m.startswith('microsoft_teams') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "False"
    settings = load_settings({"TEAMS_APP_ID": "a", "TEAMS_APP_PASSWORD": "p", "TEAMS_TENANT_ID": "t"}, dotenv=False)
    assert settings.teams_enabled and not load_settings({}, dotenv=False).teams_enabled


def test_what_the_core_refuses_is_shown_on_the_same_step_and_an_answer_can_be_changed(teams_run: TeamsRun) -> None:
    teams = teams_run.teams
    teams_run.add_to_team()
    assert teams_run.send(teams_run.activity("message", text="hallo")).status_code == 200
    _, _, start = teams_run.card_with(REPORTER_CHAT, "start")
    card = dialog_of(teams_run.fetch(start["data"]))
    refused = set()
    for _ in range(30):
        if button(card, "submit") is not None:
            break
        step = button(card, "answer")
        assert step is not None
        key = step["data"]["q"]
        if key == "description" and "long" not in refused:
            # Too long: the same step again, saying why and how long, with the text to shorten.
            card = dialog_of(teams_run.submit(step, answer="x" * 3001))
            assert "3001" in texts(card) and "3000" in texts(card)
            assert button(card, "answer")["data"] == step["data"]  # the same asking, still open
            assert inputs_of(card)["answer"]["value"] == "x" * 3001
            refused.add("long")
            continue
        if key == "description" and "empty" not in refused:
            card = dialog_of(teams_run.submit(step, answer="   "))
            assert "verplicht" in texts(card) and button(card, "answer")["data"] == step["data"]
            refused.add("empty")
            continue
        value = ANSWERS[key]
        card = dialog_of(teams_run.submit(step, answer=",".join(value) if isinstance(value, list) else value))
    assert refused == {"long", "empty"}
    assert ANSWERS["location"] in texts(card)
    # Aanpassen: the location again, then a new summary with the new answer.
    asked = dialog_of(teams_run.submit(button(card, "edit"), edit="location"))
    step = button(asked, "answer")
    assert step["data"]["q"] == "location"
    summary = dialog_of(teams_run.submit(step, answer="Bij het station"))
    assert "Bij het station" in texts(summary) and ANSWERS["location"] not in texts(summary)
    assert "verstuurd" in closed_with(teams_run.submit(button(summary, "submit")))
    case = card_of(wait_for(lambda: teams.cards(CHANNEL))[0])
    assert "Bij het station" in texts(case) and "x" * 3001 not in texts(case)
    # No question went to the chat: the dialog asked them all.
    assert not any(button(card_of(a), "answer") or button(card_of(a), "submit") for a in teams.cards(REPORTER_CHAT))


def test_a_forgotten_person_takes_the_address_of_their_teams_chat_along(database_url: str) -> None:
    from datetime import UTC, datetime

    from bot.core import people, platforms
    from bot.core.testing import open_core
    from bot.teams import store
    from models.db import session_scope

    core = open_core(database_url)
    try:
        with session_scope(core.engine) as session:
            key = people.resolve(session, platforms.TEAMS, "tenant-1", REPORTER_AAD)
            store.remember(session, REPORTER_CHAT, "https://smba.example/emea/", "tenant-1", "personal", key,
                           "29:1reporter-teams-id-0001", datetime(2026, 12, 1, tzinfo=UTC))
        with session_scope(core.engine) as session:
            assert store.personal_chat(session, key) is not None
            assert people.forget_people(session, [key]) == 1
        with Session(core.engine) as session:
            assert session.exec(select(TeamsConversation)).all() == []
    finally:
        core.engine.dispose()


def test_a_redacted_teams_message_becomes_the_tombstone_in_place(teams_run: TeamsRun) -> None:
    """What the purge does to each of the bot's messages (outbox.redact): the card is replaced, in
    its conversation, by the tombstone; no text of the case stays."""
    from bot.core import outbox
    from models import MessageRef
    from models.db import session_scope

    teams = teams_run.teams
    teams_run.add_to_team()
    reference = report_in_teams(teams_run, ANSWERS)
    case = wait_for(lambda: teams.cards(CHANNEL))

    def posted_card() -> MessageRef | None:  # its post recorded (the activity id Teams gave it)
        with Session(teams_run.bot.core.engine) as session:
            return session.exec(select(MessageRef).where(MessageRef.kind == "case_card",
                                                         MessageRef.message_id.is_not(None))).first()
    card_id = wait_for(posted_card).id
    with session_scope(teams_run.bot.core.engine) as session:
        outbox.redact(session, session.get(MessageRef, card_id))
    teams_run.bot.core.kick()
    tombstone = wait_for(lambda: [a for a in teams.cards(CHANNEL) if ANSWERS["description"] not in texts(card_of(a))])
    assert len(teams.cards(CHANNEL)) == len(case) == 1
    shown = texts(card_of(tombstone[0])) + tombstone[0]["summary"]
    assert reference not in shown and ANSWERS["location"] not in shown
    assert [r.method for r in teams.received if r.conversation == CHANNEL][-1] == "PUT"


def test_installing_the_app_offers_signaal_melden_and_unknown_invokes_are_not_stored(teams_run: TeamsRun) -> None:
    resp = teams_run.send(teams_run.activity("invoke", name="composeExtension/query", value={"commandId": "x"}))
    assert resp.status_code == 501
    assert teams_run.send(teams_run.activity("installationUpdate", action="add")).status_code == 200
    _, card, start = teams_run.card_with(REPORTER_CHAT, "start")
    assert start["title"] == "Signaal melden"  # nl-NL, the activity's locale
    assert inbox_rows(teams_run) == 1


def _to_acute(run: TeamsRun) -> dict[str, Any]:
    """Signaal melden, then form, signals and "acuut: ja" in the dialog: the card that follows."""
    assert run.send(run.activity("message", text="signaal")).status_code == 200
    _, _, start = run.card_with(REPORTER_CHAT, "start")
    card = dialog_of(run.fetch(start["data"]))
    for key in ("form", "signals", "acute"):
        step = button(card, "answer")
        assert step["data"]["q"] == key
        value = {**ANSWERS, "acute": "yes"}[key]
        card = dialog_of(run.submit(step, answer=",".join(value) if isinstance(value, list) else value))
    return card


def test_acute_nu_versturen_sends_at_once_and_later_answers_follow_the_case(teams_run: TeamsRun) -> None:
    teams = teams_run.teams
    teams_run.add_to_team()
    card = _to_acute(teams_run)
    # The acute card: 112, the police, Nu versturen — and the next question, to go on instead.
    assert "112" in texts(card) and "0900-8844" in texts(card)
    send_now = button(card, "send_now")
    assert send_now is not None and send_now["associatedInputs"] == "none"
    assert button(card, "answer")["data"]["q"] == "minor"
    # The acute notice stays in the chat too (with Nu versturen), for when the window is closed.
    _, notice, _in_chat = teams_run.card_with(REPORTER_CHAT, "send_now")
    assert "112" in texts(notice)

    card = dialog_of(teams_run.submit(send_now))
    case = card_of(wait_for(lambda: teams.cards(CHANNEL))[0])
    assert "ACUUT" in texts(case)
    with Session(teams_run.bot.core.engine) as session:
        signal = session.exec(select(Signal)).one()
    assert signal.status == "new" and signal.acute
    # The dialog goes on with the open question; its answer reaches the AF's card.
    assert "verstuurd" in texts(card) and "112" not in texts(card)
    step = button(card, "answer")
    assert step["data"]["q"] == "minor" and button(card, "cancel_ask") is None
    card = dialog_of(teams_run.submit(step, answer="yes"))
    wait_for(lambda: "Ja" in texts(card_of(teams.cards(CHANNEL)[0])).split("Minderjarige")[-1][:80])
    assert "Veilig Thuis" in texts(card)  # the note for minors, above the next question
    for _ in range(10):
        step = button(card, "answer")
        assert step is not None
        value = ANSWERS[step["data"]["q"]]
        resp = teams_run.submit(step, answer=",".join(value) if isinstance(value, list) else value)
        if resp.json()["task"]["type"] == "message":
            assert "al je antwoorden zijn toegevoegd" in closed_with(resp)
            break
        card = dialog_of(resp)
    else:
        raise AssertionError("the questions did not end")
    # The Nu versturen button in the chat is gone once sent.
    wait_for(lambda: not any(a.get("verb") == "send_now" for act in teams.cards(REPORTER_CHAT)
                             for a in card_of(act).get("actions") or []))


def test_a_refused_teams_secret_pauses_the_outbox_until_it_is_taken_again(
        database_url: str, fake: Any, fake_teams: Any) -> None:
    from bot.runtime import health
    from tests.teams_support import start_teams_bot

    run = start_teams_bot(database_url, fake, fake_teams, outbox_probe_seconds=0.3)
    real = fake_teams.app_password
    fake_teams.app_password = "rotated-in-entra"  # the secret the bot has is no longer the registration's
    try:
        assert run.send(run.activity("message", text="signaal")).status_code == 200
        state = wait_for(lambda: (h := health(run.bot))["outbox"]["paused"] and h)
        assert "invalid_client" in state["outbox"]["paused"] and not fake_teams.posted()
        fake_teams.app_password = real  # fixed: delivering resumes by itself, nothing was lost
        wait_for(lambda: fake_teams.posted(REPORTER_CHAT))
        wait_for(lambda: health(run.bot)["outbox"]["paused"] is None)
    finally:
        run.stop()


def test_an_acute_draft_left_unsent_gets_the_nudge_in_the_teams_chat(
        database_url: str, fake: Any, fake_teams: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.core.clock import Clock
    from tests.teams_support import start_teams_bot

    clock = Clock()
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # a Tuesday, office hours
    run = start_teams_bot(database_url, fake, fake_teams, clock=clock)
    try:
        _to_acute(run)  # and the reporter closes the dialog
        run.card_with(REPORTER_CHAT, "send_now")
        count = len(fake_teams.cards(REPORTER_CHAT))
        clock.set(clock.now() + timedelta(minutes=11))  # the reporter walked away from an acute draft
        assert any("nudged" in line for line in run.bot.run_due())
        nudge = wait_for(lambda: [a for a in fake_teams.cards(REPORTER_CHAT)[count:]
                                  if "0900-8844" in texts(card_of(a))])
        assert "112" in texts(card_of(nudge[0])) and "Nu versturen" in texts(card_of(nudge[0]))
    finally:
        run.stop()
