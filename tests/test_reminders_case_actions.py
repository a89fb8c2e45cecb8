"""Reminders meet the AF's real case actions: every reminder rule is started by the step that
gives it a reason and stops when the AF (or partner) does the real thing with the real buttons and
forms — claim, feedback, advice, outcome, a new conclusion, close — and reopening starts fresh
clocks. A partner can act straight from their reminder."""

from __future__ import annotations

from typing import Any

from tests.case_helpers import AVIM, act, click_case, modal_of, signal_row, submit, text_of, wait_in
from tests.helpers import AF, BACKUP, case_card
from tests.reminders_support import deadlines, local, reminders_in_thread, report_at, sent, settle, travel

MONDAY = local(2027, 4, 5, 10, 0)  # no holidays in the next two weeks


def partner_reminders(r, user: str) -> list[dict[str, Any]]:  # noqa: ANN001
    return [m for m in r.fake.messages_in(r.fake.dm_channel_for(user))
            if (m.get("text") or "").startswith(("Herinnering", "Reminder"))]


def claimed(r, reference: str) -> None:  # noqa: ANN001
    click_case(r, AF, reference, "claim")
    r.fake.wait_for(lambda: signal_row(r, reference).claimed_by == AF)
    settle(r)


def test_an_unclaimed_reminder_is_settled_by_the_claim_button(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    assert sent(travel(r, local(2027, 4, 6, 10, 0))) == ["unclaimed_af"]
    travel(r, local(2027, 4, 6, 10, 30))
    claimed(r, reference)
    r.fake.wait_for(lambda: "opgepakt" in str(reminders_in_thread(r, reference)[0]["blocks"]))
    assert "reminder:snooze" not in str(reminders_in_thread(r, reference)[0]["blocks"])
    assert sent(travel(r, local(2027, 4, 30, 10, 0))) == []
    assert deadlines(r, reference)["unclaimed_backup"].state == "cancelled"
    assert r.fake.messages_in(r.fake.dm_channel_for(BACKUP)) == []


def test_feedback_through_the_form_stops_the_feedback_reminder(running) -> None:
    r = running
    reference = report_at(r, MONDAY)  # the reporter wants feedback
    claimed(r, reference)
    travel(r, local(2027, 4, 8, 10, 0))
    act(r, AF, reference, "feedback", {"text": "Dank je, we kijken ernaar."})
    settle(r)
    assert deadlines(r, reference)["no_feedback"].state == "cancelled"
    assert sent(travel(r, local(2027, 4, 12, 10, 0))) == []


def test_feedback_after_the_reminder_settles_it_in_the_thread(running) -> None:
    r = running
    reference = report_at(r, MONDAY)
    claimed(r, reference)
    assert sent(travel(r, local(2027, 4, 12, 10, 0))) == ["no_feedback"]
    act(r, AF, reference, "feedback", {"text": "Dank je, we kijken ernaar."})
    r.fake.wait_for(lambda: "terugkoppeling gekregen" in str(reminders_in_thread(r, reference)[-1]["blocks"]))


def test_the_partner_gives_advice_straight_from_the_reminder(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    claimed(r, reference)
    act(r, AF, reference, "consult", {"partners": ["avim"], "text": "Kennen jullie dit adres?"})
    assert sent(travel(r, local(2027, 4, 8, 9, 59))) == []
    assert sent(travel(r, local(2027, 4, 8, 10, 0))) == ["advice_unanswered"]
    [reminder] = partner_reminders(r, AVIM)
    assert "Kennen jullie" not in text_of(reminder) and "Twee mannen" not in text_of(reminder)
    assert "partner:advice" in text_of(reminder)
    resp = r.driver.click(AVIM, reminder, "partner:advice")
    assert resp.status == 200
    submit(r, AVIM, modal_of(r, AVIM, "partner_advice"), {"text": "Bekend adres; wij nemen contact op."})
    wait_in(r, lambda: text_of(case_card(r, reference)) + str(reminders_in_thread(r, reference)),
            "advies is vastgelegd")
    r.fake.wait_for(lambda: "partner:advice" not in text_of(partner_reminders(r, AVIM)[0])
                    and "Afgehandeld" in text_of(partner_reminders(r, AVIM)[0]))
    assert sent(travel(r, local(2027, 5, 31, 10, 0))) == []


def test_the_partner_reports_the_outcome_straight_from_the_reminder(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    claimed(r, reference)
    act(r, AF, reference, "route", {"partners": ["avim"], "text": "Graag onderzoek."})
    # Ten working days after Monday 5 April 10:00: Monday 19 April 10:00, the date the partner was given.
    assert sent(travel(r, local(2027, 4, 19, 9, 59))) == []
    assert sent(travel(r, local(2027, 4, 19, 10, 0))) == ["outcome_missing"]
    [reminder] = partner_reminders(r, AVIM)
    assert "partner:outcome" in text_of(reminder) and "Graag onderzoek" not in text_of(reminder)
    assert r.driver.click(AVIM, reminder, "partner:outcome").status == 200
    submit(r, AVIM, modal_of(r, AVIM, "partner_outcome"),
           {"outcome": "onderzoek_gestart", "text": "Onderzoek gestart."})
    r.fake.wait_for(lambda: "Afgehandeld" in text_of(partner_reminders(r, AVIM)[0]))
    assert deadlines(r, reference)["outcome_missing"].state == "sent"
    assert sent(travel(r, local(2027, 6, 1, 10, 0))) == []


def test_the_outcome_reminder_follows_the_date_agreed_in_the_hand_over(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    claimed(r, reference)
    act(r, AF, reference, "route", {"partners": ["nla"], "expected": "2027-04-09"})
    # The partner was asked for the outcome by Friday 9 April: that day, at the time of the hand-over,
    # the AF is reminded (not after the default ten working days).
    assert sent(travel(r, local(2027, 4, 9, 9, 59))) == []
    assert sent(travel(r, local(2027, 4, 9, 10, 0))) == ["outcome_missing"]
    assert "contact met ze op" in str(reminders_in_thread(r, reference)[-1]["blocks"])


def test_a_new_conclusion_in_the_form_stops_the_further_investigation_reminder(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    act(r, AF, reference, "conclude", {"conclusion": "verder_onderzoek", "rationale": "Nog te vaag."})
    assert signal_row(r, reference).claimed_by == AF  # concluding claims the case
    # Twenty working days, skipping Koningsdag (27 April 2027): Tuesday 4 May 10:00.
    assert sent(travel(r, local(2027, 5, 4, 10, 0))) == ["further_investigation"]
    act(r, AF, reference, "conclude", {"conclusion": "geen", "rationale": "Geen signalen meer."})
    r.fake.wait_for(lambda: "nieuwe conclusie" in str(reminders_in_thread(r, reference)[-1]["blocks"]))
    assert sent(travel(r, local(2027, 7, 1, 10, 0))) == []


def test_routing_a_case_under_further_investigation_settles_that_reminder(running) -> None:
    r = running
    reference = report_at(r, MONDAY, feedback="no")
    act(r, AF, reference, "conclude", {"conclusion": "verder_onderzoek", "rationale": "Nog te vaag."})
    travel(r, local(2027, 4, 20, 10, 0))
    act(r, AF, reference, "route", {"partners": ["nla"]})
    assert "further_investigation" not in sent(travel(r, local(2027, 5, 4, 10, 0)))
    assert deadlines(r, reference)["further_investigation"].state == "cancelled"


def test_closing_with_the_button_stops_everything_and_reopening_starts_fresh_clocks(running) -> None:
    r = running
    reference = report_at(r, MONDAY)  # wants feedback
    claimed(r, reference)
    act(r, AF, reference, "consult", {"partners": ["avim"], "text": "Kennen jullie dit adres?"})
    act(r, AF, reference, "conclude", {"conclusion": "geen", "rationale": "Slecht werkgeverschap."})
    travel(r, local(2027, 4, 6, 10, 0))
    click_case(r, AF, reference, "close")
    submit(r, AF, modal_of(r, AF, "case_modal:close"), {"reason": "Melder is niet meer bereikbaar."})
    r.fake.wait_for(lambda: signal_row(r, reference).status == "closed")
    settle(r)
    assert {d.state for d in deadlines(r, reference).values()} == {"cancelled"}
    assert sent(travel(r, local(2027, 5, 1, 10, 0))) == []
    # Reopened on Monday 3 May 10:00 (by the backup): the advice is still open, the reporter still
    # has had no feedback; counted from then, and Ascension Day (Thursday 6 May) does not count.
    r.core.clock.set(local(2027, 5, 3, 10, 0))
    click_case(r, BACKUP, reference, "reopen")
    r.fake.wait_for(lambda: signal_row(r, reference).status == "in_progress")
    settle(r)
    assert sent(travel(r, local(2027, 5, 7, 10, 0))) == ["advice_unanswered"]
    assert sent(travel(r, local(2027, 5, 11, 10, 0))) == ["no_feedback"]


def test_claiming_an_acute_signal_with_the_button_stops_the_escalation(running) -> None:
    r = running
    reference = report_at(r, local(2027, 3, 27, 2, 0), acute="yes", feedback="no")  # Saturday night
    assert sent(travel(r, local(2027, 3, 27, 2, 30))) == ["unclaimed_acute_af"]
    claimed(r, reference)
    assert sent(travel(r, local(2027, 3, 27, 3, 0))) == []
    assert deadlines(r, reference)["unclaimed_acute_escalation"].state == "cancelled"
    assert r.fake.messages_in(r.fake.dm_channel_for(BACKUP)) == []
