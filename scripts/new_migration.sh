#!/usr/bin/env bash
# Add a migration for a change of the models: `scripts/new_migration.sh "what changes"`.
# Alembic compares a database at the newest revision with the models and writes the difference as a
# new revision in models/migrations/versions/. Read it before you commit: a renamed column comes out
# as drop + add (which loses its data: write alter_column(..., new_column_name=...) instead), and
# data to convert needs its own op.execute. Test it on a database the previous version filled
# (tests/test_migration_identities.py shows how), on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: $0 \"what changes\"" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/python - "$tmp" "$1" <<'PY'
import sys
from alembic import command
from alembic.script import ScriptDirectory
from models.crypto import configure
from models.db import alembic_config, make_engine
configure("0" * 43 + "=")
engine = make_engine(f"sqlite:///{sys.argv[1]}/gen.db")
cfg = alembic_config(engine)
command.upgrade(cfg, "head")
head = ScriptDirectory.from_config(cfg).get_current_head()
command.revision(cfg, message=sys.argv[2], autogenerate=True, rev_id=f"{int(head) + 1:04d}")
PY
