#!/usr/bin/env bash
# Until the first release the schema lives in one initial migration, regenerated from the models.
# After a release: add new migrations with `alembic revision --autogenerate` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f models/migrations/versions/0001_initial.py
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from models.crypto import configure
from models.db import alembic_config, make_engine
configure("0" * 43 + "=")
engine = make_engine(f"sqlite:///{sys.argv[1]}/gen.db")
cfg = alembic_config(engine)
command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PY
f=$(ls models/migrations/versions/0001_*.py)
[ "$f" = models/migrations/versions/0001_initial.py ] || mv "$f" models/migrations/versions/0001_initial.py
rm -rf "$tmp"
echo "wrote models/migrations/versions/0001_initial.py"
