"""Extension points of the Slack edge, so each feature brings its own listeners and handlers without
editing the others: listeners (`feature`), /signaal subcommands, thread replies by the kind of their
root message, App Home sections, message templates (`bot.slack.render.template`), requests served on
the event loop (`inline`), and the case card's actions (a module's `CASE_ACTIONS` table).

The decorators only MARK a module-level function; importing a module changes no shared state.
`bot.slack.app.registry()` builds a `Registry` from an explicit list of feature modules each time an
app is built (`collect`), so two apps in one process each have their own, registered once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

_MARK = "__signaalbot_hooks__"


def _mark(fn: Any, kind: str, value: Any) -> Any:
    marks = fn.__dict__.setdefault(_MARK, [])
    marks.append((kind, value))
    return fn


def feature(fn: Callable[..., None] | None = None, *, order: int = 100) -> Any:
    """`register(ctx, app)` adds a feature's Bolt listeners. Bolt tries listeners in the order they were
    added, so the busiest feature (reporting: `/signaal` and every triage answer) passes `order=0`."""
    def add(f: Callable[..., None]) -> Callable[..., None]:
        return _mark(f, "feature", order)

    return add(fn) if fn is not None else add


def subcommand(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`handler(ctx, ack, command, respond, rest)` for `/signaal <name> …`."""
    return lambda fn: _mark(fn, "subcommand", names)


def thread_reply(*kinds: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`handler(ctx, event, root_ref)` for a reply in the thread of a root message of this kind
    (after the ack); "app_home" gets the App Home opened event (root None), "direct_message" a message
    typed to the bot in its direct conversation outside any thread (root None; the event carries only
    `user` and `channel`, never the text)."""
    return lambda fn: _mark(fn, "thread_reply", kinds)


def home_section(fn: Callable[..., list[dict[str, Any]]]) -> Callable[..., list[dict[str, Any]]]:
    """`section(ctx, user_id, actor) -> blocks` (may be empty): a part of the App Home tab."""
    return _mark(fn, "home_section", None)


def inline(fn: Callable[..., bool]) -> Callable[..., bool]:
    """`predicate(request, registry) -> bool`: True for a request whose listener only acks and hands its
    work on (ctx.after_ack): no Slack Web API call, at most a read of the local database. `request`: a
    slash command's form fields, or an interactive payload. In HTTP mode bot.slack.http dispatches such
    a request on its event loop instead of handing it to a thread and back (bench/NOTES.md, part 1)."""
    return _mark(fn, "inline", None)


def template(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`render(ctx: RenderContext) -> Rendered` for MessageRefs with this template name."""
    return lambda fn: _mark(fn, "template", name)


def always(*_args: Any) -> bool:
    return True


@dataclass
class Registry:
    features: list[Callable[..., None]] = field(default_factory=list)  # in order
    subcommands: dict[str, Callable[..., None]] = field(default_factory=dict)
    thread_handlers: dict[str, Callable[..., None]] = field(default_factory=dict)
    home_sections: list[Callable[..., list[dict[str, Any]]]] = field(default_factory=list)
    inline: list[Callable[..., bool]] = field(default_factory=list)
    templates: dict[str, Callable[..., Any]] = field(default_factory=dict)
    # case action value → bot.slack.cases.CaseActionSpec (a module's CASE_ACTIONS table)
    case_actions: dict[str, Any] = field(default_factory=dict)


def collect(modules: Iterable[ModuleType]) -> Registry:
    """A fresh Registry of what these modules mark, in module order and then definition order."""
    reg = Registry()
    features: list[tuple[int, int, Callable[..., None]]] = []
    for module in modules:
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__:
                continue  # imported from elsewhere: registered by its own module
            for kind, value in getattr(obj, "__dict__", {}).get(_MARK, []):
                if kind == "feature":
                    features.append((value, len(features), obj))
                elif kind == "subcommand":
                    reg.subcommands.update(dict.fromkeys(value, obj))
                elif kind == "thread_reply":
                    reg.thread_handlers.update(dict.fromkeys(value, obj))
                elif kind == "home_section":
                    reg.home_sections.append(obj)
                elif kind == "inline":
                    reg.inline.append(obj)
                elif kind == "template":
                    if value in reg.templates:
                        raise ValueError(f"two templates named {value!r}: {name} in {module.__name__}")
                    reg.templates[value] = obj
        for action, spec in getattr(module, "CASE_ACTIONS", {}).items():
            if reg.case_actions.get(action, spec) is not spec:
                raise ValueError(f"two rows for the case action {action!r}: one in {module.__name__}")
            reg.case_actions[action] = spec
    reg.features = [fn for _order, _i, fn in sorted(features, key=lambda t: (t[0], t[1]))]
    return reg
