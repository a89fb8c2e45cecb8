"""What every core service needs: settings, database, clock, questionnaire, the knowledge texts, and a
way to wake the outbox after a transaction queued messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.core.clock import Clock
from flows import knowledge as knowledge_mod
from flows.questionnaire import Questionnaire


@dataclass
class Core:
    settings: Settings
    engine: Engine
    questionnaire: Questionnaire
    clock: Clock = field(default_factory=Clock)
    kick: Callable[[], None] = lambda: None
    knowledge: knowledge_mod.Knowledge = field(default_factory=knowledge_mod.load)  # /signaal info
