"""The test tier itself: it needs no chat platform, and its edge behaves as a platform's would when
a place refuses a message (the core delivers it another way: nothing acked is lost)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.core.testing import TestEdge, dm
from tests.core.conftest import AF, ANSWERS, BACKUP, CASE_PLACE, REPORTER

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ("slack_sdk", "slack_bolt", "bot.slack", "bot.sandbox", "bot.runtime", "bot.scheduler")


def test_the_tier_loads_no_chat_platform() -> None:
    modules = sorted(f"tests.core.{p.stem}" for p in Path(__file__).parent.glob("*.py") if p.stem != "__init__")
    probe = ("import json, sys\n"
             f"for name in {modules!r}: __import__(name)\n"
             "print(json.dumps(sorted(m for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert "bot.core.testing" in loaded  # the probe imported the tier
    assert [m for m in loaded if any(m == p or m.startswith(p + ".") for p in PLATFORM)] == []


def test_a_case_place_that_refuses_the_card_sends_it_to_the_af_by_dm(edge: TestEdge) -> None:
    edge.deliverer.refuse(CASE_PLACE, "channel_not_found")  # e.g. the bot was removed from the place
    reference = edge.report(REPORTER, ANSWERS)
    assert edge.place(CASE_PLACE) == []
    [card] = [s for s in edge.inbox(AF) if s.kind == "case_card"]
    assert card.data["reference"] == reference and card.data["ref"]["mention"] == [AF]
    assert edge.inbox(BACKUP) == []  # the AF of Breda is there: no backup needed
    assert edge.click(AF, "claim", reference).ok  # and the AF works the case from that card
    assert [s.data["event"]["kind"] for s in edge.thread(card)] == ["claimed"]
    assert edge.conversations() == {dm(REPORTER), dm(AF)}
