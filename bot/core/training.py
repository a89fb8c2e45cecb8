"""Training sessions for the regional network: plan, announce, RSVP (Ik kom / Ik kan niet) with a
waiting list, remind (T-14d / T-1d), notify changes and cancellations, record attendance, nudge
members without a recent training, and count who was trained per municipality.

Platform-neutral. Every message goes through the outbox, and every announcement, reminder and
notice also through the sent-log (`TrainingSent`, unique per session, member and step), so each
member gets each step at most once, even with two schedulers running.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from bot.config import Settings
from bot.core import access, audit, checks, outbox, people
from bot.core.context import Core
from bot.core.jobs import sweep
from bot.core.result import Error, Problem, Result
from bot.i18n import N_
from flows.calendar import WorkingCalendar
from flows.permissions import Actor, Denial, Permission, Role, StatsScope, can_manage_training, stats_scope
from flows.reminder_rules import ReminderConfig, load_reminders, refresher_due, training_reminder_times
from models import MessageRef, Municipality, Person, RoleAssignment
from models.db import session_scope
from models.training import (
    MemberProfile,
    RefresherNudge,
    TrainingAttendance,
    TrainingRsvp,
    TrainingSent,
    TrainingSession,
)

TITLE_LIMIT = 150
LOCATION_LIMIT = 200
URL_LIMIT = 500
TRAINED_WINDOW_MONTHS = 12
ATTENDANCE_REQUEST_WINDOW = timedelta(days=14)  # ask the organiser for attendance this long after the end

# Member roles in the network (netwerkrol): a label that drives `role:<role>` audiences.
MEMBER_ROLES: dict[str, str] = {
    "af": N_("Attention officer (AF)"),
    "backup": N_("Backup attention officer"),
    "zoco": N_("Care coordinator (ZoCo)"),
    "partner": N_("Chain partner"),
    "trained": N_("Trained employee"),
    "ketenregisseur": N_("Chain director (ketenregisseur)"),
}
INVITE_TEMPLATE = "training_invite"
NOTICE_TEMPLATE = "training_notice"
REFRESHER_TEMPLATE = "training_refresher"


# --- configuration -------------------------------------------------------------------------------


def calendar_for(settings: Settings) -> WorkingCalendar:
    return _calendar(settings.timezone)


@cache
def _calendar(tz: str) -> WorkingCalendar:
    return WorkingCalendar(tz=tz)


def reminder_config(settings: Settings) -> ReminderConfig:
    """The region's reminders.yaml when it has one, else the packaged default."""
    path: Path | None = settings.region_dir / "reminders.yaml" if settings.region_dir else None
    return load_reminders(path if path and path.exists() else None)


# --- results and validation ----------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingInput:
    """What an organiser typed (raw); `validate` cleans it."""

    title: str | None = None
    starts: datetime | None = None
    ends: datetime | None = None
    location: str | None = None
    url: str | None = None
    audience: str | None = "network"
    capacity: str | int | None = None


@dataclass(frozen=True)
class CleanTraining:
    title: str
    starts: datetime
    ends: datetime
    location: str
    url: str | None
    audience: str
    capacity: int | None


def normalise_audience(session: Session, raw: str | None) -> str | None:
    """`network`, `all`, `municipality:<known name>` (case-insensitive) or `role:<role>`; else None."""
    value = (raw or "").strip()
    kind, sep, arg = value.partition(":")
    kind = kind.strip().lower()
    if not sep and kind in {"network", "all"}:
        return kind
    if kind == "municipality" and arg.strip():
        for muni in people.municipalities(session):
            if muni.name.lower() == arg.strip().lower():
                return f"municipality:{muni.name}"
        return None
    if kind == "role" and arg.strip().lower() in MEMBER_ROLES:
        return f"role:{arg.strip().lower()}"
    return None


