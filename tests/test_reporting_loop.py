"""The reporting loop end to end: /signaal → triage in the reporter's DM thread → stored → AF pinged."""

from __future__ import annotations

from tests.helpers import AF, REPORTER, case_card, report, root_message, thread_texts


def test_a_reporter_reports_a_labour_exploitation_signal_and_the_af_is_pinged(running_both_transports) -> None:
    """Over HTTP (signed requests) and over Socket Mode (envelopes, acks checked within 3 s)."""
    r = running_both_transports
    reference = report(r)
    assert reference.startswith("S-")
    card = case_card(r, reference)
    assert f"<@{AF}>" in card["text"]
    assert "Twee mannen" not in card["text"]
    assert "open Slack" in card["text"]
    root = root_message(r, REPORTER)
    r.fake.wait_for(lambda: "is verstuurd" in thread_texts(r, root))
    if r.driver.transport == "socket":
        acks = r.fake.calls_to("socket_mode_ack")
        assert acks and all(call.ok for call in acks), [call.error for call in acks if not call.ok]
