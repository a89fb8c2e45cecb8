"""The command line as an administrator uses it: clear one-line errors (exit 2), whole-file
validation of the network, and the run-due job runner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.cli import main
from bot.config import ConfigError, load_settings

GOOD = Path(__file__).parent / "data" / "network.yaml"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Path:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "PORT",
                 "BOT_TIMEZONE", "BOT_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SIGNAAL_DATA_KEY", Fernet.generate_key().decode())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_invalid_settings_are_one_clear_line_each() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"SLACK_BOT_TOKEN": "xoxp-wrong", "PORT": "eighty", "BOT_TIMEZONE": "Mars/Olympus",
                       "BOT_LANGUAGE": "fr", "DATABASE_URL": "mysql://x"}, dotenv=False)
    problems = err.value.problems
    assert len(problems) == 6
    assert any("SLACK_BOT_TOKEN" in p for p in problems) and any("PORT" in p for p in problems)
    assert all("\n" not in p for p in problems)


def test_run_without_tokens_says_what_to_configure(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN" in err and "sandbox" in err
    assert "Traceback" not in err


def test_bad_settings_exit_2_without_traceback(env: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PORT", "-1")
    assert main(["db", "upgrade"]) == 2
    assert "PORT" in capsys.readouterr().err


def test_db_upgrade_and_network_import_and_show(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["network", "import", str(GOOD)]) == 0
    assert main(["network", "show"]) == 0
    out = capsys.readouterr().out
    assert "Breda: AF U0AF000001" in out and "C0AFCASES1" in out
    assert "Etten-Leur" in out and "(DM to the AF)" in out
    assert "partner nla" in out and "(outside Slack)" in out


def test_network_show_lists_people_the_bot_cannot_reach(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sqlmodel import Session

    from bot.core import reach
    from bot.runtime import open_database

    absent = "0b5e1c2a-8888-4a4a-9b9b-000000000008"
    path = env / "net.yaml"
    path.write_text(f"municipalities:\n  - name: Zundert\n    aandachtsfunctionarissen: [teams:{absent}]\n")
    assert main(["db", "upgrade"]) == 0 and main(["network", "import", str(path)]) == 0
    assert main(["network", "show"]) == 0
    assert "unreachable" not in capsys.readouterr().out
    with Session(open_database(load_settings())) as session:
        reach.mark_unreachable(session, f"teams:{absent}", "teams", datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
        session.commit()
    assert main(["network", "show"]) == 0
    out = capsys.readouterr().out
    assert "unreachable (1)" in out and f"teams:{absent} in teams since 2026-12-01 09:00" in out


@pytest.mark.parametrize(("text", "expected"), [
    ("municipalities:\n  - name: Breda\n    aandachtsfunctionarissen: [U0AF000001]\n    colour: red\n",
     "unknown key 'colour'"),
    ("municipalities:\n  - name: Breda\n    backup: [U0AF000002]\n", "has no aandachtsfunctionaris"),
    ("municipalities:\n  - name: Breda\n    aandachtsfunctionarissen: [U0AF000001]\n"
     "  - name: Zundert\n    aandachtsfunctionarissen: [U0AF000001]\n", "already aandachtsfunctionaris of Breda"),
    ("municipalities:\n  - name: Breda\n    aandachtsfunctionarissen: [U0AF000001]\n    channel: '#cases'\n",
     "must be a channel id"),
    ("municipalities: []\nextra: 1\n", "unknown key 'extra'"),
])
def test_a_bad_network_file_imports_nothing(env: Path, capsys, text: str, expected: str) -> None:
    assert main(["network", "import", str(GOOD)]) == 0
    bad = env / "bad.yaml"
    bad.write_text(text)
    assert main(["network", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Nothing was imported" in err
    assert main(["network", "show"]) == 0
    assert "Etten-Leur" in capsys.readouterr().out  # the earlier import is untouched


def test_email_addresses_are_resolved_in_slack(env: Path, monkeypatch, capsys, fake) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_API_URL", fake.base_url)
    path = env / "net.yaml"
    path.write_text("municipalities:\n  - name: Breda\n    aandachtsfunctionarissen: [anna@breda.example]\n"
                    "    backup: [nobody@breda.example]\n")
    assert main(["network", "import", str(path)]) == 2
    assert "no Slack user found with e-mail address nobody@breda.example" in capsys.readouterr().err
    path.write_text("municipalities:\n  - name: Breda\n    aandachtsfunctionarissen: [anna@breda.example]\n")
    assert main(["network", "import", str(path)]) == 0
    assert main(["network", "show"]) == 0
    assert "U0AF000001" in capsys.readouterr().out


def test_jobs_run_due_delivers_the_outbox_and_says_so(env: Path, capsys, fake, monkeypatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_API_URL", fake.base_url)
    assert main(["network", "import", str(GOOD)]) == 0
    from bot.core import triage
    from bot.runtime import build_bot

    bot = build_bot(load_settings(), token_verification=False)
    triage.start(bot.core, "U0REP00001")
    capsys.readouterr()
    # A moment just after now (not a fixed date: what triage.start queued is due from now on).
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat(timespec="seconds")
    assert main(["jobs", "run-due", "--at", soon]) == 0
    out = capsys.readouterr().out
    assert "outbox: sent post reporter_root" in out and "outbox: sent post question" in out
    assert main(["jobs", "run-due"]) == 0
    assert "Nothing was due." in capsys.readouterr().out
    assert main(["jobs", "run-due", "--at", "next tuesday"]) == 2


def test_healthz_answers_when_the_database_does(running) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{running.server.url}/healthz") as resp:
        assert resp.status == 200
