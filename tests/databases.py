"""The test database: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set. Knows no chat
platform, so the platform-neutral tier (tests/core) uses it as the Slack tests do."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def _pg_admin_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def _psycopg(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database per test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'signaalbot.db'}"
        return
    admin = _pg_admin_url()
    if not admin:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests run in CI (.ci/run sets it)")
    name = f"sbtest_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(_psycopg(admin), isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(_psycopg(admin)).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()