def validate(session: Session, data: TrainingInput, now: datetime, *, actor: Actor | None = None,
             editing: TrainingSession | None = None) -> tuple[CleanTraining | None, list[Problem]]:
    """Check everything at once; problems are keyed by field so a modal and the CLI can show them."""
    problems: list[Problem] = []
    title = (data.title or "").strip()
    if not title:
        problems.append(Problem("title", N_("Give the training a title.")))
    elif len(title) > TITLE_LIMIT:
        problems.append(Problem("title", N_("The title is too long: at most {limit} characters."),
                                {"limit": TITLE_LIMIT}))
    if data.starts is None:
        problems.append(Problem("starts", N_("Give the start date and time.")))
    elif data.starts <= now and not (editing and editing.starts_at == data.starts):
        problems.append(Problem("starts", N_("The start is in the past. Choose a moment in the future.")))
    if data.ends is None:
        problems.append(Problem("ends", N_("Give the end date and time.")))
    elif data.starts is not None and data.ends <= data.starts:
        problems.append(Problem("ends", N_("The end must be after the start.")))
    location = (data.location or "").strip()
    if not location:
        problems.append(Problem("location", N_("Give a location: an address, a room, or 'online'.")))
    elif len(location) > LOCATION_LIMIT:
        problems.append(Problem("location", N_("The location is too long: at most {limit} characters."),
                                {"limit": LOCATION_LIMIT}))
    url = (data.url or "").strip() or None
    if url and (not url.lower().startswith(("https://", "http://")) or len(url) > URL_LIMIT
                or any(c in url for c in " |<>")):
        problems.append(Problem("url", N_("The link must be a web address starting with https://.")))
    audience = editing.audience if editing else normalise_audience(session, data.audience)
    if audience is None:
        known = ", ".join(m.name for m in people.municipalities(session)) or "-"
        problems.append(Problem("audience", N_("Unknown audience '{audience}'. Use network, all, "
                                               "municipality:NAME or role:ROLE (municipalities: {known})."),
                                {"audience": data.audience or "", "known": known}))
    elif actor is not None and not editing and not can_manage_training(actor, audience):
        problems.append(Problem("audience", N_("You can only plan trainings for your own municipality.")))
    capacity: int | None = None
    raw_capacity = str(data.capacity).strip() if data.capacity is not None else ""
    if raw_capacity:
        try:
            capacity = int(raw_capacity)
        except ValueError:
            capacity = 0
        if capacity < 1:
            problems.append(Problem("capacity", N_("The number of places must be a whole number of at least 1 "
                                                   "(leave it empty for no limit).")))
    if problems:
        return None, problems
    assert data.starts is not None and data.ends is not None and audience is not None
    return CleanTraining(title, data.starts.astimezone(UTC), data.ends.astimezone(UTC), location, url, audience,
                         capacity), []


# --- audiences -----------------------------------------------------------------------------------


def has_left(person: Person | None) -> bool:
    """A member who left the network gets nothing more."""
    return bool(person and person.left_network_at is not None and not person.in_network)


def audience_members(session: Session, audience: str) -> list[str]:
    """User ids the audience reaches now (members who left excluded), sorted."""
    kind, _sep, arg = audience.partition(":")
    persons = {p.user_id: p for p in session.exec(select(Person)).all()}
    roles = session.exec(select(RoleAssignment)).all()
    uids: set[str] = set()
    if kind == "network":
        uids = {p.user_id for p in persons.values() if p.in_network}
    elif kind == "all":
        uids = {p.user_id for p in persons.values() if p.in_network} | {r.user_id for r in roles}
    elif kind == "municipality":
        muni = session.exec(select(Municipality).where(Municipality.name == arg)).first()
        if muni is not None:
            uids = {p.user_id for p in persons.values() if p.in_network and p.municipality_id == muni.id}
            uids |= {r.user_id for r in roles if r.municipality_id == muni.id}
    elif kind == "role":
        uids = {p.user_id for p in persons.values() if p.network_role == arg and p.in_network}
        uids |= {r.user_id for r in roles if r.role == arg or (arg == "zoco" and r.partner_key == "zoco")}
    return sorted(uid for uid in uids if not has_left(persons.get(uid)))


def audience_choices(session: Session, actor: Actor) -> list[str]:
    """The audiences this actor may plan for (the ketenregisseur: all; an AF: own municipality)."""
    keys = ["network", "all"]
    keys += [f"municipality:{m.name}" for m in people.municipalities(session)]
    keys += [f"role:{r}" for r in MEMBER_ROLES]
    return [k for k in keys if can_manage_training(actor, k)]


def is_organiser(actor: Actor) -> bool:
    return actor.has(Role.KETENREGISSEUR) or actor.has(Role.AF) or actor.has(Role.BACKUP)


def may_manage(actor: Actor | None, training: TrainingSession) -> Permission:
    """Edit, cancel, record attendance: the organiser, or whoever may plan for its audience.
    `actor` None is the command line (an administrator)."""
    if actor is None or (training.organiser_id and actor.user_id == training.organiser_id):
        return Permission(True)
    return can_manage_training(actor, training.audience)


# --- planning --------------------------------------------------------------------------------------


