"""The rows a reminder sweep writes, column by column: one week of cases in Breda (a case channel),
Etten-Leur (case cards by DM, no backup) and Zundert (cards by DM, with a backup), swept on six
moments — reminders sent in case threads, by DM, to the backup, the ketenregisseur and partners;
rungs skipped after downtime, reminders stopped because their reason went away unnoticed, a slot
already in the sent log, snoozed reminders, a retired rule, an acute case at night, and a region
ladder that chases the backup too when the reporter waits for feedback.

`tests/data/reminder_sweep_rows.json` was recorded from the per-reminder sweep (before the sweep
became set-based, commit f5534e5): the sweep must keep writing exactly these rows, in this order
(the outbox delivers by id), on SQLite and PostgreSQL, whatever the number of reminders per
transaction. Rows are compared with their ids replaced by stable labels.
Re-record only for an intended change: REGEN_REMINDER_ROWS=1 pytest tests/test_reminders_sweep_rows.py
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event, insert, update
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.core import events, network, reminders, triage
from bot.core.context import Core
from bot.core.jobs import load_sweeps
from bot.runtime import make_core, open_database
from flows.reminder_rules import DEFAULT_PATH
from models import AuditEntry, CaseEvent, Consultation, Handover, MessageRef, Municipality, OutboxMessage, Signal
from models.db import session_scope
from models.reminders import Deadline, SentReminder
from tests.conftest import DATA, SECRET, TOKEN
from tests.helpers import AF, BACKUP
from tests.reminders_support import change_in, consult, local

GOLDEN = DATA / "reminder_sweep_rows.json"
ZUNDERT = """  - name: Zundert
    aandachtsfunctionarissen: [U0ZU000001]
    backup: [U0ZU000002]
regional:"""

# The region's ladder: the backup is chased too when a reporter waits for feedback (so a backup in a
# municipality without a case channel gets a case card, and the AF's reminder can go to its thread).
NO_FEEDBACK = "trigger: no_feedback\n    offset: {working_days: 5}\n    audience: [af]"
NO_FEEDBACK_TO_BACKUP_TOO = "trigger: no_feedback\n    offset: {working_days: 5}\n    audience: [backup, af]"

# Monday 5 April 2027 (no holidays until Koningsdag, 27 April).
MONDAY = local(2027, 4, 5, 10, 0)
THURSDAY = local(2027, 4, 8, 10, 0)
FRIDAY = local(2027, 4, 9, 10, 0)
SATURDAY_NIGHT = local(2027, 4, 10, 2, 0)
NEXT_MONDAY = local(2027, 4, 12, 10, 0)


class Week:
    """A core on a fresh database, and the case steps of the scenario (as the case actions do them)."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        region = tmp_path / "region"
        region.mkdir()
        ladder = DEFAULT_PATH.read_text(encoding="utf-8")
        assert NO_FEEDBACK in ladder
        (region / "reminders.yaml").write_text(ladder.replace(NO_FEEDBACK, NO_FEEDBACK_TO_BACKUP_TOO), encoding="utf-8")
        settings = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, database_url=database_url,
                            data_key=Fernet.generate_key().decode(), data_dir=tmp_path / "data", region_dir=region,
                            scheduler_enabled=False)
        self.core: Core = make_core(settings, open_database(settings))
        self.kicks = 0
        self.core.kick = self._kick
        load_sweeps()
        text = (DATA / "network.yaml").read_text(encoding="utf-8").replace("regional:", ZUNDERT, 1)
        with session_scope(self.core.engine) as session:
            network.apply(session, network.parse(text), MONDAY.astimezone(UTC))
        self.lines: list[str] = []

    def _kick(self) -> None:
        self.kicks += 1

    def at(self, moment: datetime) -> datetime:
        self.core.clock.set(moment)
        return self.core.clock.now()

    def report(self, moment: datetime, municipality: str = "Breda", *, acute: bool = False, feedback: bool = False,
               card: bool = True) -> str:
        now = self.at(moment)
        with session_scope(self.core.engine) as session:
            muni = session.exec(select(Municipality).where(Municipality.name == municipality)).one()
            signal = Signal(reference=triage.next_reference(session, 2027), reporter_id="U0REP00001",
                            municipality_id=muni.id, status="new", questionnaire_version="test", form="AU",
                            description="Twee mannen slapen in de keuken.", acute=acute, wants_feedback=feedback,
                            created_at=now, updated_at=now, submitted_at=now)
            session.add(signal)
            session.flush()
            if card:
                triage.notify_handlers(session, signal, muni, now)
            events.emit(session, events.SUBMITTED, signal=signal, now=now)
            return signal.reference

    def step(self, reference: str, event: str | None = None, **fields: Any) -> Signal:
        """Set fields of the signal, then emit `event` (None: a change the reminders were not told of)."""
        return change_in(self.core, reference, event, **fields)

    def claim(self, reference: str, user: str = AF) -> None:
        self.step(reference, events.CLAIMED, claimed_by=user, claimed_at="now", status="in_progress")

    def consult(self, reference: str, partner: str) -> int:
        return consult(self, reference, partner)  # type: ignore[arg-type] - it needs only `.core`

    def route(self, reference: str, partner: str, expected: datetime | None = None, *, tell: bool = True) -> int:
        now = self.core.clock.now()
        with session_scope(self.core.engine) as session:
            signal = session.exec(select(Signal).where(Signal.reference == reference)).one()
            handover = Handover(signal_id=signal.id or 0, partner_key=partner, routed_by=AF, routed_at=now,
                                expected_outcome_at=expected)
            session.add(handover)
            session.flush()
            if tell:
                events.emit(session, events.ROUTED, signal=signal, now=now, actor=AF, handover=handover)
            return handover.id or 0

    def sweep(self, moment: datetime) -> list[str]:
        lines = reminders.sweep_reminders(self.core, self.at(moment))
        self.lines += [f"{moment.isoformat()} {line}" for line in lines]
        return lines

    def deadline(self, reference: str, rule_key: str) -> Deadline:
        with Session(self.core.engine) as session:
            return session.exec(select(Deadline).join(Signal, col(Signal.id) == Deadline.signal_id).where(
                Signal.reference == reference, Deadline.rule_key == rule_key)).one()


