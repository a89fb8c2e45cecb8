"""Replicas that start together do not race on the schema: `upgrade` takes the migration lock
(PostgreSQL advisory lock; a lock file beside a SQLite database), the others wait and find nothing to
do (issue 18)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from models.db import make_engine, schema_is_current, upgrade

ROOT = Path(__file__).resolve().parent.parent
STARTER = """
import sys, time
from models.db import make_engine, upgrade
start = float(sys.argv[2])
engine = make_engine(sys.argv[1])
while time.time() < start:
    pass
upgrade(engine)
"""


def test_replicas_upgrading_together_all_succeed_and_the_schema_is_current(database_url) -> None:
    start = time.time() + 2.0  # every process is loaded by then, and they begin in the same moment
    procs = [subprocess.Popen([sys.executable, "-c", STARTER, database_url, repr(start)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(4)]
    outputs = [proc.communicate(timeout=120)[0].decode(errors="replace") for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(procs), "\n---\n".join(outputs)
    engine = make_engine(database_url)
    try:
        assert schema_is_current(engine)
        upgrade(engine)  # once more: nothing to do
        assert schema_is_current(engine)
    finally:
        engine.dispose()


def test_an_empty_database_is_not_current(database_url) -> None:
    engine = make_engine(database_url)
    try:
        assert not schema_is_current(engine)
        upgrade(engine)
        assert schema_is_current(engine)
    finally:
        engine.dispose()
