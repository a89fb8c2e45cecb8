"""The bot's certificate credential (TEAMS_APP_CERTIFICATE_FILE): a PEM file with the private key and
the certificate uploaded to the app registration in Entra. Read and checked here (the settings refuse a
file that will not work, naming why); msal signs the client assertion with it (bot/teams/auth.py). The
key may be encrypted with a passphrase (TEAMS_APP_CERTIFICATE_PASSPHRASE): it is decrypted here, in
memory only, and never named in a message.

Only `cryptography`: the settings use this without loading the Teams SDK."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


class CertificateError(ValueError):
    """The file is no usable certificate credential; the message says why, in a few words."""


@dataclass(frozen=True)
class AppCertificate:
    private_key_pem: str = field(repr=False)
    certificate_pem: str
    thumbprint: str  # SHA-1, hex: how Entra lists the certificates uploaded to an app registration
    not_after: datetime


def parse(pem: bytes, *, passphrase: str | None = None, now: datetime | None = None) -> AppCertificate:
    """The private key and the certificate it belongs to, from one PEM file (the key first or last;
    further certificates in the file, a chain, are ignored). `passphrase`: the key's, when it is
    encrypted (and only then)."""
    key = _private_key(pem, passphrase)
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise CertificateError("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError("its private key is not an RSA key (Entra takes RSA certificates)")
    mine = [c for c in certificates if c.public_key().public_numbers() == key.public_key().public_numbers()]
    if not mine:
        raise CertificateError("its certificate does not belong to its private key")
    certificate = mine[0]
    at = now or datetime.now(UTC)
    if certificate.not_valid_after_utc <= at:
        raise CertificateError(f"its certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}; upload a new "
                               "one to the app registration and put it in this file")
    if certificate.not_valid_before_utc > at:
        starts = certificate.not_valid_before_utc
        raise CertificateError(f"its certificate is valid only from {starts:%Y-%m-%d %H:%M} UTC")
    return AppCertificate(
        private_key_pem=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode("ascii"),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        thumbprint=certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - a name, not a check
        not_after=certificate.not_valid_after_utc,
    )


def _private_key(pem: bytes, passphrase: str | None) -> PrivateKeyTypes:
    """The file's private key, decrypted with `passphrase` when it is encrypted. cryptography tells
    which by its exception: TypeError when the key is encrypted (or a passphrase is given for a key that
    is not), ValueError for a wrong passphrase or no key at all. The messages never hold the passphrase."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:  # the key is encrypted
        pass
    except ValueError as exc:
        raise CertificateError("it holds no PEM private key (-----BEGIN PRIVATE KEY-----)") from exc
    else:
        if passphrase:
            raise CertificateError("its private key is not encrypted, yet TEAMS_APP_CERTIFICATE_PASSPHRASE is set; "
                                   "remove the passphrase setting, or use the file with the encrypted key")
        return key
    if not passphrase:
        raise CertificateError("its private key is encrypted and TEAMS_APP_CERTIFICATE_PASSPHRASE is not set; "
                               "set it (or TEAMS_APP_CERTIFICATE_PASSPHRASE_FILE) to the key's passphrase")
    try:
        return serialization.load_pem_private_key(pem, password=passphrase.encode("utf-8"))
    except (TypeError, ValueError):
        # `from None`: nothing of what the decryption said is kept with the error.
        raise CertificateError("its private key cannot be decrypted with TEAMS_APP_CERTIFICATE_PASSPHRASE (a "
                               "wrong passphrase?); set the passphrase the key was encrypted with") from None
