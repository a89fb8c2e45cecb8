"""What an IT department configures and reads (issue 18): secrets from mounted files, JSON logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_secrets_come_from_files_named_by_FILE_variables(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    files = {"SLACK_BOT_TOKEN": "xoxb-from-a-file", "SLACK_SIGNING_SECRET": "signing-from-a-file",
             "SIGNAAL_DATA_KEY": key, "DATABASE_URL": "postgresql://bot:pw@db:5432/signaalbot"}
    env = {}
    for name, value in files.items():
        (tmp_path / name).write_text(value + "\n", encoding="utf-8")  # a trailing newline, as `echo` writes
        env[f"{name}_FILE"] = str(tmp_path / name)
    settings = load_settings(env, dotenv=False)
    assert settings.slack_bot_token == "xoxb-from-a-file"
    assert settings.slack_signing_secret == "signing-from-a-file"
    assert settings.data_key == key
    assert settings.database_url == "postgresql+psycopg://bot:pw@db:5432/signaalbot"


def test_a_secret_set_twice_or_an_unreadable_file_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("xoxb-file", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings({"SLACK_BOT_TOKEN": "xoxb-env", "SLACK_BOT_TOKEN_FILE": str(tmp_path / "token"),
                       "SLACK_SIGNING_SECRET": "s", "SIGNAAL_DATA_KEY_FILE": str(tmp_path / "missing")},
                      dotenv=False)
    problems = err.value.problems
    assert any("SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set" in p for p in problems)
    assert any(p.startswith("SIGNAAL_DATA_KEY_FILE: cannot read") and "missing" in p for p in problems)
    assert all("xoxb-" not in p for p in problems)  # the secret itself is never echoed


def test_only_secrets_have_a_FILE_variant(tmp_path: Path) -> None:
    (tmp_path / "port").write_text("4000", encoding="utf-8")
    assert load_settings({"PORT_FILE": str(tmp_path / "port")}, dotenv=False).port == 3000


def test_log_format_json_writes_one_object_per_line_with_extra_fields() -> None:
    code = """
import logging
from bot.cli import setup_logging
setup_logging()
logging.getLogger("bot.core.cases").info("signal claimed", extra={"reference": "BRE-2026-0007"})
logging.getLogger("signaalbot").warning("plain %s", "args")
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "LOG_FORMAT": "json"})
    lines = [json.loads(line) for line in out.stderr.splitlines()]
    assert [(x["level"], x["logger"], x["message"]) for x in lines] == [
        ("INFO", "bot.core.cases", "signal claimed"), ("WARNING", "signaalbot", "plain args")]
    assert lines[0]["reference"] == "BRE-2026-0007" and "time" in lines[0]


def test_log_format_text_is_the_default() -> None:
    code = "import logging\nfrom bot.cli import setup_logging\nsetup_logging()\nlogging.getLogger('x').info('hi')"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin"})
    assert out.stderr.rstrip().endswith("INFO x: hi")
