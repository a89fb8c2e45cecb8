"""App Home: the AF sees their municipality's open cases, a reporter their own signals, the
ketenregisseur this month's figures and no case content; every feature adds its own section."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from bot.slack import mrkdwn
from models import AuditEntry
from tests.helpers import AF, AF_OTHER, COLLEAGUE, KETENREGISSEUR, REPORTER, case_card, report
from tests.privacy_support import FREE_TEXT_BITS


def open_home(r, user: str) -> str:  # noqa: ANN001
    """Open the Home tab and return everything it shows."""
    def published() -> int:
        return len([c for c in r.fake.calls_to("views.publish") if c.args.get("user_id") == user])

    before = published()
    r.driver.app_home_opened(user)
    r.fake.wait_for(lambda: published() > before)
    view = r.fake.home_view(user)
    assert view is not None and len(view["blocks"]) <= 100
    return str(view["blocks"])


def home_audits(r, user: str) -> list[AuditEntry]:  # noqa: ANN001
    with Session(r.core.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == "home.viewed",
                                                          AuditEntry.actor_id == user)).all())


def test_the_af_sees_the_open_cases_of_their_municipality_with_a_link(running) -> None:
    r = running
    reference = report(r)
    card = case_card(r, reference)
    home = open_home(r, AF)
    assert "Openstaande casussen — Breda" in home
    assert reference in home and "Nieuw — nog door niemand opgepakt" in home
    assert f"archives/C0AFCASES1/p{card['ts'].replace('.', '')}" in home  # link to the case card
    assert "volgende termijn" in home and "*te laat*" not in home
    assert not any(bit in home for bit in FREE_TEXT_BITS)
    assert [e.data["references"] for e in home_audits(r, AF)] == [[reference]]

    r.core.clock.set(r.core.clock.now() + timedelta(days=7))  # nobody claimed it
    home = open_home(r, AF)
    assert "⚠️" in home and "*te laat*" in home

    other = open_home(r, AF_OTHER)  # the AF of Etten-Leur
    assert "Openstaande casussen — Etten-Leur" in other and reference not in other
    assert home_audits(r, AF_OTHER) == []


def test_a_reporter_sees_their_own_signals(running) -> None:
    r = running
    reference = report(r)
    case_card(r, reference)
    home = open_home(r, REPORTER)
    assert "Je signalen" in home and reference in home
    assert "Openstaande casussen" not in home and "Cijfers van deze maand" not in home
    assert not any(bit in home for bit in FREE_TEXT_BITS)
    assert [e.data["references"] for e in home_audits(r, REPORTER)] == [[reference]]
    colleague = open_home(r, COLLEAGUE)
    assert reference not in colleague and "/signaal" in colleague


def test_the_ketenregisseur_sees_this_months_figures_and_no_case_content(running) -> None:
    r = running
    reference = report(r)
    case_card(r, reference)
    home = open_home(r, KETENREGISSEUR)
    assert "Cijfers van deze maand" in home
    assert "< 5" in home  # one signal this month
    assert reference not in home and not any(bit in home for bit in FREE_TEXT_BITS)
    assert "Openstaande casussen" not in home
    assert home_audits(r, KETENREGISSEUR) == []  # no case references were shown


def test_features_add_their_own_sections(running, monkeypatch) -> None:
    r = running
    seen: list[Any] = []

    def trainings(ctx: Any, user_id: str, actor: Any) -> list[dict[str, Any]]:
        seen.append((user_id, actor.user_id))
        return [mrkdwn.section("*Trainingen*: 12 mei, Breda")]

    def broken(ctx: Any, user_id: str, actor: Any) -> list[dict[str, Any]]:
        raise RuntimeError("boom")

    monkeypatch.setattr(r.bot.slack.registry, "home_sections", [broken, trainings])
    home = open_home(r, "U0NET00001")
    assert "Trainingen*: 12 mei" in home
    assert seen == [("U0NET00001", "U0NET00001")]
