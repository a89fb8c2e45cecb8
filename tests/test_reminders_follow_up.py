"""Follow-up after the signal is claimed: advice that does not come, partners that never report an
outcome, "verder onderzoek" that drags on — and a closed case that goes quiet."""

from __future__ import annotations

from tests.helpers import AF
from tests.reminders_support import (
    advice_received,
    change,
    claim,
    consult,
    deadlines,
    dms,
    local,
    outcome_recorded,
    reminders_in_thread,
    report_at,
    route,
    sent,
    travel,
)

AVIM_MEMBER = "U0AVIM0001"
MONDAY = local(2027, 4, 5, 10, 0)


def test_unanswered_advice_reminds_the_partner_contact_and_the_af(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    claim(r, reference)
    consultation = consult(r, reference, "avim")
    # Three working days after Monday 10:00 is Thursday 8 April 10:00.
    assert sent(travel(r, local(2027, 4, 8, 9, 59))) == []
    assert sent(travel(r, local(2027, 4, 8, 10, 0))) == ["advice_unanswered"]
    [to_partner] = dms(r, AVIM_MEMBER)
    assert reference in to_partner["text"]
    assert "om advies gevraagd" in str(to_partner["blocks"])
    assert "Is dit iets" not in str(to_partner) and "Twee mannen" not in str(to_partner)
    [in_thread] = reminders_in_thread(r, reference)
    assert f"<@{AF}>" in in_thread["text"] and "AVIM" in str(in_thread["blocks"])
    assert "ook een herinnering" in str(in_thread["blocks"])
    # The advice comes in: no more, and the partner's reminder says it is settled.
    advice_received(r, consultation)
    assert deadlines(r, reference)["advice_unanswered"].state == "sent"
    r.fake.wait_for(lambda: "Afgehandeld" in str(dms(r, AVIM_MEMBER)[0]["blocks"]))
    assert sent(travel(r, local(2027, 5, 8, 10, 0))) == []


def test_advice_that_arrives_in_time_brings_no_reminder(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    claim(r, reference)
    consultation = consult(r, reference, "avim")
    travel(r, local(2027, 4, 6, 10, 0))
    advice_received(r, consultation)
    assert sent(travel(r, local(2027, 4, 8, 10, 0))) == []
    assert dms(r, AVIM_MEMBER) == []


def test_a_hand_over_without_outcome_is_followed_up_after_ten_working_days(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    claim(r, reference)
    handover = route(r, reference, "nla")  # the Arbeidsinspectie has nobody in Slack
    # Ten working days from Monday 5 April 10:00: Monday 19 April 10:00 (no holidays in between).
    assert sent(travel(r, local(2027, 4, 19, 9, 59))) == []
    assert sent(travel(r, local(2027, 4, 19, 10, 0))) == ["outcome_missing"]
    [in_thread] = reminders_in_thread(r, reference)
    assert "Nederlandse Arbeidsinspectie" in str(in_thread["blocks"])
    assert "contact met ze op" in str(in_thread["blocks"])
    outcome_recorded(r, handover)
    assert sent(travel(r, local(2027, 6, 1, 10, 0))) == []


def test_a_partner_in_slack_is_reminded_of_the_outcome(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    claim(r, reference)
    route(r, reference, "avim")
    assert sent(travel(r, local(2027, 4, 19, 10, 0))) == ["outcome_missing"]
    [to_partner] = dms(r, AVIM_MEMBER)
    assert "doorgezet" in str(to_partner["blocks"]) and reference in to_partner["text"]


def test_each_consultation_has_its_own_reminder(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    claim(r, reference)
    first = consult(r, reference, "avim")
    travel(r, local(2027, 4, 6, 10, 0))
    consult(r, reference, "zoco")
    advice_received(r, first)
    assert sent(travel(r, local(2027, 4, 8, 10, 0))) == []
    assert sent(travel(r, local(2027, 4, 9, 10, 0))) == ["advice_unanswered"]
    assert dms(r, "U0ZOCO0001") and not dms(r, AVIM_MEMBER)


def test_further_investigation_is_revisited_after_twenty_working_days(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    claim(r, reference)
    change(r, reference, "concluded", conclusion="verder_onderzoek", conclusion_at="now")
    # Twenty working days from Monday 5 April 10:00, skipping Koningsdag (Tuesday 27 April 2027):
    # Tuesday 4 May 10:00.
    assert sent(travel(r, local(2027, 5, 3, 10, 0))) == []
    assert sent(travel(r, local(2027, 5, 4, 10, 0))) == ["further_investigation"]
    assert "verder onderzoek" in str(reminders_in_thread(r, reference)[0]["blocks"])


def test_a_new_conclusion_stops_the_further_investigation_reminder(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    claim(r, reference)
    change(r, reference, "concluded", conclusion="verder_onderzoek", conclusion_at="now")
    travel(r, local(2027, 4, 20, 10, 0))
    change(r, reference, "concluded", conclusion="geen", conclusion_at="now")
    assert sent(travel(r, local(2027, 6, 1, 10, 0))) == []


def test_closing_a_case_stops_every_reminder_and_reopening_starts_fresh_clocks(running) -> None:
    r = running
    reference = report_at(r, MONDAY)
    claim(r, reference)
    consult(r, reference, "avim")
    travel(r, local(2027, 4, 6, 10, 0))
    change(r, reference, "closed", status="closed", closed_at="now")
    assert sent(travel(r, local(2027, 5, 1, 10, 0))) == []
    assert {d.state for d in deadlines(r, reference).values()} == {"cancelled"}
    # Reopened on Monday 3 May 10:00: the reporter still has had no feedback, the advice is still open.
    r.core.clock.set(local(2027, 5, 3, 10, 0))
    change(r, reference, "reopened", status="in_progress", closed_at=None)
    # Counted in working days from then; Ascension Day (Thursday 6 May 2027) does not count.
    assert sent(travel(r, local(2027, 5, 6, 10, 0))) == []
    assert sent(travel(r, local(2027, 5, 7, 10, 0))) == ["advice_unanswered"]
    assert sent(travel(r, local(2027, 5, 10, 10, 0))) == []
    assert sent(travel(r, local(2027, 5, 11, 10, 0))) == ["no_feedback"]


def test_a_region_can_set_its_own_ladder(settings, fake, tmp_path) -> None:
    from flows.reminder_rules import DEFAULT_PATH
    from tests.conftest import start_bot

    region = tmp_path / "region"
    region.mkdir()
    (region / "reminders.yaml").write_text(DEFAULT_PATH.read_text(encoding="utf-8").replace(
        "  - key: unclaimed_af\n    trigger: unclaimed\n    offset: {working_days: 1}",
        "  - key: unclaimed_af\n    trigger: unclaimed\n    offset: {minutes: 120}"), encoding="utf-8")
    r = start_bot(settings.with_(region_dir=region), fake)
    try:
        report_at(r, MONDAY, feedback="no")
        assert sent(travel(r, local(2027, 4, 5, 11, 59))) == []
        assert sent(travel(r, local(2027, 4, 5, 12, 0))) == ["unclaimed_af"]
    finally:
        r.stop()
