"""Part 7 — Teams: the answer to a card action on `POST /api/messages` (Action.Execute "word", the
start card's "Bedoelde je …?"), 12 concurrent clients, the project bot and a bare Teams SDK app measured
in the same run under the same load."""

from __future__ import annotations

import uuid

from bench.common import CLIENTS, Metric, Part, Scratch, free_port, latency_summary, post_json, wait_http
from bench.harness import Server, load, make_fake, start_project
from bot.sandbox.fake_teams import FakeTeams

TARGET_RATIO = 1.2  # as part 1: the platform's answer no slower than a bare SDK app's
REFUSED = "project, refused case click"  # the core's check before the answer (issue 17), same load


def run(scratch: Scratch, requests: int = 300, warmup: int = 20, database: str = "SQLite") -> Part:
    part = Part(7, f"Teams: answer to a card action (12 concurrent clients, {database})")
    part.method = (
        f"{CLIENTS} client threads in a separate load-generator process, each with one keep-alive connection, send "
        "`adaptiveCard/action` invokes (Action.Execute `word` with `help`: the start card's \"Bedoelde je …?\", "
        "from 12 reporters in their 1:1 chats) "
        "with a Bot Framework token signed by the bench's fake Bot Connector (the same token for every request, "
        f"as Teams reuses one), back to back (closed loop): {warmup} warm-up + {requests} measured requests per "
        "client; latency = request written → response read. Bare Teams SDK app (`microsoft-teams-apps` App with "
        "its FastAPI/uvicorn server and its own token validation; answers the invoke with a message) first, then "
        f"the project bot (own process, {database}: token check, the activity stored in the inbox, the answer; "
        "the help card follows through the outbox to the fake connector); each app alone on the machine "
        "while measured. Then, on the same project bot, the same load of a case card's click the core refuses "
        "(`case.claim` on a sent signal, made in the bot's process, by people who are not its AFs): the core's "
        "read-only check before the "
        "answer, the refusal told in it (issue 17), the click stored and its denial audited after the answer."
    )
    database_url = scratch.pg_database() if database == "PostgreSQL" else None
    slack = make_fake()
    teams = FakeTeams().start()
    env = {"TEAMS_APP_ID": teams.app_id, "TEAMS_APP_PASSWORD": teams.app_password, "TEAMS_TENANT_ID": teams.tenant,
           "TEAMS_OPENID_METADATA_URL": teams.openid_metadata_url, "TEAMS_TOKEN_URL": teams.token_url}
    users = [str(uuid.uuid4()) for _ in range(CLIENTS)]
    chats = [f"a:1bench{n:03d}{uuid.uuid4().hex}" for n in range(CLIENTS)]
    for chat in chats:
        teams.join(chat)
    try:
        results = {}
        for label in ("bare", "project"):
            server = (_start_bare(scratch, teams) if label == "bare"
                      else start_project(scratch, slack, database_url=database_url, name="bot-teams", env=env))
            cfg = {"kind": "teams", "verb": "word", "data": {"w": "help"}, "url": f"{server.url}/api/messages",
                   "clients": CLIENTS, "requests": requests,
                   "warmup": warmup, "users": users, "channels": chats, "token": teams.token(),
                   "tenant": teams.tenant, "app_id": teams.app_id, "service_url": teams.service_url}
            try:
                outs = {label: load(cfg)}
                if label == "project":
                    # A case card's click the core refuses: Oppakken on a sent signal by people who are not
                    # its AFs (the 12 reporters), checked before the answer and told in it.
                    made = post_json(f"{server.url}/bench/populate", {"n": 1, "outbox": "run"}, timeout=120)
                    outs[REFUSED] = load({**cfg, "verb": "case.claim", "data": {"s": made["first_ids"][0]}})
            finally:
                scratch.stop(server.proc)
            for name, out in outs.items():
                if not out["latencies"]:
                    raise RuntimeError(f"{name}: no request was answered ({out['errors']} errors):\n"
                                       f"{scratch.log_tail(server.log_name)}")
                results[name] = latency_summary(out)
        bare, proj = results["bare"], results["project"]
        ratio = proj["p99"] / bare["p99"]
        refused = results[REFUSED]
        refused_ratio = refused["p99"] / bare["p99"]
        part.add(
            Metric(f"Teams, {database}: bare Teams SDK app p50", bare["p50"], "ms"),
            Metric(f"Teams, {database}: bare Teams SDK app p99", bare["p99"], "ms"),
            Metric(f"Teams, {database}: project p50", proj["p50"], "ms"),
            Metric(f"Teams, {database}: project p99", proj["p99"], "ms"),
            Metric(f"Teams, {database}: p99 ratio project / bare", ratio, "×", f"≤ {TARGET_RATIO}×",
                   ratio <= TARGET_RATIO),
            Metric(f"Teams, {database}: project, refused case click p50", refused["p50"], "ms"),
            Metric(f"Teams, {database}: project, refused case click p99", refused["p99"], "ms"),
            # No target of its own: this answer reads the case first, on purpose (NOTES.md, part 7).
            Metric(f"Teams, {database}: p99 ratio refused case click / bare", refused_ratio, "×"),
        )
        for label, r in results.items():
            part.notes.append(f"{label}: {r['n']} requests measured, {r['errors']} errors, max {r['max']:.1f} ms, "
                              f"{r['rps']:.0f} requests/s")
    finally:
        teams.stop()
        slack.stop()
    return part


def _start_bare(scratch: Scratch, teams: FakeTeams, name: str = "bare-teams") -> Server:
    port = free_port()
    proc = scratch.spawn(["-m", "bench.bareteams", str(port), teams.app_id, teams.app_password, teams.tenant,
                          teams.openid_metadata_url], log_name=name)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)
    except Exception as exc:
        raise RuntimeError(f"the bare Teams SDK app did not start:\n{scratch.log_tail(name)}") from exc
    return Server(proc, port, name)
