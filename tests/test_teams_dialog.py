"""Teams: the triage's dialog (issue 17) — each step is stored before the dialog shows the next one, a
retried task/submit takes effect once, a window left open on an old step changes nothing, Signaal melden
with a draft open offers to continue it or start anew, Annuleren asks first, someone else's submit
changes nothing, and a draft left in a closed dialog is reopened from the chat (its first card, the
nudge). Through the fake Bot Connector, on the bot's real endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from bot.core.clock import Clock
from models import AuditEntry, InboxItem, MessageRef, OutboxMessage, Signal
from tests.teams_support import (
    ANSWERS,
    REPORTER_CHAT,
    TeamsRun,
    button,
    card_of,
    closed_with,
    dialog_of,
    start_teams_bot,
    texts,
    wait_for,
)
from tests.teams_support import fake_teams as fake_teams  # noqa: F401 - fixtures
from tests.teams_support import teams_run as teams_run  # noqa: F401


def _open(run: TeamsRun) -> dict[str, Any]:
    """Signaal melden on the start card: the dialog's first card."""
    assert run.send(run.activity("message", text="signaal")).status_code == 200
    _, _, start = run.card_with(REPORTER_CHAT, "start")
    return dialog_of(run.fetch(start["data"]))


def _signal(run: TeamsRun) -> Signal:
    with Session(run.bot.core.engine) as session:
        return session.exec(select(Signal).order_by(Signal.id.desc())).first()


def _count(run: TeamsRun, action: str) -> int:
    with Session(run.bot.core.engine) as session:
        return session.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)).one()


def _answered(card: dict[str, Any], run: TeamsRun) -> dict[str, Any]:
    step = button(card, "answer")
    value = ANSWERS[step["data"]["q"]]
    return dialog_of(run.submit(step, answer=",".join(value) if isinstance(value, list) else value))


def test_each_step_is_stored_before_the_next_is_shown_and_a_retried_submit_takes_effect_once(
        teams_run: TeamsRun) -> None:
    card = _open(teams_run)
    first = button(card, "answer")
    assert first["data"]["q"] == "form"
    # The answer is in the database when the next card comes back: no waiting for any worker.
    activity = teams_run.activity("invoke", name="task/submit",
                                  value={"data": {**first["data"], "answer": "AU"}, "context": {"theme": "default"}})
    after = dialog_of(teams_run.send(activity))
    signal = _signal(teams_run)
    assert signal.answers["form"] == "AU" and signal.current_question == "signals"
    assert button(after, "answer")["data"]["q"] == "signals"
    # The inbox knows the step (once, done with it; what was typed is not kept).
    with Session(teams_run.bot.core.engine) as session:
        items = session.exec(select(InboxItem).where(InboxItem.work.contains("on_dialog"))).all()
    assert len(items) == 2 and all(i.done_at is not None and i.args is None for i in items)

    # Teams delivers the same submit again (a retry): nothing is applied twice; the dialog shows where it is.
    again = dialog_of(teams_run.send(activity))
    assert button(again, "answer")["data"] == button(after, "answer")["data"]
    assert _signal(teams_run).step == signal.step and _count(teams_run, "signal.answered") == 1

    # A window left open on an earlier asking (a new activity, the old step): not taken either.
    stale = teams_run.submit(first, answer="SU")
    assert button(dialog_of(stale), "answer")["data"]["q"] == "signals"
    assert _signal(teams_run).answers["form"] == "AU" and _count(teams_run, "signal.answered") == 1


def test_signaal_melden_with_a_draft_open_offers_to_continue_it_or_start_anew(teams_run: TeamsRun) -> None:
    card = _answered(_open(teams_run), teams_run)  # form answered; the dialog is closed now
    draft = _signal(teams_run)
    assert draft.current_question == "signals"

    # Signaal melden again: not a second silent draft, but the choice.
    _, _, start = teams_run.card_with(REPORTER_CHAT, "start")
    choice = dialog_of(teams_run.fetch(start["data"]))
    assert draft.reference in texts(choice)
    resumed = dialog_of(teams_run.submit(button(choice, "resume")))
    assert button(resumed, "answer")["data"]["q"] == "signals"
    assert button(resumed, "answer")["data"]["step"] > button(card, "answer")["data"]["step"]
    assert _count(teams_run, "signal.resumed") == 1
    # The earlier window's asking is no longer open.
    dialog_of(teams_run.submit(button(card, "answer"), answer="conditions"))
    assert "signals" not in _signal(teams_run).answers

    # Start anew: the open draft is cancelled, a new one begins.
    choice = dialog_of(teams_run.fetch(start["data"]))
    fresh = dialog_of(teams_run.submit(button(choice, "restart")))
    assert button(fresh, "answer")["data"]["q"] == "form"
    with Session(teams_run.bot.core.engine) as session:
        old = session.get(Signal, draft.id)
        assert old.status == "cancelled"
        assert session.exec(select(func.count()).select_from(Signal).where(Signal.status == "draft")).one() == 1


