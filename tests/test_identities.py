"""People and places are platform-neutral: a person is known by a key and has identities per platform;
the network file names people and places in each platform's syntax (or by e-mail address); a case
place the platform cannot reach falls back to the AFs, whatever the platform calls that error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from bot.core import jobs, network, people, platforms, reach
from models import Identity, Municipality, Person
from models.db import session_scope, upgrade
from models.jobs import JobRun
from tests.helpers import AF, CASES_CHANNEL, case_card, report

GUID = "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"
TEAMS_AF = "teams:" + GUID.lower()
TEAMS_USER = "29:1AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789-abcdefghijklmnopqrstuvwxyz"
TEAMS_CHANNEL = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
MIXED = f"""
municipalities:
  - name: Breda
    aandachtsfunctionarissen: [{AF}, "teams:{GUID}"]
    backup: ["teams:{TEAMS_USER}", anna@breda.example]
    channel: "teams:{TEAMS_CHANNEL}"
  - name: Zundert
    aandachtsfunctionarissen: [U0AF000003]
    channel: C0ZUNDERT1
network: [{AF}]
"""


def lookup(email: str) -> str | None:
    return {"anna@breda.example": "U0ANNA0001"}.get(email)


def test_the_network_file_takes_slack_ids_teams_ids_and_e_mail_addresses() -> None:
    cfg = network.parse(MIXED, lookup)
    breda, zundert = cfg.municipalities
    # A Teams person's key carries the platform, so it cannot collide with a Slack id; a GUID is one
    # person however it is capitalised.
    assert breda["afs"] == [AF, TEAMS_AF]
    assert breda["backups"] == ["teams:" + TEAMS_USER, "U0ANNA0001"]
    assert breda["place"] == ("teams", TEAMS_CHANNEL)
    assert zundert["place"] == ("slack", "C0ZUNDERT1")
    assert cfg.emails == {"U0ANNA0001": "anna@breda.example"}


@pytest.mark.parametrize(("entry", "problem"), [
    ("teams:not-a-guid", "'teams:not-a-guid' is neither a user id"),
    ("U0AF000001@", "'U0AF000001@' is neither a user id"),
    ("C0AFCASES1", "'C0AFCASES1' is neither a user id"),  # a channel is no person
    ("nobody@breda.example", "no Slack user found with e-mail address nobody@breda.example"),
])
def test_a_person_in_no_platform_s_syntax_is_refused(entry: str, problem: str) -> None:
    with pytest.raises(network.NetworkError) as caught:
        network.parse(f"municipalities:\n  - name: Breda\n    aandachtsfunctionarissen: ['{entry}']\n", lookup)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("channel", ["'#casussen'", "U0AF000001", "'teams:29:abcdefghijklmnop'", "'teams:'"])
def test_a_case_place_in_no_platform_s_syntax_is_refused(channel: str) -> None:
    with pytest.raises(network.NetworkError) as caught:
        network.parse(f"municipalities:\n  - name: Breda\n    aandachtsfunctionarissen: [U0AF000001]\n"
                      f"    channel: {channel}\n")
    assert "must be a channel id such as C0123ABCD or teams:19:" in str(caught.value)


def test_importing_the_network_gives_everyone_an_identity_and_places_a_platform(engine_for) -> None:  # noqa: ANN001
    upgrade(engine_for)
    with session_scope(engine_for) as session:
        network.apply(session, network.parse(MIXED, lookup), None)
    with Session(engine_for) as session:
        places = {m.name: (m.platform, m.conversation) for m in session.exec(select(Municipality)).all()}
        assert places == {"Breda": ("teams", TEAMS_CHANNEL), "Zundert": ("slack", "C0ZUNDERT1")}
        assert [(i.platform, i.tenant, i.external_id) for i in people.identities_of(session, TEAMS_AF)] == [
            ("teams", "", GUID.lower())]
        assert [(i.platform, i.external_id) for i in people.identities_of(session, AF)] == [("slack", AF)]
        anna = session.exec(select(Person).where(Person.user_id == "U0ANNA0001")).one()
        assert anna.email == "anna@breda.example"  # the address she was named by
        assert "channel teams:" + TEAMS_CHANNEL in "\n".join(network.describe(session))


def test_an_edge_resolves_a_platform_identity_to_one_person_key(engine_for) -> None:  # noqa: ANN001
    upgrade(engine_for)
    with session_scope(engine_for) as session:
        network.apply(session, network.parse(MIXED, lookup), None)
    with session_scope(engine_for) as session:
        # Known from the file (tenant not yet known): the same person, and now with their tenant.
        assert people.resolve(session, "teams", "tenant-a", GUID.lower()) == TEAMS_AF
        # A Slack user keeps their user id as key.
        assert people.resolve(session, "slack", "T0TEAM0001", AF) == AF
        # Someone new on Teams gets a key of their own.
        assert people.resolve(session, "teams", "tenant-a", "29:1newcomer0000000") == "teams:29:1newcomer0000000"
    with session_scope(engine_for) as session:
        # Seen again, with or without the tenant: the same key, no second identity.
        assert people.resolve(session, "teams", "tenant-a", GUID.lower()) == TEAMS_AF
        assert people.resolve(session, "slack", "", AF) == AF
        assert [(i.platform, i.tenant, i.external_id) for i in people.identities_of(session, TEAMS_AF)] == [
            ("teams", "tenant-a", GUID.lower())]
        assert [(i.tenant, i.external_id) for i in people.identities_of(session, AF)] == [("T0TEAM0001", AF)]
        assert [(i.tenant, i.external_id) for i in people.identities_of(session, "teams:29:1newcomer0000000")] == [
            ("tenant-a", "29:1newcomer0000000")]
        # A platform's ids are unique across its tenants (a Slack grid's user ids, Entra object ids): the
        # same id in a second tenant is the same person, with an identity per tenant.
        assert people.resolve(session, "teams", "tenant-b", "29:1newcomer0000000") == "teams:29:1newcomer0000000"
        assert [i.tenant for i in people.identities_of(session, "teams:29:1newcomer0000000")] == [
            "tenant-a", "tenant-b"]


def test_forgetting_a_person_forgets_their_identities(engine_for) -> None:  # noqa: ANN001
    upgrade(engine_for)
    with session_scope(engine_for) as session:
        people.resolve(session, "teams", "tenant-a", "29:1reporter000000")
    with session_scope(engine_for) as session:
        assert people.forget_people(session, ["teams:29:1reporter000000"]) == 1
    with Session(engine_for) as session:
        assert session.exec(select(Identity)).all() == []


def test_forgetting_a_person_forgets_that_they_were_reported_unreachable(engine_for) -> None:  # noqa: ANN001
    upgrade(engine_for)
    now = datetime.now(UTC)
    with session_scope(engine_for) as session:
        for user in ("teams:29:1gone00000000", "teams:29:1kept00000000"):
            key = people.resolve(session, "teams", "tenant-a", user.removeprefix("teams:"))
            reach.mark_unreachable(session, key, "teams", now)
            assert jobs.claim(session, reach.REPORT_JOB, f"teams:{key}", now)
    with session_scope(engine_for) as session:
        assert people.forget_people(session, ["teams:29:1gone00000000"]) == 1
    with Session(engine_for) as session:
        assert session.exec(select(JobRun.period)).all() == ["teams:teams:29:1kept00000000"]


def test_a_case_place_the_platform_cannot_reach_sends_the_card_to_the_afs(running) -> None:  # noqa: ANN001
    """The edge says the channel is gone in its own words (Slack: channel_not_found); the core hears
    'place unreachable' and gives the AFs the card by DM."""
    with session_scope(running.core.engine) as session:
        breda = session.exec(select(Municipality).where(Municipality.name == "Breda")).one()
        assert (breda.platform, breda.conversation) == (platforms.SLACK, CASES_CHANNEL)
        breda.conversation = "C0GONE0001"
        session.add(breda)
    reference = report(running)
    card = case_card(running, reference, channel=running.fake.dm_channel_for(AF))
    assert reference in card["blocks"][0]["text"]["text"]


def test_a_persons_export_shows_how_each_platform_knows_them(engine_for) -> None:  # noqa: ANN001
    from datetime import UTC, datetime

    from bot.commands.privacy import export_person

    upgrade(engine_for)
    with session_scope(engine_for) as session:
        people.resolve(session, "slack", "T0TEAM0001", AF)
    with session_scope(engine_for) as session:
        data = export_person(session, AF, datetime(2027, 1, 4, tzinfo=UTC))
    assert [(i["platform"], i["tenant"], i["external_id"]) for i in data["tables"]["identity"]] == [
        ("slack", "T0TEAM0001", AF)]


def test_a_purged_signal_s_audit_entries_pseudonymise_people_of_every_platform(engine_for) -> None:  # noqa: ANN001
    from bot.core import audit
    from models import AuditEntry

    upgrade(engine_for)
    with session_scope(engine_for) as session:
        audit.record(session, "cli", "case.routed", signal_id=7, subject="S-2027-0001",
                     to=[TEAMS_AF, AF], zone="UTC", partner="avim")
    with session_scope(engine_for) as session:
        assert audit.pseudonymise_signal(session, 7) == {TEAMS_AF, AF}
    with Session(engine_for) as session:
        data = session.exec(select(AuditEntry)).one().data
    assert [v.startswith("anon-") for v in data["to"]] == [True, True]
    assert (data["zone"], data["partner"]) == ("UTC", "avim")
