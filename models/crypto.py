"""Encryption at rest of free text (Fernet / MultiFernet from `cryptography`).

The key comes from SIGNAAL_DATA_KEY (one key, or several comma-separated: the first encrypts, all
decrypt, so keys can be rotated). Without it a key file is created next to the SQLite database
with mode 0600, and a warning is logged: fine for a pilot, not for production.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)

_keyring: MultiFernet | None = None
_primary: Fernet | None = None
_primary_key: str | None = None


class KeyError_(RuntimeError):
    """The data key is missing or wrong."""


def parse_keys(value: str) -> list[Fernet]:
    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise KeyError_("SIGNAAL_DATA_KEY is empty.")
    try:
        return [Fernet(k.encode()) for k in keys]
    except (ValueError, TypeError) as exc:
        raise KeyError_(
            "SIGNAAL_DATA_KEY is not a valid Fernet key (32 url-safe base64 bytes; "
            "make one with `signaalbot keys generate`)."
        ) from exc


def load_or_create_key_file(path: Path) -> str:
    if path.exists():
        if not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) != 0o600:
            os.chmod(path, 0o600)
            log.warning("Made the data key file %s readable by its owner only (mode 0600).", path)
        return path.read_text().strip()
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    log.warning(
        "No SIGNAAL_DATA_KEY set: created a data key file at %s (mode 0600). "
        "Back it up; without it the stored signals cannot be read. In production set SIGNAAL_DATA_KEY.",
        path,
    )
    return key


def configure(keys: str) -> None:
    global _keyring, _primary, _primary_key
    fernets = parse_keys(keys)
    _primary = fernets[0]
    _primary_key = next(part.strip() for part in keys.split(",") if part.strip())
    _keyring = MultiFernet(fernets)


def fingerprint(key: str | None = None) -> str:
    """A short, non-reversible name of a key (the first key of `key`, or of the configured keys):
    the first 8 hex digits of its SHA-256. Safe to print and log."""
    if key is None:
        if _primary_key is None:
            raise KeyError_("Encryption is not configured (call models.crypto.configure first).")
        key = _primary_key
    first = next(part.strip() for part in key.split(",") if part.strip())
    return hashlib.sha256(first.encode("ascii")).hexdigest()[:8]


def derived_key(purpose: str) -> bytes:
    """A 32-byte key for one purpose (e.g. the related-signals HMAC), derived from the primary data
    key with HKDF-SHA256; never the data key itself. Rotating the data key changes it: whoever
    stores values made with it recomputes them (`signaalbot keys rotate` does)."""
    if _primary_key is None:
        raise KeyError_("Encryption is not configured (call models.crypto.configure first).")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"signaalbot", info=purpose.encode("ascii")).derive(
        base64.urlsafe_b64decode(_primary_key))


def primary_decrypts(token: str) -> bool:
    try:
        _primary.decrypt(token.encode("ascii"))  # type: ignore[union-attr]
        return True
    except (InvalidToken, AttributeError):
        return False


def is_configured() -> bool:
    return _keyring is not None


def _ring() -> MultiFernet:
    if _keyring is None:
        raise KeyError_("Encryption is not configured (call models.crypto.configure first).")
    return _keyring


def encrypt(text: str) -> str:
    return _ring().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _ring().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise KeyError_("Stored text cannot be decrypted with the configured SIGNAAL_DATA_KEY.") from exc


def rotate(token: str) -> str:
    """Re-encrypt a token with the primary key."""
    return _ring().rotate(token.encode("ascii")).decode("ascii")
