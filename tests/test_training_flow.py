"""A training for the network, end to end: planned in Slack, announced, answered, reminded at
T-14d and T-1d, attended, and counted in the ketenregisseur's figure — each person messaged once
per step."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bot.core import training
from tests.training_helpers import (
    AF,
    COLLEAGUE,
    KR,
    NET1,
    NET2,
    NETWORK,
    answer,
    at,
    click,
    count_texts,
    dms,
    everything,
    in_days,
    invitations,
    open_modal,
    plan_in_modal,
    reminder_moments,
    settle,
    start_of_test,
    submit,
    wait_invitation,
    with_block,
)


def _member_of_breda(r, user: str) -> None:
    """The AF of Breda puts a network member in Breda (/signaal netwerk)."""
    view = open_modal(r, AF, "netwerk")
    assert submit(r, AF, view, {"member": {"value": user}, "role": {"value": "trained"},
                                "municipality": {"value": "Breda"}}) == {}


def test_a_training_for_the_network_is_announced_reminded_twice_attended_and_counted(running) -> None:
    r = running
    base = start_of_test()
    r.core.clock.set(base)
    _member_of_breda(r, NET1)
    _member_of_breda(r, NET2)
    starts, ends = in_days(base, 20, 14), in_days(base, 20, 16)

    errors, _view = plan_in_modal(r, KR, starts=starts, ends=ends, capacity="12")
    assert errors == {}
    settle(r)
    for member in NETWORK:
        invite = wait_invitation(r, member)
        assert "FairWork-training" in everything(invite)
        assert f"<!date^{int(starts.timestamp())}^" in everything(invite), "Slack date formatting: local time"
        labels = [e["text"]["text"] for b in invite["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert labels == ["Ik kom", "Ik kan niet"]
    assert invitations(r, KR) == [] and invitations(r, COLLEAGUE) == []

    # Answers: the invitation itself shows the answer (chat.update), and a confirmation.
    answer(r, NET1, "training:yes", invitations(r, NET1)[0])
    answer(r, NET2, "training:no", invitations(r, NET2)[0])
    settle(r)
    assert "Je komt." in everything(r.fake.wait_for(
        lambda: next((m for m in invitations(r, NET1) if "Je komt." in everything(m)), None)))
    assert "Je komt niet." in everything(invitations(r, NET2)[0])
    assert any("Je staat op de lijst" in (e.get("text") or "") for e in r.fake.ephemerals_for(NET1))

    with Session(r.core.engine) as session:
        planned = session.get(training.TrainingSession, 1).scheduled_at  # type: ignore[union-attr]
    fourteen, one = reminder_moments(r, starts, planned)
    assert fourteen < one < starts

    assert not any("reminded" in line for line in at(r, fourteen - timedelta(minutes=1)))
    lines = at(r, fourteen)
    assert any("reminded 4 member(s)" in line for line in lines), lines
    at(r, fourteen + timedelta(hours=3))  # a later sweep sends nothing again
    at(r, one - timedelta(minutes=1))
    lines = at(r, one + timedelta(minutes=5))
    assert any("reminded 4 member(s)" in line for line in lines), lines
    at(r, one + timedelta(hours=1))
    settle(r)
    for member in NETWORK:
        expected = 0 if member == NET2 else 2
        assert count_texts(r, member, "Herinnering:") == expected, (member, [m.get("text") for m in dms(r, member)])
        assert count_texts(r, member, "Nieuwe training:") == 1

    # After the session the organiser is asked once for the attendance, and records it.
    at(r, ends + timedelta(hours=1))
    at(r, ends + timedelta(hours=2))
    settle(r)
    requests = with_block(r, KR, "tratt:")
    assert len(requests) == 1
    click(r, KR, requests[0], "training:attendance")
    view = r.fake.wait_for(lambda: (r.fake.views_for(KR) or [None])[-1])
    yes_box = next(b for b in view["blocks"] if b.get("block_id") == "att:0")
    assert [o["value"] for o in yes_box["element"]["options"]] == [NET1]
    assert submit(r, KR, view, {"att:0": {"value": [NET1]}, "walkins": {"value": [COLLEAGUE]}}) == {}

    with Session(r.core.engine) as session:
        figures = {f.municipality: f
                   for f in training.trained_members_by_municipality(session, ends + timedelta(days=1))}
        assert figures["Breda"].trained_members == 1  # NET1 attended; NET2 declined
        assert figures["Breda"].members == 3  # NET1, NET2 and the AF of Breda
        assert figures[None].trained == 1  # the walk-in colleague, without a municipality
        assert [h.title for h in training.history(session, NET1)] == ["FairWork-training voor baliemedewerkers"]
        assert training.history(session, NET2) == []
