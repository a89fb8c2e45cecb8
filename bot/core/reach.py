"""People the bot cannot reach on their platform: in Teams, a person who never wrote to the bot gets
a message only when the app is installed for them (an admin's app setup policy); until then opening a
1:1 chat with them fails, and reminders, invitations and case cards do not arrive.

The edge records it (`mark_unreachable` when opening a conversation is refused, `mark_reachable` when
the person writes or a conversation opens); `signaalbot network show` lists them, and the sweep tells
the ketenregisseur once per person — in one message per run that found someone new, never again for
the same person unless they were reachable in between.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from bot.core import jobs, outbox, people
from bot.core.context import Core
from bot.core.jobs import sweep
from models import Identity, Person
from models.db import session_scope
from models.jobs import JobRun

REPORT_JOB = people.UNREACHABLE_REPORT
TEMPLATE = "unreachable_report"


@dataclass(frozen=True)
class Unreachable:
    user_id: str
    name: str | None
    platform: str
    since: datetime


def _identities(session: Session, user_id: str, platform: str) -> list[Identity]:
    return list(session.exec(select(Identity).join(Person, col(Identity.person_id) == Person.id).where(
        Person.user_id == user_id, Identity.platform == platform)).all())


def mark_unreachable(session: Session, user_id: str, platform: str, now: datetime) -> None:
    """The platform refused to open a conversation with this person (kept: since the first refusal)."""
    for identity in _identities(session, user_id, platform):
        if identity.unreachable_since is None:
            identity.unreachable_since = now
            session.add(identity)


def mark_reachable(session: Session, user_id: str, platform: str) -> None:
    """The person wrote to the bot, or a conversation with them opened: reachable again. Should they
    become unreachable later, the ketenregisseur hears of it again."""
    found = False
    for identity in _identities(session, user_id, platform):
        if identity.unreachable_since is not None:
            identity.unreachable_since = None
            session.add(identity)
            found = True
    if found:
        session.execute(delete(JobRun).where(col(JobRun.job) == REPORT_JOB,
                                             col(JobRun.period) == _period(platform, user_id)))


def unreachable(session: Session) -> list[Unreachable]:
    rows = session.exec(select(Person.user_id, Person.name, Identity.platform, Identity.unreachable_since)
                        .join(Person, col(Identity.person_id) == Person.id)
                        .where(col(Identity.unreachable_since).is_not(None))
                        .order_by(col(Identity.unreachable_since), col(Person.user_id))).all()
    seen: dict[tuple[str, str], Unreachable] = {}
    for user_id, name, platform, since in rows:
        assert since is not None
        seen.setdefault((user_id, platform), Unreachable(user_id, name, platform, since))
    return list(seen.values())


def describe(session: Session) -> list[str]:
    """`signaalbot network show`: who cannot be reached, where, and since when."""
    found = unreachable(session)
    if not found:
        return []
    lines = [f"unreachable ({len(found)}): the app is not installed for them, or opening a chat was refused"]
    for u in found:
        who = f"{u.user_id} ({u.name})" if u.name else u.user_id
        lines.append(f"  {who} in {u.platform} since {u.since:%Y-%m-%d %H:%M} UTC")
    return lines


_period = people.unreachable_period


@sweep("unreachable")
def report_sweep(core: Core, now: datetime) -> list[str]:
    """Tell the ketenregisseur(s) who became unreachable since the last run: one message, once per person."""
    with session_scope(core.engine) as session:
        recipients = people.regional(session, "ketenregisseur")
        if not recipients:
            return []  # kept until there is someone to tell (and listed by `network show` meanwhile)
        new = [u for u in unreachable(session)
               if jobs.claim(session, REPORT_JOB, _period(u.platform, u.user_id), now)]
        if not new:
            return []
        ref = {"people": [[u.platform, u.user_id] for u in new]}
        batch = hashlib.sha256("\n".join(f"{u.platform}:{u.user_id}" for u in new).encode()).hexdigest()[:16]
        for uid in recipients:
            outbox.post(session, template=TEMPLATE, kind=TEMPLATE, recipient=uid, ref=ref, contains_details=False,
                        dedupe_key=f"{TEMPLATE}:{uid}:{now:%Y%m%d%H%M%S}:{batch}", now=now,
                        priority=outbox.BACKGROUND)
    core.kick()
    return [f"{len(new)} unreachable people reported to the ketenregisseur"]
