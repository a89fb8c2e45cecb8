"""The project bot as the bench runs it: its own process, wired exactly like `signaalbot run` in HTTP
mode (`bot.serve.http_bot` → make_asgi → uvicorn: the front plus its work process), against the FakeSlack of
the bench process. Two bench-only routes are added through make_asgi's `extra_routes`:

* `POST /bench/populate {"n": N, "outbox": "pause"|"run"}` creates N complete signals in this process
  through the real service functions `bot.core.triage.start/answer/submit` (part 5, memory);
* `GET /bench/outbox` → how many outbox items are still pending (to wait for a drain).

    python -m bench.botproc PORT DATABASE_URL SLACK_API_URL DATA_DIR [one-process]

`one-process` (part 5) runs it as SIGNAAL_WORK_PROCESS=false does: everything in this process, so
populate's work and the outbox are where the memory is measured.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from cryptography.fernet import Fernet
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.common import ANSWERS, NETWORK_YAML, SECRET, TOKEN, reporters
from bot.config import Settings
from bot.core import checks, network, triage
from bot.core.clock import Clock
from bot.core.outbox import OutboxWorker
from bot.runtime import Bot, health, open_database
from bot.serve import http_bot
from bot.slack.http import make_asgi
from models.db import session_scope

BATCH = 50  # signals per transaction in populate


class _Batched:
    """Stands in for `models.db.session_scope` inside `bot.core.triage` and `bot.core.checks` (the
    session of the draft's steps, bot/core/checks.py) while populate runs: every
    service call gets the same session (flushed at the end of each call, as a commit would), and
    the transaction is committed every BATCH signals. The service code is the real one."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.session: Session | None = None

    @contextmanager
    def __call__(self, engine: Any) -> Iterator[Session]:
        if self.session is None:
            self.session = Session(self.engine, expire_on_commit=False)
        yield self.session
        self.session.flush()

    def commit(self) -> None:
        if self.session is not None:
            self.session.commit()
            self.session.close()
            self.session = None


def populate(bot: Bot, n: int, users: list[str]) -> dict[str, Any]:
    """N complete triages (start → every question → submit), round-robin over `users`, through the
    real service functions; BATCH signals per transaction (see _Batched)."""
    from models import Signal

    core = bot.core
    started = time.perf_counter()
    done, ids = 0, []
    batch = _Batched(core.engine)
    original = triage.session_scope
    triage.session_scope = batch  # type: ignore[assignment]
    checks.session_scope = batch  # type: ignore[assignment]
    try:
        for i in range(n):
            user = users[i % len(users)]
            result = triage.start(core, user)
            assert result.ok and result.signal_id, result
            sid = result.signal_id
            for _ in range(30):
                with batch(core.engine) as session:
                    key = session.get(Signal, sid).current_question  # type: ignore[union-attr]
                if key == "_summary":
                    break
                answered = triage.answer(core, sid, user, key, ANSWERS[key])
                assert answered.ok, answered
            submitted = triage.submit(core, sid, user)
            assert submitted.ok, submitted
            done += 1
            if len(ids) < 10:
                ids.append(sid)
            if done % BATCH == 0:
                batch.commit()
        batch.commit()
    finally:
        triage.session_scope = original  # type: ignore[assignment]
        checks.session_scope = original  # type: ignore[assignment]
        if batch.session is not None:
            batch.session.rollback()
            batch.session.close()
    return {"signals": done, "seconds": time.perf_counter() - started, "batch": BATCH, "first_ids": ids}


def _teams_settings() -> dict[str, str]:
    """Teams on, pointing at the bench's fake Bot Connector, when the bench sets TEAMS_* (part 7)."""
    names = ("teams_app_id", "teams_app_password", "teams_tenant_id", "teams_openid_metadata_url", "teams_token_url")
    return {name: os.environ[name.upper()] for name in names if os.environ.get(name.upper())}


def main(argv: list[str]) -> int:
    port, database_url, api_url, data_dir = int(argv[0]), argv[1], argv[2], Path(argv[3])
    one_process = argv[4:5] == ["one-process"]
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings(
        slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=api_url, database_url=database_url,
        host="127.0.0.1", port=port, data_key=Fernet.generate_key().decode(), data_dir=data_dir,
        scheduler_enabled=False, work_process=not one_process, **_teams_settings(),
    )
    engine = open_database(settings)
    with session_scope(engine) as session:
        network.apply(session, network.parse(NETWORK_YAML), Clock().now())
    engine.dispose()
    bot = http_bot(settings)

    def pause_outbox() -> None:
        bot.worker.stop()

    def resume_outbox() -> None:
        worker = OutboxWorker(bot.core.engine, bot.worker.deliver, bot.core.clock.now)
        bot.worker, bot.core.kick = worker, worker.kick
        worker.start(settings.outbox_poll_seconds)

    async def bench_populate(request: Request) -> JSONResponse:
        body = await request.json()
        paused = body.get("outbox", "pause") == "pause"
        if paused:
            await run_in_threadpool(pause_outbox)
        try:
            out = await run_in_threadpool(populate, bot, int(body["n"]), body.get("users") or reporters())
        finally:
            if paused:
                await run_in_threadpool(resume_outbox)
        return JSONResponse(out)

    def signals() -> int:
        from sqlalchemy import func, select

        from models import Signal

        with bot.core.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Signal)).scalar() or 0)

    def stages() -> dict[int, list[float | None]]:
        """signal id → [work started (Signal.created_at), root message sent, first question sent] (epoch s)."""
        from sqlmodel import col, select

        from models import MessageRef, Signal

        out: dict[int, list[float | None]] = {}
        with Session(bot.core.engine) as session:
            for sid, created in session.exec(select(Signal.id, Signal.created_at)).all():
                out[sid] = [created.timestamp(), None, None]
            for ref in session.exec(select(MessageRef).where(col(MessageRef.kind).in_(["reporter_root", "question"]))
                                    .order_by(col(MessageRef.id))).all():
                row = out.get(ref.signal_id or 0)
                slot = 1 if ref.kind == "reporter_root" else 2
                if row is not None and row[slot] is None and ref.posted_at is not None:
                    row[slot] = ref.posted_at.timestamp()
        return out

    async def bench_stages(_: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(stages))

    async def bench_outbox(_: Request) -> JSONResponse:
        return JSONResponse({"pending": await run_in_threadpool(bot.worker.pending_count),
                             "signals": await run_in_threadpool(signals),
                             "pids": [os.getpid(), *([bot.work_process.pid] if bot.work_process else [])]})

    routes = [Route("/bench/populate", bench_populate, methods=["POST"]),
              Route("/bench/outbox", bench_outbox, methods=["GET"]),
              Route("/bench/stages", bench_stages, methods=["GET"])]
    teams_routes = bot.teams.routes() if bot.teams is not None else []
    asgi = make_asgi(bot.app, lambda: health(bot), extra_routes=routes + teams_routes, intake=bot.slack)
    try:
        uvicorn.run(asgi, host="127.0.0.1", port=port, log_level="warning")
    finally:
        bot.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
