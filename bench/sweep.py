"""Part 4 — sweep cost: one run (median of five) of the registered `reminders` sweep
(`bot.core.reminders.sweep_reminders`, found in `bot.core.jobs.SWEEPS` like the scheduler finds it)
with 10,000 and with 100,000 stored signals of which 1% have a reminder due, and with 100,000 stored
signals of which the same 100 as in the 10,000 case are due (a fixed due set: does the cost follow
the due reminders or the stored signals?), on SQLite (a temp file) and on PostgreSQL (an `sbbench_*`
database that the bench creates and drops).

Seeding (in the bench process, not timed): the signals are bulk-inserted as submitted cases of Breda
with their case card (`MessageRef` kind case_card, delivered: conversation + message id, so a reminder has a
thread to go to). Their `Deadline` rows are made by the reminder module itself: for the first signal
of each group the bench calls the module's own SUBMITTED handler (`arm()` of every ladder, in a real
transaction; for closed cases also its CLOSED handler), and bulk-copies those rows to the other
signals of the group. Groups: 1% submitted yesterday 09:00 (their `unclaimed_af` rung is due now),
49% submitted 30 minutes ago (ladders pending, not due), 50% closed earlier (ladders cancelled); with
a fixed due set, only every (n / due)-th signal is in the due group and the other 1% are fresh.
The clock is fixed at Tuesday 10 March 2026, 10:00 Europe/Amsterdam (office time). One warm-up sweep
at seeding time (nothing due) opens the connection pool, the garbage of seeding is collected (so a
full collection of it does not land in the timed sweep at random); then one sweep is timed, and
undone (its new rows deleted, the due deadlines put back as they were), five times: the median is
reported, every run listed.

What is timed: the sweep function itself — finding the due reminders, re-checking each reason,
writing `SentReminder`, the reminder `MessageRef` + outbox row, the case event and audit entry, each
committed. Outbox delivery (the Slack calls) is NOT included: it happens afterwards in the outbox
worker, at the rate measured in parts 2–3.
"""

from __future__ import annotations

import gc
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select, text

from bench.common import NETWORK_YAML, SECRET, TOKEN, Metric, Part, Scratch, pg_available

MEASURED = True
SIZES = (10_000, 100_000)
TARGET_MS = 200.0
TARGET_RATIO = 1.5
CHANNEL = "C0AFCASES1"
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Amsterdam (CET)
DUE_ANCHOR = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # Monday 09:00 local: unclaimed_af due Tuesday 09:00
FRESH_ANCHOR = NOW - timedelta(minutes=30)
OLD_ANCHOR = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
CHUNK = 5000


def _group(i: int, due_every: int = 100) -> str:
    r = i % 100
    return "due" if i % due_every == 0 else "fresh" if r < 50 else "closed"


def _anchor(group: str) -> datetime:
    return {"due": DUE_ANCHOR, "fresh": FRESH_ANCHOR, "closed": OLD_ANCHOR}[group]


