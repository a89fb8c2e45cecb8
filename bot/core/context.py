"""What every core service needs: settings, database, clock, questionnaire, and a way to wake
the outbox after a transaction queued messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.core.clock import Clock
from flows.questionnaire import Questionnaire


@dataclass
class Core:
    settings: Settings
    engine: Engine
    questionnaire: Questionnaire
    clock: Clock = field(default_factory=Clock)
    kick: Callable[[], None] = lambda: None
