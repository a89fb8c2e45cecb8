"""The key canary: a known text encrypted with the data key at first start, so that every later
start can tell whether SIGNAAL_DATA_KEY still decrypts what is stored before anything is written.

As an EncryptedText column it is re-encrypted by `signaalbot keys rotate` like every other value."""

from __future__ import annotations

from sqlalchemy import Text, select, type_coerce, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from models import crypto
from models.base import EncryptedText

CANARY_TEXT = "signaalbot key canary"


class KeyCanary(SQLModel, table=True):
    id: int = Field(default=1, primary_key=True)
    canary: str = Field(sa_type=EncryptedText)
    # The fingerprint of the first key when the canary was written or last found readable by it:
    # tells an operator which key the data needs, never the key itself.
    fingerprint: str = Field(max_length=16)


_RAW = KeyCanary.__table__  # type: ignore[attr-defined]
# The stored token as it is (a plain SELECT would decrypt it, and fail on a wrong key).
_READ = select(_RAW.c.fingerprint, type_coerce(_RAW.c.canary, Text).label("canary")).where(_RAW.c.id == 1)


def check_key(engine: Engine) -> None:
    """Refuse (models.crypto.KeyError_, one line) a data key that does not decrypt the stored data,
    before anything is written with it. At the first start with this table the canary is written;
    a database that already holds encrypted text (made before the canary existed) must decrypt first."""
    with Session(engine) as session:
        row = session.execute(_READ).first()
        if row is None:
            sample = _an_encrypted_value(session)
            if sample is not None and not _decrypts(sample):
                raise crypto.KeyError_(_refusal(None))
            try:
                session.add(KeyCanary(canary=CANARY_TEXT, fingerprint=crypto.fingerprint()))
                session.commit()
            except IntegrityError:  # another process started at the same moment and wrote it
                session.rollback()
                row = session.execute(_READ).first()
        if row is None:
            return
        if not _decrypts(row.canary):
            raise crypto.KeyError_(_refusal(row.fingerprint))
        if row.fingerprint != crypto.fingerprint() and crypto.primary_decrypts(row.canary):
            # Rotated (`keys rotate`): the first key is now the one the data needs.
            session.execute(update(_RAW).where(_RAW.c.id == 1).values(fingerprint=crypto.fingerprint()))
            session.commit()


def _decrypts(token: str) -> bool:
    try:
        return bool(crypto.decrypt(token))
    except crypto.KeyError_:
        return False


def _an_encrypted_value(session: Session) -> str | None:
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText) and table is not _RAW:
                value = session.execute(select(type_coerce(column, Text)).where(column.is_not(None)).limit(1)).scalar()
                if value:
                    return value
    return None


def _refusal(needed: str | None) -> str:
    return ("SIGNAAL_DATA_KEY does not decrypt the stored data; first key fingerprint "
            f"{crypto.fingerprint()}" + (f", the data needs the key with fingerprint {needed}" if needed else "")
            + ". Start with the key the data was written with (to change keys: SIGNAAL_DATA_KEY=NEW,OLD, "
            "then `signaalbot keys rotate`).")
