"""Shared bench plumbing: results, percentiles, machine info, child processes, PostgreSQL scratch
databases, signed requests and RSS. Everything a part starts it also stops (see `Scratch`)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
TOKEN = "xoxb-test"  # the token FakeSlack accepts
PG_ADMIN_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
CLIENTS = 12

# The network the bench bot runs with: two municipalities (so a new reporter is asked for one),
# Breda with a private case channel, one AF each.
NETWORK_YAML = """
municipalities:
  - name: Breda
    aandachtsfunctionarissen: [U0AF000001]
    backup: [U0AF000002]
    channel: C0AFCASES1
  - name: Etten-Leur
    aandachtsfunctionarissen: [U0AF000003]
regional:
  ketenregisseur: [U0KR000001]
"""
STAFF = {
    "U0AF000001": "Anna AF Breda",
    "U0AF000002": "Bert Backup Breda",
    "U0AF000003": "Eva AF Etten-Leur",
    "U0KR000001": "Karin Ketenregisseur",
}


# What the bench's `/signaal` commands carry when a reporter's earlier draft is still open: a plain
# `/signaal` beside an open draft asks "verder gaan of opnieuw beginnen?" in its ack and starts nothing
# (issue 14), a description starts a new signal as before (and names the open draft in the DM).
SLASH_TEXT = "Twee mannen slapen in de keuken van het restaurant"


def reporters(n: int = CLIENTS) -> list[str]:
    return [f"U0BENCH{i:03d}" for i in range(1, n + 1)]


# ============================================================================ results


@dataclass
class Metric:
    name: str
    value: float | str | None
    unit: str = ""
    target: str | None = None  # as written in the issue, e.g. "≤ 300 ms"
    met: bool | None = None

    def shown(self) -> str:
        if self.value is None:
            return "—"
        if isinstance(self.value, float):
            digits = 2 if abs(self.value) < 10 else 1 if abs(self.value) < 100 else 0
            return f"{self.value:,.{digits}f} {self.unit}".strip()
        return f"{self.value} {self.unit}".strip()

    def verdict(self) -> str:
        return "" if self.met is None else ("met" if self.met else "**missed**")


@dataclass
class Part:
    number: int
    title: str
    metrics: list[Metric] = field(default_factory=list)
    method: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def add(self, *metrics: Metric) -> None:
        self.metrics.extend(metrics)


def latency_summary(out: dict[str, Any]) -> dict[str, float]:
    """A load generator's result (bench/loadgen.py) in ms: p50, p99, max, requests, errors, requests/s."""
    lat = [x * 1000 for x in out["latencies"]]
    return {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": max(lat) if lat else float("nan"),
            "n": len(lat), "errors": out["errors"], "rps": len(lat) / out["wall_seconds"]}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


# ============================================================================ machine


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    os_name = platform.platform()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} (kernel {platform.release()})"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": os_name,
        "git": _git_rev(),
    }


def _git_rev() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=5, check=False)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=5, check=False)
        return out.stdout.strip() + (" (with local changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


# ============================================================================ processes and scratch


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc/<pid>/status (VmRSS, kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def pss_mb(pid: int) -> float:
    """Proportional set size (/proc/<pid>/smaps_rollup, Pss): pages shared with another process (a
    forked child) count for each in proportion, so the PSS of two processes adds up honestly."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no Pss for pid {pid}")


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback only
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout}s")
        time.sleep(0.1)


def post_json(url: str, payload: dict[str, Any], timeout: float = 900) -> Any:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",  # noqa: S310
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read() or b"null")


def get_json(url: str, timeout: float = 30) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read() or b"null")


class Scratch:
    """Temp dirs, child processes and PostgreSQL databases of one bench run; `close()` removes them all
    (also on Ctrl-C or an error: run.py closes it in a `finally`)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sbbench_"))
        self.procs: list[subprocess.Popen] = []
        self.pg_databases: list[tuple[str, str]] = []  # (admin url, name)

    def tempdir(self, name: str) -> Path:
        path = self.root / f"{name}_{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        return path

    def spawn(self, args: list[str], env: dict[str, str] | None = None, log_name: str = "child") -> subprocess.Popen:
        log = open(self.root / f"{log_name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **(env or {})},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        proc._bench_log = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 10) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=timeout)
        log = getattr(proc, "_bench_log", None)
        if log is not None and not log.closed:
            log.close()

    def log_tail(self, log_name: str, lines: int = 30) -> str:
        path = self.root / f"{log_name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # -- PostgreSQL ---------------------------------------------------------------------
    @staticmethod
    def pg_admin_url() -> str:
        return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or PG_ADMIN_DEFAULT

    def pg_database(self) -> str:
        """A new empty database `sbbench_<hex>` on the machine's PostgreSQL; returns its URL."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = _psycopg(self.pg_admin_url())
        name = f"sbbench_{uuid.uuid4().hex[:12]}"
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        self.pg_databases.append((admin, name))
        return make_url(admin).set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                self.stop(proc)
        if self.pg_databases:
            from sqlalchemy import create_engine, text

            for admin, name in self.pg_databases:
                with contextlib.suppress(Exception):
                    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
                    with engine.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    engine.dispose()
        shutil.rmtree(self.root, ignore_errors=True)


def pg_available() -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(_psycopg(Scratch.pg_admin_url()), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means: no PostgreSQL here
        return False


def _psycopg(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


# ============================================================================ signing


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request signature headers: v0=HMAC-SHA256(secret, "v0:{ts}:{body}")."""
    ts = str(timestamp or int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


# The reporter's answers (as in tests/helpers.py DEFAULT_ANSWERS): raw values per question key.
ANSWERS: dict[str, Any] = {
    "municipality": "Breda",
    "form": "AU",
    "signals": ["conditions", "dependency"],
    "acute": "no",
    "minor": "no",
    "sector": "horeca",
    "source": "balie",
    "description": "Twee mannen slapen in de keuken van het restaurant en werken 7 dagen per week.",
    "location": "Restaurant aan de Haven",
    "feedback": "yes",
}
