"""Retention: a closed case's personal data goes after its period (6 months for geen mensenhandel,
24 otherwise), abandoned drafts after 30 days; what stays is anonymous counts and tombstones in
Slack. The audit log shows it, and an access request exports what is stored about a person."""

from __future__ import annotations

import json
import stat
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bot.core import retention, stats
from flows.retention import RetentionRules, add_months, load, purge_due
from models import AuditEntry, CaseEvent, Consultation, Handover, MessageRef, Signal
from models.db import session_scope
from tests.helpers import (
    AF,
    CASES_CHANNEL,
    REPORTER,
    answer,
    case_card,
    open_question,
    report,
    root_message,
    thread_texts,
)
from tests.privacy_support import FREE_TEXT_BITS, everything_in_slack, run_cli, signal

TOMBSTONE_NL = "Gegevens verwijderd volgens bewaartermijn."
AVIM = "U0AVIM0001"


def test_the_default_retention_rules() -> None:
    rules = load()
    assert rules.months_for("geen") == 6
    assert rules.months_for("wel") == rules.months_for("verder_onderzoek") == rules.months_for(None) == 24
    assert rules.drafts_days == 30
    from datetime import UTC, datetime

    closed = datetime(2027, 8, 31, 12, tzinfo=UTC)
    assert purge_due(rules, status="closed", conclusion="geen", closed_at=closed,
                     last_activity=closed).at == datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert purge_due(rules, status="in_progress", conclusion=None, closed_at=None, last_activity=closed) is None
    assert purge_due(RetentionRules(), status="cancelled", conclusion=None, closed_at=None,
                     last_activity=closed).reason == "abandoned_draft"


def test_a_region_sets_its_own_retention_and_mistakes_name_the_field(tmp_path) -> None:
    from flows.data import DataError
    from flows.retention import for_region

    (tmp_path / "retention.yaml").write_text("closed_cases_months: {geen: 3, default: 12}\n", encoding="utf-8")
    rules = for_region(tmp_path)
    assert (rules.months_for("geen"), rules.months_for("wel"), rules.drafts_days) == (3, 12, 30)
    (tmp_path / "retention.yaml").write_text("closed_cases_months: {gen: 3}\n", encoding="utf-8")
    with pytest.raises(DataError, match="closed_cases_months.gen"):
        for_region(tmp_path)
    (tmp_path / "retention.yaml").write_text("abandoned_drafts_days: 0\n", encoding="utf-8")
    with pytest.raises(DataError, match="abandoned_drafts_days"):
        for_region(tmp_path)


def _closed_case(r) -> tuple[str, object]:  # noqa: ANN001
    """A reported signal, handled and closed as 'geen mensenhandel' (written directly: the AF's
    case actions are another feature)."""
    reference = report(r)
    case_card(r, reference)
    root = root_message(r, REPORTER)
    r.fake.wait_for(lambda: "is verstuurd" in thread_texts(r, root))
    now = r.core.clock.now()
    with session_scope(r.core.engine) as session:
        s = session.exec(select(Signal).where(Signal.reference == reference)).one()
        s.status, s.conclusion, s.closed_at = "closed", "geen", now
        s.claimed_by, s.claimed_at, s.first_feedback_at = AF, now, now
        s.referred_to_care = "Doorverwezen naar Stichting Hulp"
        session.add(CaseEvent(signal_id=s.id, at=now, actor_id=AF, kind="note",
                              text="Notitie: de zus van de eigenaar belde", data={"by": AF}))
        session.add(Consultation(signal_id=s.id, partner_key="avim", question="Kennen jullie dit adres?",
                                 asked_by=AF, answer="Ja, bekend adres", answered_by=AVIM, answered_at=now))
        session.add(Handover(signal_id=s.id, partner_key="avim", routed_by=AF, outcome="Onderzoek gestart",
                             outcome_by=AVIM, outcome_at=now))
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0)
    return reference, now


