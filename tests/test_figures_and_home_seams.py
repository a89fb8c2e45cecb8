"""The figures and App Home read the other features' real data: trained network members from real
trainings and attendance (in `signaalbot stats`, the monthly digest and the ketenregisseur's App
Home), the AF's "next deadline" and "overdue" from the very reminder deadlines, and the trainings
section on everyone's Home tab."""

from __future__ import annotations

import csv
import io
from datetime import UTC

from sqlmodel import Session, select

from bot.core import training
from models import AuditEntry
from tests.case_helpers import AVIM, act, click_case, modal_of, signal_row, submit
from tests.helpers import AF, AF_OTHER, COLLEAGUE, KETENREGISSEUR
from tests.privacy_support import run_cli
from tests.reminders_support import local, report_at, settle, travel
from tests.test_home import open_home

NET1, NET2 = "U0NET00001", "U0NET00002"


def _trained_in_march(r) -> None:  # noqa: ANN001
    """A network training on 10 March 2027: NET1 (Breda) and the AF of Etten-Leur attended, NET2 said
    yes but did not come, a colleague outside the network walked in."""
    r.core.clock.set(local(2027, 3, 1, 9, 0))
    made = training.create(r.core, KETENREGISSEUR, training.TrainingInput(
        title="Signalen herkennen", starts=local(2027, 3, 10, 10, 0).astimezone(UTC),
        ends=local(2027, 3, 10, 12, 0).astimezone(UTC), location="Stadskantoor Breda", audience="network"))
    assert made.ok, made
    for member in (NET1, NET2, AF_OTHER):
        assert training.rsvp(r.core, made.session_id or 0, member, "yes").ok
    r.core.clock.set(local(2027, 3, 10, 13, 0))
    assert training.record_attendance(r.core, made.session_id or 0, KETENREGISSEUR, [NET1, AF_OTHER],
                                      [COLLEAGUE]).ok
    settle(r)


def test_trained_members_in_the_stats_the_digest_and_the_ketenregisseurs_home(running, settings, monkeypatch,
                                                                             capsys) -> None:
    r = running
    monkeypatch.setenv("SIGNAAL_STATS_THRESHOLD", "1")  # show the small numbers of this test
    _trained_in_march(r)

    code, out = run_cli(monkeypatch, capsys, settings, "stats", "--from", "2027-03-01", "--to", "2027-03-31",
                        "--format", "csv", "--at", "2027-03-20T12:00:00+01:00")
    assert code == 0, out
    rows = [row for row in csv.reader(io.StringIO(out)) if row[0] == "trained_network_members"]
    # Network members who attended: the AF of Etten-Leur and NET1 (a regional member, without a
    # municipality: "—"); not NET2, who did not come, nor the walk-in from outside the network.
    assert rows == [["trained_network_members", "", "", "", "2"],
                    ["trained_network_members", "Breda", "", "", "0"],
                    ["trained_network_members", "Etten-Leur", "", "", "1"],
                    ["trained_network_members", "—", "", "", "1"]]

    r.core.clock.set(local(2027, 3, 20, 12, 0))
    home = open_home(r, KETENREGISSEUR)
    assert "Getrainde netwerkleden*\\n2" in home

    lines = travel(r, local(2027, 4, 1, 9, 0))  # the first working day of April
    assert f"digest: digest for 2027-03 to {KETENREGISSEUR}" in lines
    digest = r.fake.wait_for(lambda: [m for m in r.fake.messages_in(r.fake.dm_channel_for(KETENREGISSEUR))
                                      if "Maandcijfers" in (m.get("text") or "")])
    assert "Getrainde netwerkleden*\\n2" in str(digest[0]["blocks"])


def test_the_stats_threshold_hides_a_small_number_of_trained_members(running, settings, monkeypatch,
                                                                   capsys) -> None:
    r = running
    _trained_in_march(r)
    code, out = run_cli(monkeypatch, capsys, settings, "stats", "--from", "2027-03-01", "--to", "2027-03-31",
                        "--format", "csv", "--at", "2027-03-20T12:00:00+01:00")
    assert code == 0, out
    assert ["trained_network_members", "", "", "", "< 5"] in list(csv.reader(io.StringIO(out)))


