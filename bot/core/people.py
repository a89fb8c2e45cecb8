"""People, their roles and what we remember of them (municipality, language)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from models import Municipality, Person, RoleAssignment
from models.base import column_values


def get_or_create(session: Session, user_id: str) -> Person:
    """The person with this Slack id, made when new. Two first actions of a new user at once (the
    front and the work process, or two work threads) both find no row: the insert skips a row that
    the other one wrote meanwhile (ON CONFLICT DO NOTHING), so neither step fails on the unique key."""
    person = session.exec(select(Person).where(Person.user_id == user_id)).first()
    if person is None:
        dialect = session.get_bind().dialect.name
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        session.execute(insert(Person).values(column_values(Person, user_id=user_id))
                        .on_conflict_do_nothing(index_elements=["user_id"]))
        person = session.exec(select(Person).where(Person.user_id == user_id)).one()
    return person


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
    rows = session.exec(
        select(RoleAssignment.user_id).where(RoleAssignment.role == "partner",
                                             RoleAssignment.partner_key == partner_key)
    ).all()
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
