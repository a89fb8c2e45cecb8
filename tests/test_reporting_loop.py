"""The reporting loop end to end: /signaal → triage in the reporter's DM thread → stored → AF pinged."""

from __future__ import annotations

from tests.helpers import AF, REPORTER, case_card, report, root_message, thread_texts


def test_a_reporter_reports_a_labour_exploitation_signal_and_the_af_is_pinged(running) -> None:
    r = running
    reference = report(r)
    assert reference.startswith("S-")
    card = case_card(r, reference)
    assert f"<@{AF}>" in card["text"]
    assert "Twee mannen" not in card["text"]
    assert "open Slack" in card["text"]
    root = root_message(r, REPORTER)
    r.fake.wait_for(lambda: "is verstuurd" in thread_texts(r, root))
