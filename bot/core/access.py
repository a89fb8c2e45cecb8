"""Loads who someone is (their grants) and what a case is (for permissions) from the database,
and asks `flows.permissions` — the one place where access is decided."""

from __future__ import annotations

from sqlmodel import Session, select

from flows.permissions import Actor, CaseRef, Grant, Role
from models import Consultation, Handover, Municipality, RoleAssignment, Signal


def actor(session: Session, user_id: str) -> Actor:
    rows = session.exec(select(RoleAssignment).where(RoleAssignment.user_id == user_id)).all()
    names = {m.id: m.name for m in session.exec(select(Municipality)).all()}
    grants = set()
    for r in rows:
        try:
            grants.add(Grant(Role(r.role), names.get(r.municipality_id) if r.municipality_id else None,
                             r.partner_key))
        except ValueError:
            continue  # a role this version does not know: grant nothing
    return Actor(user_id=user_id, grants=frozenset(grants))


def case_ref(session: Session, signal: Signal) -> CaseRef:
    muni = session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
    consulted = session.exec(select(Consultation.partner_key).where(Consultation.signal_id == signal.id)).all()
    routed = session.exec(select(Handover.partner_key).where(Handover.signal_id == signal.id)).all()
    return CaseRef(municipality=muni.name if muni else "", reporter_id=signal.reporter_id or "",
                   consulted_partners=frozenset(consulted), routed_partners=frozenset(routed))