def seed(core: Any, n: int, due: int | None = None) -> dict[str, float]:
    """n submitted signals with case cards and their reminder ladders (see the module docstring);
    `due` of them due (default 1%)."""
    from bot.core import events, reminders
    from models import MessageRef, Municipality, Signal
    from models.db import session_scope
    from models.reminders import Deadline

    engine = core.engine
    t0 = time.perf_counter()
    with session_scope(engine) as session:
        breda = session.exec(select(Municipality).where(Municipality.name == "Breda")).scalars().one()
        muni_id = breda.id
        first = (session.execute(select(func.max(Signal.id))).scalar() or 0) + 1
    afs = ["U0AF000001"]
    due_every = n // due if due else 100
    signal_rows, card_rows = [], []
    for k in range(n):
        sid, group = first + k, _group(k, due_every)
        anchor = _anchor(group)
        closed = group == "closed"
        signal_rows.append({
            "id": sid, "reference": f"S-B-{sid:07d}", "reporter_id": f"U0BENCH{k % 12 + 1:03d}",
            "municipality_id": muni_id, "status": "closed" if closed else "new", "questionnaire_version": "bench",
            "answers": {"form": "AU", "acute": "no", "minor": "no", "feedback": "yes"}, "current_question": None,
            "step": 12, "editing": False, "form": "AU", "sector": "horeca", "acute": False, "minor": False,
            "wants_feedback": True, "created_at": anchor - timedelta(minutes=5), "updated_at": anchor,
            "submitted_at": anchor, "closed_at": anchor + timedelta(days=3) if closed else None,
        })
        card_rows.append({
            "signal_id": sid, "kind": "case_card", "template": "case_card", "ref": {"mention": afs},
            "conversation": CHANNEL, "message_id": f"{1_700_000_000 + sid}.000100", "contains_details": True,
            "created_at": anchor, "posted_at": anchor,
        })
    with engine.begin() as conn:
        for i in range(0, n, CHUNK):
            conn.execute(insert(Signal), signal_rows[i:i + CHUNK])
        for i in range(0, n, CHUNK):
            conn.execute(insert(MessageRef), card_rows[i:i + CHUNK])
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('signal', 'id'), (SELECT max(id) FROM signal))"))
    # The reminder module arms the ladders of one signal per group, exactly as on a real submit …
    reminders.configure(core)
    templates: dict[str, list[dict[str, Any]]] = {}
    for k, group in ((0, "due"), (1, "fresh"), (50, "closed")):
        sid, anchor = first + k, _anchor(group)
        with session_scope(engine) as session:
            signal = session.get(Signal, sid)
            signal.status = "new"
            events.emit(session, events.SUBMITTED, signal=signal, now=anchor)
            if group == "closed":
                signal.status = "closed"
                events.emit(session, events.CLOSED, signal=signal, now=anchor + timedelta(days=3))
            session.add(signal)
        with session_scope(engine) as session:
            rows = session.execute(select(Deadline).where(Deadline.signal_id == sid)).scalars().all()
            templates[group] = [{c: getattr(r, c) for c in Deadline.model_fields if c not in ("id", "signal_id")}
                                for r in rows]
        assert templates[group], f"the SUBMITTED handler armed nothing for group {group}"
    # … and the bench copies those rows to every other signal of the group.
    armed = {first, first + 1, first + 50}
    deadline_rows = [{**tpl, "signal_id": first + k} for k in range(n) if first + k not in armed
                     for tpl in templates[_group(k, due_every)]]
    with engine.begin() as conn:
        for i in range(0, len(deadline_rows), CHUNK):
            conn.execute(insert(Deadline), deadline_rows[i:i + CHUNK])
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return {"seconds": time.perf_counter() - t0, "deadlines": len(deadline_rows) + sum(map(len, templates.values()))}


def _count_due(core: Any) -> int:
    from models.db import session_scope
    from models.reminders import Deadline

    with session_scope(core.engine) as session:
        return int(session.execute(select(func.count()).select_from(Deadline).where(
            Deadline.state == "pending", Deadline.due_at <= NOW)).scalar() or 0)


REPEATS = 5  # timed sweeps per configuration; the median is reported (one run varies by ±30 % here)
_ADDED = ("sentreminder", "outboxmessage", "messageref", "caseevent", "auditentry")


def snapshot(engine: Any) -> dict[str, Any]:
    """What a sweep at NOW changes: the pending due deadlines (as they are) and where each table's new
    rows will start."""
    from models.reminders import Deadline

    table = Deadline.__table__
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            select(table).where(table.c.state == "pending", table.c.due_at <= NOW))]
        top = {name: conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {name}")).scalar() for name in _ADDED}  # noqa: S608
    return {"deadlines": rows, "top": top}


def restore(engine: Any, saved: dict[str, Any]) -> None:
    """Undo the timed sweep: its new rows deleted (newest tables first), the deadlines put back."""
    from sqlalchemy import bindparam, update

    from models.reminders import Deadline

    table = Deadline.__table__
    with engine.begin() as conn:
        for name in _ADDED:  # sent log and outbox first: they point at the messages
            conn.execute(text(f"DELETE FROM {name} WHERE id > :top"), {"top": saved["top"][name]})  # noqa: S608
        if saved["deadlines"]:
            columns = [c for c in saved["deadlines"][0] if c != "id"]
            conn.execute(update(table).where(table.c.id == bindparam("_id"))
                         .values({c: bindparam(c) for c in columns}),
                         [{**{c: r[c] for c in columns}, "_id": r["id"]} for r in saved["deadlines"]])


def measure(scratch: Scratch, url: str, n: int, due: int | None = None) -> dict[str, Any]:
    from bot.config import Settings
    from bot.core.clock import Clock
    from bot.core.jobs import SWEEPS, load_sweeps
    from bot.core.network import apply, parse
    from bot.runtime import make_core, open_database
    from models.db import session_scope

    data_dir = scratch.tempdir("sweep")
    settings = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, database_url=url,
                        data_key=Fernet.generate_key().decode(), data_dir=data_dir, scheduler_enabled=False)
    engine = open_database(settings)
    try:
        clock = Clock()
        clock.set(NOW)
        core = make_core(settings, engine, clock)
        with session_scope(engine) as session:
            apply(session, parse(NETWORK_YAML), OLD_ANCHOR - timedelta(days=30))
        seeded = seed(core, n, due)
        load_sweeps()
        fn = dict(SWEEPS)["reminders"]
        due = _count_due(core)
        fn(core, FRESH_ANCHOR - timedelta(hours=2))  # warm-up: nothing is due at seeding time
        runs: list[float] = []
        saved = snapshot(engine)
        for n in range(REPEATS):
            if n:
                restore(engine, saved)
            gc.collect()
            t0 = time.perf_counter()
            lines = fn(core, NOW)
            runs.append((time.perf_counter() - t0) * 1000)
            sent = sum(1 for line in lines if line.startswith("sent "))
            assert sent == due, (sent, due)  # every repetition sends the same reminders
        return {"ms": statistics.median(runs), "runs": runs, "due": due, "sent": sent, "lines": len(lines),
                "seed_s": seeded["seconds"], "deadlines": seeded["deadlines"]}
    finally:
        engine.dispose()


