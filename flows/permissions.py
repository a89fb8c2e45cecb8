"""Who may do what: every permission rule of the bot, in one place.

The edges call these before any action (like a middleware); they never decide access themselves.
An actor's grants come from the role assignments; the reporter (melder) role is implicit: the
author of a signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flows.cases import CaseAction

# The partner key under which the ketenregisseur is consulted (flows/meldroute.yaml).
KETENREGISSEUR_PARTNER = "ketenregisseur"


class Role(StrEnum):
    AF = "af"  # aandachtsfunctionaris mensenhandel: a municipality's attention officer
    BACKUP = "backup"  # vervanger: second AF, chased when the AF does not respond
    KETENREGISSEUR = "ketenregisseur"  # regional chain director: aggregates only
    PARTNER = "partner"  # member of a partner organisation (AVIM, ZoCo, ...)
    NETWORK = "network"  # netwerklid: trained employee, receives training reminders
    REPORTER = "reporter"  # melder: implicit, the author of a signal; never granted


class ReporterAction(StrEnum):
    """What the reporter can do on their own signal."""

    ANSWER_INFO = "answer_info"  # answer the AF's question
    ADD_INFO = "add_info"  # add information later
    VIEW_OWN = "view_own"  # see their own report and the feedback


class Denial(StrEnum):
    NOT_AF_OF_MUNICIPALITY = "not_af_of_municipality"
    NOT_YOUR_SIGNAL = "not_your_signal"
    AGGREGATES_ONLY = "aggregates_only"
    PARTNER_NOT_INVOLVED = "partner_not_involved"  # the case was not sent to this partner
    PARTNER_RECORDS_ONLY = "partner_records_only"  # partners only record advice / outcome
    REPORTER_VIEW_ONLY = "reporter_view_only"  # the reporter sees their own report, not the case file
    NOT_TRAINING_MANAGER = "not_training_manager"
    NO_STATS_ROLE = "no_stats_role"
    NOT_NETWORK_MANAGER = "not_network_manager"  # only the ketenregisseur and AFs manage network members
    OTHER_MUNICIPALITY = "other_municipality"  # two signals of different municipalities are never linked


@dataclass(frozen=True)
class Grant:
    """A role held, for a municipality (af, backup, network) or a partner organisation (partner)."""

    role: Role
    municipality: str | None = None
    partner: str | None = None

    def __post_init__(self) -> None:
        role = Role(self.role)
        if role is Role.REPORTER:
            raise ValueError("the reporter role is implicit (author of a signal); it is never granted")
        if role in (Role.AF, Role.BACKUP) and not self.municipality:
            raise ValueError(f"a {role} grant needs a municipality")
        if role is Role.PARTNER and not self.partner:
            raise ValueError("a partner grant needs a partner key")


@dataclass(frozen=True)
class Actor:
    user_id: str
    grants: frozenset[Grant] = frozenset()

    def has(self, role: Role) -> bool:
        return any(g.role == role for g in self.grants)

    def handles(self, municipality: str) -> bool:
        """AF or backup of this municipality."""
        return any(g.role in (Role.AF, Role.BACKUP) and g.municipality == municipality for g in self.grants)

    def partners(self) -> frozenset[str]:
        """The partner keys this actor answers for; the ketenregisseur answers as the partner
        `ketenregisseur` (consulted like a partner, §3.2), still seeing aggregates only otherwise."""
        own = {g.partner for g in self.grants if g.role == Role.PARTNER and g.partner}
        if self.has(Role.KETENREGISSEUR):
            own.add(KETENREGISSEUR_PARTNER)
        return frozenset(own)


@dataclass(frozen=True)
class CaseRef:
    """What permissions need to know about a case."""

    municipality: str
    reporter_id: str
    consulted_partners: frozenset[str] = frozenset()  # asked for advice
    routed_partners: frozenset[str] = frozenset()  # the case was handed over to them


@dataclass(frozen=True)
class Permission:
    allowed: bool
    reason: Denial | None = None

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class StatsScope:
    """Which municipalities' aggregates an actor may see."""

    region: bool  # all municipalities
    municipalities: frozenset[str] = frozenset()


ALLOW = Permission(True)


def _deny(reason: Denial) -> Permission:
    return Permission(False, reason)


# Which partners may record what on their own path (the request in their DM): advice by those
# consulted, outcome by those routed to. The case card's forms are the AF's and the backup's only.
_PARTNER_ACTIONS = {CaseAction.RECORD_ADVICE: "consulted", CaseAction.RECORD_OUTCOME: "routed"}