def test_a_closed_case_is_purged_after_its_period_leaving_counts_and_tombstones(running, settings, monkeypatch,
                                                                                capsys) -> None:
    r = running
    reference, closed_at = _closed_case(r)
    assert any(bit in everything_in_slack(r.fake, CASES_CHANNEL, REPORTER) for bit in FREE_TEXT_BITS)

    early = add_months(closed_at, 6) - timedelta(days=1)
    code, out = run_cli(monkeypatch, capsys, settings, "purge", "--dry-run", "--at", early.isoformat())
    assert code == 0 and "Nothing is due" in out
    due = add_months(closed_at, 6) + timedelta(days=1)
    code, out = run_cli(monkeypatch, capsys, settings, "purge", "--dry-run", "--at", due.isoformat())
    assert code == 0 and reference in out and "would be purged" in out
    assert signal(r.core.engine, reference).description is not None  # a dry run changes nothing

    r.core.clock.set(due)
    lines = r.bot.run_due(due)
    assert any(line.startswith(f"retention: purged {reference}") for line in lines), lines

    s = signal(r.core.engine, reference)
    assert s.purged_at is not None
    assert (s.description, s.location, s.referred_to_care, s.reporter_id, s.claimed_by) == (None,) * 5
    assert (s.form, s.sector, s.conclusion, s.status) == ("AU", "horeca", "geen", "closed")
    assert s.municipality_id is not None and s.submitted_at is not None and s.claimed_at is not None
    with Session(r.core.engine) as session:
        events = session.exec(select(CaseEvent).where(CaseEvent.signal_id == s.id)).all()
        assert events and all(e.text is None and e.actor_id is None and e.data == {} for e in events)
        consult = session.exec(select(Consultation).where(Consultation.signal_id == s.id)).one()
        assert (consult.question, consult.answer, consult.asked_by, consult.answered_by) == (None,) * 4
        handover = session.exec(select(Handover).where(Handover.signal_id == s.id)).one()
        assert (handover.outcome, handover.routed_by, handover.outcome_by) == (None,) * 3
        assert handover.partner_key == "avim"  # "led to a melding" still counts
        purged = session.exec(select(AuditEntry).where(AuditEntry.action == "signal.purged",
                                                       AuditEntry.signal_id == s.id)).one()
        assert purged.actor_id == "retention" and purged.data["redacted_messages"] >= 2
        detailed = session.exec(select(MessageRef).where(MessageRef.signal_id == s.id,
                                                         col(MessageRef.contains_details).is_(True))).all()
        assert detailed and all(m.redacted_at is not None for m in detailed)

    slack = everything_in_slack(r.fake, CASES_CHANNEL, REPORTER)
    assert not any(bit in slack for bit in FREE_TEXT_BITS)
    card = next(m for m in r.fake.messages_in(CASES_CHANNEL) if not m.get("thread_ts"))
    assert card["text"] == TOMBSTONE_NL
    updates = [c for c in r.fake.calls_to("chat.update") if c.args.get("text") == TOMBSTONE_NL]
    assert len(updates) >= 2  # the case card and the reporter's answers

    # The anonymous counts survive: the statistics still see one signal that led to a melding.
    with Session(r.core.engine) as session:
        report_ = stats.compute(session, s.submitted_at - timedelta(days=1), s.submitted_at + timedelta(days=1),
                                due, limit=1, cal=stats.calendar_for(settings))
    assert (report_.total, report_.routed, report_.outcomes["geen"]) == (1, 1, 1)

    # Idempotent: later sweeps purge nothing more; the recipients of the tombstones are forgotten.
    assert not [line for line in r.bot.run_due(due + timedelta(hours=1)) if line.startswith("retention")]
    assert not [line for line in r.bot.run_due(due + timedelta(days=1)) if "purged" in line]
    with Session(r.core.engine) as session:
        assert session.exec(select(MessageRef).where(MessageRef.signal_id == s.id,
                                                     col(MessageRef.recipient).is_not(None))).all() == []

    code, out = run_cli(monkeypatch, capsys, settings, "audit", "--case", reference)
    assert code == 0
    for action in ("signal.started", "signal.submitted", "signal.purged"):
        assert action in out
    assert not any(bit in out for bit in FREE_TEXT_BITS)


def test_a_wel_mensenhandel_case_is_kept_for_24_months(running) -> None:
    r = running
    reference, closed_at = _closed_case(r)
    with session_scope(r.core.engine) as session:
        s = session.exec(select(Signal).where(Signal.reference == reference)).one()
        s.conclusion = "wel"
    rules = retention.rules_for(r.core)
    with Session(r.core.engine) as session:
        assert retention.candidates(session, rules, add_months(closed_at, 23)) == []
        assert [c.reference for c in retention.candidates(session, rules, add_months(closed_at, 24)
                                                          + timedelta(minutes=1))] == [reference]


