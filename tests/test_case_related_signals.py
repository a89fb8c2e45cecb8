"""Related signals (issue 15, point 3): "zachte signalen van verschillende mensen … puzzelstukjes".
Two signals that name the same address or business are offered to the AF, who links or unlinks
them; a linked card shows the other's reference, date and state only. End to end through signed
requests against the fake Slack."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import Text, select, type_coerce
from sqlmodel import Session, col, func

from bot.core import cases as core_cases
from bot.core import related as core_related
from bot.core import retention
from bot.core.result import Error
from models import AuditEntry, CaseEvent, Signal, crypto
from models.db import session_scope
from models.related import SignalLink, SignalToken
from tests.case_helpers import (
    case_thread,
    click_case,
    modal_of,
    settle,
    signal_row,
    submit,
    text_of,
    wait_in,
)
from tests.helpers import AF, case_card, report

LUCKY = "Nagelstudio Lucky Nails, Hoofdstraat 12, 4811 AB Breda"
LUCKY_AGAIN = "boven de nagelstudio aan de hoofdstraat 12"
ELSEWHERE = "Stationsplein 1"
SECRET_B = "Een meisje van ongeveer 16 doet de nagels en slaapt achter in de zaak."


def _links(r) -> int:  # noqa: ANN001
    with Session(r.core.engine) as session:
        return int(session.exec(select(func.count()).select_from(SignalLink)).one()[0])


def _related_modal(r, reference: str) -> dict:  # noqa: ANN001
    click_case(r, AF, reference, "related")
    return modal_of(r, AF, "case_modal:related")


def _options(view: dict) -> list[dict]:
    block = next((b for b in view["blocks"] if b.get("block_id") == "links"), None)
    return block["element"]["options"] if block else []


def test_two_signals_about_the_same_place_are_offered_linked_and_unlinked(running) -> None:
    r = running
    a = report(r, answers={"location": LUCKY})
    b = report(r, answers={"location": LUCKY_AGAIN, "description": SECRET_B})
    c = report(r, answers={"location": ELSEWHERE})
    settle(r)
    a_id, b_id, c_id = (signal_row(r, ref).id for ref in (a, b, c))

    # Both cards say there is one possibly related signal (A's card was updated when B came in); C has none.
    wait_in(r, lambda: text_of(case_card(r, a)), "1 mogelijk gerelateerd signaal")
    wait_in(r, lambda: text_of(case_card(r, b)), "1 mogelijk gerelateerd signaal")
    assert "gerelateerd" not in text_of(case_card(r, c))

    view = _related_modal(r, b)
    options = _options(view)
    assert [o["value"] for o in options] == [str(a_id)]
    assert "zelfde adres" in json.dumps(options, ensure_ascii=False)
    assert c not in json.dumps(view) and str(c_id) not in [o["value"] for o in options]
    submit(r, AF, view, {"links": [str(a_id)]})
    r.fake.wait_for(lambda: _links(r) == 1)
    settle(r)

    # Each card shows the other by reference, date and state — nothing of its content.
    card_a = wait_in(r, lambda: text_of(case_card(r, a)), f"Gekoppeld aan {b}")
    card_b = wait_in(r, lambda: text_of(case_card(r, b)), f"Gekoppeld aan {a}")
    # B is being handled now (linking is handling: it claimed B); A is still new.
    assert "In behandeling" in card_a.split(f"Gekoppeld aan {b}")[1][:60]
    assert "Nieuw" in card_b.split(f"Gekoppeld aan {a}")[1][:60]
    assert SECRET_B not in card_a and LUCKY_AGAIN not in card_a
    assert "mogelijk gerelateerd" not in card_a
    wait_in(r, lambda: case_thread(r, a), f"heeft dit signaal gekoppeld aan {b}")
    wait_in(r, lambda: case_thread(r, b), f"heeft dit signaal gekoppeld aan {a}")
    assert "Lucky" not in card_b.split("Gekoppeld aan")[1][:80]
    with Session(r.core.engine) as session:
        linked = session.exec(select(AuditEntry.signal_id).where(AuditEntry.action == "case.linked")).all()
        assert sorted(row[0] for row in linked) == sorted([a_id, b_id])

    # Unlinking from the other side: the box is ticked there; untick it.
    view = _related_modal(r, a)
    element = next(b for b in view["blocks"] if b.get("block_id") == "links")["element"]
    assert [o["value"] for o in element["initial_options"]] == [str(b_id)]
    submit(r, AF, view, {"links": []})
    r.fake.wait_for(lambda: _links(r) == 0)
    wait_in(r, lambda: case_thread(r, b), f"heeft de koppeling met {a} ongedaan gemaakt")
    wait_in(r, lambda: text_of(case_card(r, b)), "1 mogelijk gerelateerd signaal")
    with Session(r.core.engine) as session:
        assert session.exec(select(func.count()).select_from(AuditEntry)
                            .where(AuditEntry.action == "case.unlinked")).one()[0] == 2


def test_the_location_is_stored_as_keyed_hashes_only(running) -> None:
    r = running
    a = report(r, answers={"location": LUCKY})
    sid = signal_row(r, a).id
    with Session(r.core.engine) as session:
        rows = session.exec(select(SignalToken).where(SignalToken.signal_id == sid)).all()
        stored = json.dumps([[t.kind, t.digest, t.key_id] for (t,) in rows]).lower()
    assert {row[0].kind for row in rows} == {"address", "postcode", "business"}
    for plain in ("hoofdstraat", "4811", "lucky", "nails"):
        assert plain not in stored
    # Not a plain hash either: without the key the digest cannot be found from a guessed address.
    assert hashlib.sha256(b"address:hoofdstraat 12").hexdigest() not in stored


def test_signals_of_another_municipality_are_never_offered_nor_linked(running) -> None:
    r = running
    a = report(r, answers={"location": LUCKY})
    other = report(r, answers={"location": LUCKY, "municipality": "Etten-Leur"})
    settle(r)
    a_row, other_row = signal_row(r, a), signal_row(r, other)
    assert "gerelateerd" not in text_of(case_card(r, a))
    with Session(r.core.engine) as session:
        assert core_related.related(session, session.get(Signal, a_row.id)) == []
    # A forged request to link them anyway: refused, audited, nothing linked.
    result = core_cases.set_links(r.core, a_row.id, AF, [other_row.id])
    assert not result.ok and result.error is Error.DENIED
    assert _links(r) == 0
    with Session(r.core.engine) as session:
        denied = session.exec(select(AuditEntry).where(AuditEntry.action == "case.denied",
                                                       AuditEntry.signal_id == a_row.id)).all()
        assert denied


def test_a_link_dies_with_the_purge_of_either_side_and_each_keeps_its_own_retention(running) -> None:
    r = running
    a = report(r, answers={"location": LUCKY})
    b = report(r, answers={"location": LUCKY_AGAIN})
    settle(r)
    a_id, b_id = signal_row(r, a).id, signal_row(r, b).id
    assert core_cases.set_links(r.core, b_id, AF, [a_id]).ok
    assert _links(r) == 1
    settle(r)
    wait_in(r, lambda: text_of(case_card(r, b)), f"Gekoppeld aan {a}")
    b_updated = signal_row(r, b).updated_at
    a_updated = signal_row(r, a).updated_at
    assert a_updated < b_updated  # linking from B is activity on B, not on A (A's retention clock stands)

    with session_scope(r.core.engine) as session:
        retention.purge_signal(session, session.get(Signal, a_id), r.core.clock.now(), actor="test", reason="test")
    assert _links(r) == 0
    with Session(r.core.engine) as session:
        assert not session.exec(select(SignalToken).where(SignalToken.signal_id == a_id)).all()
        assert session.exec(select(SignalToken).where(SignalToken.signal_id == b_id)).all()  # B keeps its own
        assert core_related.related(session, session.get(Signal, b_id)) == []
    settle(r)
    assert f"Gekoppeld aan {a}" not in text_of(case_card(r, b))  # B's card no longer names the purged signal


def test_key_rotation_recomputes_the_digests_and_never_compares_across_keys(running) -> None:
    r = running
    a = report(r, answers={"location": LUCKY})
    b = report(r, answers={"location": LUCKY_AGAIN})
    settle(r)
    b_id = signal_row(r, b).id
    old = r.core.settings.data_key
    with Session(r.core.engine) as session:
        before = {d for (d,) in session.exec(select(SignalToken.digest).where(SignalToken.signal_id == b_id)).all()}
    from cryptography.fernet import Fernet

    new = Fernet.generate_key().decode()
    try:
        crypto.configure(f"{new},{old}")
        with Session(r.core.engine) as session:
            # Until the digests are made again, the old key's rows are not compared: nothing matches.
            assert core_related.related(session, session.get(Signal, b_id)) == []
        with session_scope(r.core.engine) as session:
            assert core_related.reindex_all(session) == 2
        with Session(r.core.engine) as session:
            after = {d for (d,) in session.exec(select(SignalToken.digest).where(SignalToken.signal_id == b_id)).all()}
            assert after and not after & before
            found = core_related.related(session, session.get(Signal, b_id))
            assert [f.reference for f in found] == [a]
    finally:
        crypto.configure(old)


def test_a_changed_location_is_matched_again(running) -> None:
    r = running
    a = report(r, answers={"location": LUCKY})
    b = report(r, answers={"location": ELSEWHERE})
    settle(r)
    with session_scope(r.core.engine) as session:
        row = session.exec(select(Signal).where(Signal.reference == b)).one()[0]
        row.location = "Hoofdstraat 12"
        core_related.index_and_tell(session, row, r.core.clock.now())
    settle(r)
    wait_in(r, lambda: text_of(case_card(r, a)), "1 mogelijk gerelateerd signaal")


def test_the_case_event_of_a_link_holds_no_location(running) -> None:
    r = running
    a = report(r, answers={"location": LUCKY})
    b = report(r, answers={"location": LUCKY_AGAIN})
    settle(r)
    assert core_cases.set_links(r.core, signal_row(r, b).id, AF, [signal_row(r, a).id]).ok
    with Session(r.core.engine) as session:
        rows = session.exec(select(type_coerce(CaseEvent.data, Text)).where(
            col(CaseEvent.kind).in_(["linked", "unlinked"]))).all()
    dumped = " ".join(str(x) for x in rows).lower()
    assert "hoofdstraat" not in dumped and "lucky" not in dumped


def test_keys_rotate_remakes_the_digests_so_related_signals_still_match(running, settings, monkeypatch,
                                                                         capsys) -> None:  # noqa: ANN001
    from cryptography.fernet import Fernet

    from tests.privacy_support import run_cli

    r = running
    a = report(r, answers={"location": LUCKY})
    b = report(r, answers={"location": LUCKY_AGAIN})
    settle(r)
    r.bot.worker.stop()  # nothing reads the database while the key changes
    old, new = settings.data_key or "", Fernet.generate_key().decode()
    code, out = run_cli(monkeypatch, capsys, settings.with_(data_key=f"{new},{old}"), "keys", "rotate")
    assert code == 0, out
    crypto.configure(new)
    try:
        with Session(r.core.engine) as session:
            found = core_related.related(session, session.get(Signal, signal_row(r, b).id))
            assert [f.reference for f in found] == [a]
            keys = {k for (k,) in session.exec(select(SignalToken.key_id)).all()}
            assert len(keys) == 1
    finally:
        crypto.configure(old)


def test_related_reindex_gives_signals_sent_before_the_upgrade_their_digests(running, settings, monkeypatch,
                                                                               capsys) -> None:  # noqa: ANN001
    from tests.privacy_support import run_cli

    r = running
    a = report(r, answers={"location": LUCKY})
    b = report(r, answers={"location": LUCKY_AGAIN})
    settle(r)
    with session_scope(r.core.engine) as session:
        session.execute(SignalToken.__table__.delete())  # as before migration 0003
    with Session(r.core.engine) as session:
        assert core_related.related(session, session.get(Signal, signal_row(r, b).id)) == []
    code, out = run_cli(monkeypatch, capsys, settings, "related", "reindex")
    assert code == 0, out
    assert "2 signal(s)" in out
    with Session(r.core.engine) as session:
        assert [f.reference for f in core_related.related(session, session.get(Signal, signal_row(r, b).id))] == [a]


def test_saving_the_form_changes_only_the_links_it_showed(running) -> None:
    r = running
    a = report(r, answers={"location": LUCKY})
    b = report(r, answers={"location": LUCKY_AGAIN})
    c = report(r, answers={"location": ELSEWHERE})
    settle(r)
    a_id, b_id, c_id = (signal_row(r, ref).id for ref in (a, b, c))
    assert core_cases.set_links(r.core, a_id, AF, [b_id, c_id]).ok  # C by hand: no shared place needed
    assert _links(r) == 2
    # A form that showed only B, with B unticked: B's link goes, C's (not shown) stays.
    assert core_cases.set_links(r.core, a_id, AF, [], among=[b_id]).ok
    with Session(r.core.engine) as session:
        assert core_related.linked_ids(session, a_id) == {c_id}


def test_a_full_card_drops_no_action_a_second_menu_holds_the_rest(running) -> None:
    from tests.case_helpers import act, card_actions
    from tests.helpers import find_block

    r = running
    report(r, answers={"location": LUCKY})
    b = report(r, answers={"location": LUCKY_AGAIN})
    act(r, AF, b, "consult", {"partners": ["zoco"], "text": "Ken je deze zaak?"})
    act(r, AF, b, "route", {"text": "Graag onderzoek."})
    settle(r)
    offered = card_actions(r, b)
    for action in ("record_advice", "record_outcome", "case_meeting", "message_reporter", "note", "related",
                   "timeline"):
        assert action in offered, action
    block = find_block(case_card(r, b), "case:")
    menus = [e for e in block["elements"] if e["type"] == "overflow"]
    assert len(menus) == 2 and all(2 <= len(e["options"]) <= 5 for e in menus)
    assert len({e["action_id"] for e in menus}) == 2
    click_case(r, AF, b, "timeline")  # from the second menu
    wait_in(r, lambda: case_thread(r, b), "Tijdlijn van signaal")


def test_opening_the_form_is_a_read_of_the_case_and_audited(running) -> None:
    r = running
    a = report(r, answers={"location": LUCKY})
    b = report(r, answers={"location": LUCKY_AGAIN})
    settle(r)
    view = _related_modal(r, b)
    assert "private_metadata" in view and '"u"' not in view["private_metadata"]
    with Session(r.core.engine) as session:
        seen = session.exec(select(AuditEntry).where(AuditEntry.action == "case.related_viewed")).one()[0]
    assert seen.actor_id == AF and seen.signal_id == signal_row(r, b).id
    assert a in json.dumps(seen.data)


def test_a_business_named_in_the_description_counts_too(running) -> None:
    r = running
    a = report(r, answers={"location": ELSEWHERE, "description": "Ze werkt elke dag bij nagelstudio Lucky Nails."})
    report(r, answers={"location": LUCKY})
    settle(r)
    wait_in(r, lambda: text_of(case_card(r, a)), "1 mogelijk gerelateerd signaal")


def test_a_closed_case_keeps_showing_its_links(running) -> None:
    r = running
    a = report(r, answers={"location": LUCKY})
    b = report(r, answers={"location": LUCKY_AGAIN})
    settle(r)
    a_id, b_id = signal_row(r, a).id, signal_row(r, b).id
    assert core_cases.set_links(r.core, a_id, AF, [b_id]).ok
    assert core_cases.conclude(r.core, a_id, AF, "geen", "Geen aanwijzingen.").ok
    assert core_cases.feedback(r.core, a_id, AF, "Dank je wel voor je signaal.").ok
    assert core_cases.close(r.core, a_id, AF).ok
    settle(r)
    closed = wait_in(r, lambda: text_of(case_card(r, a)), "Afgesloten")
    assert f"Gekoppeld aan {b}" in closed
    wait_in(r, lambda: text_of(case_card(r, b)), f"Gekoppeld aan {a} · ")
    assert "Afgesloten" in text_of(case_card(r, b)).split(f"Gekoppeld aan {a}")[1][:60]
