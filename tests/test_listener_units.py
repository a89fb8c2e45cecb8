"""Listeners as units: the case actions are one table (bot.slack.cases.CASE_ACTIONS) dispatched by key,
the listeners and steps are module-level functions that can be called one by one, and each app's
registry is built when the app is built (two apps in one process do not share or double anything)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot.core import cases as core_cases
from bot.core.result import Error
from bot.slack import case_guard, cases, related_views
from bot.slack.app import build_app, registry
from flows.cases import CaseAction
from models import CaseEvent
from tests.case_helpers import settle, signal_id, signal_row
from tests.helpers import AF, AF_OTHER, report


class Ack:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def _submission(user: str, action: CaseAction, sid: int, state: dict[str, dict[str, Any]]) -> tuple[dict, dict]:
    view = {"callback_id": f"{cases.MODAL}:{action.value}", "private_metadata": f'{{"s": {sid}}}',
            "state": {"values": {block: {"value": value} for block, value in state.items()}}}  # block → action "value"
    return {"type": "view_submission", "user": {"id": user}, "view": view}, view


def test_every_case_action_has_one_row_in_the_table() -> None:
    # The meldroute's actions in bot.slack.cases; related signals and the casusoverleg in their own module.
    tables = [cases.CASE_ACTIONS, related_views.CASE_ACTIONS]
    rows = [action for table in tables for action in table]
    assert sorted(rows) == sorted(CaseAction)  # every action, exactly once
    for table in tables:
        for action, spec in table.items():
            assert spec.modal is not None or spec.acts_on_click, action  # a click either opens a modal or acts
    assert registry().case_actions == {k: v for table in tables for k, v in table.items()}


def test_two_modules_with_a_row_for_the_same_case_action_are_refused() -> None:
    import types

    import pytest

    from bot.slack import hooks

    twin = types.ModuleType("twin")
    twin.CASE_ACTIONS = {CaseAction.NOTE: cases.CaseActionSpec(cases.note_step)}  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="note"):
        hooks.collect([cases, twin])


def test_each_app_builds_its_own_registry_once(running) -> None:
    r = running
    first, second = registry(), registry()
    assert first is not second and first.templates == second.templates and first.features == second.features
    assert len(first.templates) == len(set(first.templates)) and "case_card" in first.templates
    listeners = len(r.bot.app._listeners)
    app, ctx = build_app(r.core, r.bot.client, token_verification=False)
    assert len(app._listeners) == listeners  # the second app has exactly as many listeners as the first
    assert ctx.registry is not r.bot.slack.registry
    assert ctx.registry.subcommands == r.bot.slack.registry.subcommands
    assert len(r.bot.app._listeners) == listeners  # and the first app got none of the second's


def test_a_step_runs_on_its_own(running) -> None:
    r = running
    reference = report(r)
    settle(r)
    sid = signal_id(r, reference)
    assert cases.claim_step(r.core, sid, AF, cases.Form()).ok
    result = cases.note_step(r.core, sid, AF, cases.Form(texts={"text": "Intern: even bellen."}))
    assert result.ok
    denied = cases.note_step(r.core, sid, AF_OTHER, cases.Form(texts={"text": "Ik ook."}))
    assert denied.error is Error.DENIED
    with Session(r.core.engine) as session:
        notes = session.exec(select(CaseEvent).where(CaseEvent.signal_id == sid, CaseEvent.kind == core_cases.NOTE)
                             .order_by(col(CaseEvent.id))).all()
    assert [n.text for n in notes] == ["Intern: even bellen."]


def test_a_modal_listener_checks_its_answers_by_the_table(running) -> None:
    r = running
    ctx = r.bot.slack
    reference = report(r)
    settle(r)
    sid = signal_id(r, reference)
    before = events_of(r, sid)
    ack = Ack()
    body, view = _submission(AF, CaseAction.NOTE, sid, {"text": {"value": "   "}})
    cases.on_case_modal(ctx, ack, body, view)
    assert ack.calls == [{"response_action": "errors", "errors": {"text": "Schrijf eerst iets."}}]
    yesterday = (r.core.clock.now() - timedelta(days=1)).date().isoformat()
    ack = Ack()
    body, view = _submission(AF, CaseAction.ROUTE, sid, {"text": {"value": None}})
    view["state"]["values"]["expected"] = {"value": {"selected_date": yesterday}}
    cases.on_case_modal(ctx, ack, body, view)
    errors = ack.calls[0]["errors"]
    assert ack.calls[0]["response_action"] == "errors" and set(errors) == {"partners", "expected"}
    settle(r)
    assert events_of(r, sid) == before  # nothing was handed on


def events_of(r, sid: int) -> int:  # noqa: ANN001
    with Session(r.core.engine) as session:
        return len(session.exec(select(CaseEvent).where(CaseEvent.signal_id == sid)).all())


def test_the_click_dispatcher_runs_a_row_after_the_gate(running) -> None:
    r = running
    ctx = r.bot.slack
    reference = report(r)
    settle(r)
    sid = signal_id(r, reference)
    click = {"user": {"id": AF_OTHER}, "actions": [{"action_id": "case:claim", "value": str(sid)}]}
    case_guard.act(ctx, click, CaseAction.CLAIM.value, sid)  # refused by the core's gate: not their municipality
    assert signal_row(r, reference).claimed_by is None
    case_guard.act(ctx, click | {"user": {"id": AF}}, CaseAction.CLAIM.value, sid)
    assert signal_row(r, reference).claimed_by == AF
