"""Importing the network file again: members managed in Slack stay; members dropped from the file
leave the network properly (their RSVPs go, their attendance stays anonymised)."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.core import members, network
from bot.core.members import MemberInput
from models import Person
from models.db import session_scope
from tests.conftest import DATA

AF = "U0AF000001"
SLACK_ADDED = "U0COLL0001"
IN_FILE_ONLY = "U0NET00002"


def in_network(r, user: str) -> bool:
    with Session(r.core.engine) as session:
        person = session.exec(select(Person).where(Person.user_id == user)).first()
        return bool(person and person.in_network)


def test_reimport_keeps_slack_managed_members_and_removes_dropped_ones(running) -> None:
    r = running
    added = members.save(r.core, AF, MemberInput(user_id=SLACK_ADDED, role="trained", municipality="Breda"))
    assert added.ok, added.problems
    assert in_network(r, SLACK_ADDED) and in_network(r, IN_FILE_ONLY)

    text = (DATA / "network.yaml").read_text().replace("U0NET00002, ", "")
    with session_scope(r.core.engine) as session:
        counts = network.apply(session, network.parse(text), r.core.clock.now())
    assert counts["left"] == 1
    assert in_network(r, SLACK_ADDED), "a member added in Slack is not undone by the file"
    assert not in_network(r, IN_FILE_ONLY), "a member dropped from the file leaves the network"
