"""An in-memory platform edge, for tests of the core and for a new platform's author: what errbot's
test backend is to its plugins. It plays the part a chat platform plays — people act, the core's
services run, the outbox delivers — with no chat platform at all.

- `MemoryDeliverer` is an `outbox.Deliverer`: it keeps every delivered message in memory, per person
  (their DM with the bot) or per place (a conversation, e.g. a municipality's case place), as plain
  data, never as a platform's format. A place can be told to refuse messages (`refuse`).
- `present(session, msg)` is the ONE adapter from a queued message to that plain data: the kind,
  the opaque ref, and the facts the core put within the message's reach. Switch it to the core's
  presenters when they exist; nothing else here depends on how a message looks.
- `TestEdge` drives the core as an edge would: `report(person, answers)`, `click(person, action,
  reference, **inputs)`, `reply`, `advise`, `report_outcome`, `travel(to)` (the sweeps, with the
  clock moved), `purge()`; `inbox(person)` / `place(conversation)` show what each one sees now.
  Every action delivers the outbox right away (`settle`), so a test reads like the route.

Nothing here imports a platform (tests/test_layers.py): a Teams or console edge can reuse it as is.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.core import cases, jobs, network, presenters, reminders, retention, triage
from bot.core.clock import Clock
from bot.core.context import Core
from bot.core.outbox import Delivered, NotReady, OutboxWorker, PermanentError, Refusal
from flows import questionnaire as questionnaire_mod
from flows.questionnaire import Questionnaire
from models import CaseEvent, Consultation, Handover, MessageRef, Signal, crypto
from models.db import make_engine, session_scope, upgrade
from models.reminders import Deadline

# ------------------------------------------------------------------------------ what a message shows


def present(session: Session, msg: MessageRef, questionnaire: Questionnaire | None = None) -> dict[str, Any]:
    """The plain data of a message as it would be shown now: its kind and opaque ref, plus what the
    core put within its reach — the case's state on a case card, the event a thread reply or a
    reporter's message is about, the consultation or hand-over a partner's message is about, the
    deadline a reminder chases — and, under `shown`, what the core's presenters (bot.core.presenters)
    give that message's audience: what any platform edge formats."""
    data: dict[str, Any] = {"kind": msg.kind, "ref": dict(msg.ref)}
    shown = _presented(session, msg, questionnaire)
    if shown is not None:
        data["shown"] = shown
    signal = session.get(Signal, msg.signal_id) if msg.signal_id else None
    if signal is not None:
        data["signal"], data["reference"] = signal.id, signal.reference
    if msg.kind == "case_card" and signal is not None:
        view = cases.case_view(session, signal)
        data["case"] = {"status": view.status.value, "claimed_by": view.claimed_by,
                        "conclusion": view.conclusion.value if view.conclusion else None,
                        "description": signal.description, "location": signal.location}
    if msg.kind == "summary" and signal is not None:
        data["answers"] = {"description": signal.description, "location": signal.location}
    if "event" in msg.ref:
        ev = session.get(CaseEvent, msg.ref["event"])
        if ev is not None and ev.signal_id == msg.signal_id:
            data["event"] = {"id": ev.id, "kind": ev.kind, "text": ev.text,
                             "visible_to_reporter": ev.visible_to_reporter}
    if "consultation" in msg.ref:
        c = session.get(Consultation, msg.ref["consultation"])
        if c is not None and c.signal_id == msg.signal_id:
            data["consultation"] = {"id": c.id, "partner": c.partner_key, "question": c.question,
                                    "include_description": c.include_description,
                                    "answered": c.answered_at is not None}
    if "handover" in msg.ref:
        h = session.get(Handover, msg.ref["handover"])
        if h is not None and h.signal_id == msg.signal_id:
            data["handover"] = {"id": h.id, "partner": h.partner_key, "urgent": h.urgent,
                                "reported": h.outcome_at is not None, "outcome": h.outcome_kind}
    if "deadline" in msg.ref:
        row = session.get(Deadline, msg.ref["deadline"])
        if row is not None:
            data["deadline"] = {"rule": row.rule_key, "trigger": row.trigger, "state": row.state}
    return data


