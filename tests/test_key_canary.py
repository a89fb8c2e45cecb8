"""A wrong SIGNAAL_DATA_KEY refuses to start: the canary written at the first start must decrypt,
or every command exits 2 with one line naming the key's fingerprint, and nothing is written."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import Text, func, select, type_coerce
from sqlmodel import Session, SQLModel

from bot.config import Settings
from bot.runtime import open_database
from models import crypto
from models.keycheck import KeyCanary
from tests.privacy_support import run_cli


def _rows(engine) -> dict[str, int]:  # noqa: ANN001
    with Session(engine) as session:
        return {t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
                for t in SQLModel.metadata.sorted_tables}


def _canary(engine) -> tuple[str, str]:  # noqa: ANN001
    with Session(engine) as session:
        table = KeyCanary.__table__
        return tuple(session.execute(select(type_coerce(table.c.canary, Text), table.c.fingerprint)).one())


def test_a_different_valid_key_refuses_to_start_and_writes_nothing(running, settings: Settings, monkeypatch,
                                                                     capsys) -> None:
    from bot.cli import main
    from tests.helpers import case_card, report

    case_card(running, report(running))
    running.bot.worker.drain()
    engine = running.core.engine
    before, canary = _rows(engine), _canary(engine)
    wrong = Fernet.generate_key().decode()
    try:
        for argv in (["db", "upgrade"], ["run"], ["purge"], ["jobs", "run-due"]):
            for name, value in {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
                                "SLACK_API_URL": running.fake.base_url, "DATABASE_URL": settings.database_url,
                                "SIGNAAL_DATA_KEY": wrong, "SIGNAAL_WORK_PROCESS": "false", "PORT": "0"}.items():
                monkeypatch.setenv(name, value)
            capsys.readouterr()
            code = main(argv)
            captured = capsys.readouterr()
            out = captured.out + captured.err
            assert code == 2, (argv, out)
            lines = out.strip().splitlines()
            assert len(lines) == 1, lines
            assert lines[0].startswith("signaalbot: SIGNAAL_DATA_KEY does not decrypt the stored data; first key "
                                       f"fingerprint {crypto.fingerprint(wrong)}")
            assert f"the data needs the key with fingerprint {crypto.fingerprint(settings.data_key)}" in lines[0]
            assert wrong not in out
    finally:
        crypto.configure(settings.data_key or "")
    assert _rows(engine) == before
    assert _canary(engine) == canary


def test_the_first_start_writes_the_canary_and_the_right_key_starts_again(settings: Settings) -> None:
    engine = open_database(settings)
    try:
        token, fingerprint = _canary(engine)
        assert token.startswith("gAAAA") and fingerprint == crypto.fingerprint(settings.data_key)
        open_database(settings).dispose()  # the same key: fine, and nothing changes
        assert _canary(engine) == (token, fingerprint)
    finally:
        engine.dispose()


def test_after_rotation_the_new_key_alone_starts(settings: Settings, monkeypatch, capsys) -> None:
    old, new = settings.data_key or "", Fernet.generate_key().decode()
    open_database(settings).dispose()
    try:
        code, out = run_cli(monkeypatch, capsys, settings.with_(data_key=f"{new},{old}"), "keys", "rotate")
        assert code == 0, out
        engine = open_database(settings.with_(data_key=new))
        assert _canary(engine)[1] == crypto.fingerprint(new)
        engine.dispose()
        code, out = run_cli(monkeypatch, capsys, settings.with_(data_key=old), "db", "upgrade")
        assert code == 2 and f"needs the key with fingerprint {crypto.fingerprint(new)}" in out
    finally:
        crypto.configure(old)


def test_a_database_from_before_the_canary_is_checked_against_its_stored_text(settings: Settings, monkeypatch,
                                                                               capsys) -> None:
    from models import Signal
    from models.db import session_scope

    engine = open_database(settings)
    with session_scope(engine) as session:
        session.add(Signal(reference="S-2027-0001", questionnaire_version="t", description="Geheime tekst"))
        session.execute(KeyCanary.__table__.delete())  # as an older version left it: no canary
    try:
        code, out = run_cli(monkeypatch, capsys, settings.with_(data_key=Fernet.generate_key().decode()),
                            "db", "upgrade")
        assert code == 2 and "does not decrypt the stored data" in out
        with Session(engine) as session:
            assert session.execute(select(func.count()).select_from(KeyCanary.__table__)).scalar_one() == 0
    finally:
        crypto.configure(settings.data_key or "")
    open_database(settings).dispose()  # the right key: the canary is written now
    assert _canary(engine)[1] == crypto.fingerprint(settings.data_key)
    engine.dispose()