def test_the_training_figures_hide_small_numbers_too(running) -> None:
    r = running
    _trained_in_march(r)
    r.core.clock.set(local(2027, 3, 20, 12, 0))
    figures = r.driver.slash(KETENREGISSEUR, text="training cijfers").body
    assert "Etten-Leur: &lt; 5 van" in figures
    assert "Etten-Leur: 1 van" not in figures


def test_the_training_figures_are_the_cores_to_refuse_and_to_record(running) -> None:
    r = running
    _trained_in_march(r)
    r.core.clock.set(local(2027, 3, 20, 12, 0))
    refused = r.driver.slash(NET1, text="training cijfers").body
    assert "Vraag het aan de aandachtsfunctionaris van je gemeente" in refused and "Breda" not in refused
    with Session(r.core.engine) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "training.figures_viewed")).all() == []
    own = r.driver.slash(AF, text="training cijfers").body  # the AF of Breda: Breda only
    assert "Breda: " in own and "Etten-Leur" not in own
    with Session(r.core.engine) as session:
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "training.figures_viewed")).all()
    assert entry.actor_id == AF and entry.data == {"municipalities": ["Breda"]}


def test_the_home_tab_shows_the_trainings_section(running) -> None:
    r = running
    r.core.clock.set(local(2027, 3, 1, 9, 0))
    made = training.create(r.core, KETENREGISSEUR, training.TrainingInput(
        title="Signalen herkennen", starts=local(2027, 3, 10, 10, 0).astimezone(UTC),
        ends=local(2027, 3, 10, 12, 0).astimezone(UTC), location="Stadskantoor Breda", audience="network"))
    assert made.ok
    for user in (NET1, AF):
        home = open_home(r, user)
        assert "Trainingen" in home and "Signalen herkennen" in home and "training:yes" in home


def _deadline(home: str, moment) -> bool:  # noqa: ANN001
    return f"<!date^{int(moment.timestamp())}^" in home


def test_the_afs_home_shows_the_reminder_deadlines_of_each_case(running) -> None:
    r = running
    monday = local(2027, 4, 5, 10, 0)
    reference = report_at(r, monday)  # wants feedback
    home = open_home(r, AF)
    assert _deadline(home, local(2027, 4, 6, 10, 0))  # claim: the first reminder, one working day
    click_case(r, AF, reference, "claim")
    r.fake.wait_for(lambda: signal_row(r, reference).claimed_by == AF)
    act(r, AF, reference, "consult", {"partners": ["avim"], "text": "Kennen jullie dit adres?"})
    settle(r)
    home = open_home(r, AF)
    # Advice is due first (three working days), then feedback to the reporter (five).
    assert _deadline(home, local(2027, 4, 8, 10, 0)) and "*te laat*" not in home

    # Thursday 11:00, the advice has not come: overdue, also before any reminder job ran.
    r.core.clock.set(local(2027, 4, 8, 11, 0))
    home = open_home(r, AF)
    assert "*te laat*" in home and _deadline(home, local(2027, 4, 12, 10, 0))

    # The partner answers: no longer overdue; feedback on Monday 12 April is next.
    request = r.fake.wait_for(lambda: next((m for m in r.fake.messages_in(r.fake.dm_channel_for(AVIM))
                                            if "partner:advice" in str(m.get("blocks"))), None))
    r.driver.click(AVIM, request, "partner:advice")
    submit(r, AVIM, modal_of(r, AVIM, "partner_advice"), {"text": "Bekend adres."})
    r.fake.wait_for(lambda: "*te laat*" not in open_home(r, AF))
    assert _deadline(open_home(r, AF), local(2027, 4, 12, 10, 0))

    # The feedback reminder went out: the case stays overdue until the feedback is given.
    travel(r, local(2027, 4, 12, 10, 0))
    assert "*te laat*" in open_home(r, AF)
