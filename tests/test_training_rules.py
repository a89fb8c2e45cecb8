"""The training rules: waiting list, cancellation notices, members who left, the refresher cadence,
who may plan, and bad input (modal and command line) — each through Slack or the CLI."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlmodel import Session, select

from bot.cli import main
from bot.core import training
from models.training import RefresherNudge, TrainingAttendance, TrainingSession
from tests.training_helpers import (
    AF,
    AF_OTHER,
    BACKUP,
    COLLEAGUE,
    KR,
    NET1,
    NET2,
    NETWORK,
    answer,
    at,
    click,
    count_texts,
    everything,
    in_days,
    invitations,
    office,
    open_modal,
    plan_in_modal,
    reminder_moments,
    settle,
    start_of_test,
    submit,
    wait_invitation,
)


def _sessions(r) -> list[TrainingSession]:
    with Session(r.core.engine) as session:
        return list(session.exec(select(TrainingSession)).all())


def _plan(r, **kw):  # noqa: ANN001, ANN202
    base = start_of_test()
    r.core.clock.set(base)
    starts, ends = in_days(base, 20, 10), in_days(base, 20, 12)
    errors, _view = plan_in_modal(r, kw.pop("user", KR), starts=starts, ends=ends, **kw)
    assert errors == {}
    settle(r)
    return base, starts, ends


def test_a_full_training_keeps_a_waiting_list_that_moves_up_when_someone_cancels(running) -> None:
    r = running
    _plan(r, capacity="1")
    answer(r, NET1, "training:yes")
    answer(r, NET2, "training:yes")
    r.fake.wait_for(lambda: any("wachtlijst (plek 1)" in (e.get("text") or "") for e in r.fake.ephemerals_for(NET2))
                    or None)
    r.fake.wait_for(lambda: "Je staat op de wachtlijst" in everything(invitations(r, NET2)[0]) or None)

    answer(r, NET1, "training:no", invitations(r, NET1)[0])
    settle(r)
    r.fake.wait_for(lambda: count_texts(r, NET2, "Er is een plek vrijgekomen") == 1 or None)
    r.fake.wait_for(lambda: "Je komt." in everything(invitations(r, NET2)[0]) or None)
    with Session(r.core.engine) as session:
        assert training.rsvp_counts(session, 1) == {"yes": 1, "no": 1, "waitlist": 0}
    # Saying yes again when full: NET1 now waits; nobody else is told anything twice.
    answer(r, NET1, "training:yes", invitations(r, NET1)[0])
    r.fake.wait_for(lambda: "Je staat op de wachtlijst" in everything(invitations(r, NET1)[0]) or None)
    settle(r)
    assert count_texts(r, NET2, "Er is een plek vrijgekomen") == 1


def test_a_cancellation_goes_only_to_those_who_said_yes(running) -> None:
    r = running
    _plan(r)
    answer(r, NET1, "training:yes")
    answer(r, NET2, "training:no")
    settle(r)
    resp = r.driver.slash(KR, text="training lijst")
    assert resp.status == 200
    listing = r.fake.wait_for(lambda: next((e for e in r.fake.ephemerals_for(KR) if "training:cancel" in str(e)),
                                           None))
    click(r, KR, listing, "training:cancel")
    settle(r)
    r.fake.wait_for(lambda: count_texts(r, NET1, "Training geannuleerd") == 1 or None)
    for member in [NET2, AF, BACKUP, AF_OTHER, KR]:
        assert count_texts(r, member, "Training geannuleerd") == 0, member
    r.fake.wait_for(lambda: "geannuleerd" in everything(invitations(r, NET2)[0]) or None)  # every invitation
    assert "training:yes" not in str(invitations(r, NET2)[0]["blocks"])
    # Cancelled: no reminders at all.
    lines = at(r, _sessions(r)[0].starts_at - timedelta(days=1))
    assert not any("reminded" in line for line in lines)


def test_a_member_who_left_gets_nothing_more_and_their_attendance_stays_anonymous(running) -> None:
    r = running
    base, starts, ends = _plan(r, capacity="1")
    answer(r, NET1, "training:yes")
    answer(r, NET2, "training:yes")  # waiting list
    settle(r)
    with Session(r.core.engine) as session:
        earlier = TrainingSession(title="E-learning mensenhandel", starts_at=base - timedelta(days=30),
                                  ends_at=base - timedelta(days=30) + timedelta(hours=1), location="online",
                                  audience="network")
        session.add(earlier)
        session.commit()
        earlier_id = earlier.id
    r.core.clock.set(base - timedelta(days=29))
    assert training.record_attendance(r.core, earlier_id, KR, [], [NET1]).ok
    r.core.clock.set(base)

    view = open_modal(r, KR, "netwerk")
    assert submit(r, KR, view, {"member": {"value": NET1}, "role": {"value": "trained"},
                                "action": {"value": "remove"}}) == {}
    settle(r)
    r.fake.wait_for(lambda: count_texts(r, NET2, "Er is een plek vrijgekomen") == 1 or None)  # the freed place
    fourteen, one = reminder_moments(r, starts, base)
    at(r, fourteen)
    at(r, one)
    settle(r)
    assert count_texts(r, NET1, "Herinnering") == 0
    assert count_texts(r, NET2, "Herinnering") == 2
    with Session(r.core.engine) as session:
        rows = session.exec(select(TrainingAttendance)).all()
        assert [(a.user_id, bool(a.anon_key)) for a in rows] == [(None, True)]
        figures = training.trained_members_by_municipality(session, base)
        assert sum(f.trained for f in figures) == 1  # still counted, anonymously
    # And no refresher either, ever.
    lines = at(r, office(r, base + timedelta(days=400)))
    settle(r)
    assert count_texts(r, NET1, "Tijd voor een opfristraining") == 0
    assert any("refresher" in line for line in lines)


def test_the_refresher_nudge_comes_at_most_once_a_quarter_and_not_after_a_recent_training(running) -> None:
    r = running
    base = start_of_test()
    with Session(r.core.engine) as session:
        recent = TrainingSession(title="Netwerkbijeenkomst", starts_at=base + timedelta(days=300),
                                 ends_at=base + timedelta(days=300, hours=2), location="Breda",
                                 audience="network")
        session.add(recent)
        session.commit()
        recent_id = recent.id
    r.core.clock.set(base + timedelta(days=301))
    assert training.record_attendance(r.core, recent_id, KR, [], [NET2]).ok

    def nudged(member: str) -> int:
        return count_texts(r, member, "Tijd voor een opfristraining")

    at(r, base + timedelta(days=200))  # not yet 12 months without training
    settle(r)
    assert all(nudged(m) == 0 for m in NETWORK)
    # Nudges keep to office hours: each moment below is moved to the next office moment.
    at(r, office(r, base + timedelta(days=380)))  # 12+ months after joining
    at(r, office(r, base + timedelta(days=381)))
    settle(r)
    assert nudged(NET1) == 1
    assert nudged(NET2) == 0  # attended two months ago
    assert nudged(COLLEAGUE) == 0 and nudged(KR) == 0  # not in the network
    at(r, office(r, base + timedelta(days=380 + 60)))  # two months later: still within the quarter
    settle(r)
    assert nudged(NET1) == 1
    # A quarter later (counted from the nudge, which a weekend and holidays may have moved by days).
    at(r, office(r, base + timedelta(days=380 + 97)))
    at(r, office(r, base + timedelta(days=380 + 98)))
    settle(r)
    assert nudged(NET1) == 2
    with Session(r.core.engine) as session:
        assert session.get(RefresherNudge, NET1).count == 2  # type: ignore[union-attr]


def test_a_training_reminder_due_while_the_bot_was_down_waits_for_the_next_working_morning(running) -> None:
    """The day-before reminder of a Monday training falls on Friday 09:00. A bot down from Friday
    morning catches up on Friday evening, Saturday and Sunday: it sends nothing then, but on Monday
    at office start — not on Sunday afternoon."""
    r = running
    base = start_of_test()
    r.core.clock.set(base)
    cal = training.calendar_for(r.core.settings)
    monday = cal.local(base).date() + timedelta(days=21)
    while not (monday.weekday() == 0 and cal.is_working_day(monday)
               and cal.is_working_day(monday - timedelta(days=3))):
        monday += timedelta(days=1)
    starts = cal.at_local(monday, time(14, 0))
    errors, _view = plan_in_modal(r, KR, starts=starts, ends=starts + timedelta(hours=2))
    assert errors == {}
    settle(r)
    fourteen, one = reminder_moments(r, starts, base)
    assert cal.local(one).date() == monday - timedelta(days=3)  # the Friday before, 09:00
    assert any("reminded" in line for line in at(r, fourteen))
    settle(r)
    friday = monday - timedelta(days=3)
    for moment in (cal.at_local(friday, time(18, 0)), cal.at_local(friday + timedelta(days=1), time(12, 0)),
                   cal.at_local(friday + timedelta(days=2), time(15, 0)), cal.at_local(monday, time(8, 29))):
        assert not any("reminded" in line for line in at(r, moment)), moment
    settle(r)
    assert count_texts(r, NET1, "Herinnering") == 1
    lines = at(r, cal.at_local(monday, time(8, 30)))
    assert any("reminded" in line for line in lines), lines
    settle(r)
    assert count_texts(r, NET1, "Herinnering") == 2
    assert not any("reminded" in line for line in at(r, cal.at_local(monday, time(8, 31))))


def test_only_organisers_plan_and_an_af_only_for_their_own_municipality(running) -> None:
    r = running
    base = start_of_test()
    r.core.clock.set(base)
    starts, ends = in_days(base, 10, 10), in_days(base, 10, 12)
    # A plain colleague sees the trainings meant for them, not the form; a forged submission is refused.
    resp = r.driver.slash(COLLEAGUE, text="training")
    assert "Er staan op dit moment geen trainingen voor je gepland." in resp.body
    assert r.fake.views_for(COLLEAGUE) == []
    view = open_modal(r, KR, "training")
    errors = submit(r, COLLEAGUE, view, {
        "title": {"value": "Training"}, "starts": {"value": int(starts.timestamp())},
        "ends": {"value": int(ends.timestamp())}, "location": {"value": "Breda"}})
    assert "Alleen de ketenregisseur en aandachtsfunctionarissen" in errors["title"]
    # The AF of Etten-Leur is offered only Etten-Leur; a forged choice for Breda is refused.
    view = open_modal(r, AF_OTHER, "training")
    offered = [o["value"] for o in next(b for b in view["blocks"] if b["block_id"] == "audience")["element"]["options"]]
    assert offered == ["municipality:Etten-Leur"]
    forged = {"text": {"type": "plain_text", "text": "Breda"}, "value": "municipality:Breda"}
    errors = submit(r, AF_OTHER, view, {
        "title": {"value": "Training"}, "starts": {"value": int(starts.timestamp())},
        "ends": {"value": int(ends.timestamp())}, "location": {"value": "Etten-Leur"}, "audience": {"value": forged}})
    assert "eigen gemeente" in errors["audience"]
    assert _sessions(r) == []
    # The AF of Breda plans for Breda: only Breda's people are invited.
    errors, _view = plan_in_modal(r, AF, starts=starts, ends=ends, audience="municipality:Breda")
    assert errors == {}
    settle(r)
    wait_invitation(r, AF)
    assert invitations(r, AF_OTHER) == [] and invitations(r, NET1) == []  # NET1 has no municipality yet


def test_bad_input_in_the_modal_gives_clear_errors_and_stores_nothing(running) -> None:
    r = running
    base = start_of_test()
    r.core.clock.set(base)
    errors, _view = plan_in_modal(r, KR, title="", starts=base - timedelta(days=1),
                                  ends=base - timedelta(days=2), capacity="0", url="ftp://x")
    assert set(errors) == {"title", "starts", "ends", "capacity", "url"}
    assert "verleden" in errors["starts"]
    assert "na het begin" in errors["ends"]
    assert "minstens 1" in errors["capacity"]
    assert _sessions(r) == []
    settle(r)
    assert all(invitations(r, m) == [] for m in NETWORK)


@pytest.fixture
def cli_env(running, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    s = running.core.settings
    for name, value in {"DATABASE_URL": s.database_url, "SIGNAAL_DATA_KEY": s.data_key or "",
                        "SLACK_BOT_TOKEN": s.slack_bot_token or "",
                        "SLACK_SIGNING_SECRET": s.slack_signing_secret or "", "SLACK_API_URL": s.slack_api_url,
                        "SCHEDULER_ENABLED": "false"}.items():
        monkeypatch.setenv(name, value)
    return running


def test_the_command_line_plans_lists_cancels_and_counts(cli_env, capsys: pytest.CaptureFixture[str]) -> None:
    r = cli_env
    base = start_of_test()
    starts, ends = in_days(base, 20, 10), in_days(base, 20, 12)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    code, _out, err = run("training", "add", "--title", "FairWork", "--starts", ends.isoformat(), "--ends",
                          starts.isoformat(), "--location", "Breda", "--audience", "municipality:Tilburg",
                          "--capacity", "0")
    assert code == 2
    assert "--ends: The end must be after the start." in err
    assert "--audience: Unknown audience 'municipality:Tilburg'" in err
    assert "--capacity: The number of places must be a whole number of at least 1" in err
    assert "Nothing was stored." in err
    code, _out, err = run("training", "add", "--title", "FairWork", "--starts", (base - timedelta(hours=1)).isoformat(),
                          "--ends", base.isoformat(), "--location", "Breda")
    assert code == 2 and "--starts: The start is in the past" in err
    assert _sessions(r) == []

    code, out, _err = run("training", "add", "--title", "FairWork", "--starts", starts.isoformat(), "--ends",
                          ends.isoformat(), "--location", "Breda", "--capacity", "10")
    assert code == 0 and "announced to 5 member(s)" in out
    settle(r)
    for member in NETWORK:
        wait_invitation(r, member)
    code, out, _err = run("training", "list")
    assert code == 0 and "#1" in out and "FairWork" in out and "yes 0/10" in out
    answer(r, NET1, "training:yes", invitations(r, NET1)[0])
    code, out, _err = run("training", "cancel", "1")
    assert code == 0 and "1 member(s) who said yes" in out
    code, _out, err = run("training", "cancel", "1")
    assert code == 2 and "already cancelled" in err
    code, out, _err = run("training", "stats")
    assert code == 0 and "Breda: 0/1 members" in out
    code, out, _err = run("network", "show")
    assert code == 0 and f"member {NET1}" in out
