"""What an IT department configures and reads (issue 18): secrets from mounted files, JSON logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import ConfigError, load_settings
from tests.test_work_process import served as served  # the fixture: `signaalbot run` as a user runs it

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


# --- health and metrics in every mode --------------------------------------------------------------

def _get(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _sample(text: str, name: str, **labels: str) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_http_mode_serves_livez_readyz_and_metrics_of_both_processes(served) -> None:  # noqa: F811
    from tests.helpers import report

    base = served.driver.bot_url.removesuffix("/slack/events")
    assert _get(f"{base}/livez") == (200, '{"ok":true}')
    status, body = _get(f"{base}/readyz")
    assert status == 200 and json.loads(body)["schema"] == "current"
    assert _get(f"{base}/healthz")[0] == 200

    reference = report(served)
    status, text = _get(f"{base}/metrics")
    assert status == 200
    assert _sample(text, "signaalbot_requests_total", kind="command", status="200") >= 1
    assert _sample(text, "signaalbot_requests_total", kind="interaction", status="200") >= 1
    assert _sample(text, "signaalbot_ack_seconds_count", kind="command") >= 1
    # Delivered by the work process, shown by the front: one /metrics for both processes.
    assert _sample(text, "signaalbot_outbox_deliveries_total", result="sent") >= 2
    assert _sample(text, "signaalbot_signals", state="new") == 1
    assert _sample(text, "signaalbot_outbox_failed") == 0 and _sample(text, "signaalbot_database_up") == 1
    # No label carries a person or a case.
    assert reference not in text and "U0REP" not in text and "U0AF" not in text


def test_readyz_is_503_while_the_schema_is_behind_this_version_and_livez_stays_200(running) -> None:
    from sqlalchemy import text as sql

    base = running.server.url
    assert _get(f"{base}/readyz")[0] == 200
    with running.core.engine.begin() as conn:
        conn.execute(sql("DELETE FROM alembic_version"))
    status, body = _get(f"{base}/readyz")
    assert status == 503 and json.loads(body)["schema"] == "behind" and "db upgrade" in json.loads(body)["reason"]
    assert _get(f"{base}/healthz")[0] == 503
    assert _get(f"{base}/livez")[0] == 200
    with running.core.engine.begin() as conn:
        conn.execute(sql("INSERT INTO alembic_version (version_num) VALUES ('ffffffffffff')"))
    status, body = _get(f"{base}/readyz")  # a newer version migrated it (a rolling upgrade): still ready
    assert status == 200 and json.loads(body)["schema"] == "newer"


def test_socket_mode_serves_the_probes_and_metrics_on_the_health_port(database_url, fake, tmp_path) -> None:
    import os
    import signal

    from bot.sandbox.socket_mode import SocketModeServer
    from tests.conftest import TOKEN
    from tests.test_work_process import _free_port, _healthy, _wait

    socket = SocketModeServer(fake).start()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SIGNAAL_", "DATABASE_URL"))}
    env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN="xapp-test", SLACK_API_URL=fake.base_url,
               DATABASE_URL=database_url, SIGNAAL_DATA_KEY=Fernet.generate_key().decode(),
               SIGNAAL_DATA_DIR=str(tmp_path), HOST="127.0.0.1", HEALTH_PORT=str(port), SCHEDULER_ENABLED="false")
    log = tmp_path / "bot.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        _wait(lambda: _healthy(f"http://127.0.0.1:{port}/readyz") or proc.poll() is not None, 60, "start")
        assert proc.poll() is None, log.read_text()
        socket.wait_connected()
        assert _get(f"http://127.0.0.1:{port}/livez")[0] == 200
        status, text = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and _sample(text, "signaalbot_database_up") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        socket.stop()
    assert proc.returncode == 0, log.read_text()


def test_the_command_line_loads_no_metrics_before_run_chooses_their_mode() -> None:
    """`run` puts prometheus-client in multiprocess mode before it is imported (bot.cli.metrics_folder):
    a command module that imports it at the top (through bot.core.outbox) would leave the work process's
    counters out of /metrics. A fresh interpreter, as `signaalbot` starts."""
    import subprocess
    import sys

    code = "import sys; from bot import cli; cli.build_parser(); print('prometheus_client' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
