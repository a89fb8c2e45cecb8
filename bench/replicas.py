"""Part 6 — replicas: three `signaalbot run` processes on one PostgreSQL database behind a
round-robin proxy, 30 reporters and their AF through the whole route while Slack fails now and then,
one replica SIGKILLed with a request in flight and started again (issue 18). The scenario is the
suite's (tests/replicas.py); here its outcome and its ack latency under that load are reported."""

from __future__ import annotations

from bench.common import Metric, Part, Scratch, percentile


def run(scratch: Scratch, reporters: int = 30) -> Part:
    from bot.sandbox.fake_slack import FakeSlack
    from tests.conftest import PEOPLE
    from tests.replicas import Cluster
    from tests.replicas import run as drive

    part = Part(6, f"Replicas: 3 × signaalbot run on one PostgreSQL, {reporters} reporters, one replica killed")
    part.method = (
        f"tests/replicas.py: 3 replicas (HTTP mode, each with its work process and scheduler) behind a "
        f"round-robin TCP proxy on loopback; {reporters} reporters (6 at a time) are each taken through the "
        "whole route — /signaal and the triage, the AF claims, concludes, gives feedback, closes — while the "
        "FakeSlack fails about one call in 15 (chat.postMessage 500, chat.update 429); when a third is done, "
        "replica 2 is SIGKILLed (its front and work process) with a request in flight and started again. A "
        "request without an answer is sent again as Slack or the person would (the same body). Then the bench "
        "waits until nothing is pending. Duplicates: messages in Slack carrying the same MessageRef marker; "
        "lost: a signal without its case card or not closed, or a message recorded as posted that Slack lacks."
    )
    fake = FakeSlack().start()
    for uid, (name, email) in PEOPLE.items():
        fake.add_user(name.split()[0].lower(), user_id=uid, real_name=name, email=email)
    fake.add_channel("mh-breda-casussen", channel_id="C0AFCASES1", is_private=True,
                     members=["U0AF000001", "U0AF000002"])
    cluster = Cluster(scratch.pg_database(), fake, scratch.tempdir("replicas"), replicas=3)
    try:
        cluster.start()
        out = drive(cluster, n_reporters=reporters, workers=6, kill=1, flaky=True)
    finally:
        cluster.stop()
        fake.stop()
    lat = [x * 1000 for x in out.latencies]
    part.add(
        Metric("signals through the whole route", len(out.references), ""),
        Metric("messages posted", out.messages, ""),
        Metric("duplicates", out.duplicates, "", "= 0", out.duplicates == 0),
        Metric("lost", out.lost, "", "= 0", out.lost == 0),
        Metric("left pending", out.pending, "", "= 0", out.pending == 0),
        Metric("duration (until nothing pending)", out.seconds, "s"),
        Metric("ack p50 under that load (through the proxy)", percentile(lat, 50), "ms"),
        Metric("ack p99 under that load (through the proxy)", percentile(lat, 99), "ms"),
    )
    part.notes.append(f"{len(lat)} requests, {out.retries} sent again after no answer (the killed replica)")
    return part
