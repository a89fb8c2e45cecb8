"""Everyone reads the bot in their Slack language, not only in the triage: an English-speaking AF
in the case actions (card, forms, answers, reminders in their DM), an English-speaking partner
contact in the request for advice, its reminder and the answer form, an English-speaking backup in
the escalation, and an English-speaking network member in the training invitation — also when the
bot writes to them before they ever wrote to it."""

from __future__ import annotations

from typing import Any

from bot.core import training
from tests.case_helpers import AVIM, modal_of, submit, text_of
from tests.helpers import AF_OTHER, BACKUP, case_card, report, thread_of
from tests.reminders_support import local, report_at, settle, travel

NET1 = "U0NET00001"


def _english(r, *users: str) -> None:  # noqa: ANN001
    for n, user in enumerate(users):
        r.fake.add_user(f"english{n}", user_id=user, real_name=f"English {n}", locale="en-US")


def _dms(r, user: str) -> list[dict[str, Any]]:  # noqa: ANN001
    return r.fake.messages_in(r.fake.dm_channel_for(user))


def _newest_with(r, user: str, needle: str) -> dict[str, Any]:  # noqa: ANN001
    return r.fake.wait_for(lambda: next((m for m in reversed(_dms(r, user)) if needle in text_of(m)), None))


def test_an_english_speaking_af_and_partner_work_a_case_in_english(running) -> None:
    r = running
    _english(r, AF_OTHER, AVIM)
    # Etten-Leur has no case channel: its AF gets the case card by DM.
    r.core.clock.set(local(2027, 4, 5, 10, 0))
    reference = report(r, answers={"municipality": "Etten-Leur", "feedback": "no"})
    dm = r.fake.dm_channel_for(AF_OTHER)
    card = case_card(r, reference, channel=dm)
    assert "Claim" in text_of(card) and "Oppakken" not in text_of(card)

    # The reminder in the card's thread, in the AF's DM: English.
    travel(r, local(2027, 4, 6, 10, 0))
    reminder = r.fake.wait_for(lambda: next((m for m in thread_of(r, card)[1:]
                                             if "Reminder" in (m.get("text") or "")), None))
    assert "has not been claimed yet" in text_of(reminder) and "Herinnering" not in text_of(reminder)

    assert r.driver.click(AF_OTHER, card, "case:claim").status == 200
    r.fake.wait_for(lambda: "case:consult" in text_of(case_card(r, reference, channel=dm)))
    settle(r)
    assert r.driver.click(AF_OTHER, case_card(r, reference, channel=dm), "case:consult").status == 200
    view = modal_of(r, AF_OTHER, "case_modal:consult")
    assert "Your question" in str(view["blocks"])
    submit(r, AF_OTHER, view, {"partners": ["avim"], "text": "Do you know this address?"})

    # AVIM never wrote to the bot, yet the request for advice is in English.
    request = _newest_with(r, AVIM, "partner:advice")
    assert "Request for advice" in text_of(request) and "Adviesvraag" not in text_of(request)
    travel(r, local(2027, 4, 9, 10, 0))  # asked on Tuesday: three working days later
    reminder = _newest_with(r, AVIM, "Reminder about signal")
    assert "Give your advice with the button below" in text_of(reminder)
    assert r.driver.click(AVIM, reminder, "partner:advice").status == 200
    view = modal_of(r, AVIM, "partner_advice")
    assert "Your advice" in str(view["blocks"])
    submit(r, AVIM, view, {"text": "Known address."})
    r.fake.wait_for(lambda: "Settled: the advice has been recorded." in text_of(_newest_with(r, AVIM,
                                                                                             "Reminder about")))
    # The AF's case thread tells them in English too.
    r.fake.wait_for(lambda: "Advice from" in str([text_of(m) for m in thread_of(r, card)]))


def test_an_english_speaking_backup_gets_the_escalation_in_english(running) -> None:
    r = running
    _english(r, BACKUP)
    reference = report_at(r, local(2027, 4, 5, 10, 0), feedback="no")
    travel(r, local(2027, 4, 7, 10, 0))  # two working days: the backup
    escalation = _newest_with(r, BACKUP, reference)
    assert escalation["text"].startswith("Escalation") and "has not been claimed" in text_of(escalation)


def test_an_english_speaking_member_gets_the_training_invitation_in_english(running) -> None:
    r = running
    _english(r, NET1)
    r.core.clock.set(local(2027, 3, 1, 9, 0))
    made = training.create(r.core, "U0KR000001", training.TrainingInput(
        title="Recognising signals", starts=local(2027, 3, 10, 10, 0), ends=local(2027, 3, 10, 12, 0),
        location="Breda city office", audience="network"))
    assert made.ok
    settle(r)
    invitation = _newest_with(r, NET1, "training:yes")
    assert invitation["text"].startswith("New training") and "Nieuwe training" not in text_of(invitation)
    before = len(r.fake.ephemerals_for(NET1))
    assert r.driver.click(NET1, invitation, "training:yes").status == 200
    r.fake.wait_for(lambda: len(r.fake.ephemerals_for(NET1)) > before)
    assert "Nieuwe training" not in str(r.fake.ephemerals_for(NET1)[-1])
