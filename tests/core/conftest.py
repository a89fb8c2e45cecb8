"""The platform-neutral tier: the core behind the in-memory edge (`bot.core.testing`), on SQLite and
on PostgreSQL. No chat platform, no payloads: people act through the edge's driver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.testing import TestEdge

NETWORK = Path(__file__).resolve().parent.parent / "data" / "network.yaml"
AMS = ZoneInfo("Europe/Amsterdam")

REPORTER = "U0REP00001"
AF = "U0AF000001"  # aandachtsfunctionaris of Breda
BACKUP = "U0AF000002"
AF_ELSEWHERE = "U0AF000003"  # the AF of Etten-Leur
KETENREGISSEUR = "U0KR000001"
AVIM = "U0AVIM0001"  # member of the partner AVIM
ZOCO = "U0ZOCO0001"
CASE_PLACE = "C0AFCASES1"  # Breda's private case place

DESCRIPTION = "Twee mannen slapen in de keuken van het restaurant en werken 7 dagen per week."
LOCATION = "Restaurant aan de Haven"
ANSWERS = {
    "municipality": "Breda", "form": "AU", "signals": ["conditions", "dependency"], "acute": "no", "minor": "no",
    "sector": "horeca", "source": "balie", "description": DESCRIPTION, "location": LOCATION, "feedback": "yes",
}


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=AMS)


# Monday 5 April 2027, office hours: the route starts here, whatever today's date is.
START = local(2027, 4, 5, 10, 0)


@pytest.fixture
def edge(database_url: str) -> Iterator[TestEdge]:
    e = TestEdge.open(database_url, NETWORK, at=START)
    try:
        yield e
    finally:
        e.close()
