"""Helpers for the privacy tests: the CLI as an operator runs it, and reading the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from bot.cli import main
from bot.config import Settings
from models import Signal

DESCRIPTION_BITS = ("Twee mannen", "keuken van het restaurant", "7 dagen per week")
LOCATION_BITS = ("Restaurant aan de Haven",)
FREE_TEXT_BITS = DESCRIPTION_BITS + LOCATION_BITS


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings,
            *argv: str) -> tuple[int, str]:
    """`signaalbot …` against the test database, with the same data key as the bot."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SIGNAAL_REGION_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    if settings.data_key:
        monkeypatch.setenv("SIGNAAL_DATA_KEY", settings.data_key)
    monkeypatch.setenv("SIGNAAL_DATA_DIR", str(settings.data_dir))
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def signal(engine: Any, reference: str) -> Signal:
    with Session(engine) as session:
        return session.exec(select(Signal).where(Signal.reference == reference)).one()


def everything_in_slack(fake: Any, *channels: str) -> str:
    """Every message text and block the bot left in these channels (threads included)."""
    out = []
    for channel in channels:
        for msg in fake.messages_in(channel):
            out.append(msg.get("text") or "")
            out.append(str(msg.get("blocks") or ""))
    return "\n".join(out)
