"""Encryption at rest: a signal's text is unreadable in the database without the key; the SQLite
pilot's key file is private; `signaalbot keys rotate` moves everything to a new key."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlmodel import Session, select

from bot.commands.keys import rotate_all, unreadable_with
from bot.config import Settings
from bot.runtime import configure_encryption
from models import AuditEntry, Signal, crypto
from tests.helpers import REPORTER, case_card, report, root_message, thread_texts
from tests.privacy_support import FREE_TEXT_BITS, run_cli, signal


def _reported(r) -> str:  # noqa: ANN001
    reference = report(r)
    case_card(r, reference)
    root = root_message(r, REPORTER)
    r.fake.wait_for(lambda: "is verstuurd" in thread_texts(r, root))
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0)
    return reference


def test_a_signals_text_cannot_be_read_from_the_database_without_the_key(running, settings: Settings) -> None:
    r = running
    reference = _reported(r)
    url = settings.database_url
    if url.startswith("sqlite"):
        db = Path(url.split("///", 1)[1])
        raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
        for bit in FREE_TEXT_BITS:
            assert bit.encode() not in raw
        assert reference.encode() in raw  # the file is readable; only the free text is not
    with r.core.engine.connect() as conn:
        description, location = conn.execute(
            text("SELECT description, location FROM signal WHERE reference = :r"), {"r": reference}).one()
    assert description.startswith("gAAAA") and location.startswith("gAAAA")  # Fernet tokens
    assert not any(bit in description + location for bit in FREE_TEXT_BITS)

    crypto.configure(Fernet.generate_key().decode())  # somebody with the wrong key
    try:
        with pytest.raises(crypto.KeyError_), Session(r.core.engine) as session:
            session.exec(select(Signal).where(Signal.reference == reference)).one()
    finally:
        crypto.configure(settings.data_key or "")
    assert signal(r.core.engine, reference).description.startswith("Twee mannen")


def test_without_a_key_the_sqlite_pilot_creates_a_private_key_file_and_warns(tmp_path: Path, caplog) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path, data_key=None)
    with caplog.at_level(logging.WARNING):
        configure_encryption(settings)
    key_file = tmp_path / "signaal.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "SIGNAAL_DATA_KEY" in caplog.text and str(key_file) in caplog.text
    token = crypto.encrypt("geheim")
    caplog.clear()
    configure_encryption(settings)  # the next start reads the same key, quietly
    assert crypto.decrypt(token) == "geheim"
    assert caplog.text == ""


def test_postgresql_refuses_to_start_without_a_key() -> None:
    with pytest.raises(crypto.KeyError_):
        configure_encryption(Settings(database_url="postgresql+psycopg://x@localhost/y", data_key=None))


def test_key_rotation_leaves_every_text_readable_with_the_new_key_only(running, settings: Settings, monkeypatch,
                                                                       capsys) -> None:
    r = running
    reference = _reported(r)
    r.bot.worker.stop()  # nothing reads the database while the key changes
    old, new = settings.data_key or "", Fernet.generate_key().decode()
    code, out = run_cli(monkeypatch, capsys, settings.with_(data_key=f"{new},{old}"), "keys", "rotate")
    assert code == 0, out
    assert "Re-encrypted" in out and "signal" in out
    assert unreadable_with(r.core.engine, new) == 0
    assert unreadable_with(r.core.engine, old) > 0  # the old key alone no longer reads anything
    crypto.configure(new)
    try:
        stored = signal(r.core.engine, reference)
        assert stored.description.startswith("Twee mannen") and stored.location == "Restaurant aan de Haven"
        with Session(r.core.engine) as session:
            assert session.exec(select(AuditEntry).where(AuditEntry.action == "keys.rotated")).first() is not None
    finally:
        crypto.configure(old)


def test_rotation_with_a_single_key_is_refused_with_advice(running, settings: Settings, monkeypatch, capsys) -> None:
    code, out = run_cli(monkeypatch, capsys, settings, "keys", "rotate")
    assert code == 2
    assert "SIGNAAL_DATA_KEY=NEW,OLD" in out


def test_rotation_of_the_sqlite_key_file(tmp_path: Path, monkeypatch, capsys) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'signaalbot.db'}", data_dir=tmp_path, data_key=None)
    monkeypatch.delenv("SIGNAAL_DATA_KEY", raising=False)
    from bot.runtime import open_database
    from models.db import session_scope

    engine = open_database(settings)
    old = (tmp_path / "signaal.key").read_text().strip()
    with session_scope(engine) as session:
        session.add(Signal(reference="S-2027-0001", questionnaire_version="t", description="Geheime tekst"))
    code, out = run_cli(monkeypatch, capsys, settings, "keys", "rotate")
    assert code == 0, out
    new = (tmp_path / "signaal.key").read_text().strip()
    assert new != old and "," not in new
    assert stat.S_IMODE((tmp_path / "signaal.key").stat().st_mode) == 0o600
    assert unreadable_with(engine, new) == 0
    crypto.configure(new)
    assert signal(engine, "S-2027-0001").description == "Geheime tekst"
    assert rotate_all(engine)["signal"] == 1  # rotating again is harmless
    engine.dispose()


def test_a_region_questionnaire_with_a_text_question_it_cannot_encrypt_is_refused(tmp_path: Path,
                                                                                  settings: Settings) -> None:
    """Free text is stored only in the signal's encrypted columns: a region's own text question under
    another key would keep its answers readable in the database, so the bot refuses to load it."""
    import yaml

    from bot.runtime import load_questionnaire
    from flows.questionnaire import DEFAULT_PATH, QuestionnaireError

    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["questions"].append({"key": "employer", "type": "text", "max_length": 200,
                              "prompt": "Who is the employer?"})
    region = tmp_path / "region"
    region.mkdir()
    (region / "questionnaire.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(QuestionnaireError, match="employer.*encrypted"):
        load_questionnaire(settings.with_(region_dir=region))
    # The same file without it loads; description and location stay text questions.
    data["questions"].pop()
    (region / "questionnaire.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    loaded = load_questionnaire(settings.with_(region_dir=region))
    assert {q.key for q in loaded.questions if q.type == "text"} == {"description", "location"}