def test_an_abandoned_draft_is_purged_after_30_days(running) -> None:
    r = running
    r.driver.slash(REPORTER, text="")
    answer(r, REPORTER, "municipality", "Breda")
    answer(r, REPORTER, "form", "AU")
    r.fake.wait_for(lambda: (open_question(r, REPORTER) or ("",))[0] == "signals")
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0)
    assert "Arbeidsuitbuiting" in thread_texts(r, root_message(r, REPORTER))
    with Session(r.core.engine) as session:
        draft = session.exec(select(Signal).where(Signal.status == "draft")).one()
    rules = retention.rules_for(r.core)
    with Session(r.core.engine) as session:
        assert retention.candidates(session, rules, draft.updated_at + timedelta(days=29)) == []
    later = draft.updated_at + timedelta(days=31)
    r.core.clock.set(later)
    lines = r.bot.run_due(later)
    assert any(f"purged {draft.reference} (abandoned_draft)" in line for line in lines), lines
    assert signal(r.core.engine, draft.reference).answers == {}
    texts = thread_texts(r, root_message(r, REPORTER))
    assert "Arbeidsuitbuiting" not in texts and TOMBSTONE_NL in texts


def test_an_access_request_exports_a_persons_data_as_json_and_is_audited(running, settings, monkeypatch, capsys,
                                                                         tmp_path) -> None:
    r = running
    reference = report(r)
    case_card(r, reference)
    out_file = tmp_path / "inzage.json"
    code, out = run_cli(monkeypatch, capsys, settings, "export", "--person", REPORTER, "--out", str(out_file))
    assert code == 0, out
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    data = json.loads(out_file.read_text(encoding="utf-8"))
    assert data["person"] == REPORTER
    signals = data["tables"]["signal"]
    assert [s["reference"] for s in signals] == [reference]
    assert signals[0]["description"].startswith("Twee mannen")  # decrypted for the person themselves
    assert "person" in data["tables"] and "auditentry" in data["tables"]
    assert all(e["actor_id"] == REPORTER for e in data["tables"]["auditentry"])
    # Someone else's export does not contain this reporter's signal.
    code, out = run_cli(monkeypatch, capsys, settings, "export", "--person", "U0COLL0001")
    assert code == 0 and reference not in out
    with Session(r.core.engine) as session:
        exports = session.exec(select(AuditEntry).where(AuditEntry.action == "person.exported")).all()
    assert [e.subject for e in exports] == [REPORTER, "U0COLL0001"]


def test_the_audit_log_can_be_filtered_by_date(running, settings, monkeypatch, capsys) -> None:
    r = running
    reference = report(r)
    case_card(r, reference)
    code, out = run_cli(monkeypatch, capsys, settings, "audit", "--since", "2999-01-01")
    assert code == 0 and "No audit entries match." in out
    code, out = run_cli(monkeypatch, capsys, settings, "audit", "--since", "2000-01-01", "--actor", REPORTER)
    assert "signal.submitted" in out and reference in out
    code, out = run_cli(monkeypatch, capsys, settings, "audit", "--case", "S-1999-0001")
    assert code == 2 and "No signal S-1999-0001" in out


def _audit_of(engine, signal_id: int) -> list[AuditEntry]:  # noqa: ANN001
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.signal_id == signal_id)
                                 .order_by(col(AuditEntry.id))).all())


