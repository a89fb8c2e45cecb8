"""Where personal data lives, found from the table definitions (SQLModel.metadata), so a table
added by another feature is covered by key rotation, purge and export without a hand-kept list."""

from __future__ import annotations

from sqlalchemy import Column, Table
from sqlmodel import SQLModel

import models  # noqa: F401 - registers every table
from models.base import EncryptedText

# Columns that hold a person key (bot.core.platforms). Besides these names, every `*_by` column (claimed_by, asked_by…).
PERSON_COLUMN_NAMES = frozenset({"user_id", "reporter_id", "actor_id", "recipient", "person_id", "organiser_id"})
# Tables that are not case data themselves: delivery bookkeeping and the audit trail.
NOT_CASE_DATA = frozenset({"messageref", "outboxmessage", "auditentry", "inboxitem", "jobrun"})


def tables() -> list[Table]:
    return list(SQLModel.metadata.sorted_tables)


def encrypted_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if isinstance(c.type, EncryptedText)]


def person_columns(table: Table) -> list[Column]:
    return [c for c in table.columns
            if (c.name in PERSON_COLUMN_NAMES or c.name.endswith("_by")) and not c.foreign_keys]


def signal_tables() -> list[Table]:
    """Tables whose rows belong to one signal (a `signal_id` column): the case file."""
    return [t for t in tables() if "signal_id" in t.columns and t.name not in NOT_CASE_DATA]
