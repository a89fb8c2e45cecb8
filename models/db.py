"""Engine, sessions and schema upgrades (Alembic)."""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
        if path and path != ":memory:" and not path.startswith("file:"):
            private_sqlite_files(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "do_connect", _connect_privately)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
_umask_lock = threading.Lock()


def private_sqlite_files(path: Path) -> None:
    """The SQLite database holds every signal (encrypted text, but also who reported what): its folder
    is 0700 and the database, -wal, -shm and -journal files are 0600. A folder the bot makes is made
    so; an existing folder of this user is tightened (never a shared one such as /tmp, which has the
    sticky bit, nor one of another user: then a warning says to move the database). The database file
    is created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the database file's
    mode, and existing files are set to 0600 at every start."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    info = folder.stat()
    if stat.S_IMODE(info.st_mode) & 0o077:
        if info.st_uid == os.geteuid() and not info.st_mode & stat.S_ISVTX:
            os.chmod(folder, 0o700)
            log.warning("Made the database folder %s private (mode 0700): it was open to other users.", folder)
        else:
            log.warning("The database folder %s is open to other users; move the database to a private folder "
                        "(mode 0700), for instance with SIGNAAL_DATA_DIR.", folder)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
    for file in [path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES)]:
        if file.exists() and not file.is_symlink() and stat.S_IMODE(file.stat().st_mode) != 0o600:
            os.chmod(file, 0o600)


def _connect_privately(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Open the SQLite connection with umask 077, so a file SQLite creates itself is never readable
    by others either. The umask is process-wide: a lock keeps two connects from restoring it wrongly."""
    with _umask_lock:
        old = os.umask(0o077)
        try:
            return dialect.connect(*cargs, **cparams)
        finally:
            os.umask(old)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


# pg_advisory_lock key of the schema upgrade (any fixed number; this one spells "SGNL").
MIGRATION_LOCK = 0x53474E4C


def upgrade(engine: Engine) -> None:
    """Bring the schema up to date; safe to call at every start, also by replicas that start
    together: the first takes the migration lock, the others wait for it and then find nothing to do.
    PostgreSQL: a session advisory lock (released when that connection ends, also when the process
    is killed). SQLite: an exclusive lock on a file beside the database (SQLite has one host)."""
    with migration_lock(engine):
        command.upgrade(alembic_config(engine), "head")


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    import fcntl

    fd = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by close, also when the process dies
        yield
    finally:
        os.close(fd)


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is at the newest migration this code knows (readiness: a replica of an
    older version, or a database nobody upgraded yet, is not ready)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - health check reports any failure as unhealthy
        return False