def _presented(session: Session, msg: MessageRef, questionnaire: Questionnaire | None) -> dict[str, Any] | None:
    signal = session.get(Signal, msg.signal_id) if msg.signal_id else None
    if signal is None:
        return None
    if msg.template == "reporter_event":
        return dataclasses.asdict(presenters.reporter_event(session, signal, msg.ref.get("event")))
    if msg.template in ("partner_consultation", "partner_handover") and questionnaire is not None:
        row = (session.get(Consultation, msg.ref.get("consultation")) if msg.template == "partner_consultation"
               else session.get(Handover, msg.ref.get("handover")))
        share = bool(getattr(row, "include_description", False))
        return dataclasses.asdict(presenters.partner_brief(session, questionnaire, signal, share_description=share))
    if msg.template in ("reminder", "reminder_escalation", "reminder_partner") and "deadline" in msg.ref:
        row = session.get(Deadline, msg.ref["deadline"])
        if row is None:
            return None
        audience = {"reminder": presenters.ReminderFor.AF, "reminder_partner": presenters.ReminderFor.PARTNER}.get(
            msg.template) or presenters.ReminderFor(msg.ref.get("audience", "backup"))
        slot = datetime.fromisoformat(msg.ref.get("slot") or row.due_at.isoformat())
        return dataclasses.asdict(presenters.reminder(session, row, signal, slot, audience,
                                                      mention=msg.ref.get("mention", [])))
    return None


TOMBSTONE: dict[str, Any] = {"kind": "tombstone"}


# ------------------------------------------------------------------------------ the deliverer


@dataclass(frozen=True)
class Shown:
    """One message as someone sees it now: where, in which thread, and what it shows."""

    message: int  # the MessageRef id
    kind: str
    conversation: str
    thread: int | None  # the MessageRef id of the thread's root, for a reply
    data: dict[str, Any]
    ops: tuple[str, ...] = ("post",)  # what was done to it: post, then updates, then redact

    @property
    def redacted(self) -> bool:
        return "redact" in self.ops


def dm(person: str) -> str:
    """The conversation id of a person's DM with the bot on this edge."""
    return f"dm:{person}"


