"""Possibly related signals and the links between them (beleidsstuk: "puzzelstukjes").

Matching: `flows.related.tokens` normalises a signal's location (and description) into tokens (address, postcode,
business); each token is stored only as HMAC-SHA256 with a key derived from the primary
SIGNAAL_DATA_KEY (HKDF, `models.crypto.derived_key`). The database holds no address in the clear and
cannot be searched for one without the key; two signals match when they share a digest made with
the same key (`key_id`).

Key rotation: the derived key follows the primary data key, so `signaalbot keys rotate` recomputes
every digest from the (decrypted) location (`reindex_all`); rows of another key are never compared
(a half-done rotation finds fewer matches, never wrong ones).

Who sees what: matches and links are kept to one municipality (its AF and vervanger see both cases;
across municipalities only the ketenregisseur works, on aggregates). A linked card shows the other's
reference, date and state, nothing of its content. A link goes with the purge of either side (`forget`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from bot.core import outbox
from flows.related import MatchKind, tokens
from models import MessageRef, Signal, crypto
from models.related import SignalLink, SignalToken

PURPOSE = "signaalbot related-signals v1"
# States of a signal that can be related: sent ones (a draft or a cancelled one is nobody's case).
CASE_STATES = ("new", "in_progress", "closed")


@dataclass(frozen=True)
class Related:
    """Another signal as a linked or matching card may show it: reference, date, state — no content."""

    signal_id: int
    reference: str
    reported_at: datetime
    status: str
    kinds: tuple[MatchKind, ...]  # what they share (empty: linked by hand without a match)
    linked: bool


def _key() -> tuple[bytes, str]:
    key = crypto.derived_key(PURPOSE)
    return key, hashlib.sha256(key).hexdigest()[:12]


def digests(*texts: str | None) -> dict[str, MatchKind]:
    """The keyed digests of the tokens in these texts (location, description), with their kinds
    (nothing stored here)."""
    key, _ = _key()
    found = frozenset().union(*(tokens(t) for t in texts))
    return {hmac.new(key, t.material().encode("utf-8"), hashlib.sha256).hexdigest(): t.kind for t in found}


def index(session: Session, signal: Signal) -> int:
    """(Re)compute a sent signal's digests from its location and description (an address or a business
    named in the story counts too), in the caller's transaction."""
    if signal.id is None:
        return 0
    session.execute(delete(SignalToken).where(col(SignalToken.signal_id) == signal.id))
    if signal.purged_at is not None or signal.status not in CASE_STATES:
        return 0
    _, key_id = _key()
    found = digests(signal.location, signal.description)
    for digest, kind in found.items():
        session.add(SignalToken(signal_id=signal.id, kind=kind.value, digest=digest, key_id=key_id))
    session.flush()
    return len(found)


def index_and_tell(session: Session, signal: Signal, now: datetime) -> None:
    """`index`, then update the cards of the signals it matches (of its municipality): their AF sees
    "possibly related" there too, not only on the newest card."""
    index(session, signal)
    _update_cards(session, {r.signal_id for r in related(session, signal)}, now)


def _update_cards(session: Session, signal_ids: Iterable[int], now: datetime) -> None:
    for sid in signal_ids:
        for card in session.exec(select(MessageRef).where(MessageRef.signal_id == sid,
                                                          MessageRef.kind == "case_card")).all():
            outbox.update(session, card, now=now)


def reindex_all(session: Session) -> int:
    """Every sent signal's digests again, with the current key (after a key rotation)."""
    done = 0
    for signal in session.exec(select(Signal).where(col(Signal.status).in_(CASE_STATES),
                                                    col(Signal.purged_at).is_(None))).all():
        index(session, signal)
        done += 1
    return done


def forget(session: Session, signal_id: int, now: datetime) -> None:
    """The purge of a signal: its digests and every link it is part of go; the linked cards follow."""
    _update_cards(session, linked_ids(session, signal_id), now)
    session.execute(delete(SignalToken).where(col(SignalToken.signal_id) == signal_id))
    session.execute(delete(SignalLink).where(or_(col(SignalLink.signal_id) == signal_id,
                                                 col(SignalLink.other_id) == signal_id)))


def linked_ids(session: Session, signal_id: int) -> set[int]:
    rows = session.exec(select(SignalLink).where(or_(col(SignalLink.signal_id) == signal_id,
                                                     col(SignalLink.other_id) == signal_id))).all()
    return {r.other_id if r.signal_id == signal_id else r.signal_id for r in rows}


def _matches(session: Session, signal: Signal) -> dict[int, set[MatchKind]]:
    _, key_id = _key()
    mine = session.exec(select(SignalToken.digest).where(SignalToken.signal_id == signal.id,
                                                         SignalToken.key_id == key_id)).all()
    if not mine:
        return {}
    out: dict[int, set[MatchKind]] = defaultdict(set)
    for other, kind in session.exec(select(SignalToken.signal_id, SignalToken.kind).where(
            col(SignalToken.digest).in_(list(mine)), SignalToken.key_id == key_id,
            SignalToken.signal_id != signal.id)).all():
        out[other].add(MatchKind(kind))
    return out


def related(session: Session, signal: Signal) -> list[Related]:
    """Linked signals and possibly related ones (same municipality, sent, not purged), newest first."""
    if signal.id is None:
        return []
    matches = _matches(session, signal)
    linked = linked_ids(session, signal.id)
    ids = set(matches) | linked
    if not ids:
        return []
    others = session.exec(select(Signal).where(col(Signal.id).in_(ids), col(Signal.purged_at).is_(None),
                                               col(Signal.status).in_(CASE_STATES),
                                               Signal.municipality_id == signal.municipality_id)).all()
    order = (MatchKind.ADDRESS, MatchKind.BUSINESS, MatchKind.POSTCODE)
    out = [Related(o.id or 0, o.reference, o.submitted_at or o.created_at, o.status,
                   tuple(k for k in order if k in matches.get(o.id or 0, set())), (o.id or 0) in linked)
           for o in others]
    return sorted(out, key=lambda r: (r.reported_at, r.signal_id), reverse=True)


def count(session: Session, signal: Signal) -> int:
    return len(related(session, signal))


def link_pairs(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def add_link(session: Session, a: int, b: int, user: str, now: datetime) -> bool:
    low, high = link_pairs(a, b)
    exists = session.exec(select(SignalLink).where(SignalLink.signal_id == low, SignalLink.other_id == high)).first()
    if exists is not None:
        return False
    session.add(SignalLink(signal_id=low, other_id=high, linked_by=user, linked_at=now))
    session.flush()
    return True


def remove_link(session: Session, a: int, b: int) -> bool:
    low, high = link_pairs(a, b)
    gone = session.execute(delete(SignalLink).where(col(SignalLink.signal_id) == low,
                                                    col(SignalLink.other_id) == high))
    return bool(gone.rowcount)  # type: ignore[attr-defined]


def ids_of(values: Iterable[str | int]) -> list[int]:
    out = []
    for v in values:
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            continue
    return list(dict.fromkeys(out))