def test_annuleren_asks_first_and_then_cancels(teams_run: TeamsRun) -> None:
    card = _open(teams_run)
    sure = dialog_of(teams_run.submit(button(card, "cancel_ask")))
    assert button(card, "cancel_ask")["associatedInputs"] == "none"
    # No: back to the same question, nothing changed.
    back = dialog_of(teams_run.submit(button(sure, "back")))
    assert button(back, "answer")["data"] == button(card, "answer")["data"]
    assert _signal(teams_run).status == "draft"
    sure = dialog_of(teams_run.submit(button(back, "cancel_ask")))
    words = closed_with(teams_run.submit(button(sure, "cancel")))
    signal = _signal(teams_run)
    assert signal.status == "cancelled" and signal.reference in words and "verwijderd" in words
    wait_for(lambda: any("geannuleerd" in texts(card_of(a)) for a in teams_run.teams.cards(REPORTER_CHAT)))


def test_someone_elses_submit_changes_nothing(teams_run: TeamsRun) -> None:
    card = _open(teams_run)
    step = button(card, "answer")
    other = teams_run.activity("invoke", name="task/submit", conversation="a:1other-chat",
                               sender=("29:1other", "0b5e1c2a-9999-4a4a-9b9b-000000000009"),
                               value={"data": {**step["data"], "answer": "AU"}})
    words = closed_with(teams_run.send(other))
    assert "niet jouw signaal" in words
    signal = _signal(teams_run)
    assert "form" not in signal.answers and signal.current_question == "form"
    assert signal.reference not in words and ANSWERS["form"] not in words


def test_a_draft_left_in_a_closed_dialog_is_reopened_from_the_chat_and_nudged(
        database_url: str, fake: Any, fake_teams: Any) -> None:  # noqa: F811 - the fixture
    clock = Clock()
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # a Tuesday, office hours
    run = start_teams_bot(database_url, fake, fake_teams, clock=clock)
    try:
        card = _answered(_answered(_open(run), run), run)  # form, signals; then the window is closed
        asked = button(card, "answer")["data"]["q"]
        # The chat shows the signal's first card with Verder gaan, and no question.
        _, root, resume = run.card_with(REPORTER_CHAT, "resume")
        assert _signal(run).reference in texts(root)
        assert not any(button(card_of(a), "answer") for a in fake_teams.cards(REPORTER_CHAT))
        again = dialog_of(run.fetch(resume["data"]))
        assert button(again, "answer")["data"]["q"] == asked

        count = len(fake_teams.cards(REPORTER_CHAT))
        clock.set(clock.now() + timedelta(days=3))  # walked away from it
        assert any("nudged" in line for line in run.bot.run_due())
        _, nudge, reopen = run.card_with(REPORTER_CHAT, "resume", since=count)
        assert "nog niet verstuurd" in texts(nudge)
        assert button(dialog_of(run.fetch(reopen["data"])), "answer")["data"]["q"] == asked

        # Sent from the dialog: the first card's Verder gaan goes, the nudge says it is no longer needed.
        card = dialog_of(run.fetch(reopen["data"]))
        for _ in range(20):
            if button(card, "submit") is not None:
                break
            card = _answered(card, run)
        closed_with(run.submit(button(card, "submit")))
        wait_for(lambda: not any(button(card_of(a), "resume") for a in fake_teams.cards(REPORTER_CHAT)))
        with Session(run.bot.core.engine) as session:  # every card of the reporter's was drawn and delivered
            failed = session.exec(
                select(OutboxMessage.id).join(MessageRef, MessageRef.id == OutboxMessage.message_ref_id)
                .where(OutboxMessage.status == "failed", MessageRef.recipient == _signal(run).reporter_id)).all()
        assert failed == []
    finally:
        run.stop()


def test_wijzigen_with_nothing_chosen_says_what_to_do_and_the_choice_is_not_marked_required(
        teams_run: TeamsRun) -> None:
    card = _open(teams_run)
    for _ in range(30):
        if button(card, "submit") is not None:
            break
        card = _answered(card, teams_run)
    summary = card
    choice = next(i for i in summary["body"] if i.get("id") == "edit")
    # No red asterisk: the signal can be sent without choosing anything to change.
    assert not choice.get("isRequired") and button(summary, "submit")["associatedInputs"] == "none"
    again = dialog_of(teams_run.submit(button(summary, "edit")))
    assert "Kies het antwoord dat je wilt aanpassen" in texts(again)
    assert button(again, "submit") is not None and _signal(teams_run).status == "draft"
    assert _count(teams_run, "signal.edit") == 0
