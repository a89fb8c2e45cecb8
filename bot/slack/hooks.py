"""Extension points of the Slack edge, so each feature registers its own listeners and handlers
without editing the others: thread replies by the kind of their root message, /signaal
subcommands, and App Home sections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# kind of the thread's root MessageRef → handler(ctx, event, root_ref)
THREAD_HANDLERS: dict[str, Callable[..., None]] = {}
# first word after /signaal → handler(ctx, ack, command, respond, rest)
SUBCOMMANDS: dict[str, Callable[..., None]] = {}
# functions (ctx, app) that register listeners; run in order by build_app
FEATURES: list[Callable[..., None]] = []
# predicate(request) → True for a request whose listener only acks and hands its work on (ctx.after_ack):
# no Slack Web API call, at most a read of the local database. `request`: a slash command's form fields,
# or an interactive payload. In HTTP mode bot.slack.http dispatches such a request on its event loop
# instead of handing it to a thread and back (bench/NOTES.md, part 1). Module level: pure functions.
INLINE: list[Callable[[dict[str, Any]], bool]] = []


def inline(fn: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    INLINE.append(fn)
    return fn


def feature(fn: Callable[..., None] | None = None, *, order: int = 100) -> Any:
    """Register a feature's listeners. Bolt tries listeners in the order they were added, so the
    busiest feature (reporting: `/signaal` and every triage answer) passes `order=0` to be first."""
    def add(f: Callable[..., None]) -> Callable[..., None]:
        f.order = order  # type: ignore[attr-defined]
        FEATURES.append(f)
        FEATURES.sort(key=lambda g: g.order)  # stable: same order among equals
        return f

    return add(fn) if fn is not None else add


def subcommand(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            SUBCOMMANDS[name] = fn
        return fn

    return register

# case action (flows.cases.CaseAction value) → handler(ctx, body, signal_id, actor) after the guard allowed
# it. The guard and the handler run after the ack (ctx.after_ack, maybe in the work process).
CASE_ACTIONS: dict[str, Callable[..., None]] = {}
# case action → (needed(ctx, signal_id) -> bool, opener(ctx, body, signal_id, actor)) for an action that
# opens a modal. views.open needs the click's trigger_id, which expires 3 s after the click, so the guard
# and the opener run in the listener itself; when `needed` says no, the click goes to CASE_ACTIONS.
CASE_MODALS: dict[str, tuple[Callable[..., bool], Callable[..., None]]] = {}


def case_action(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            CASE_ACTIONS[name] = fn
        return fn

    return register


def always(*_args: Any) -> bool:
    return True


def case_modal(*names: str, needed: Callable[..., bool] = always) -> Callable[[Callable[..., Any]],
                                                                              Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            CASE_MODALS[name] = (needed, fn)
        return fn

    return register

# App Home: functions (ctx, user_id, actor) -> list of blocks (may be empty), shown in list order.
# Each feature appends its own section (open cases, own signals, trainings, figures).
HOME_SECTIONS: list[Callable[..., list[dict[str, Any]]]] = []


def home_section(fn: Callable[..., list[dict[str, Any]]]) -> Callable[..., list[dict[str, Any]]]:
    HOME_SECTIONS.append(fn)
    return fn
