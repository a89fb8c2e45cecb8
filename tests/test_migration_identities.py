"""Migration 0002 converts a database the previous version filled: people keep their keys and get
their Slack identity, addresses become (platform, conversation, message id), on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text
from sqlmodel import select

from bot.core import people
from models import Identity, MessageRef, Municipality, Person, Signal
from models.crypto import configure
from models.db import alembic_config, make_engine, session_scope, upgrade

NOW = "2026-12-01 09:00:00"
TEAMS_KEY = "teams:" + "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TEAMS_CONVERSATION = "19:" + "x" * 60 + "@thread.tacv2"


def _filled_by_the_previous_version(engine) -> None:  # noqa: ANN001 - an Engine
    command.upgrade(alembic_config(engine), "0001")
    # Rows as version 0001 wrote them (its own columns: channel/ts, VARCHAR(40) ids).
    with engine.begin() as conn:
        flags = {"now": NOW, "t": True, "f": False}
        muni = conn.execute(text("INSERT INTO municipality (name, channel) VALUES ('Breda', 'C0AFCASES1') "
                                 "RETURNING id")).scalar_one()
        conn.execute(text("INSERT INTO municipality (name, channel) VALUES ('Etten-Leur', NULL)"))
        conn.execute(text("INSERT INTO person (user_id, name, in_network, created_at) VALUES "
                          "('U0AF000001', 'Anna', :t, :now), ('U0REP00001', NULL, :f, :now)"), flags)
        conn.execute(text("INSERT INTO roleassignment (user_id, role, municipality_id) VALUES "
                          "('U0AF000001', 'af', :muni)"), {"muni": muni})
        signal = conn.execute(text(
            "INSERT INTO signal (reference, reporter_id, municipality_id, status, questionnaire_version, "
            "answers, step, editing, acute, minor, wants_feedback, created_at, updated_at, claimed_by) VALUES "
            "('S-2026-0001', 'U0REP00001', :muni, 'in_progress', 'v1', '{}', 0, :f, :f, :f, :t, :now, :now, "
            "'U0AF000001') RETURNING id"), {**flags, "muni": muni}).scalar_one()
        for kind, recipient, channel, ts in [("case_card", None, "C0AFCASES1", "1733300000.000100"),
                                             ("receipt", "U0REP00001", "D0REP00001", "1733300001.000200"),
                                             ("reminder", "U0AF000001", None, None)]:
            conn.execute(text(
                "INSERT INTO messageref (signal_id, kind, template, ref, recipient, channel, ts, "
                "contains_details, created_at) VALUES (:signal, :kind, :kind, '{}', :recipient, :channel, :ts, "
                ":f, :now)"), {**flags, "signal": signal, "kind": kind, "recipient": recipient,
                               "channel": channel, "ts": ts})
        conn.execute(text("INSERT INTO caseevent (signal_id, at, actor_id, kind, data, visible_to_reporter) "
                          "VALUES (:signal, :now, 'U0AF000001', 'claimed', '{}', :f)"), {**flags, "signal": signal})


def test_the_identities_migration_converts_data_of_the_previous_version(database_url: str) -> None:
    configure("0" * 43 + "=")
    engine = make_engine(database_url)
    _filled_by_the_previous_version(engine)
    upgrade(engine)
    with session_scope(engine) as session:
        # Every person keeps their key and has one Slack identity.
        keys = {p.id: p.user_id for p in session.exec(select(Person)).all()}
        assert sorted((i.platform, i.tenant, i.external_id, keys[i.person_id])
                      for i in session.exec(select(Identity)).all()) == [
            ("slack", "", "U0AF000001", "U0AF000001"), ("slack", "", "U0REP00001", "U0REP00001")]
        signal = session.exec(select(Signal)).one()
        assert (signal.reporter_id, signal.claimed_by) == ("U0REP00001", "U0AF000001")
        # Addresses are Slack's, with what was channel/ts now conversation/message id.
        assert sorted((m.name, m.platform, m.conversation) for m in session.exec(select(Municipality)).all()) == [
            ("Breda", "slack", "C0AFCASES1"), ("Etten-Leur", "slack", None)]
        refs = {m.kind: (m.platform, m.conversation, m.message_id, m.recipient)
                for m in session.exec(select(MessageRef)).all()}
        assert refs == {"case_card": ("slack", "C0AFCASES1", "1733300000.000100", None),
                        "receipt": ("slack", "D0REP00001", "1733300001.000200", "U0REP00001"),
                        "reminder": ("slack", None, None, "U0AF000001")}
        # A Slack user seen after the upgrade is the same person, and their team id is learnt.
        assert people.resolve(session, "slack", "T0TEAM0001", "U0AF000001") == "U0AF000001"
    with session_scope(engine) as session:
        assert [(i.tenant, i.external_id) for i in people.identities_of(session, "U0AF000001")] == [
            ("T0TEAM0001", "U0AF000001")]
        # Teams-sized ids fit where Slack ids were (VARCHAR(40) before: PostgreSQL would refuse).
        assert people.resolve(session, "teams", "tenant-1", TEAMS_KEY.removeprefix("teams:")) == TEAMS_KEY
        session.add(MessageRef(kind="case_card", template="case_card", recipient=TEAMS_KEY, platform="teams",
                               conversation=TEAMS_CONVERSATION, message_id="1:" + "y" * 120))
        session.exec(select(Signal)).one().claimed_by = TEAMS_KEY
    with session_scope(engine) as session:
        assert session.exec(select(Signal)).one().claimed_by == TEAMS_KEY
        assert session.exec(select(Person).where(Person.user_id == TEAMS_KEY)).one().id is not None
    engine.dispose()


def test_the_identities_migration_can_be_undone_while_there_are_only_slack_people(database_url: str) -> None:
    configure("0" * 43 + "=")
    engine = make_engine(database_url)
    _filled_by_the_previous_version(engine)
    upgrade(engine)
    command.downgrade(alembic_config(engine), "0001")
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT kind, channel, ts FROM messageref")).all()) == [
            ("case_card", "C0AFCASES1", "1733300000.000100"), ("receipt", "D0REP00001", "1733300001.000200"),
            ("reminder", None, None)]
        assert sorted(conn.execute(text("SELECT name, channel FROM municipality")).all()) == [
            ("Breda", "C0AFCASES1"), ("Etten-Leur", None)]
    upgrade(engine)  # and done again
    with session_scope(engine) as session:
        assert len(session.exec(select(Identity)).all()) == 2
    engine.dispose()
