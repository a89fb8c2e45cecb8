"""`signaalbot keys generate|rotate`: the data key that encrypts every free text at rest."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import Text, select, type_coerce, update
from sqlalchemy.engine import Engine

from bot.core import datamap
from models import crypto


def rotate_all(engine: Engine) -> dict[str, int]:
    """Re-encrypt every EncryptedText value of every table with the primary key, in one transaction.
    Tokens are rotated as stored (MultiFernet.rotate), never written out in plain text."""
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for table in datamap.tables():
            columns = datamap.encrypted_columns(table)
            if not columns:
                continue
            keys = list(table.primary_key.columns)
            raw = [type_coerce(c, Text).label(c.name) for c in columns]
            done = 0
            for row in conn.execute(select(*keys, *raw)).mappings().all():
                values = {c.name: type_coerce(crypto.rotate(row[c.name]), Text) for c in columns if row[c.name]}
                if values:
                    conn.execute(update(table).where(*[k == row[k.name] for k in keys]).values(**values))
                    done += len(values)
            counts[table.name] = done
    return counts


def unreadable_with(engine: Engine, key: str) -> int:
    """How many stored values the single key `key` cannot decrypt (0 after a complete rotation)."""
    fernet, bad = Fernet(key.encode()), 0
    with engine.connect() as conn:
        for table in datamap.tables():
            for column in datamap.encrypted_columns(table):
                for (token,) in conn.execute(select(type_coerce(column, Text))).all():
                    if token:
                        try:
                            fernet.decrypt(token.encode("ascii"))
                        except Exception:  # noqa: BLE001 - InvalidToken and malformed values alike
                            bad += 1
    return bad


def _write_key_file(path: Path, content: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)  # a leftover of an interrupted run (or a planted link) is not written through
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def cmd_keys_generate(args: argparse.Namespace) -> int:
    print(Fernet.generate_key().decode())
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from bot.cli import CliError, _settings
    from bot.core import audit
    from bot.runtime import open_database
    from models.db import session_scope

    settings = _settings()
    engine = open_database(settings)
    key_file = settings.data_dir / "signaal.key"
    if settings.data_key:
        keys = [k.strip() for k in settings.data_key.split(",") if k.strip()]
        if len(keys) < 2:
            raise CliError("SIGNAAL_DATA_KEY holds one key, so there is nothing to rotate to.",
                           "Set SIGNAAL_DATA_KEY=NEW,OLD (make NEW with `signaalbot keys generate`), run "
                           "`signaalbot keys rotate`, then set SIGNAAL_DATA_KEY=NEW.")
        primary = keys[0]
    else:
        # The SQLite pilot's key file: the new key goes first; the old one stays until all is re-encrypted.
        old = key_file.read_text().strip()
        primary = Fernet.generate_key().decode()
        _write_key_file(key_file, f"{primary},{old}")
        crypto.configure(f"{primary},{old}")
    counts = rotate_all(engine)
    with session_scope(engine) as session:
        # The related-signals digests are keyed by a key derived from the primary key: made again.
        from bot.core import related  # not at import: it loads prometheus_client before `run` sets its mode

        reindexed = related.reindex_all(session)
    left = unreadable_with(engine, primary)
    if left:
        raise CliError(f"{left} value(s) are still not readable with the new key; nothing else was changed. "
                       "Run the command again.")
    if not settings.data_key:
        _write_key_file(key_file, primary)
    with session_scope(engine) as session:
        audit.record(session, "cli", "keys.rotated", related_signals_reindexed=reindexed, **counts)
    total = sum(counts.values())
    print(f"Re-encrypted {total} value(s) with the new key: "
          + ", ".join(f"{t} {n}" for t, n in counts.items() if n) if total else "No encrypted values stored yet.")
    if settings.data_key:
        print("Every value is now readable with the first key alone: set SIGNAAL_DATA_KEY to that key only "
              "and keep the old one somewhere safe until your backups made with it have expired.")
    else:
        print(f"The new key is in {key_file} (mode 0600). Back it up; the old key is no longer needed.")
    engine.dispose()
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="encryption keys").add_subparsers(dest="keys_command", required=True)
    keys.add_parser("generate", help="print a new SIGNAAL_DATA_KEY").set_defaults(func=cmd_keys_generate)
    keys.add_parser("rotate", help="re-encrypt all stored text with the first key of SIGNAAL_DATA_KEY=NEW,OLD "
                                   "(or a new key file)").set_defaults(func=cmd_keys_rotate)
