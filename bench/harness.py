"""Start the pieces a part needs: the FakeSlack workspace (in the bench process), the project bot and
the bare Bolt app (each in its own process), and the part-1 load generator (its own process)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench.common import CLIENTS, ROOT, SECRET, STAFF, Scratch, free_port, get_json, reporters, wait_http
from bot.sandbox.fake_slack import FakeSlack


def make_fake(n_reporters: int = CLIENTS) -> FakeSlack:
    fake = FakeSlack().start()
    for uid, name in STAFF.items():
        fake.add_user(name.split()[0].lower(), user_id=uid, real_name=name, email=f"{uid.lower()}@breda.example")
    for uid in reporters(n_reporters):
        fake.add_user(uid.lower(), user_id=uid, real_name=f"Reporter {uid[-3:]}", email=f"{uid.lower()}@breda.example")
    fake.add_channel("mh-breda-casussen", channel_id="C0AFCASES1", is_private=True,
                     members=["U0AF000001", "U0AF000002"])
    return fake


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log_name: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def outbox_pending(self) -> int:
        return int(get_json(f"{self.url}/bench/outbox")["pending"])

    def signals(self) -> int:
        """Signals in the bot's database (each /signaal starts one)."""
        return int(get_json(f"{self.url}/bench/outbox")["signals"])

    def wait_for_work(self, sent: int, timeout: float = 300.0) -> tuple[bool, float]:
        """Wait until the work the acks started is done: a signal for each of `sent` slash commands
        and nothing left in the outbox. Returns (done, seconds waited)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.signals() >= sent and not self.outbox_pending():
                return True, time.monotonic() - started
            time.sleep(0.5)
        return False, time.monotonic() - started

    def pids(self) -> list[int]:
        """The bot's processes: the front, and its work process when it has one."""
        return [int(p) for p in get_json(f"{self.url}/bench/outbox")["pids"]]


def start_project(scratch: Scratch, fake: FakeSlack, database_url: str | None = None, name: str = "bot",
                  one_process: bool = False, env: dict[str, str] | None = None) -> Server:
    data_dir = scratch.tempdir(name)
    database_url = database_url or f"sqlite:///{data_dir / 'signaalbot.db'}"
    port = free_port()
    proc = scratch.spawn(["-m", "bench.botproc", str(port), database_url, fake.base_url, str(data_dir),
                          *(["one-process"] if one_process else [])], env=env, log_name=name)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)
    except Exception as exc:
        raise RuntimeError(f"the project bot did not start:\n{scratch.log_tail(name)}") from exc
    return Server(proc, port, name)


def start_bare(scratch: Scratch, fake: FakeSlack, name: str = "bare") -> Server:
    port = free_port()
    proc = scratch.spawn(["-m", "bench.bareapp", str(port), fake.base_url], log_name=name)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)
    except Exception as exc:
        raise RuntimeError(f"the bare Bolt app did not start:\n{scratch.log_tail(name)}") from exc
    return Server(proc, port, name)


def run_load(url: str, fake: FakeSlack, requests: int, warmup: int, clients: int = CLIENTS) -> dict[str, Any]:
    users = reporters(clients)
    channels = [fake.dm_channel_for(u) for u in users]
    return load({"url": url, "secret": SECRET, "clients": clients, "requests": requests, "warmup": warmup,
                 "users": users, "channels": channels,
                 "response_urls": [fake.new_response_url(u, c) for u, c in zip(users, channels, strict=True)]})


def load(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator (bench/loadgen.py) with `cfg`; its results."""
    done = subprocess.run([sys.executable, "-m", "bench.loadgen"], input=json.dumps(cfg), capture_output=True,
                          text=True, cwd=ROOT, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)