def play_the_week(week: Week) -> dict[str, str]:
    """The scenario; returns what each case is (for reading the recorded rows)."""
    cases: dict[str, str] = {}
    # Monday 10:00.
    cases[week.report(MONDAY)] = "Breda, never claimed: the AF, then after two days down the ketenregisseur"
    claimed_by_backup = week.report(MONDAY, feedback=True)
    week.claim(claimed_by_backup, BACKUP)
    cases[claimed_by_backup] = "claimed by the backup, wants feedback: no_feedback to the backup, mentioning the backup"
    zundert_backup = week.report(MONDAY, "Zundert", feedback=True)
    week.claim(zundert_backup, "U0ZU000002")
    cases[zundert_backup] = ("Zundert, claimed by its backup, wants feedback: no_feedback gives the backup a case card "
                             "and mentions them in its thread")
    advice = week.report(MONDAY)
    week.claim(advice)
    week.consult(advice, "avim")
    answered = week.consult(advice, "zoco")
    week.consult(advice, "nla")
    cases[advice] = "advice from AVIM (in Slack), ZoCo (answered unnoticed) and NLA (nobody in Slack)"
    outcome = week.report(MONDAY)
    week.claim(outcome)
    week.route(outcome, "avim", expected=local(2027, 4, 9, 12, 0))
    cases[outcome] = "handed over to AVIM, outcome agreed for Friday"
    investigations = [week.report(MONDAY) for _ in range(3)]
    for reference in investigations:
        week.claim(reference)
        week.step(reference, events.CONCLUDED, conclusion="verder_onderzoek", conclusion_at=local(2027, 3, 8, 10, 0))
    week.route(investigations[1], "nla", tell=False)
    cases[investigations[0]] = "further investigation since 8 March: revisited"
    cases[investigations[1]] = "further investigation, then routed unnoticed: stopped"
    cases[investigations[2]] = "further investigation, then a new conclusion unnoticed: stopped"
    closed, purged = week.report(MONDAY), week.report(MONDAY)
    week.step(closed, None, status="closed", closed_at="now")
    week.step(purged, None, purged_at="now")
    cases[closed] = "closed unnoticed: every rung stopped"
    cases[purged] = "purged unnoticed: every rung stopped"
    week.sweep(local(2027, 4, 6, 10, 0))  # Tuesday

    # Thursday 10:00.
    cases[week.report(THURSDAY)] = "Breda, reported Thursday: the backup on Monday by DM"
    cases[week.report(THURSDAY, "Etten-Leur")] = "Etten-Leur (no backup): the AFs again in the DM card's thread"
    cases[week.report(THURSDAY, "Zundert")] = "Zundert (cards by DM): the backup gets a case card and a DM"
    snoozed = week.report(THURSDAY)
    cases[snoozed] = "snoozed until Monday 09:00: superseded by the backup rung"
    week.step(investigations[2], None, conclusion="geen")
    with session_scope(week.core.engine) as session:
        session.execute(update(Consultation).where(col(Consultation.id) == answered)
                        .values(answer="Nee.", answered_at=week.core.clock.now()))
    week.sweep(FRIDAY)  # down on Wednesday and Thursday
    week.at(FRIDAY + timedelta(minutes=5))
    assert reminders.snooze(week.core, week.deadline(snoozed, "unclaimed_af").id or 0, AF, "tomorrow").ok

    # Friday 10:00.
    cases[week.report(FRIDAY)] = "Breda, reported Friday: the AF on Monday in the case thread"
    unnoticed_claim = week.report(FRIDAY)
    week.step(unnoticed_claim, None, claimed_by=AF, status="in_progress")
    cases[unnoticed_claim] = "claimed unnoticed: stopped"
    in_sent_log = week.report(FRIDAY)
    cases[in_sent_log] = "its slot is in the sent log already (another process): marked sent, nothing sent"
    cases[week.report(FRIDAY, card=False)] = "no case card: the AF by DM"
    snoozed_early = week.report(FRIDAY)
    cases[snoozed_early] = "snoozed before it was due, until Monday 09:00: sent then, no longer snoozed"
    week.at(FRIDAY + timedelta(minutes=5))
    assert reminders.snooze(week.core, week.deadline(snoozed_early, "unclaimed_af").id or 0, AF, "tomorrow").ok
    retired = week.report(local(2027, 4, 9, 12, 0))
    cases[retired] = "a rung of a rule the region removed: stopped"
    af_rung = week.deadline(in_sent_log, "unclaimed_af")
    retired_rung = week.deadline(retired, "unclaimed_af")
    with session_scope(week.core.engine) as session:
        session.add(SentReminder(deadline_id=af_rung.id or 0, signal_id=af_rung.signal_id, rule_key="unclaimed_af",
                                 subject_id=0, slot_at=af_rung.due_at, sent_at=af_rung.due_at))
        session.add(Deadline(signal_id=retired_rung.signal_id, trigger="unclaimed", rule_key="unclaimed_phone",
                             rung=3, anchor_at=retired_rung.anchor_at, due_at=local(2027, 4, 12, 8, 0),
                             created_at=retired_rung.created_at, updated_at=retired_rung.created_at))

    # Saturday night: only the acute case is chased.
    acute = week.report(SATURDAY_NIGHT, acute=True)
    cases[acute] = "acute, Saturday 02:00: the AF at 02:30; the escalation at 03:00 is missed (down)"
    week.sweep(local(2027, 4, 10, 2, 30))

    week.sweep(NEXT_MONDAY)  # everything else, in one sweep
    week.sweep(NEXT_MONDAY + timedelta(minutes=1))  # nothing again
    return cases


