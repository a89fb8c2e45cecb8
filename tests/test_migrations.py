"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import models  # noqa: F401
from models.crypto import configure
from models.db import alembic_config, make_engine, upgrade


def test_migrations_match_the_models(database_url: str) -> None:
    configure("0" * 43 + "=")
    engine = make_engine(database_url)
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert len(heads) == 1, f"the migrations have more than one head (merge them): {heads}"
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert context.get_current_revision() == heads[0]  # every revision ran, up to the newest
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; add a revision (scripts/new_migration.sh): {diff}"
