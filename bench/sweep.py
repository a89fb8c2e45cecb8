"""Part 4 — sweep cost: SLOT, not measured yet.

The reminder sweep is being built in issue 4 (an indexed due table and `@sweep("reminders")`). After
that is merged, this module measures one reminder sweep with 10,000 and with 100,000 stored signals
(1% due), on SQLite and on PostgreSQL (`scratch.pg_database()` makes an `sbbench_*` database that
`Scratch.close()` drops). Targets: ≤ 200 ms at 100k; 100k/10k ratio ≤ 1.5.

Contract with bench/run.py: `run(scratch) -> Part` (number 4). While `MEASURED` is False, run.py
records the part as "not measured" and prints no numbers for it.
"""

from __future__ import annotations

from bench.common import Part, Scratch

MEASURED = False


def run(scratch: Scratch) -> Part:  # noqa: ARG001 - the slot's signature
    part = Part(4, "Sweep cost (reminder sweep, 10k and 100k signals, SQLite and PostgreSQL)")
    part.error = "not measured yet: the reminder sweep (issue 4) is not merged; bench/sweep.py is its slot"
    return part
