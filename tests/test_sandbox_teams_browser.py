"""The Teams sandbox in a real browser (headless Chromium, as tests/test_sandbox_browser.py): a report from
the reporter's 1:1 chat with the bot (Signaal melden → the questions in the dialog → Versturen → the receipt
in the chat) and the
AF's claim on the case card in Breda's channel, every click drawn by the sandbox's own Adaptive Card
renderer and sent to the bot as Teams sends it. Screenshots go to tests/artifacts/ (gitignored)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.app import AF_BREDA, REPORTER
from bot.sandbox.server import ThreadedServer
from bot.sandbox.teams_app import CHANNEL, TeamsSandbox, make_teams_web_app
from tests.test_sandbox_browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, WAIT_MS
from tests.test_sandbox_teams import renderer_known_types

DOCS_SCREENSHOT = Path(__file__).parent.parent / "docs" / "sandbox-teams.png"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} not found: .ci/run installs it (`apt-get install -y chromium`); set CHROMIUM_PATH otherwise",
)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[TeamsSandbox, str]]:
    box = TeamsSandbox(tmp_path / "sandbox", scheduler=False, outbox_poll_seconds=0.1).start()
    web = ThreadedServer(make_teams_web_app(box)).start()
    try:
        yield box, web.url
    finally:
        web.stop()
        box.stop()


@pytest.fixture
def page(sandbox: tuple[TeamsSandbox, str]):  # noqa: ANN201
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package (dev extra) is missing")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="nl-NL",
                                      timezone_id="Europe/Amsterdam")
        outside: list[str] = []
        context.route(re.compile(r"^(?!http://127\.0\.0\.1:|data:).*"),
                      lambda route: (outside.append(route.request.url), route.abort()))
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{sandbox[1]}/?as={REPORTER}")
        page.wait_for_function("document.body.dataset.me !== undefined")
        yield page
        context.close()
        browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"
        assert not outside, f"the sandbox page tried to reach the internet: {outside}"


def shot(page, name: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"teams-{name}.png"))


def be(page, user_id: str) -> None:  # noqa: ANN001
    page.select_option("#person", user_id)
    page.wait_for_function("id => document.body.dataset.me === id", arg=user_id)


def dialog(page):  # noqa: ANN201
    """The dialog (Teams' task module) the bot opened, over the chat."""
    return page.locator("#dialog")


def ask(page, text: str):  # noqa: ANN001, ANN201
    """Wait until the dialog asks `text`; the dialog."""
    box = dialog(page)
    box.get_by_text(text).first.wait_for()
    assert box.locator(".ac-unknown").count() == 0  # every part of the dialog's card is drawn
    return box


def next_step(page) -> None:  # noqa: ANN001
    """Volgende, and wait until the dialog shows another card."""
    box = dialog(page)
    before = page.evaluate("() => window.__dialogKey = document.getElementById('dialog-body').innerHTML")
    box.get_by_role("button", name="Volgende").click()
    page.wait_for_function("b => document.getElementById('dialog').hidden || "
                           "document.getElementById('dialog-body').innerHTML !== b", arg=before)


def report_through_the_ui(page) -> str:  # noqa: ANN001
    """Rita writes to the bot, clicks Signaal melden and answers every question in the dialog."""
    page.fill("#composer-input", "Hallo")
    page.press("#composer-input", "Enter")
    page.locator("#messages .act.mine").get_by_text("Hallo").wait_for()
    start = page.locator("#messages .act").filter(has=page.get_by_role("button", name="Signaal melden")).last
    start.wait_for()
    shot(page, "01-reporter-start")
    start.get_by_role("button", name="Signaal melden").click()
    dialog(page).wait_for(state="visible")
    ask(page, "Voor welke gemeente").locator("select").select_option(label="Breda")
    next_step(page)
    ask(page, "Om welke vorm").get_by_label("Arbeidsuitbuiting").check()
    next_step(page)
    box = ask(page, "Werken of wonen onder zeer slechte omstandigheden")
    box.get_by_label("Werken of wonen onder zeer slechte omstandigheden").check()
    box.get_by_label("Meervoudige afhankelijkheid").check()
    next_step(page)
    ask(page, "acuut").get_by_label("Nee").check()
    next_step(page)
    ask(page, "minderjarige").get_by_label("Nee").first.check()
    next_step(page)
    ask(page, "sector").locator("select").select_option(label="Horeca")
    next_step(page)
    ask(page, "binnen").locator("select").select_option(label="Aan de balie / RNI-loket")
    next_step(page)
    box = ask(page, "Beschrijf wat je hebt gezien")
    # An empty required field is not sent: the dialog says so, as Teams does.
    box.get_by_role("button", name="Volgende").click()
    box.locator(".ac-error").first.wait_for()
    # Too long: the bot says why on the same step, with the text kept in the field to shorten.
    box.locator("textarea").fill("x" * 3001)
    next_step(page)
    ask(page, "3001")
    assert box.locator("textarea").input_value() == "x" * 3001
    box.locator("textarea").fill("Twee mannen slapen in de keuken <b>van</b> het restaurant.")
    shot(page, "02-reporter-describes")
    next_step(page)
    box = ask(page, "Waar zag je het")
    box.get_by_role("button", name="Overslaan").click()  # sent without the field, unchecked
    ask(page, "terugkoppeling").get_by_label("Ja, graag").check()
    next_step(page)
    summary = ask(page, "Je antwoorden")
    # What Rita typed is shown as she typed it: text, never markup.
    summary.get_by_text("Twee mannen slapen in de keuken <b>van</b> het restaurant.").wait_for()
    assert summary.locator("b").count() == 0
    shot(page, "03-reporter-summary")
    summary.get_by_role("button", name="Versturen").click()
    dialog(page).wait_for(state="hidden")
    page.locator("#toast").get_by_text("is verstuurd").wait_for()  # Teams shows the dialog's closing words
    receipt = page.locator("#messages .act").filter(has_text="is verstuurd").last
    receipt.wait_for()
    shot(page, "04-reporter-receipt")
    reference = re.search(r"S-\d{4}-\d{4}", receipt.inner_text())
    assert reference
    return reference.group(0)


def card_types(card: Any) -> set[str]:
    """Every `type` in a card (elements, inlines, actions, a ShowCard's card, mentions); not Teams' own
    `msteams` part of a button's data (`{type: task/fetch}`: the button opens a dialog)."""
    if isinstance(card, dict):
        own = {card["type"]} if isinstance(card.get("type"), str) else set()
        return own.union(*(card_types(v) for k, v in card.items() if k != "msteams"))
    if isinstance(card, list):
        return set().union(*(card_types(v) for v in card))
    return set()


def test_a_report_in_teams_and_the_af_claims_it_on_the_case_card_in_the_channel(page, sandbox) -> None:
    box, _url = sandbox
    page.get_by_text("Offline sandbox — geen verbinding met Microsoft Teams of internet").wait_for()
    reference = report_through_the_ui(page)
    assert not page.locator(f"#chats [data-chat='{CHANNEL}']").count()  # Rita is not in Breda's team

    be(page, AF_BREDA)
    page.locator(f"#chats [data-chat='{CHANNEL}']").click()
    card = page.locator("#messages .act").filter(has_text=reference).first
    card.wait_for()
    assert "Twee mannen slapen" in card.inner_text()
    card.locator(".ac-mention").get_by_text("Anna Jansen").wait_for()  # the @-mention of the AF
    shot(page, "05-af-case-card")
    card.get_by_role("button", name="Oppakken").click()
    card.get_by_text("In behandeling bij Anna Jansen").first.wait_for()  # the card, updated in place
    assert card.get_by_role("button", name="Oppakken").count() == 0
    shot(page, "06-af-claimed")
    if not DOCS_SCREENSHOT.exists() or os.environ.get("UPDATE_DOCS_SCREENSHOT"):
        page.screenshot(path=str(DOCS_SCREENSHOT))  # docs/teams.md: the claimed case card in the channel

    # Every card the bot sent on the way is made of types the renderer draws (none shown as unknown).
    teams = box.teams
    assert teams is not None
    sent = [activity for conversation in list(teams.activities) for activity in teams.cards(conversation)]
    used = set().union(*(card_types(a.get("attachments")) for a in sent)) - {"message"}
    assert used <= renderer_known_types(), sorted(used - renderer_known_types())
    assert page.locator(".ac-unknown").count() == 0
    assert json.dumps(sent)  # plain data, as the connector got it
