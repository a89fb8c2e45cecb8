"""SQLModel tables. Importing this package registers every table on SQLModel.metadata:
the core tables below, and every other module in this package (feature tables)."""

import importlib as _importlib
import pkgutil as _pkgutil

from models.audit import AuditEntry
from models.messaging import InboxItem, MessageRef, OutboxMessage
from models.network import Identity, Municipality, Partner, Person, RoleAssignment
from models.signals import CaseEvent, Consultation, Handover, ReferenceCounter, Signal

__all__ = [
    "AuditEntry",
    "CaseEvent",
    "Consultation",
    "Handover",
    "Identity",
    "InboxItem",
    "MessageRef",
    "Municipality",
    "OutboxMessage",
    "Partner",
    "Person",
    "ReferenceCounter",
    "RoleAssignment",
    "Signal",
]

_SKIP = {"base", "crypto", "db", "migrations"}
for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda i: i.name):
    if _info.name not in _SKIP and not _info.name.startswith("_"):
        _importlib.import_module(f"models.{_info.name}")
