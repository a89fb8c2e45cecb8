"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from models.audit import AuditEntry
from models.messaging import MessageRef, OutboxMessage, ProcessedEvent
from models.network import Municipality, Partner, Person, RoleAssignment
from models.signals import CaseEvent, Consultation, Handover, ReferenceCounter, Signal

__all__ = [
    "AuditEntry",
    "CaseEvent",
    "Consultation",
    "Handover",
    "MessageRef",
    "Municipality",
    "OutboxMessage",
    "Partner",
    "Person",
    "ProcessedEvent",
    "ReferenceCounter",
    "RoleAssignment",
    "Signal",
]
