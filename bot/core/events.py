"""Domain events inside a transaction: other modules (reminders, statistics) subscribe here,
so the reporting loop does not need to know who cares about a step.

Handlers run in the caller's session, inside its transaction: what they write commits or rolls
back together with the step itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

Handler = Callable[..., None]
_handlers: dict[str, list[Handler]] = defaultdict(list)

# Event names (the step that happened to a case).
SUBMITTED = "submitted"
CLAIMED = "claimed"
FEEDBACK_GIVEN = "feedback_given"
CONSULTED = "consulted"
ADVICE_RECEIVED = "advice_received"
ROUTED = "routed"
OUTCOME_RECORDED = "outcome_recorded"
CONCLUDED = "concluded"
CLOSED = "closed"
REOPENED = "reopened"
RECLASSIFIED = "reclassified"  # the AF corrected the classification (acute_started / acute_stopped)


def subscribe(name: str, handler: Handler) -> None:
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def emit(session: Session, name: str, **data: Any) -> None:
    for handler in list(_handlers[name]):
        handler(session, **data)