def _send(session: Session, training: TrainingSession, uid: str, step: str, template: str,
          ref: dict[str, Any], now: datetime) -> bool:
    """Queue one step for one member unless the sent-log already has it (the unique key guards races)."""
    assert training.id is not None
    exists = session.exec(select(TrainingSent.id).where(
        TrainingSent.session_id == training.id, TrainingSent.user_id == uid, TrainingSent.step == step)).first()
    if exists is not None:
        return False
    row = TrainingSent(session_id=training.id, user_id=uid, step=step, sent_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    msg = outbox.post(session, template=template, kind=template, recipient=uid,
                      ref={"session": training.id, **ref}, contains_details=False,
                      dedupe_key=f"training:{training.id}:{uid}:{step}", now=now, priority=outbox.BACKGROUND)
    row.message_ref_id = msg.id
    session.add(row)
    return True


def _load_actor(session: Session, actor_id: str | None) -> Actor | None:
    return access.actor(session, actor_id) if actor_id else None


def _checked_new(session: Session, actor_id: str | None, data: TrainingInput,
                 now: datetime) -> tuple[CleanTraining | None, Result | None]:
    """(the clean input, None) for a session `actor_id` may plan, else (None, why not)."""
    actor = _load_actor(session, actor_id)
    if actor is not None and not is_organiser(actor):
        return None, Result(False, error=Error.DENIED, reason=Denial.NOT_TRAINING_MANAGER)
    clean, problems = validate(session, data, now, actor=actor)
    return clean, (None if clean is not None else Result(False, problems=tuple(problems)))


def _checked_change(session: Session, training: TrainingSession | None, actor_id: str | None, data: TrainingInput,
                    now: datetime) -> tuple[CleanTraining | None, Result | None]:
    """(the clean input, None) for a change `actor_id` may make, else (None, why not)."""
    refused = _refuse(session, training, actor_id, now)
    if refused:
        return None, refused
    assert training is not None
    clean, problems = validate(session, data, now, editing=training)
    return clean, (None if clean is not None else Result(False, session_id=training.id, problems=tuple(problems)))


def check_create(core: Core, actor_id: str | None, data: TrainingInput) -> Result:
    """What `create` would refuse, without planning anything: a form shows it before it closes."""
    with Session(core.engine) as session:
        refused = _checked_new(session, actor_id, data, core.clock.now())[1]
    return refused or Result(True)


def check_update(core: Core, session_id: int, actor_id: str | None, data: TrainingInput) -> Result:
    """What `update` would refuse, without changing anything."""
    with Session(core.engine) as session:
        training = session.get(TrainingSession, session_id)
        refused = _checked_change(session, training, actor_id, data, core.clock.now())[1]
    return refused or Result(True, session_id=session_id)


def create(core: Core, actor_id: str | None, data: TrainingInput) -> Result:
    """Plan a session and announce it to its audience. `actor_id` None: the command line."""
    now = core.clock.now()
    with session_scope(core.engine) as session:
        clean, refused = _checked_new(session, actor_id, data, now)
        if clean is None:
            assert refused is not None
            return refused
        training = TrainingSession(
            title=clean.title, starts_at=clean.starts, ends_at=clean.ends, location=clean.location, url=clean.url,
            audience=clean.audience, capacity=clean.capacity, organiser_id=actor_id, created_at=now,
            scheduled_at=now)
        session.add(training)
        session.flush()
        assert training.id is not None
        recipients = audience_members(session, training.audience)
        for uid in recipients:
            _send(session, training, uid, "announce", INVITE_TEMPLATE, {"step": "announce"}, now)
        audit.record(session, actor_id or "cli", "training.created", subject=str(training.id), at=now,
                     audience=training.audience, announced=len(recipients))
        sid = training.id
    core.kick()
    return Result(True, session_id=sid, data={"announced": len(recipients)})


def update(core: Core, session_id: int, actor_id: str | None, data: TrainingInput) -> Result:
    """Change a session; everyone who said yes (or waits) hears about it, every invitation shows
    the new details. The audience stays as planned."""
    now = core.clock.now()
    with session_scope(core.engine) as session:
        training = session.get(TrainingSession, session_id, with_for_update=True)
        clean, refused = _checked_change(session, training, actor_id, data, now)
        if clean is None:
            assert refused is not None
            return refused
        assert training is not None
        moved = clean.starts != training.starts_at or clean.ends != training.ends_at
        changed = moved or clean.location != training.location or clean.url != training.url \
            or clean.title != training.title
        training.title, training.location, training.url = clean.title, clean.location, clean.url
        training.starts_at, training.ends_at, training.capacity = clean.starts, clean.ends, clean.capacity
        if moved:
            training.scheduled_at = now
        told = 0
        if changed:
            training.revision += 1
            for uid in _said_yes(session, session_id):
                told += _send(session, training, uid, f"changed:{training.revision}", NOTICE_TEMPLATE,
                              {"notice": "changed"}, now)
        session.add(training)
        _move_up(session, training, now)
        _update_invitations(session, session_id, None, now)
        audit.record(session, actor_id or "cli", "training.changed", subject=str(session_id), at=now, told=told)
    core.kick()
    return Result(True, session_id=session_id, data={"told": told})


def cancel(core: Core, session_id: int, actor_id: str | None) -> Result:
    """Cancel a session: a notice to everyone who said yes (or waits); invitations show it."""
    now = core.clock.now()
    with session_scope(core.engine) as session:
        training = session.get(TrainingSession, session_id, with_for_update=True)
        refused = _refuse(session, training, actor_id, now)
        if refused:
            return refused
        assert training is not None
        training.cancelled_at = now
        session.add(training)
        told = 0
        for uid in _said_yes(session, session_id):
            told += _send(session, training, uid, "cancelled", NOTICE_TEMPLATE, {"notice": "cancelled"}, now)
        _update_invitations(session, session_id, None, now)
        audit.record(session, actor_id or "cli", "training.cancelled", subject=str(session_id), at=now, told=told)
    core.kick()
    return Result(True, session_id=session_id, data={"told": told})


def _refuse(session: Session, training: TrainingSession | None, actor_id: str | None,
            now: datetime) -> Result | None:
    if training is None:
        return Result(False, error=Error.UNKNOWN)
    if not may_manage(_load_actor(session, actor_id), training):
        return Result(False, session_id=training.id, error=Error.DENIED, reason=Denial.NOT_TRAINING_MANAGER)
    if training.cancelled_at is not None:
        return Result(False, session_id=training.id, error=Error.CANCELLED)
    if training.starts_at <= now:
        return Result(False, session_id=training.id, error=Error.STARTED)
    return None


def _said_yes(session: Session, session_id: int) -> list[str]:
    """Members who said yes or wait for a place (and are still in the network)."""
    rows = session.exec(select(TrainingRsvp.user_id).where(
        TrainingRsvp.session_id == session_id, col(TrainingRsvp.status).in_(["yes", "waitlist"]))).all()
    persons = {p.user_id: p for p in session.exec(select(Person).where(col(Person.user_id).in_(rows))).all()}
    return sorted(uid for uid in rows if not has_left(persons.get(uid)))


def _update_invitations(session: Session, session_id: int, user_id: str | None, now: datetime) -> None:
    """Re-render the invitations and reminders (of one member, or everyone) from current state."""
    query = select(TrainingSent.message_ref_id).where(
        TrainingSent.session_id == session_id, col(TrainingSent.message_ref_id).is_not(None),
        (TrainingSent.step == "announce") | col(TrainingSent.step).startswith("remind:"))
    if user_id is not None:
        query = query.where(TrainingSent.user_id == user_id)
    for ref_id in session.exec(query).all():
        msg = session.get(MessageRef, ref_id)
        if msg is not None:
            outbox.update(session, msg, now=now)


# --- RSVP and the waiting list ---------------------------------------------------------------------


@checks.checkable
def rsvp(core: Core, session_id: int, user_id: str, answer: str) -> Result:
    """Ik kom (`yes`) or Ik kan niet (`no`). Yes when full puts the member on the waiting list;
    a yes turning into no gives the place to the first on the list. Also in check mode
    (bot/core/checks.py)."""
    assert answer in {"yes", "no"}
    now = core.clock.now()
    with checks.session(core) as session:
        training = session.get(TrainingSession, session_id, with_for_update=checks.locking())
        if training is None:
            return Result(False, error=Error.UNKNOWN)
        if training.cancelled_at is not None:
            return Result(False, session_id=session_id, error=Error.CANCELLED)
        if training.starts_at <= now:
            return Result(False, session_id=session_id, error=Error.STARTED)
        person = session.exec(select(Person).where(Person.user_id == user_id)).first()
        if has_left(person):
            return Result(False, session_id=session_id, error=Error.LEFT)
        invited = session.exec(select(TrainingSent.id).where(
            TrainingSent.session_id == session_id, TrainingSent.user_id == user_id)).first()
        if invited is None and user_id not in audience_members(session, training.audience):
            return Result(False, session_id=session_id, error=Error.NOT_INVITED)
        checks.passed(Result(True, session_id=session_id))
        row = session.exec(select(TrainingRsvp).where(
            TrainingRsvp.session_id == session_id, TrainingRsvp.user_id == user_id)).first()
        before = row.status if row else None
        if answer == "yes" and before in {"yes", "waitlist"}:
            assert row is not None
            return Result(True, session_id=session_id, status=row.status, data={"position": _rank(session, row)})
        if row is None:
            row = TrainingRsvp(session_id=session_id, user_id=user_id, status="no")
        row.responded_at = now
        if answer == "yes":
            if _has_place(session, training):
                row.status, row.position = "yes", None
            else:
                last = session.exec(select(func.max(TrainingRsvp.position)).where(
                    TrainingRsvp.session_id == session_id, TrainingRsvp.status == "waitlist")).one()
                row.status, row.position = "waitlist", (last or 0) + 1
        else:
            row.status, row.position = "no", None
        session.add(row)
        session.flush()
        if before == "yes" and row.status == "no":
            _move_up(session, training, now)
        _update_invitations(session, session_id, user_id, now)
        audit.record(session, user_id, "training.rsvp", subject=str(session_id), at=now, status=row.status)
        outcome = Result(True, session_id=session_id, status=row.status, data={"position": _rank(session, row)})
    core.kick()
    return outcome


def _yes_count(session: Session, session_id: int) -> int:
    return session.exec(select(func.count()).select_from(TrainingRsvp).where(
        TrainingRsvp.session_id == session_id, TrainingRsvp.status == "yes")).one()


def _has_place(session: Session, training: TrainingSession) -> bool:
    return training.capacity is None or _yes_count(session, training.id or 0) < training.capacity


def _rank(session: Session, row: TrainingRsvp) -> int | None:
    """1-based place on the waiting list."""
    if row.status != "waitlist" or row.position is None:
        return None
    ahead = session.exec(select(func.count()).select_from(TrainingRsvp).where(
        TrainingRsvp.session_id == row.session_id, TrainingRsvp.status == "waitlist",
        col(TrainingRsvp.position) < row.position)).one()
    return ahead + 1


def waitlist_rank(session: Session, session_id: int, user_id: str) -> int | None:
    row = session.exec(select(TrainingRsvp).where(
        TrainingRsvp.session_id == session_id, TrainingRsvp.user_id == user_id)).first()
    return _rank(session, row) if row else None


def _move_up(session: Session, training: TrainingSession, now: datetime) -> list[str]:
    """Fill free places from the waiting list, in order; each gets a notice."""
    moved: list[str] = []
    sid = training.id or 0
    while _has_place(session, training):
        first = session.exec(select(TrainingRsvp).where(
            TrainingRsvp.session_id == sid, TrainingRsvp.status == "waitlist")
            .order_by(col(TrainingRsvp.position), col(TrainingRsvp.id))).first()
        if first is None:
            break
        first.status, first.position, first.responded_at = "yes", None, now
        session.add(first)
        session.flush()
        earlier = session.exec(select(func.count()).select_from(TrainingSent).where(
            TrainingSent.session_id == sid, TrainingSent.user_id == first.user_id,
            col(TrainingSent.step).startswith("moved_up"))).one()
        _send(session, training, first.user_id, f"moved_up:{earlier + 1}", NOTICE_TEMPLATE,
              {"notice": "moved_up"}, now)
        _update_invitations(session, sid, first.user_id, now)
        moved.append(first.user_id)
    return moved


def rsvp_counts(session: Session, session_id: int) -> dict[str, int]:
    rows = session.exec(select(TrainingRsvp.status, func.count()).where(
        TrainingRsvp.session_id == session_id).group_by(TrainingRsvp.status)).all()
    counts = {"yes": 0, "no": 0, "waitlist": 0}
    counts.update({status: n for status, n in rows})
    return counts


def status_of(session: Session, session_id: int, user_id: str) -> str | None:
    return session.exec(select(TrainingRsvp.status).where(
        TrainingRsvp.session_id == session_id, TrainingRsvp.user_id == user_id)).first()


# --- attendance, history and figures ---------------------------------------------------------------


def attendance_candidates(session: Session, session_id: int) -> tuple[list[str], list[str], list[str]]:
    """(yes-sayers, recorded attendees among them, recorded walk-ins) for the attendance form."""
    yes = list(session.exec(select(TrainingRsvp.user_id).where(
        TrainingRsvp.session_id == session_id, TrainingRsvp.status == "yes")
        .order_by(col(TrainingRsvp.responded_at), col(TrainingRsvp.id))).all())
    rows = session.exec(select(TrainingAttendance).where(
        TrainingAttendance.session_id == session_id, col(TrainingAttendance.user_id).is_not(None))).all()
    attended = [r.user_id for r in rows if r.user_id and not r.walk_in]
    walk_ins = [r.user_id for r in rows if r.user_id and r.walk_in]
    return yes, attended, walk_ins


def check_attendance(core: Core, session_id: int, actor_id: str | None) -> Result:
    """May `actor_id` record attendance for this session now? Someone who may not (not an organiser
    of it: a forged click) is recorded in the audit log as `training.denied`. Also in check mode
    (bot/core/checks.py): read only, the denial audited as `checks.audit_denial` says."""
    now = core.clock.now()
    with checks.session(core) as session:
        training = session.get(TrainingSession, session_id)
        if training is None:
            return Result(False, error=Error.UNKNOWN)
        if not may_manage(_load_actor(session, actor_id), training):
            checks.audit_denial(core, session, actor_id or "cli", "training.denied", subject=str(session_id), at=now,
                                step="attendance", reason=str(Denial.NOT_TRAINING_MANAGER))
            return Result(False, session_id=session_id, error=Error.DENIED, reason=Denial.NOT_TRAINING_MANAGER)
        if training.cancelled_at is not None:
            return Result(False, session_id=session_id, error=Error.CANCELLED)
        if training.starts_at > now:
            return Result(False, session_id=session_id, error=Error.NOT_STARTED)
    return Result(True, session_id=session_id)


@checks.checkable
def record_attendance(core: Core, session_id: int, actor_id: str | None, attended: list[str],
                      walk_ins: list[str]) -> Result:
    """Replace the attendance of a session: ticked yes-sayers plus walk-ins (anyone else). Also in check
    mode (bot/core/checks.py)."""
    checked = check_attendance(core, session_id, actor_id)
    if not checked.ok:
        return checked
    checks.passed(checked)
    now = core.clock.now()
    with session_scope(core.engine) as session:
        training = session.get(TrainingSession, session_id, with_for_update=True)
        assert training is not None
        yes = set(session.exec(select(TrainingRsvp.user_id).where(
            TrainingRsvp.session_id == session_id, TrainingRsvp.status == "yes")).all())
        session.exec(delete(TrainingAttendance).where(  # type: ignore[call-overload]
            col(TrainingAttendance.session_id) == session_id, col(TrainingAttendance.user_id).is_not(None)))
        chosen = list(dict.fromkeys([*attended, *walk_ins]))
        for uid in chosen:
            person = people.get_or_create(session, uid)
            session.add(TrainingAttendance(session_id=session_id, user_id=uid, municipality_id=person.municipality_id,
                                           walk_in=uid not in yes, recorded_by=actor_id,
                                           recorded_at=now))
        training.attendance_recorded_at = now
        session.add(training)
        audit.record(session, actor_id or "cli", "training.attendance", subject=str(session_id), at=now,
                     attended=len(chosen))
    return Result(True, session_id=session_id, data={"attended": len(chosen)})


@dataclass(frozen=True)
class HistoryItem:
    session_id: int
    title: str
    starts_at: datetime
    walk_in: bool


def history(session: Session, user_id: str) -> list[HistoryItem]:
    """A member's training history (attended sessions), newest first."""
    rows = session.exec(select(TrainingAttendance, TrainingSession).join(TrainingSession).where(
        TrainingAttendance.user_id == user_id).order_by(col(TrainingSession.starts_at).desc())).all()
    return [HistoryItem(t.id or 0, t.title, t.starts_at, a.walk_in) for a, t in rows]


def months_before(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 - months
    year, month = moment.year + index // 12, index % 12 + 1
    import calendar as _cal

    return moment.replace(year=year, month=month, day=min(moment.day, _cal.monthrange(year, month)[1]))


@dataclass(frozen=True)
class TrainedFigure:
    """Per municipality: current network members, and people trained (attended a session) in the
    last 12 months — former members count too (anonymised), by their municipality at the time."""

    municipality: str | None  # None: regional / partner members without a municipality
    members: int
    trained: int
    trained_members: int  # current network members among the trained


def trained_members_by_municipality(session: Session, now: datetime,
                                    months: int = TRAINED_WINDOW_MONTHS) -> list[TrainedFigure]:
    since = months_before(now, months)
    names: dict[int | None, str | None] = {m.id: m.name for m in people.municipalities(session)}
    members: dict[int | None, set[str]] = defaultdict(set)
    for p in session.exec(select(Person).where(col(Person.in_network).is_(True))).all():
        members[p.municipality_id].add(p.user_id)
    trained: dict[int | None, set[str]] = defaultdict(set)
    rows = session.exec(select(TrainingAttendance).join(TrainingSession).where(
        col(TrainingSession.cancelled_at).is_(None), col(TrainingSession.starts_at) >= since,
        col(TrainingSession.starts_at) <= now)).all()
    for a in rows:
        trained[a.municipality_id].add(a.user_id or f"anon:{a.anon_key or a.id}")
    out = []
    for muni_id in [*names, None]:
        if muni_id is None and not members[None] and not trained[None]:
            continue
        out.append(TrainedFigure(names.get(muni_id), len(members[muni_id]), len(trained[muni_id]),
                                 len(trained[muni_id] & members[muni_id])))
    return out


def may_see_figures(actor: Actor) -> bool:
    """Who may see who was trained: an attention officer (AF or backup, their own municipality) and
    the ketenregisseur (the region) — the same as the figures on signals (`flows.permissions`)."""
    return stats_scope(actor) is not None


def trained_figures(session: Session, now: datetime, region: bool,
                    municipalities: list[str] | frozenset[str]) -> list[TrainedFigure]:
    """The figures of one scope the core allowed: every municipality (and regional members) for the
    region, else only the named municipalities."""
    return [f for f in trained_members_by_municipality(session, now)
            if region or (f.municipality is not None and f.municipality in municipalities)]


def figures(core: Core, user_id: str) -> Result:
    """Slack's `/signaal training cijfers`, Teams' "training cijfers": who was trained in the last 12
    months, per municipality, for those who may see it (`may_see_figures`; anyone else is refused, with
    whom to ask). `data`: "region" (bool), "municipalities" (the names allowed) and "figures" (the
    `TrainedFigure`s). The look is recorded in the audit log (`training.figures_viewed`)."""
    now = core.clock.now()
    with session_scope(core.engine) as session:
        scope: StatsScope | None = stats_scope(access.actor(session, user_id))
        if scope is None:
            return Result(False, error=Error.DENIED, reason=Denial.NO_STATS_ROLE)
        names = sorted(scope.municipalities)
        shown = trained_figures(session, now, scope.region, names)
        audit.record(session, user_id, "training.figures_viewed", at=now,
                     municipalities="region" if scope.region else names)
    return Result(True, data={"region": scope.region, "municipalities": names, "figures": shown})


def upcoming_for(session: Session, user_id: str, now: datetime, limit: int = 10) -> list[TrainingSession]:
    """Sessions ahead that reach this member (their audience or their RSVP), soonest first."""
    rows = session.exec(select(TrainingSession).where(
        col(TrainingSession.cancelled_at).is_(None), TrainingSession.starts_at > now)
        .order_by(col(TrainingSession.starts_at))).all()
    answered = set(session.exec(select(TrainingRsvp.session_id).where(TrainingRsvp.user_id == user_id)).all())
    cache_: dict[str, list[str]] = {}
    out = []
    for t in rows:
        if t.audience not in cache_:
            cache_[t.audience] = audience_members(session, t.audience)
        if user_id in cache_[t.audience] or t.id in answered:
            out.append(t)
        if len(out) >= limit:
            break
    return out


def organised_by(session: Session, actor: Actor, now: datetime, limit: int = 10) -> list[TrainingSession]:
    """Sessions this organiser can manage: upcoming ones, and past ones without attendance (14 days)."""
    rows = session.exec(select(TrainingSession).where(
        col(TrainingSession.cancelled_at).is_(None), TrainingSession.ends_at > now - ATTENDANCE_REQUEST_WINDOW)
        .order_by(col(TrainingSession.starts_at))).all()
    return [t for t in rows if may_manage(actor, t) and (t.starts_at > now or t.attendance_recorded_at is None)
            ][:limit]


def sessions(session: Session, *, include_past: bool, now: datetime) -> list[TrainingSession]:
    query = select(TrainingSession).order_by(col(TrainingSession.starts_at))
    if not include_past:
        query = query.where(TrainingSession.ends_at > now)
    return list(session.exec(query).all())


# --- members leaving (used by bot.core.members) --------------------------------------------------


def forget_member(session: Session, user_id: str, now: datetime) -> None:
    """A member left: drop their answers (freeing places for the waiting list), keep their
    attendance only anonymised (for the figures), forget their nudges."""
    rows = session.exec(select(TrainingRsvp).where(TrainingRsvp.user_id == user_id)).all()
    freed = {r.session_id for r in rows if r.status == "yes"}
    for r in rows:
        session.delete(r)
    session.flush()
    for sid in freed:
        training = session.get(TrainingSession, sid)
        if training and training.cancelled_at is None and training.starts_at > now:
            _move_up(session, training, now)
    anon = uuid.uuid4().hex[:16]
    session.execute(sa_update(TrainingAttendance).where(col(TrainingAttendance.user_id) == user_id)
                    .values(user_id=None, anon_key=anon, recorded_by=None))
    session.execute(sa_update(TrainingAttendance).where(col(TrainingAttendance.recorded_by) == user_id)
                    .values(recorded_by=None))
    nudge = session.get(RefresherNudge, user_id)
    if nudge is not None:
        session.delete(nudge)


def expire_history(session: Session, answers_days: int, attendance_months: int, now: datetime) -> tuple[int, int]:
    """Retention of training data (run by the daily retention job): answers (RSVPs) and the send log
    of sessions that ended `answers_days` ago are deleted; named attendance of sessions more than
    `attendance_months` ago is anonymised (still countable, no longer whose). Returns (answers
    deleted, attendance rows anonymised)."""
    cutoff = now - timedelta(days=answers_days)
    done = select(TrainingSession.id).where(
        (col(TrainingSession.ends_at) < cutoff)
        | (col(TrainingSession.cancelled_at).is_not(None) & (col(TrainingSession.cancelled_at) < cutoff)))
    answers = session.execute(delete(TrainingRsvp).where(col(TrainingRsvp.session_id).in_(done)))
    session.execute(delete(TrainingSent).where(col(TrainingSent.session_id).in_(done)))
    old = select(TrainingSession.id).where(col(TrainingSession.starts_at) < months_before(now, attendance_months))
    rows = session.exec(select(TrainingAttendance).where(col(TrainingAttendance.session_id).in_(old),
                                                         col(TrainingAttendance.user_id).is_not(None))).all()
    keys: dict[str, str] = {}
    for row in rows:
        row.anon_key = keys.setdefault(row.user_id or "", uuid.uuid4().hex[:16])
        row.user_id, row.recorded_by = None, None
        session.add(row)
    session.execute(sa_update(TrainingAttendance).where(col(TrainingAttendance.session_id).in_(old))
                    .values(recorded_by=None))
    return int(answers.rowcount or 0), len(rows)  # type: ignore[attr-defined]


# --- the sweep: reminders, attendance requests, refresher nudges -----------------------------------


def _step(moment: datetime) -> str:
    return f"remind:{moment.astimezone(UTC):%Y%m%dT%H%M}"


def _claim(session: Session, session_id: int) -> TrainingSession | None:
    """Lock one session row for this sweep; another sweep holding it skips it (PostgreSQL)."""
    query = select(TrainingSession).where(TrainingSession.id == session_id).with_for_update(skip_locked=True)
    return session.exec(query).first()


def send_reminders(core: Core, now: datetime) -> list[str]:
    cfg = reminder_config(core.settings)
    cal = calendar_for(core.settings)
    horizon = now + timedelta(days=max(cfg.training.before_session_days, default=0) + 2)
    with session_scope(core.engine) as session:
        ids = session.exec(select(TrainingSession.id).where(
            col(TrainingSession.cancelled_at).is_(None), TrainingSession.starts_at > now,
            TrainingSession.starts_at <= horizon).order_by(col(TrainingSession.id))).all()
    lines = []
    for sid in ids:
        with session_scope(core.engine) as session:
            training = _claim(session, sid or 0)
            if training is None or training.cancelled_at is not None or training.starts_at <= now:
                continue
            moments = [m for m in training_reminder_times(training.starts_at, cal, cfg, after=training.scheduled_at)
                       if m <= now]
            if not moments:
                continue
            step = _step(moments[-1])  # only the latest due reminder: never two at once after downtime
            declined = set(session.exec(select(TrainingRsvp.user_id).where(
                TrainingRsvp.session_id == sid, TrainingRsvp.status == "no")).all())
            answered = set(session.exec(select(TrainingRsvp.user_id).where(
                TrainingRsvp.session_id == sid, TrainingRsvp.status != "no")).all())
            persons = {p.user_id: p for p in session.exec(select(Person)).all()}
            wanted = (set(audience_members(session, training.audience)) | answered) - declined
            sent = sum(_send(session, training, uid, step, INVITE_TEMPLATE, {"step": "remind"}, now)
                       for uid in sorted(wanted) if not has_left(persons.get(uid)))
            if sent:
                audit.record(session, None, "training.reminded", subject=str(sid), at=now, step=step, sent=sent)
                lines.append(f"reminded {sent} member(s) of training #{sid} ({step})")
    return lines


def request_attendance(core: Core, now: datetime) -> list[str]:
    lines = []
    with session_scope(core.engine) as session:
        ids = session.exec(select(TrainingSession.id).where(
            col(TrainingSession.cancelled_at).is_(None), col(TrainingSession.attendance_recorded_at).is_(None),
            TrainingSession.ends_at <= now, TrainingSession.ends_at > now - ATTENDANCE_REQUEST_WINDOW)).all()
    for sid in ids:
        with session_scope(core.engine) as session:
            training = _claim(session, sid or 0)
            if training is None:
                continue
            organisers = [training.organiser_id] if training.organiser_id else people.regional(session)
            sent = sum(_send(session, training, uid, "attendance_request", NOTICE_TEMPLATE,
                             {"notice": "attendance_request"}, now) for uid in organisers)
            if sent:
                lines.append(f"asked {sent} organiser(s) for the attendance of training #{sid}")
    return lines


def send_refresher_nudges(core: Core, now: datetime) -> list[str]:
    cfg = reminder_config(core.settings)
    cal = calendar_for(core.settings)
    with session_scope(core.engine) as session:
        members = session.exec(select(Person).where(col(Person.in_network).is_(True))).all()
        last_attended = dict(session.exec(select(TrainingAttendance.user_id, func.max(TrainingSession.starts_at))
                                          .join(TrainingSession).where(col(TrainingAttendance.user_id).is_not(None))
                                          .group_by(TrainingAttendance.user_id)).all())
        joined = dict(session.exec(select(MemberProfile.user_id, MemberProfile.joined_at)).all())
        nudged = {n.user_id: n.last_nudged_at for n in session.exec(select(RefresherNudge)).all()}
        due = [p.user_id for p in members if refresher_due(
            now, last_attended=last_attended.get(p.user_id), member_since=joined.get(p.user_id) or p.created_at,
            last_nudged=nudged.get(p.user_id), calendar=cal, config=cfg)]
    sent = 0
    for uid in due:
        with session_scope(core.engine) as session:
            if not _claim_nudge(session, uid, nudged.get(uid), now):
                continue
            outbox.post(session, template=REFRESHER_TEMPLATE, kind=REFRESHER_TEMPLATE, recipient=uid,
                        ref={"at": now.isoformat()}, contains_details=False,
                        dedupe_key=f"training:refresher:{uid}:{now:%Y%m%d}", now=now,
                        priority=outbox.BACKGROUND)
            audit.record(session, None, "training.refresher", subject=uid, at=now)
            sent += 1
    return [f"sent the refresher nudge to {sent} member(s)"] if sent else []


def _claim_nudge(session: Session, user_id: str, seen: datetime | None, now: datetime) -> bool:
    """Compare-and-set on the member's nudge row: of two sweeps only one wins."""
    if seen is None:
        try:
            with session.begin_nested():
                session.add(RefresherNudge(user_id=user_id, last_nudged_at=now))
                session.flush()
            return True
        except IntegrityError:
            return False
    result = session.execute(sa_update(RefresherNudge).where(
        col(RefresherNudge.user_id) == user_id, col(RefresherNudge.last_nudged_at) == seen)
        .values(last_nudged_at=now, count=RefresherNudge.count + 1))
    return result.rowcount == 1  # type: ignore[attr-defined]


@sweep("training")
def training_sweep(core: Core, now: datetime) -> list[str]:
    """Reminders and refresher nudges keep to working days and office hours, like case reminders: one
    due on a Friday evening or in the weekend (a bot that was down) goes out on the next working
    morning, not on Sunday. The attendance request follows the session's end."""
    office = calendar_for(core.settings).is_office_time(now)
    return [*(send_reminders(core, now) if office else []), *request_attendance(core, now),
            *(send_refresher_nudges(core, now) if office else [])]