# --- the rows, with ids as labels ----------------------------------------------------------------------

def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def dump(engine: Any) -> dict[str, Any]:
    with Session(engine) as session:
        references = {s.id: s.reference for s in session.exec(select(Signal)).all()}
        tables = {name: session.exec(select(model).order_by(col(model.id))).all()
                  for name, model in (("deadline", Deadline), ("sentreminder", SentReminder),
                                      ("messageref", MessageRef), ("outboxmessage", OutboxMessage),
                                      ("caseevent", CaseEvent), ("auditentry", AuditEntry))}
    deadlines = {d.id: f"{references[d.signal_id]}/{d.rule_key}/{d.subject_id}" for d in tables["deadline"]}
    messages = {m.id: f"m{n}" for n, m in enumerate(tables["messageref"])}

    def dedupe(key: str | None) -> str | None:
        if key is None:
            return None
        key = re.sub(r"^reminder:(\d+):", lambda m: f"reminder:{deadlines[int(m.group(1))]}:", key)
        key = re.sub(r":card(\d+)$", lambda m: f":card {messages[int(m.group(1))]}", key)
        return re.sub(r"^card:(\d+):", lambda m: f"card:{references[int(m.group(1))]}:", key)

    def row(obj: Any) -> dict[str, Any]:
        out = {name: _value(getattr(obj, name)) for name in type(obj).model_fields if name != "id"}
        if "signal_id" in out and out["signal_id"] is not None:
            out["signal_id"] = references[out["signal_id"]]
        return out

    out: dict[str, Any] = {name: [] for name in tables}
    for d in tables["deadline"]:
        out["deadline"].append(row(d))
    for s in tables["sentreminder"]:
        out["sentreminder"].append({**row(s), "deadline_id": deadlines[s.deadline_id]})
    for m in tables["messageref"]:
        ref = dict(m.ref)
        if "deadline" in ref:
            ref["deadline"] = deadlines[ref["deadline"]]
        out["messageref"].append({"label": messages[m.id], **row(m), "ref": ref,
                                  "parent_id": messages.get(m.parent_id)})
    for o in tables["outboxmessage"]:
        out["outboxmessage"].append({**row(o), "message_ref_id": messages[o.message_ref_id],
                                     "dedupe_key": dedupe(o.dedupe_key)})
    out["caseevent"] = [row(e) for e in tables["caseevent"]]
    out["auditentry"] = [row(a) for a in tables["auditentry"]]
    return out


