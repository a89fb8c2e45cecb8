"""Files on disk that hold personal data are private to the bot's user: the SQLite database with its
-wal and -shm files (0600) in a 0700 folder, and the data key file (0600) — also when the operator's
umask is careless, and also for files an older version left readable."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from models import crypto
from models.db import make_engine, upgrade


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def careless_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _use(db: Path) -> None:
    """Open the database, write, and look at the files while a connection is open (-wal and -shm exist)."""
    engine = make_engine(f"sqlite:///{db}")
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO jobrun (job, period, ran_at) VALUES ('test', :p, '2000-01-01 00:00:00')"),
                         {"p": str(os.urandom(4).hex())})
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM jobrun")).one()
            wal, shm = db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")
            assert wal.exists() and shm.exists()
            assert (mode(db), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    finally:
        engine.dispose()


def test_a_new_sqlite_database_is_private_in_a_private_folder(tmp_path, careless_umask) -> None:
    db = tmp_path / "data" / "signaalbot.db"
    _use(db)
    assert mode(db.parent) == 0o700
    assert mode(db) == 0o600


def test_an_existing_database_left_readable_is_made_private_at_start(tmp_path, careless_umask, caplog) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    db = folder / "signaalbot.db"
    _use(db)
    for file in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if file.exists():
            os.chmod(file, 0o644)
    os.chmod(folder, 0o755)
    with caplog.at_level(logging.WARNING, logger="models.db"):
        _use(db)
    assert mode(folder) == 0o700
    assert "private" in caplog.text


def test_a_shared_folder_is_not_changed_but_the_database_in_it_is_private(tmp_path, careless_umask, caplog) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp: sticky, everyone may write
    with caplog.at_level(logging.WARNING, logger="models.db"):
        _use(shared / "signaalbot.db")
    assert mode(shared) == 0o1777
    assert "move the database to a private folder" in caplog.text


def test_the_data_key_file_is_private(tmp_path, careless_umask) -> None:
    key_file = tmp_path / "data" / "signaal.key"
    key = crypto.load_or_create_key_file(key_file)
    assert mode(key_file) == 0o600 and mode(key_file.parent) == 0o700
    os.chmod(key_file, 0o644)
    assert crypto.load_or_create_key_file(key_file) == key
    assert mode(key_file) == 0o600
