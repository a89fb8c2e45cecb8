"""Network members (netwerkleden) managed in chat: add or change a member's role, municipality and
partner organisation, or remove them from the network.

Who may: `flows.permissions.can_manage_members` — the ketenregisseur for everyone, an AF / backup
for their own municipality. The member role is the network label that training audiences use
(`role:<role>`); case access (AF / backup grants) stays with `signaalbot network import`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.core import access, audit, people, platforms
from bot.core.context import Core
from bot.core.result import Error, Problem, Result
from bot.core.training import MEMBER_ROLES, forget_member
from bot.i18n import N_
from flows.permissions import Actor, Denial, Role, can_manage_members
from models import Municipality, Partner, Person, RoleAssignment
from models.db import session_scope
from models.training import MemberProfile


@dataclass(frozen=True)
class MemberInput:
    user_id: str | None
    role: str | None
    municipality: str | None = None  # a municipality's name; None for regional / partner members
    partner: str | None = None  # a partner key


@dataclass(frozen=True)
class Member:
    user_id: str
    name: str | None
    role: str | None
    municipality: str | None
    partner: str | None
    joined_at: datetime | None


def may_manage_someone(actor: Actor) -> bool:
    return actor.has(Role.KETENREGISSEUR) or actor.has(Role.AF) or actor.has(Role.BACKUP)


def _muni_name(session: Session, municipality_id: int | None) -> str:
    muni = session.get(Municipality, municipality_id) if municipality_id else None
    return muni.name if muni else ""


@dataclass(frozen=True)
class _Change:
    """What a valid save changes: the person (None: not known yet), their municipality and partner."""
    user_id: str
    person: Person | None
    municipality: Municipality | None
    partner: Partner | None


def _checked_save(session: Session, actor: Actor, data: MemberInput) -> _Change | Result:
    """The change a save makes, or the Result that refuses it."""
    if not may_manage_someone(actor):
        return Result(False, error=Error.DENIED, reason=Denial.NOT_NETWORK_MANAGER)
    problems: list[Problem] = []
    uid = (data.user_id or "").strip()
    if platforms.person_id(uid) is None:  # not a person key of any platform
        problems.append(Problem("member", N_("Choose the person to add.")))
    if data.role not in MEMBER_ROLES:
        problems.append(Problem("role", N_("Choose a role.")))
    muni = None
    if data.municipality:
        muni = session.exec(select(Municipality).where(Municipality.name == data.municipality)).first()
        if muni is None:
            problems.append(Problem("municipality", N_("Unknown municipality {name}."),
                                    {"name": data.municipality}))
    partner = None
    if data.partner:
        partner = session.get(Partner, data.partner)
        if partner is None:
            problems.append(Problem("partner", N_("Unknown partner organisation {name}."),
                                    {"name": data.partner}))
    if problems:
        return Result(False, problems=tuple(problems))
    person = session.exec(select(Person).where(Person.user_id == uid)).first()
    # Both the old and the new municipality must be the actor's to manage.
    scopes = {data.municipality or ""}
    if person is not None and person.municipality_id:
        scopes.add(_muni_name(session, person.municipality_id))
    for name in sorted(scopes):
        if not can_manage_members(actor, name):
            return Result(False, problems=(Problem("municipality", N_(
                "You can only manage members of your own municipality.")),), error=Error.DENIED)
    return _Change(uid, person, muni, partner)


def _checked_remove(session: Session, actor_id: str | None, user_id: str) -> Person | Result:
    """The member a removal removes, or the Result that refuses it."""
    person = session.exec(select(Person).where(Person.user_id == user_id)).first()
    if person is None or not person.in_network:
        return Result(False, problems=(Problem("member", N_("This person is not a member of the network.")),),
                       error=Error.UNKNOWN)
    if actor_id is not None:
        actor = access.actor(session, actor_id)
        if not can_manage_members(actor, _muni_name(session, person.municipality_id)):
            return Result(False, problems=(Problem("member", N_(
                "You can only manage members of your own municipality.")),), error=Error.DENIED)
    return person


def check_save(core: Core, actor_id: str, data: MemberInput) -> Result:
    """What `save` would refuse, without changing anything: a form shows it before it closes."""
    with Session(core.engine) as session:
        checked = _checked_save(session, access.actor(session, actor_id), data)
    return checked if isinstance(checked, Result) else Result(True, data={"user": checked.user_id})


def check_remove(core: Core, actor_id: str | None, user_id: str) -> Result:
    """What `remove` would refuse, without changing anything."""
    with Session(core.engine) as session:
        checked = _checked_remove(session, actor_id, user_id)
    return checked if isinstance(checked, Result) else Result(True, data={"user": user_id})


def save(core: Core, actor_id: str, data: MemberInput) -> Result:
    """Add a member to the network, or change their role, municipality or partner organisation."""
    now = core.clock.now()
    with session_scope(core.engine) as session:
        change = _checked_save(session, access.actor(session, actor_id), data)
        if isinstance(change, Result):
            return change
        uid, muni, partner = change.user_id, change.municipality, change.partner
        person = change.person or people.get_or_create(session, uid)
        joining = not person.in_network
        person.in_network, person.left_network_at = True, None
        person.network_role = data.role
        person.municipality_id = muni.id if muni else None
        session.add(person)
        profile = session.get(MemberProfile, uid) or MemberProfile(user_id=uid, joined_at=now)
        if joining:
            profile.joined_at = now
        profile.partner_key = partner.key if partner else None
        profile.updated_by, profile.updated_at = actor_id, now
        session.add(profile)
        audit.record(session, actor_id, "member.added" if joining else "member.changed", subject=uid, at=now,
                     role=data.role, municipality=data.municipality, partner=data.partner)
    return Result(True, data={"joined": joining, "user": uid})


def remove(core: Core, actor_id: str | None, user_id: str) -> Result:
    """Remove a member: they get nothing more; their attendance stays, anonymised, for the figures."""
    now = core.clock.now()
    with session_scope(core.engine) as session:
        person = _checked_remove(session, actor_id, user_id)
        if isinstance(person, Result):
            return person
        person.in_network, person.left_network_at = False, now
        session.add(person)
        profile = session.get(MemberProfile, user_id)
        if profile is not None:
            session.delete(profile)
        forget_member(session, user_id, now)
        audit.record(session, actor_id or "cli", "member.removed", subject=user_id, at=now)
    core.kick()
    return Result(True, data={"user": user_id})


def members(session: Session, actor: Actor | None = None) -> list[Member]:
    """Current network members (all of them, or those the actor manages), by municipality and id."""
    rows = session.exec(select(Person).where(col(Person.in_network).is_(True)).order_by(col(Person.user_id))).all()
    names = {m.id: m.name for m in people.municipalities(session)}
    profiles = {p.user_id: p for p in session.exec(select(MemberProfile)).all()}
    imported = {r.user_id: r.partner_key for r in session.exec(select(RoleAssignment).where(
        RoleAssignment.role == "partner")).all()}
    out = []
    for p in rows:
        muni = names.get(p.municipality_id) if p.municipality_id else None
        if actor is not None and not can_manage_members(actor, muni or ""):
            continue
        profile = profiles.get(p.user_id)
        out.append(Member(p.user_id, p.name, p.network_role, muni,
                          (profile.partner_key if profile else None) or imported.get(p.user_id),
                          profile.joined_at if profile else None))
    return sorted(out, key=lambda m: (m.municipality or "~", m.user_id))


def overview(core: Core, actor_id: str) -> Result:
    """The members `actor_id` manages (the ketenregisseur: everyone; an AF or backup: their
    municipality's), for a list in chat: `data["members"]` holds their user ids in `members`' order,
    `data["municipalities"]` the municipalities they may add members to, `data["regional"]` whether
    they may leave it empty. Anyone else is refused. The look is recorded in the audit log."""
    now = core.clock.now()
    with session_scope(core.engine) as session:
        actor = access.actor(session, actor_id)
        if not may_manage_someone(actor):
            return Result(False, error=Error.DENIED, reason=Denial.NOT_NETWORK_MANAGER)
        shown = [m.user_id for m in members(session, actor)]
        municipalities = [mu.name for mu in people.municipalities(session) if can_manage_members(actor, mu.name)]
        audit.record(session, actor_id, "member.listed", subject=actor_id, at=now, count=len(shown))
    return Result(True, data={"members": shown, "municipalities": municipalities,
                              "regional": bool(can_manage_members(actor, ""))})


def check_manager(core: Core, actor_id: str) -> Result:
    """May `actor_id` manage any network members at all (asked before a picked person is looked up)?"""
    with Session(core.engine) as session:
        actor = access.actor(session, actor_id)
    if not may_manage_someone(actor):
        return Result(False, error=Error.DENIED, reason=Denial.NOT_NETWORK_MANAGER)
    return Result(True)