@dataclass
class MemoryDeliverer:
    """Delivers into memory. `shown` holds each message as it is now; `history` every delivery
    (op, message id, conversation, data), so a test can check what was EVER shown to whom."""

    present: Callable[[Session, MessageRef], dict[str, Any]] = present
    shown: dict[int, Shown] = field(default_factory=dict)
    history: list[tuple[str, int, str, dict[str, Any]]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # conversation -> the platform's own word for it
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def refuse(self, conversation: str, reason: str) -> None:
        """From now on the platform refuses posts to `conversation` (e.g. the bot is not in it)."""
        self.refused[conversation] = reason

    def __call__(self, session: Session, op: str, ref: MessageRef) -> Delivered:
        assert ref.id is not None
        if op == "post":
            conversation, thread = self._where(session, ref)
            if conversation in self.refused:
                raise PermanentError(self.refused[conversation], Refusal.PLACE_UNREACHABLE)
            data = self.present(session, ref)
            self.shown[ref.id] = Shown(ref.id, ref.kind, conversation, thread, data)
            self.history.append((op, ref.id, conversation, data))
            return Delivered(conversation, f"m{next(self._ids)}")
        before = self.shown[ref.id]
        # Once a tombstone, always a tombstone: a late update must not bring details back.
        data = TOMBSTONE if op == "redact" or before.redacted else self.present(session, ref)
        self.shown[ref.id] = Shown(ref.id, ref.kind, before.conversation, before.thread, data, (*before.ops, op))
        self.history.append((op, ref.id, before.conversation, data))
        return Delivered(ref.conversation, ref.message_id)

    def probe(self) -> None:
        return None

    def _where(self, session: Session, ref: MessageRef) -> tuple[str, int | None]:
        """The conversation of a new message, and its thread's root: a reply goes where its root is."""
        if ref.parent_id:
            parent = session.get(MessageRef, ref.parent_id)
            if parent is None or not parent.message_id or parent.id not in self.shown:
                raise NotReady()
            return self.shown[parent.id].conversation, parent.id
        if ref.conversation:
            return ref.conversation, None
        assert ref.recipient, "a message goes to a person or a place"
        return dm(ref.recipient), None


# ------------------------------------------------------------------------------ the driver


# Case actions as an edge offers them (a button, a form): key -> the core step, called with the
# case's id, the person who acts and the form's inputs.
CASE_ACTIONS: dict[str, Callable[..., Any]] = {
    "claim": cases.claim,
    "ask_info": cases.ask_info,
    "message_reporter": cases.message_reporter,
    "note": cases.note,
    "consult": cases.consult,
    "record_advice": cases.record_advice,
    "conclude": cases.conclude,
    "route": cases.route,
    "feedback": cases.feedback,
    "close": cases.close,
    "reopen": cases.reopen,
    "timeline": cases.timeline,
    "seen": cases.mark_seen,
    "reclassify": cases.reclassify_case,
}


def open_core(database_url: str, *, clock: Clock | None = None, **settings: Any) -> Core:
    """A core on a fresh database (migrated), as a composition root would build it, minus any platform."""
    key = Fernet.generate_key().decode()
    crypto.configure(key)
    engine = make_engine(database_url)
    upgrade(engine)
    config = Settings(database_url=database_url, data_key=key, scheduler_enabled=False).with_(**settings)
    core = Core(settings=config, engine=engine, questionnaire=questionnaire_mod.load(), clock=clock or Clock())
    reminders.configure(core)
    jobs.load_sweeps()
    return core


class TestEdge:
    """The core behind an in-memory edge. Actions return the core's result; the outbox is delivered
    before they return."""

    __test__ = False  # not a pytest test class

    def __init__(self, core: Core, deliverer: MemoryDeliverer | None = None) -> None:
        self.core = core
        self.deliverer = deliverer or MemoryDeliverer(
            present=lambda session, msg: present(session, msg, core.questionnaire))
        self.worker = OutboxWorker(core.engine, self.deliverer, core.clock.now)

    @classmethod
    def open(cls, database_url: str, network_yaml: str | Path, *, at: datetime, **settings: Any) -> TestEdge:
        """A core on a fresh database, its network loaded, its clock frozen at `at`."""
        clock = Clock()
        clock.set(at)
        core = open_core(database_url, clock=clock, **settings)
        text = network_yaml.read_text(encoding="utf-8") if isinstance(network_yaml, Path) else network_yaml
        with session_scope(core.engine) as session:
            network.apply(session, network.parse(text), at)
        return cls(core)

    def close(self) -> None:
        self.worker.stop()
        self.engine.dispose()

    @property
    def engine(self) -> Engine:
        return self.core.engine

    def now(self) -> datetime:
        return self.core.clock.now()

    def settle(self) -> list[tuple[str, MessageRef, str]]:
        """Deliver everything that is due now."""
        return self.worker.drain()

    def _done(self, result: Any) -> Any:
        self.settle()
        return result

    # -- what people see ---------------------------------------------------------------------------

    def inbox(self, person: str) -> list[Shown]:
        """The person's DM with the bot, oldest first, each message as it is now."""
        return self.place(dm(person))

    def place(self, conversation: str) -> list[Shown]:
        return sorted((s for s in self.deliverer.shown.values() if s.conversation == conversation),
                      key=lambda s: s.message)

    def thread(self, root: Shown) -> list[Shown]:
        return sorted((s for s in self.deliverer.shown.values() if s.thread == root.message),
                      key=lambda s: s.message)

    def ever_shown(self, conversation: str) -> list[dict[str, Any]]:
        """Everything ever delivered to a conversation (posts, updates, tombstones)."""
        return [data for _op, _id, where, data in self.deliverer.history if where == conversation]

    def conversations(self) -> set[str]:
        return {s.conversation for s in self.deliverer.shown.values()}

    # -- the reporter ------------------------------------------------------------------------------

    def report(self, person: str, answers: dict[str, Any], *, send: bool = True) -> str:
        """/signaal: answer each question the bot asks in the DM from `answers`, then send it.
        Returns the signal's reference."""
        started = self._done(triage.start(self.core, person))
        assert started.ok, started
        for _ in range(50):
            asked = [s for s in self.inbox(person) if s.kind in ("question", "summary")
                     and s.data.get("signal") == started.signal_id]
            if asked and asked[-1].kind == "summary":
                break
            key = asked[-1].data["ref"]["q"] if asked else None
            if key not in answers:
                raise KeyError(f"the bot asks {key!r}; give it in `answers`")
            result = self._done(triage.answer(self.core, started.signal_id, person, key, answers[key]))
            assert result.ok, result
        if send:
            sent = self._done(triage.submit(self.core, started.signal_id, person))
            assert sent.ok, sent
        return started.reference

    def cancel(self, person: str, reference: str) -> Any:
        """The reporter cancels their draft."""
        return self._done(triage.cancel(self.core, self.signal_id(reference), person))

    def reply(self, person: str, reference: str, text: str, *, question: int | None = None) -> Any:
        """The reporter answers the AF's question (`question`: the event it asked in), or adds something."""
        return self._done(cases.reporter_answer(self.core, self.signal_id(reference), person, text, question))

    # -- the AF and partners ---------------------------------------------------------------------

    def click(self, person: str, action: str, reference: str, **inputs: Any) -> Any:
        """A case action on the case card (`CASE_ACTIONS`), with the form's inputs."""
        return self._done(CASE_ACTIONS[action](self.core, self.signal_id(reference), person, **inputs))

    def advise(self, person: str, consultation: int, text: str) -> Any:
        """A partner member gives advice on a consultation their organisation was asked."""
        return self._done(cases.give_advice(self.core, consultation, person, text))

    def report_outcome(self, person: str, handover: int, text: str | None, *, kind: str) -> Any:
        """A partner member reports the outcome of a hand-over to their organisation: its kind from the
        list (flows/classification.yaml) and an optional note."""
        return self._done(cases.record_outcome(self.core, handover, person, text, kind=kind))

    def snooze(self, person: str, deadline: int, choice: str) -> Any:
        return self._done(reminders.snooze(self.core, deadline, person, choice))

    # -- time --------------------------------------------------------------------------------------

    def travel(self, to: datetime) -> list[str]:
        """Move the clock to `to` and run what is due then (the scheduler's sweeps), then deliver."""
        self.core.clock.set(to)
        lines = jobs.run_due(self.core, self.worker, self.now())
        self.settle()
        return lines

    def purge(self, *, dry_run: bool = False) -> list[retention.Candidate]:
        """`signaalbot purge`: remove the personal data of every signal whose retention is over."""
        return self._done(retention.purge(self.core, self.now(), actor="operator", dry_run=dry_run))

    # -- reading the core's state ----------------------------------------------------------------

    def signal_id(self, reference: str) -> int:
        with Session(self.engine) as session:
            found = session.exec(select(Signal.id).where(Signal.reference == reference)).first()
        if found is None:
            raise KeyError(reference)
        return found

    def signal(self, reference: str) -> Signal:
        with Session(self.engine) as session:
            return session.exec(select(Signal).where(Signal.reference == reference)).one()
