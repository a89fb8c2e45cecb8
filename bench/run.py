"""`make bench`: run the parts, print them, and write bench/RESULTS.md (machine, date, every result
with its target and whether it was met).

    python -m bench.run [--quick] [--only 1,2,3,5] [--out PATH]

`--quick` runs every part with small numbers (a smoke test; it does not write RESULTS.md unless --out
is given). Everything the bench starts — child processes, temp dirs, `sbbench_*` PostgreSQL
databases — is removed at the end, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.common import Part, Scratch, machine_info

RESULTS = Path(__file__).parent / "RESULTS.md"
NOTES = Path(__file__).parent / "NOTES.md"  # hand-written findings, appended to RESULTS.md


def parts(quick: bool) -> list[tuple[int, Callable[[Scratch], Part]]]:
    from bench import ack, memory, reporting

    def sweep(scratch: Scratch) -> Part:
        try:
            module = importlib.import_module("bench.sweep")
        except ModuleNotFoundError:
            part = Part(4, "Sweep cost")
            part.error = "not measured: bench/sweep.py is missing"
            return part
        return module.run(scratch, sizes=(1_000, 10_000)) if quick else module.run(scratch)

    from bench.common import pg_available

    dbs = ["SQLite", "PostgreSQL"] if pg_available() else ["SQLite"]
    requests, warmup, window, quiet, signals = (30, 5, 10, 5, 200) if quick else (200, 20, 45, 20, 10_000)
    out: list[tuple[int, Callable[[Scratch], Part]]] = []
    for db in dbs:  # parts 1-3 on both: SQLite is the default config, PostgreSQL the production one
        out.append((1, lambda s, db=db: ack.run(s, requests=requests, warmup=warmup, database=db)))
    for db in dbs:
        out.append((2, lambda s, db=db: reporting.run(s, window=window, quiet=quiet, database=db)))
    out += [(4, sweep), (5, lambda s: memory.run(s, signals=signals, requests=requests))]
    from bench import teams

    for db in dbs:
        out.append((7, lambda s, db=db: teams.run(s, requests=requests, warmup=warmup, database=db)))
    if pg_available():
        from bench import replicas

        out.append((6, lambda s: replicas.run(s, reporters=9 if quick else 30)))
    return out


def render(info: dict[str, str], done: list[Part], total: float) -> str:
    lines = ["# Benchmark results", "",
             "Written by `make bench` (`python -m bench.run`); do not edit by hand — findings and changes are in "
             "the section at the end, kept in `bench/NOTES.md`.", "",
             "| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += [f"| bench wall time | {total / 60:.1f} min |", "", "## Summary", "",
              "| part | result | value | target | |", "|---|---|---|---|---|"]
    for p in done:
        if p.error:
            lines.append(f"| {p.number} | {p.title} | — | | {p.error} |")
        for m in p.metrics:
            lines.append(f"| {p.number} | {m.name} | {m.shown()} | {m.target or ''} | {m.verdict()} |")
    for p in done:
        lines += ["", f"## {p.number}. {p.title}", ""]
        if p.error:
            lines += [f"**{p.error}**", ""]
        if p.method:
            lines += [f"How: {p.method}", ""]
        lines += [f"- {note}" for note in p.notes]
        if p.seconds:
            lines.append(f"- part took {p.seconds:.0f} s")
    if NOTES.exists():
        lines += ["", NOTES.read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="small numbers, a smoke test")
    parser.add_argument("--only", default="", help="comma-separated part numbers (1,2,4,5,6; 2 includes 3)")
    parser.add_argument("--out", type=Path, default=None, help=f"where to write (default {RESULTS})")
    args = parser.parse_args(argv)
    only = {int(x) for x in args.only.split(",") if x.strip()}
    out = args.out or (None if args.quick or only else RESULTS)
    info = machine_info()
    print("Signaalbot bench —", ", ".join(f"{k}: {v}" for k, v in info.items()), flush=True)
    scratch = Scratch()
    # A `kill` (SIGTERM) ends the run through its `finally`, so the bots it started stop with it (they
    # run in sessions of their own: a killed bench once left them using half a core through the next).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    done: list[Part] = []
    started = time.monotonic()
    failed = False
    try:
        for number, fn in parts(args.quick):
            if only and number not in only:
                continue
            t0 = time.monotonic()
            print(f"\n== part {number} …", flush=True)
            try:
                part = fn(scratch)
            except Exception as exc:  # noqa: BLE001 - one failed part is reported, the others still run
                traceback.print_exc()
                part = Part(number, f"part {number}", error=f"failed: {type(exc).__name__}: {exc}")
                failed = True
            part.seconds = time.monotonic() - t0
            done.append(part)
            print(f"== {part.number}. {part.title} ({part.seconds:.0f} s)")
            if part.error:
                print(f"   {part.error}")
            for m in part.metrics:
                print(f"   {m.name:<52} {m.shown():>24}  {m.target or '':<10} {m.verdict()}")
            for note in part.notes:
                print(f"   - {note}")
    finally:
        scratch.close()
    total = time.monotonic() - started
    if out is not None:
        out.write_text(render(info, done, total), encoding="utf-8")
        print(f"\nwrote {out}")
    print(f"bench took {total / 60:.1f} min")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
