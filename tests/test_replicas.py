"""Replicas, proven (issue 18): three `signaalbot run` processes on one PostgreSQL database behind a
round-robin proxy, 30 reporters and their AF through the whole route while Slack fails now and then,
one replica SIGKILLed in the middle and started again. Every signal reaches its AF, every message is
sent once, nothing is left pending."""

from __future__ import annotations

import pytest

from tests.replicas import Cluster, run


@pytest.mark.timeout(600)
def test_three_replicas_one_killed_lose_nothing_and_send_nothing_twice(database_url, fake, tmp_path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL database (SQLite is one process's database)")
    cluster = Cluster(database_url, fake, tmp_path, replicas=3)
    try:
        cluster.start()
        outcome = run(cluster, n_reporters=30, workers=6, kill=1, flaky=True)
    finally:
        cluster.stop()
    assert len(outcome.references) == len(set(outcome.references)) == 30
    assert outcome.lost == 0
    assert outcome.duplicates == 0, f"{outcome.duplicates} of {outcome.messages} messages were posted twice"
    assert outcome.pending == 0
    assert outcome.messages >= 30 * 5  # each signal: the DM, its questions, the card, feedback …