def can_act_on_case(actor: Actor, case: CaseRef, action: CaseAction | ReporterAction | str) -> Permission:
    """May `actor` perform `action` on `case` through the case card and its forms (advice record,
    route, conclude, feedback, close…)? Only the AF or backup of the signal's municipality; a partner
    answers on their own path (`can_record_for_partner`). Case state rules are `flows.cases.decide`'s job."""
    if action in set(ReporterAction):
        return ALLOW if actor.user_id == case.reporter_id else _deny(Denial.NOT_YOUR_SIGNAL)
    CaseAction(action)
    if actor.handles(case.municipality):
        return ALLOW
    if actor.has(Role.PARTNER):
        involved = actor.partners() & (case.consulted_partners | case.routed_partners)
        return _deny(Denial.PARTNER_RECORDS_ONLY if involved else Denial.PARTNER_NOT_INVOLVED)
    if actor.has(Role.KETENREGISSEUR):
        return _deny(Denial.AGGREGATES_ONLY)
    return _deny(Denial.NOT_AF_OF_MUNICIPALITY)


def can_record_for_partner(actor: Actor, case: CaseRef, action: CaseAction, partner: str) -> Permission:
    """A partner's own path: a member of `partner` gives advice on that organisation's consultation
    (or reports the outcome of its hand-over), and only when the case was sent to it. The AF records
    for a partner by hand through the case card (`can_act_on_case`)."""
    action = CaseAction(action)
    if action not in _PARTNER_ACTIONS:
        return _deny(Denial.PARTNER_RECORDS_ONLY if actor.has(Role.PARTNER) else Denial.NOT_AF_OF_MUNICIPALITY)
    involved = case.consulted_partners if _PARTNER_ACTIONS[action] == "consulted" else case.routed_partners
    if partner in actor.partners() and partner in involved:
        return ALLOW
    if actor.has(Role.PARTNER) or partner in actor.partners():
        return _deny(Denial.PARTNER_NOT_INVOLVED)
    if actor.has(Role.KETENREGISSEUR):
        return _deny(Denial.AGGREGATES_ONLY)
    return _deny(Denial.NOT_AF_OF_MUNICIPALITY)


def can_view_case_content(actor: Actor, case: CaseRef) -> Permission:
    """The full case file (signal, notes, timeline): only the AF and backup of its municipality.

    Partners see what the AF shares with them; the reporter sees their own report (`view_own`);
    the ketenregisseur sees aggregates only.
    """
    if actor.handles(case.municipality):
        return ALLOW
    if actor.has(Role.KETENREGISSEUR):
        return _deny(Denial.AGGREGATES_ONLY)
    if actor.user_id == case.reporter_id:
        return _deny(Denial.REPORTER_VIEW_ONLY)
    if actor.has(Role.PARTNER):
        involved = actor.partners() & (case.consulted_partners | case.routed_partners)
        return _deny(Denial.PARTNER_RECORDS_ONLY if involved else Denial.PARTNER_NOT_INVOLVED)
    return _deny(Denial.NOT_AF_OF_MUNICIPALITY)


def can_link_signals(actor: Actor, case: CaseRef, other: CaseRef) -> Permission:
    """Link or unlink two signals (related signals): only who may see both case files, and only within
    one municipality — a linked card shows the other's reference, date and state to everyone who sees
    the card, that is the municipality's AF and vervanger (across municipalities: aggregates only)."""
    for ref in (case, other):
        seen = can_view_case_content(actor, ref)
        if not seen:
            return seen
    if case.municipality != other.municipality:
        return _deny(Denial.OTHER_MUNICIPALITY)
    return ALLOW


def municipality_audience(municipality: str) -> str:
    """The training audience key of one municipality's staff."""
    return f"municipality:{municipality}"


def can_manage_training(actor: Actor, audience: str) -> Permission:
    """The ketenregisseur plans training for any audience; an AF or backup for their own municipality."""
    if actor.has(Role.KETENREGISSEUR):
        return ALLOW
    prefix = "municipality:"
    if audience.startswith(prefix) and actor.handles(audience.removeprefix(prefix)):
        return ALLOW
    return _deny(Denial.NOT_TRAINING_MANAGER)


def can_manage_members(actor: Actor, municipality: str) -> Permission:
    """Who holds which role in a municipality: its AF / backup, or the regional ketenregisseur."""
    if actor.handles(municipality) or actor.has(Role.KETENREGISSEUR):
        return ALLOW
    return _deny(Denial.NOT_AF_OF_MUNICIPALITY)


def can_view_stats(actor: Actor) -> Permission:
    """Aggregates (monitoring, §3.4): the ketenregisseur for the region, an AF / backup for their own."""
    return ALLOW if stats_scope(actor) is not None else _deny(Denial.NO_STATS_ROLE)


def stats_scope(actor: Actor) -> StatsScope | None:
    if actor.has(Role.KETENREGISSEUR):
        return StatsScope(region=True)
    own = frozenset(g.municipality for g in actor.grants if g.role in (Role.AF, Role.BACKUP) and g.municipality)
    return StatsScope(region=False, municipalities=own) if own else None