def run(scratch: Scratch, sizes: tuple[int, ...] = SIZES) -> Part:
    part = Part(4, "Sweep cost (reminder sweep, 10k and 100k signals, SQLite and PostgreSQL)")
    part.method = __doc__.split("\n\n", 1)[1].replace("\n", " ")
    databases: list[tuple[str, Any]] = [("SQLite", lambda: f"sqlite:///{scratch.tempdir('sweepdb') / 'sweep.db'}")]
    if pg_available():
        databases.append(("PostgreSQL", scratch.pg_database))
    else:
        part.notes.append("PostgreSQL not reachable: measured on SQLite only")
    small, large = sizes[0], sizes[-1]

    def note(label: str, n: int, r: dict[str, Any]) -> None:
        part.notes.append(
            f"{label}, {n:,} signals ({r['deadlines']:,} deadline rows, seeded in {r['seed_s']:.1f} s): "
            f"{r['due']} due, {r['sent']} reminders sent by the sweep ({r['lines']} report lines) in "
            f"{r['ms']:.0f} ms = {r['ms'] / max(1, r['due']):.2f} ms per due reminder (median; the runs: "
            f"{', '.join(f'{x:.0f}' for x in r['runs'])} ms)")

    for label, make_url in databases:
        results = {}
        for n in sizes:
            note(label, n, results.setdefault(n, measure(scratch, make_url(), n)))
        fixed = None
        if small != large:  # the large store with the small case's due reminders
            fixed = measure(scratch, make_url(), large, due=results[small]["due"])
            note(f"{label} (fixed due set)", large, fixed)
        for n in sizes:
            met = None if n != large else results[n]["ms"] <= TARGET_MS
            part.add(Metric(f"{label}: one sweep, {n // 1000}k signals ({results[n]['due']} due)", results[n]["ms"],
                            "ms", f"≤ {TARGET_MS:.0f} ms" if n == large else None, met))
        if fixed is not None:
            part.add(Metric(f"{label}: one sweep, {large // 1000}k signals ({fixed['due']} due)", fixed["ms"], "ms"))
            ratio = results[large]["ms"] / results[small]["ms"]
            part.add(Metric(f"{label}: ratio {large // 1000}k / {small // 1000}k", ratio, "×",
                            f"≤ {TARGET_RATIO}×", ratio <= TARGET_RATIO))
            same = fixed["ms"] / results[small]["ms"]
            part.add(Metric(f"{label}: ratio {large // 1000}k / {small // 1000}k, same {fixed['due']} due", same,
                            "×", f"≤ {TARGET_RATIO}×", same <= TARGET_RATIO))
            per_due = ((results[large]["ms"] / max(1, results[large]["due"]))
                       / (results[small]["ms"] / max(1, results[small]["due"])))
            part.add(Metric(f"{label}: per due reminder, {large // 1000}k / {small // 1000}k (1% due)", per_due,
                            "×", f"≤ {TARGET_RATIO}×", per_due <= TARGET_RATIO))
    return part
