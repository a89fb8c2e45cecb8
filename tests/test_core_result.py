"""One result type and one error enumeration for the core's services, with the words for every error
decided in the core (English msgids the edge translates), one text check and one permission gate."""

from __future__ import annotations

import pytest

from bot.core import cases as core_cases
from bot.core.result import DENIALS, MESSAGES, SOMETHING_WRONG, Error, Result, message, text_problem
from bot.i18n import translator
from flows.cases import CaseAction, Reason
from flows.permissions import Denial
from tests.case_helpers import AVIM, settle, signal_id
from tests.helpers import AF, AF_OTHER, KETENREGISSEUR, REPORTER, report


def test_every_error_has_its_own_words() -> None:
    for error in Error:
        if error is not Error.INVALID:  # an invalid input is told by its reason; an unknown one is "went wrong"
            assert MESSAGES.get((error, None), SOMETHING_WRONG) != SOMETHING_WRONG, error
    for denial in Denial:
        if denial is not Denial.NO_STATS_ROLE:
            assert DENIALS[denial], denial


def test_every_message_is_translated() -> None:
    nl = translator("nl")
    values = {"who": "x", "length": 1, "limit": 2, "partners": "AVIM"}  # every placeholder MESSAGES uses
    for msgid in MESSAGES.values():
        assert nl(msgid, **values) != msgid.format(**values), msgid


def test_an_error_is_an_enumeration_member_and_a_typo_fails() -> None:
    assert Result(False, error="denied").error is Error.DENIED  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Result(False, error="denyed")  # type: ignore[arg-type]


def test_the_reason_picks_the_words_and_falls_back_to_the_error() -> None:
    denied = Result(False, error=Error.DENIED, reason=str(Denial.AGGREGATES_ONLY))
    assert message(denied)[0] == DENIALS[Denial.AGGREGATES_ONLY]
    assert message(Result(False, error=Error.DENIED, reason="something else"))[0] == MESSAGES[(Error.DENIED, None)]
    claimed = Result(False, error=Error.ALREADY_CLAIMED, reason=str(Reason.ALREADY_CLAIMED), claimed_by="U1")
    text, params = message(claimed)
    assert "{who}" in text and params["who"] == "U1"
    assert message(Result(False))[0] == SOMETHING_WRONG


def test_one_text_check() -> None:
    assert text_problem("  fine  ", limit=10) is None
    assert text_problem(None, required=False, limit=10) is None
    required = text_problem("   ", limit=10)
    assert required is not None and required.error is Error.INVALID and required.reason == "required"
    long = text_problem("x" * 11, limit=10)
    assert long is not None and long.reason == "too_long" and long.data == {"length": 11, "limit": 10}
    text, params = message(long)
    assert translator("en")(text, **params) == ("Your text is 11 characters; at most 10 are allowed. "
                                                "Please shorten it.")


def test_the_card_gate_is_the_cores(running) -> None:
    r = running
    reference = report(r)
    settle(r)
    sid = signal_id(r, reference)
    assert core_cases.check(r.core, sid, AF, CaseAction.CLAIM).ok
    other = core_cases.check(r.core, sid, AF_OTHER, CaseAction.CLAIM)
    assert not other.ok and other.error is Error.DENIED and other.reason == Denial.NOT_AF_OF_MUNICIPALITY
    assert core_cases.check(r.core, sid, KETENREGISSEUR, CaseAction.TIMELINE).reason == Denial.AGGREGATES_ONLY
    assert core_cases.check(r.core, sid, AVIM, CaseAction.NOTE).error is Error.DENIED
    assert core_cases.check(r.core, sid, REPORTER, CaseAction.CLAIM).error is Error.DENIED
    # Closing needs a conclusion: refused at the click already (issue 14: closing with care), and in the step.
    assert core_cases.claim(r.core, sid, AF).ok
    early = core_cases.check(r.core, sid, AF, CaseAction.CLOSE)
    assert not early.ok and early.error is Error.REFUSED and early.reason == Reason.NEEDS_CONCLUSION
    refused = core_cases.close(r.core, sid, AF)
    assert not refused.ok and refused.error is Error.REFUSED and refused.reason == Reason.NEEDS_CONCLUSION
    claimed = core_cases.check(r.core, sid, AF, CaseAction.CLAIM)
    assert claimed.error is Error.ALREADY_CLAIMED and claimed.claimed_by == AF
    assert core_cases.check(r.core, 10**9, AF, CaseAction.CLAIM).error is Error.UNKNOWN_SIGNAL