def test_the_purge_pseudonymises_the_signals_audit_entries_and_forgets_reporters_without_signals(running) -> None:
    from bot.core import audit

    r = running
    backup = "U0AF000002"
    reference, closed_at = _closed_case(r)
    with session_scope(r.core.engine) as session:
        s = session.exec(select(Signal).where(Signal.reference == reference)).one()
        sid = s.id
        audit.record(session, AF, "case.claimed", signal_id=sid, subject=reference, at=closed_at)
        audit.record(session, None, "reminder.sent", signal_id=sid, subject="claim", at=closed_at,
                     recipients=[AF, backup])
        audit.record(session, AF, "home.viewed", subject=AF, at=closed_at, references=[reference])
        # The reporter has a second signal that is still open.
        other = Signal(reference="S-2000-0002", reporter_id=REPORTER, status="in_progress",
                       questionnaire_version="test", municipality_id=s.municipality_id)
        session.add(other)
        session.flush()
        other_id = other.id
        audit.record(session, REPORTER, "signal.started", signal_id=other_id, subject=other.reference, at=closed_at)
    before = [(e.id, e.action, e.at) for e in _audit_of(r.core.engine, sid)]
    assert {REPORTER, AF} <= {e.actor_id for e in _audit_of(r.core.engine, sid)}

    due = add_months(closed_at, 6) + timedelta(days=1)
    r.core.clock.set(due)
    assert any(line.startswith(f"retention: purged {reference}") for line in r.bot.run_due(due))
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0)

    entries = _audit_of(r.core.engine, sid)
    # Action and time stay; no user id is left, in the actor, the subject or the data.
    assert [(e.id, e.action, e.at) for e in entries if e.action != "signal.purged"] == before
    for e in entries:
        for uid in (REPORTER, AF, backup):
            assert uid not in f"{e.actor_id} {e.subject} {e.data}", e
    by_action = {e.action: e for e in entries}
    reporter_alias = by_action["signal.started"].actor_id
    af_alias = by_action["case.claimed"].actor_id
    assert reporter_alias and reporter_alias.startswith("anon-") and af_alias and af_alias.startswith("anon-")
    assert reporter_alias != af_alias
    assert by_action["signal.submitted"].actor_id == reporter_alias  # one person, one pseudonym in a signal
    recipients = by_action["reminder.sent"].data["recipients"]
    assert recipients[0] == af_alias and recipients[1].startswith("anon-") and recipients[1] != af_alias
    assert by_action["signal.purged"].actor_id == "retention"
    with Session(r.core.engine) as session:
        viewed = session.exec(select(AuditEntry).where(AuditEntry.action == "home.viewed")).one()
        assert viewed.actor_id == AF  # an entry of no purged signal is not touched
        # The reporter still has a signal: they stay; the AF and the partner hold roles: they stay.
        from models import Person

        people = set(session.exec(select(Person.user_id)).all())
        assert {REPORTER, AF, AVIM} <= people

    # Once their last signal is purged too (and its tombstones are delivered), the reporter is forgotten.
    with session_scope(r.core.engine) as session:
        other = session.get(Signal, other_id)
        other.status, other.conclusion, other.closed_at = "closed", "geen", closed_at
        session.add(other)
    later = due + timedelta(days=1)
    r.core.clock.set(later)
    assert any(line.startswith("retention: purged S-2000-0002") for line in r.bot.run_due(later))
    r.fake.wait_for(lambda: r.bot.worker.pending_count() == 0)
    r.bot.run_due(later + timedelta(days=1))  # forgets the recipients of delivered tombstones
    with Session(r.core.engine) as session:
        people = set(session.exec(select(Person.user_id)).all())
        assert REPORTER not in people and {AF, AVIM} <= people
    other_alias = _audit_of(r.core.engine, other_id)[0].actor_id
    # Documented choice: pseudonyms are per signal, so two purged signals cannot be linked to one person.
    assert other_alias and other_alias.startswith("anon-") and other_alias != reporter_alias


def test_an_export_is_created_private_and_never_overwrites_or_follows_a_link(running, settings, monkeypatch,
                                                                          capsys, tmp_path) -> None:
    import os

    r = running
    reference = report(r)
    old_umask = os.umask(0)  # even an operator with a careless umask gets a private file
    try:
        out_file = tmp_path / "inzage.json"
        code, out = run_cli(monkeypatch, capsys, settings, "export", "--person", REPORTER, "--out", str(out_file))
    finally:
        os.umask(old_umask)
    assert code == 0, out
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600 and reference in out_file.read_text(encoding="utf-8")

    existing = tmp_path / "existing.json"
    existing.write_text("keep me", encoding="utf-8")
    code, out = run_cli(monkeypatch, capsys, settings, "export", "--person", REPORTER, "--out", str(existing))
    assert code == 2 and "already exists" in out and len(out.strip().splitlines()) == 1, out
    assert existing.read_text(encoding="utf-8") == "keep me"

    target = tmp_path / "elsewhere.txt"
    link = tmp_path / "link.json"
    link.symlink_to(target)  # a dangling link planted where the export goes
    code, out = run_cli(monkeypatch, capsys, settings, "export", "--person", REPORTER, "--out", str(link))
    assert code == 2 and "already exists" in out
    assert not target.exists()
    with Session(r.core.engine) as session:
        exports = session.exec(select(AuditEntry).where(AuditEntry.action == "person.exported")).all()
    assert len(exports) == 1  # a refused export is not recorded as one


def test_an_af_who_types_in_the_case_thread_is_asked_to_delete_it_and_use_the_note_form(running) -> None:
    """The bot cannot delete a person's own message, so typed case text would outlive the purge: the
    bot keeps it as an encrypted note and asks the AF to delete their message and use the form."""
    from tests.case_helpers import ephemeral_texts, wait_in

    r = running
    reference = report(r)
    card = case_card(r, reference)
    r.driver.message(AF, CASES_CHANNEL, "Intern: eigenaar restaurant al bekend bij ons.", thread_ts=card["ts"])
    told = wait_in(r, lambda: ephemeral_texts(r, AF), "interne notitie", timeout=15)
    assert "Verwijder het nu zelf" in told and "*Interne notitie* in het ⋯-menu" in told
    with Session(r.core.engine) as session:
        note = session.exec(select(CaseEvent).where(CaseEvent.kind == "note")).one()
    assert note.text == "Intern: eigenaar restaurant al bekend bij ons." and note.actor_id == AF