@pytest.mark.parametrize("chunk", [2, None], ids=["2-per-transaction", "default-chunk"])
def test_a_week_of_sweeps_writes_the_recorded_rows(database_url, tmp_path, monkeypatch, chunk) -> None:
    if chunk is not None:
        monkeypatch.setattr(reminders, "CHUNK", chunk)
    week = Week(database_url, tmp_path)
    try:
        cases = play_the_week(week)
        got = {"cases": cases, "lines": week.lines, "kicks": week.kicks, **dump(week.core.engine)}
    finally:
        week.core.engine.dispose()
    if os.environ.get("REGEN_REMINDER_ROWS"):
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for key in recorded:
        if isinstance(recorded[key], list):
            for n, (want, have) in enumerate(zip(recorded[key], got[key], strict=False)):
                assert have == want, f"{key}[{n}]"
        assert got[key] == recorded[key], key


def test_a_slot_another_process_logs_during_the_sweep_is_the_only_one_not_sent(database_url, tmp_path) -> None:
    """Two sweeps at once: the other one logs one slot of this chunk as sent while this one is at work.
    Nothing of ours goes out for that slot (it is settled as sent), and the rest of the chunk does."""
    week = Week(database_url, tmp_path)
    try:
        references = [week.report(FRIDAY) for _ in range(5)]
        contested = week.deadline(references[2], "unclaimed_af")
        # The other process's sent-log row (its deadline id may be any row of the case: the unique key is the slot).
        other_rung = week.deadline(references[2], "unclaimed_backup")
        engine = week.core.engine
        logged: list[str] = []

        # PostgreSQL: the other sweep logs the slot while this one holds its rows (row locks do not
        # cover the sent log): right after this one read the sent log, before it writes its own rows
        # there (with COPY, which passes no statement event). SQLite: this sweep holds the database's
        # write lock from its first read, so the other one can only get in just before that.
        sqlite = engine.dialect.name == "sqlite"
        when, moment = ("before_cursor_execute", "update deadline set id") if sqlite else (
            "after_cursor_execute", "select sentreminder.signal_id")

        def other_process_logs_the_slot(conn, cursor, statement, *args) -> None:  # noqa: ANN001
            if logged or not statement.lstrip().lower().startswith(moment):
                return
            logged.append(statement)
            with engine.connect() as other:
                other.execute(insert(SentReminder.__table__).values(
                    deadline_id=other_rung.id, signal_id=contested.signal_id, rule_key="unclaimed_af", subject_id=0,
                    slot_at=contested.due_at, sent_at=NEXT_MONDAY))
                other.commit()

        event.listen(engine, when, other_process_logs_the_slot)
        try:
            lines = week.sweep(NEXT_MONDAY)
        finally:
            event.remove(engine, when, other_process_logs_the_slot)
        assert logged
        sent_for = [line.split()[3] for line in lines if line.startswith("sent ")]
        assert sent_for == [r for r in references if r != references[2]]
        with Session(engine) as session:
            reminders_ = session.exec(select(MessageRef).where(MessageRef.kind == "reminder")).all()
            reminded = [m.ref["deadline"] for m in reminders_]
            slots = session.exec(select(SentReminder).where(SentReminder.signal_id == contested.signal_id)).all()
        assert contested.id not in reminded and len(reminded) == 4
        assert [s.deadline_id for s in slots] == [other_rung.id]
        assert week.deadline(references[2], "unclaimed_af").state == "sent"  # as a slot in the sent log
        assert week.sweep(NEXT_MONDAY + timedelta(minutes=1)) == []
        with Session(engine) as session:
            assert len(session.exec(select(MessageRef).where(MessageRef.kind == "reminder")).all()) == 4
    finally:
        week.core.engine.dispose()


def test_on_sqlite_a_chunk_holds_the_write_lock_from_its_first_read(tmp_path: Path) -> None:
    """SQLite has no row locks: the sweep takes the database's write lock before it reads a chunk, so
    no claim or feedback can commit between the reads that decide a reminder and its writes."""
    import sqlite3

    from models.db import make_engine, upgrade

    path = tmp_path / "sweep.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    other = sqlite3.connect(path, timeout=0.2)
    try:
        with session_scope(engine) as session:
            reminders._lock(session, [1], datetime.now(UTC))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("UPDATE signal SET status = status")
        other.execute("UPDATE signal SET status = status")  # free again after the chunk's commit
        other.commit()
    finally:
        other.close()
        engine.dispose()
