"""Who sees what, decided in the core (bot.core.presenters) and tested there: a partner never gets
the description unless the AF shared it, nor the reporter or any other free text; the reporter's
thread shows only what the AF sent them, never an internal note, advice or a conclusion."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session, col, select

from bot.core import cases as core_cases
from bot.core import presenters
from bot.core.presenters import ReporterSees
from flows.cases import CaseAction
from models import CaseEvent, Signal
from tests.case_helpers import ZOCO, settle, signal_id
from tests.helpers import AF, REPORTER, report

SECRET = "Beschrijving met details die alleen de AF mag zien"


def _events(session: Session, sid: int) -> dict[str, CaseEvent]:
    rows = session.exec(select(CaseEvent).where(CaseEvent.signal_id == sid).order_by(col(CaseEvent.id))).all()
    return {ev.kind: ev for ev in rows}


def test_a_partner_sees_the_description_only_when_shared(running) -> None:
    r = running
    reference = report(r, answers={"description": SECRET})
    settle(r)
    with Session(r.core.engine) as session:
        signal = session.get(Signal, signal_id(r, reference))
        assert signal is not None and signal.description
        description, location, reporter = signal.description, signal.location, signal.reporter_id
        brief = presenters.partner_brief(session, r.core.questionnaire, signal, share_description=False)
        shared = presenters.partner_brief(session, r.core.questionnaire, signal, share_description=True)
        signal.answers = {**signal.answers, "signals": ["conditions", "integrity"]}
        ticked = presenters.partner_brief(session, r.core.questionnaire, signal, share_description=False)
        signal.answers = {**signal.answers, "signals": None}
        unreadable = presenters.partner_brief(session, r.core.questionnaire, signal, share_description=False)
        session.rollback()
    assert ticked.signals == ("Working or living in very poor conditions", "Harm to physical integrity")
    assert unreadable.signals is None
    assert brief.description is None and not brief.description_shared
    assert shared.description == description and shared.description_shared
    assert shared.description == SECRET
    assert (brief.reference, brief.municipality, brief.acute) == (reference, "Breda", False)
    assert (brief.form, brief.signals, brief.sector, brief.minor) == ("Labour exploitation", (), "Hospitality", "No")
    # Nothing in the brief is the signal's free text, its source or the reporter's identity.
    values = " ".join(str(v) for v in dataclasses.astuple(brief))
    for secret in (SECRET, location, reporter, "balie", "Balie"):
        assert secret and secret not in values, secret
    assert {f.name for f in dataclasses.fields(presenters.PartnerBrief)} == {
        "reference", "municipality", "form", "signals", "sector", "acute", "minor", "description_shared",
        "description"}


def test_the_reporter_sees_what_the_af_sent_them_and_never_a_note(running) -> None:
    r = running
    reference = report(r)
    settle(r)
    sid = signal_id(r, reference)
    core = r.core
    assert core_cases.claim(core, sid, AF).ok
    assert core_cases.ask_info(core, sid, AF, "Wanneer was dat?").ok
    assert core_cases.note(core, sid, AF, "Intern: buurman lijkt betrokken.").ok
    assert core_cases.consult(core, sid, AF, ["zoco"], "Wat denk jij?", False).ok
    with Session(core.engine) as session:
        question = _events(session, sid)[core_cases.INFO_REQUESTED]
    assert core_cases.reporter_answer(core, sid, REPORTER, "Dinsdag.", question_event_id=question.id).ok
    consultation = core_cases.consult(core, sid, AF, ["zoco"], "Nog een vraag?", False).data["consultations"][0]
    assert core_cases.give_advice(core, consultation, ZOCO, "Advies: melden bij AVIM.").ok
    assert core_cases.conclude(core, sid, AF, "wel", "Bevestigd door partners.").ok
    assert core_cases.message_reporter(core, sid, AF, "Dank voor je antwoord.").ok
    assert core_cases.feedback(core, sid, AF, "We hebben het doorgezet.").ok
    with Session(core.engine) as session:
        signal = session.get(Signal, sid)
        assert signal is not None
        events = _events(session, sid)
        seen = {kind: presenters.reporter_event(session, signal, ev.id) for kind, ev in events.items()}
        # Even an event wrongly marked visible is not shown unless its kind is for the reporter.
        note = events[core_cases.NOTE]
        note.visible_to_reporter = True
        forged = presenters.reporter_event(session, signal, note.id)
        session.rollback()
        gone = presenters.reporter_event(session, signal, 10**9)
    assert seen[core_cases.CLAIMED].sees is ReporterSees.CLAIMED and seen[core_cases.CLAIMED].text is None
    assert seen[core_cases.INFO_REQUESTED].sees is ReporterSees.QUESTION
    assert (seen[core_cases.INFO_REQUESTED].text, seen[core_cases.INFO_REQUESTED].answer) == ("Wanneer was dat?",
                                                                                              "Dinsdag.")
    assert seen[core_cases.MESSAGE_TO_REPORTER].text == "Dank voor je antwoord."
    assert seen[core_cases.FEEDBACK].sees is ReporterSees.FEEDBACK
    assert seen[core_cases.FEEDBACK].text == "We hebben het doorgezet."
    for kind in (core_cases.NOTE, core_cases.CONSULTED, core_cases.ADVICE, core_cases.CONCLUDED,
                 core_cases.REPORTER_ANSWER):
        assert seen[kind] == presenters.ReporterEvent(ReporterSees.NOTHING, reference), kind
    assert forged.sees is ReporterSees.NOTHING and forged.text is None
    assert gone.sees is ReporterSees.NOTHING



def test_the_case_card_shows_content_while_open_and_only_a_summary_once_closed(running) -> None:
    r = running
    reference = report(r, answers={"description": SECRET})
    settle(r)
    sid = signal_id(r, reference)
    core = r.core
    cal = core_cases.calendar(core)

    def card() -> presenters.CaseCard:
        with Session(core.engine) as session:
            signal = session.get(Signal, sid)
            assert signal is not None
            return presenters.case_card(session, core.questionnaire, signal, cal)

    new = card()
    assert new.description == SECRET and new.facts is not None and new.facts.reporter_id == REPORTER
    assert new.closed is None and new.handled_by is None and CaseAction.CLAIM in new.actions
    assert new.next_due is not None and new.next_due.what == "claim"
    assert core_cases.claim(core, sid, AF).ok
    assert core_cases.route(core, sid, AF, ["zoco"]).ok
    routed = card()
    assert routed.handled_by == AF and [(p.kind, p.done_at) for p in routed.partners] == [("handover", None)]
    assert routed.partners[0].expected_at is not None
    assert core_cases.conclude(core, sid, AF, "wel", "Bevestigd.").ok
    assert core_cases.feedback(core, sid, AF, "Dank je wel.").ok
    assert core_cases.close(core, sid, AF).ok
    closed = card()
    assert closed.closed is not None and closed.closed.routed_to and closed.closed.feedback_at is not None
    assert (closed.description, closed.location, closed.facts, closed.partners, closed.handled_by) == (
        None, None, None, (), None)
    assert CaseAction.REOPEN in closed.actions


def test_a_reminder_tells_each_audience_only_its_part_and_never_case_content(running) -> None:
    from datetime import timedelta

    from models.reminders import Deadline

    r = running
    reference = report(r, answers={"description": SECRET})
    settle(r)
    sid = signal_id(r, reference)
    with Session(r.core.engine) as session:
        signal = session.get(Signal, sid)
        assert signal is not None
        deadline = session.exec(select(Deadline).where(Deadline.signal_id == sid, Deadline.trigger == "unclaimed")
                                .order_by(col(Deadline.due_at))).first()
        assert deadline is not None
        slot = deadline.due_at + timedelta(minutes=1)
        views = {audience: presenters.reminder(session, deadline, signal, slot, audience, mention=[AF])
                 for audience in presenters.ReminderFor}
        secrets = (SECRET, signal.location, signal.reporter_id)
    kr, backup, af = (views[presenters.ReminderFor.KETENREGISSEUR], views[presenters.ReminderFor.BACKUP],
                      views[presenters.ReminderFor.AF])
    assert kr.reference == reference and kr.municipality == "Breda"
    assert (kr.partner, kr.case_place, kr.mention, kr.can_snooze) == (None, None, (), False)
    assert backup.case_place == "C0AFCASES1" and not backup.can_snooze
    assert af.mention == (AF,) and af.can_snooze == (not deadline.escalation) and af.state.settled is None
    for view in views.values():
        values = " ".join(str(v) for v in dataclasses.astuple(view))
        for secret in secrets:
            assert secret and secret not in values, (view.audience, secret)

    assert core_cases.claim(r.core, sid, AF).ok
    with Session(r.core.engine) as session:
        signal, deadline = session.get(Signal, sid), session.get(Deadline, deadline.id)
        settled = presenters.reminder(session, deadline, signal, slot, presenters.ReminderFor.AF, mention=[AF])
    assert settled.state.settled == "claimed" and not settled.can_snooze
