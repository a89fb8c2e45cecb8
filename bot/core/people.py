"""People, their roles and what we remember of them (municipality, language)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.core import platforms
from flows.permissions import KETENREGISSEUR_PARTNER
from models import Identity, Municipality, Person, RoleAssignment
from models.base import column_values


def get_or_create(session: Session, user_id: str) -> Person:
    """The person with this person key, made when new (with the identity the key was made from,
    `platforms.identity_of_key`). Two first actions of a new user at once (the front and the work
    process, or two work threads) both find no row: the insert skips a row that the other one wrote
    meanwhile (ON CONFLICT DO NOTHING), so neither step fails on the unique key."""
    person = session.exec(select(Person).where(Person.user_id == user_id)).first()
    if person is None:
        made = session.execute(_insert(session, Person).values(column_values(Person, user_id=user_id))
                               .on_conflict_do_nothing(index_elements=["user_id"])
                               .returning(col(Person.id))).first()
        if made is not None:
            platform, external_id = platforms.identity_of_key(user_id)
            _add_identity(session, made[0], platform, "", external_id)
        person = session.exec(select(Person).where(Person.user_id == user_id)).one()
    return person


def resolve(session: Session, platform: str, tenant: str, external_id: str) -> str:
    """The person key of whom `platform` knows as `external_id` in `tenant` (a Slack team, an Entra
    tenant; '' when the edge does not know it): what an edge calls before it hands a person to the
    core. A person seen for the first time is made (`platforms.person_key`). An identity recorded
    without its tenant (from the network file, or made from a key) gets it now. A platform's ids are
    unique across its tenants (a Slack Enterprise Grid's user ids, Entra object ids), so the same id
    in a second tenant is the same person, with a second identity."""
    row = _identity(session, platform, tenant, external_id)
    if row is not None:
        identity, key = row
        if tenant and not identity.tenant:
            identity.tenant = tenant
            session.add(identity)
        return key
    person = get_or_create(session, platforms.person_key(platform, external_id))
    _add_identity(session, person.id or 0, platform, tenant, external_id)  # skipped when already there
    if tenant:
        session.execute(sa_delete(Identity).where(
            Identity.person_id == person.id, Identity.platform == platform,
            Identity.external_id == external_id, Identity.tenant == ""))
    return person.user_id


def known(session: Session, platform: str, tenant: str, external_id: str) -> str:
    """The person key `resolve` gives, without writing anything (for a check before an answer): a
    person seen for the first time gets the key `resolve` would make, and holds no role."""
    row = _identity(session, platform, tenant, external_id)
    return row[1] if row is not None else platforms.person_key(platform, external_id)


def _identity(session: Session, platform: str, tenant: str, external_id: str) -> tuple[Identity, str] | None:
    query = (select(Identity, Person.user_id).join(Person, col(Identity.person_id) == Person.id)
             .where(Identity.platform == platform, Identity.external_id == external_id))
    if tenant:
        query = query.where(col(Identity.tenant).in_([tenant, ""]))
    row = session.exec(query.order_by(col(Identity.tenant).desc())).first()
    return (row[0], row[1]) if row is not None else None


def identities_of(session: Session, user_id: str) -> list[Identity]:
    return list(session.exec(select(Identity).join(Person, col(Identity.person_id) == Person.id)
                             .where(Person.user_id == user_id).order_by(col(Identity.id))).all())


def _add_identity(session: Session, person_id: int, platform: str, tenant: str, external_id: str) -> None:
    session.execute(_insert(session, Identity).values(column_values(
        Identity, person_id=person_id, platform=platform, tenant=tenant, external_id=external_id))
        .on_conflict_do_nothing(index_elements=["platform", "external_id", "tenant"]))


def _insert(session: Session, model: type) -> Any:
    dialect = session.get_bind().dialect.name
    return (sqlite_insert if dialect == "sqlite" else postgresql_insert)(model)


def municipalities(session: Session) -> list[Municipality]:
    return list(session.exec(select(Municipality).order_by(col(Municipality.name))).all())


def roles_of(session: Session, user_id: str) -> list[RoleAssignment]:
    return list(session.exec(select(RoleAssignment).where(RoleAssignment.user_id == user_id)).all())


def handlers_of(session: Session, municipality_id: int, role: str = "af") -> list[str]:
    """User ids holding `role` (af / backup) for a municipality."""
    rows = session.exec(
        select(RoleAssignment.user_id).where(
            RoleAssignment.municipality_id == municipality_id, RoleAssignment.role == role
        ).order_by(col(RoleAssignment.id))
    ).all()
    return list(dict.fromkeys(rows))


def regional(session: Session, role: str = "ketenregisseur") -> list[str]:
    rows = session.exec(select(RoleAssignment.user_id).where(RoleAssignment.role == role)).all()
    return list(dict.fromkeys(rows))


def partner_members(session: Session, partner_key: str) -> list[str]:
    """Who answers for a partner; for the partner `ketenregisseur`, whoever holds that role."""
    rows = list(session.exec(
        select(RoleAssignment.user_id).where(RoleAssignment.role == "partner",
                                             RoleAssignment.partner_key == partner_key)
    ).all())
    if partner_key == KETENREGISSEUR_PARTNER:
        rows += regional(session)
    return list(dict.fromkeys(rows))


def language_of(session: Session, user_id: str | None, default: str) -> str:
    from bot.i18n import language_for

    if not user_id:
        return default
    locale = session.exec(select(Person.locale).where(Person.user_id == user_id)).first()
    return language_for(locale, default)


def remember_locale(session: Session, user_id: str, locale: str | None, now: datetime) -> None:
    person = get_or_create(session, user_id)
    person.locale = locale
    person.locale_checked_at = now
    session.add(person)


# Where a user id may still be named besides the person row itself. The audit log is not a reason to
# keep someone (its entries are pseudonymised at the purge and expire by themselves).
_NOT_A_REASON_TO_KEEP = frozenset({"person", "auditentry", "outboxmessage", "inboxitem", "jobrun",
                                   "teamsconversation"})
# Rows that only say how to reach someone (a Teams 1:1 chat's address): deleted with the person.
_FORGOTTEN_WITH_THE_PERSON = frozenset({"teamsconversation"})


def forget_people(session: Session, user_ids: Iterable[str]) -> int:
    """Delete the person rows (name, e-mail, language, municipality) of these people when nothing
    needs them any more: not in the network, no role, and no row of any table (a signal not yet
    purged, a tombstone still to be delivered, training answers…) still names them. Returns how
    many were deleted."""
    from sqlalchemy import delete, exists, or_

    from bot.core import datamap

    ids = sorted({u for u in user_ids if u})
    if not ids:
        return 0
    still_named = []
    for table in datamap.tables():
        if table.name in _NOT_A_REASON_TO_KEEP:
            continue
        for column in datamap.person_columns(table):
            still_named.append(exists().where(column == Person.user_id))
    gone = list(session.execute(
        delete(Person).where(col(Person.user_id).in_(ids), col(Person.in_network).is_(False),
                             ~or_(*still_named)).returning(Person.user_id)
        .execution_options(synchronize_session=False)).scalars())
    for table in datamap.tables():
        if gone and table.name in _FORGOTTEN_WITH_THE_PERSON:
            session.execute(delete(table).where(table.c.user_id.in_(gone)))
    if gone:  # the marks that they were reported as unreachable once (bot/core/reach.py) name them too
        from models.jobs import JobRun

        periods = [unreachable_period(platform, u) for u in gone for platform in (platforms.SLACK, platforms.TEAMS)]
        session.execute(delete(JobRun).where(col(JobRun.job) == UNREACHABLE_REPORT, col(JobRun.period).in_(periods)))
    return len(gone)


UNREACHABLE_REPORT = "unreachable_report"  # the job that tells the ketenregisseur once per person (reach.py)


def unreachable_period(platform: str, user_id: str) -> str:
    """The JobRun period of `UNREACHABLE_REPORT` for one person on one platform."""
    return f"{platform}:{user_id}"[:300]
