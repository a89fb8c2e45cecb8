"""The sandbox in a real browser: headless Chromium (Debian's package, launched by path) clicks
through the web UI like a person, and every click reaches the bot as Slack would send it.

Screenshots go to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox.app import AF_BREDA, CASES_CHANNEL, GENERAL_CHANNEL, REPORTER, Sandbox, make_web_app
from bot.sandbox.server import ThreadedServer

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Flags for this machine's closed network (see the machine notes): no background connections at all.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parent / "artifacts"
DOCS_SCREENSHOT = Path(__file__).parent.parent / "docs" / "sandbox.png"
WAIT_MS = 10_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} not found: .ci/run installs it (`apt-get install -y chromium`); set CHROMIUM_PATH otherwise",
)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Sandbox, str]]:
    box = Sandbox(tmp_path / "sandbox", scheduler=False, outbox_poll_seconds=0.1).start()
    web = ThreadedServer(make_web_app(box)).start()
    try:
        yield box, web.url
    finally:
        web.stop()
        box.stop()


@pytest.fixture
def page(sandbox: tuple[Sandbox, str]):  # noqa: ANN201
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package (dev extra) is missing")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="nl-NL",
                                      timezone_id="Europe/Amsterdam")
        # The sandbox never talks to the internet: fail on any request that is not to the sandbox.
        outside: list[str] = []
        context.route(re.compile(r"^(?!http://127\.0\.0\.1:|data:).*"),
                      lambda route: (outside.append(route.request.url), route.abort()))
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(sandbox[1])
        # Ready when the first state has arrived and the workspace is drawn (the composer works then).
        page.wait_for_function("document.body.dataset.me !== undefined")
        yield page
        context.close()
        browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"
        assert not outside, f"the sandbox page tried to reach the internet: {outside}"


def shot(page, name: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


# --------------------------------------------------------------------------- a person in the UI


def be(page, user_id: str) -> None:  # noqa: ANN001
    page.select_option("#person", user_id)
    page.wait_for_function("id => document.body.dataset.me === id", arg=user_id)  # drawn as them


def last_question(page):  # noqa: ANN001, ANN201
    """The newest message in the open thread (where the bot asks its next question)."""
    return page.locator("#thread-messages .msg").last


def answer_button(page, label: str) -> None:  # noqa: ANN001
    last_question(page).get_by_role("button", name=label, exact=True).click()


def answer_select(page, label: str) -> None:  # noqa: ANN001
    last_question(page).locator("select").select_option(label=label)


def wait_question(page, text: str) -> None:  # noqa: ANN001
    last_question(page).get_by_text(text).wait_for()


def report_through_the_ui(page) -> str:  # noqa: ANN001
    """Rita reports a labour exploitation signal, answering the triage in her DM thread."""
    page.fill("#composer-input", "/signaal")
    page.press("#composer-input", "Enter")
    page.get_by_text("Ik heb je een privébericht gestuurd").wait_for()
    page.locator("#messages .thread-link").last.click()
    wait_question(page, "Voor welke gemeente")
    answer_select(page, "Breda")
    wait_question(page, "Om welke vorm")
    answer_button(page, "Arbeidsuitbuiting")
    last_question(page).get_by_label("Werken of wonen onder zeer slechte omstandigheden").check()
    last_question(page).get_by_label("Meervoudige afhankelijkheid").check()
    page.wait_for_timeout(300)
    answer_button(page, "Volgende")
    wait_question(page, "acuut")
    answer_button(page, "Nee")
    wait_question(page, "minderjarige")
    answer_button(page, "Nee")
    wait_question(page, "sector")
    answer_select(page, "Horeca")
    wait_question(page, "binnen")
    answer_select(page, "Aan de balie / RNI-loket")
    # Free text goes through a modal, so it does not stay behind in Slack as a message. (Waited for by
    # name: every question also has Annuleren, so "the first button" could be the previous question's.)
    wait_question(page, "Beschrijf wat je hebt gezien")
    answer_button(page, "Beschrijving schrijven")
    modal = page.get_by_role("dialog")
    modal.locator("textarea, input").first.fill(
        "Twee mannen slapen in de keuken van het restaurant en werken 7 dagen per week.")
    shot(page, "02-reporter-describes")
    modal.locator("button.submit").click()
    modal.wait_for(state="detached")
    answer_button(page, "Overslaan")
    answer_button(page, "Ja, graag")
    summary = page.locator("#thread-messages .msg").filter(has=page.get_by_role("button", name="Versturen"))
    summary.wait_for()
    shot(page, "03-reporter-summary")
    summary.get_by_role("button", name="Versturen").click()
    root = page.locator("#thread-messages .msg").first
    root.get_by_text("Verstuurd naar de aandachtsfunctionaris").wait_for()
    reference = re.search(r"S-\d{4}-\d{4}", root.inner_text())
    assert reference
    return reference.group(0)


# --------------------------------------------------------------------------- the scenario


def test_a_reporter_reports_through_the_ui_and_the_af_sees_the_case_card(page, sandbox) -> None:
    box, _url = sandbox
    page.get_by_text("Offline sandbox — geen verbinding met Slack of internet").wait_for()
    shot(page, "01-reporter-start")
    reference = report_through_the_ui(page)
    shot(page, "04-reporter-sent")

    # Nobody else sees Rita's DM; the AF of Breda gets the card in the private case channel.
    be(page, AF_BREDA)
    channel = page.locator(f"#channels [data-channel='{CASES_CHANNEL}']")
    channel.click()
    card = page.locator("#messages .msg").filter(has_text=f"Signaal {reference}")
    card.wait_for()
    assert "Twee mannen slapen" in card.inner_text()  # the AF sees the content, in the private channel
    card.get_by_role("button", name="Oppakken").wait_for()
    shot(page, "05-af-case-card")

    # The reporter's DM is not in the AF's sidebar, and the card's push text holds no content.
    stored = [m for m in box.fake.messages_in(CASES_CHANNEL) if reference in str(m.get("blocks"))]
    assert stored and "Twee mannen" not in stored[0]["text"]
    assert REPORTER not in [c["id"] for c in box.state(AF_BREDA)["channels"] if c["kind"] == "dm"]


def test_the_af_claims_gives_feedback_and_the_reporter_sees_it(page, sandbox) -> None:
    """The issue's whole scenario: report, switch to the AF, claim, give feedback, switch back."""
    reference = report_through_the_ui(page)
    be(page, AF_BREDA)
    page.locator(f"#channels [data-channel='{CASES_CHANNEL}']").click()
    card = page.locator("#messages .msg").filter(has_text=f"Signaal {reference}")
    card.get_by_role("button", name="Oppakken").click()
    card.get_by_role("button", name="Terugkoppelen aan melder").click()
    modal = page.get_by_role("dialog")
    modal.locator("textarea, input").first.fill("We hebben je signaal opgepakt en besproken met de partners.")
    shot(page, "06-af-feedback")
    modal.locator("button.submit").click()
    modal.wait_for(state="detached")

    be(page, REPORTER)
    page.locator("#apps button").first.click()
    page.locator("#messages .msg").filter(has_text=f"Signaal {reference}").locator(".thread-link").click()
    page.locator("#thread-messages").get_by_text("besproken met de partners").wait_for()
    shot(page, "07-reporter-sees-feedback")


# --------------------------------------------------------------------------- the clock: a reminder


def clock_click(page, label: str) -> None:  # noqa: ANN001
    """Click a clock control; the report of the jobs it ran appears when the move is done (a click
    folds an earlier report away first)."""
    jobs = page.locator("#jobs")
    if jobs.is_visible():
        jobs.click()
        jobs.wait_for(state="hidden")
    page.locator(".topbar").get_by_role("button", name=label, exact=True).click()
    jobs.wait_for()


def test_an_unclaimed_signal_gets_a_reminder_after_a_working_day_and_claiming_stops_them(page, sandbox) -> None:
    """Nobody claims; the clock moves on to the next working days (the sandbox clock starts at the real
    now: two "next working day" clicks always pass one whole working day, whatever the hour or the
    weekday) → the AF sees the reminder with a mention in the case card's thread; claiming settles it."""
    reference = report_through_the_ui(page)
    jobs = page.locator("#jobs")
    reports = []
    for _ in range(2):
        clock_click(page, "Volgende werkdag")
        reports.append(jobs.inner_text())
    # The job report reads in the UI's language (the reminder went out on the first or the second
    # move, depending on the hour of the report), never covers the composer, and closes with its ✕.
    assert any(f"Herinneringen: unclaimed_af voor {reference} verstuurd" in text for text in reports), reports
    assert "Geplande taken na de klokwijziging" in jobs.inner_text()
    report, composer = jobs.bounding_box(), page.locator("#composer").bounding_box()
    assert report and composer and report["y"] + report["height"] <= composer["y"]
    page.locator("#composer-input").click()  # reachable: nothing lies over it
    jobs.get_by_role("button", name="Sluiten").click()
    jobs.wait_for(state="hidden")

    be(page, AF_BREDA)
    page.locator(f"#channels [data-channel='{CASES_CHANNEL}']").click()
    card = page.locator("#messages .msg").filter(has_text=f"Signaal {reference}")
    card.locator(".thread-link").click()
    thread = page.locator("#thread-messages")
    reminder = thread.locator(".msg").filter(has_text=f"Signaal {reference} is").filter(
        has_text="nog niemand heeft het opgepakt")
    reminder.wait_for()
    assert reminder.locator(".bk-mention").filter(has_text="@Anna Jansen").count() == 1
    reminder.get_by_role("button", name="Morgen").wait_for()  # the snooze buttons
    shot(page, "08-af-reminder-in-thread")
    if not DOCS_SCREENSHOT.exists() or os.environ.get("UPDATE_DOCS_SCREENSHOT"):
        if jobs.is_visible():
            jobs.click()  # the job report folds away when clicked
            jobs.wait_for(state="hidden")
        page.screenshot(path=str(DOCS_SCREENSHOT))  # README: the case card with a reminder in its thread

    card.get_by_role("button", name="Oppakken").click()
    reminder.get_by_text("Afgehandeld: het signaal is opgepakt.").wait_for()
    assert reminder.get_by_role("button").count() == 0

    # Three more working days: past the backup's and the ketenregisseur's rungs; nothing is sent.
    for _ in range(3):
        clock_click(page, "Volgende werkdag")
        assert "Herinneringen: unclaimed" not in jobs.inner_text()
    assert thread.locator(".msg").filter(has_text="nog niemand heeft het opgepakt").count() == 1
    shot(page, "09-af-reminder-settled")


# --------------------------------------------------------------------------- a training RSVP


NETWORK_MEMBER = "U0DEMONET1"


def test_a_network_member_answers_the_seeded_training_invitation_by_clicking(page, sandbox) -> None:
    box, _url = sandbox
    be(page, NETWORK_MEMBER)
    invitation = page.locator("#messages .msg").filter(has_text="Signalen herkennen: mensenhandel in de praktijk")
    invitation.get_by_text("Nieuwe training voor het netwerk").wait_for()
    invitation.get_by_text("0 van 20 plekken bezet").wait_for()
    shot(page, "10-network-invitation")

    invitation.get_by_role("button", name="Ik kom", exact=True).click()
    page.locator("#messages .msg.ephemeral").get_by_text("Dank je! Je staat op de lijst.").wait_for()
    invitation.get_by_text("Je komt.").wait_for()
    invitation.get_by_text("1 van 20 plekken bezet").wait_for()
    shot(page, "11-network-rsvp")
    assert not box.notices  # the demo training was planned


def test_the_ketenregisseur_plans_a_training_in_the_form_and_the_network_member_is_invited(page, sandbox) -> None:
    """The form's start and end are Slack date-time pickers: they must be usable in the sandbox."""
    box, _url = sandbox
    day = (box.bot.core.clock.now() + timedelta(days=21)).astimezone(ZoneInfo("Europe/Amsterdam")).date()
    be(page, "U0DEMOKR01")
    page.fill("#composer-input", "/signaal training")
    page.press("#composer-input", "Enter")
    modal = page.get_by_role("dialog")
    modal.get_by_label("Titel").fill("Netwerkbijeenkomst arbeidsuitbuiting")
    modal.get_by_label("Begint").fill(f"{day.isoformat()}T10:00")
    modal.get_by_label("Eindigt").fill(f"{day.isoformat()}T12:00")
    modal.get_by_label("Locatie").fill("Online")
    shot(page, "12-ketenregisseur-plans-training")
    modal.locator("button.submit").click()
    modal.wait_for(state="detached")
    page.locator("#messages .msg.ephemeral").get_by_text("De training is gepland.").wait_for()

    be(page, NETWORK_MEMBER)
    invitation = page.locator("#messages .msg").filter(has_text="Netwerkbijeenkomst arbeidsuitbuiting")
    invitation.get_by_text("10:00 – 12:00").wait_for()
    invitation.get_by_role("button", name="Ik kom", exact=True).wait_for()


# --------------------------------------------------------------------------- acute: Nu versturen


def test_acute_yes_then_send_now_puts_the_acute_card_in_the_af_channel_within_a_second(page, sandbox) -> None:
    """Issue 14: "Ja" to acute danger → 112, the police number and Nu versturen → the AF's channel shows
    the acute card within a second; the reporter can still answer the rest in the same thread."""
    box, _url = sandbox
    page.fill("#composer-input", "/signaal")
    page.press("#composer-input", "Enter")
    page.get_by_text("Ik heb je een privébericht gestuurd").wait_for()
    page.locator("#messages .thread-link").last.click()
    wait_question(page, "Voor welke gemeente")
    answer_select(page, "Breda")
    wait_question(page, "Om welke vorm")
    answer_button(page, "Seksuele uitbuiting")
    wait_question(page, "Welke van deze signalen")
    answer_button(page, "Volgende")
    wait_question(page, "acuut")
    answer_button(page, "Ja")
    thread = page.locator("#thread-messages")
    notice = thread.locator(".msg").filter(has=page.get_by_role("button", name="Nu versturen"))
    notice.get_by_text("Bel de politie: 0900-8844").wait_for()
    assert "112" in notice.inner_text()
    assert "meteen bericht" not in thread.inner_text()
    shot(page, "13-reporter-acute-send-now")
    reference = re.search(r"S-\d{4}-\d{4}", thread.locator(".msg").first.inner_text())
    assert reference
    reference = reference.group(0)

    clicked_at = time.time()
    notice.get_by_role("button", name="Nu versturen").click()

    # The reporter's thread says it was sent and asks the next question again below.
    thread.get_by_text("is verstuurd met je antwoorden tot nu toe").wait_for()
    wait_question(page, "minderjarige")

    be(page, AF_BREDA)
    page.locator(f"#channels [data-channel='{CASES_CHANNEL}']").click()
    card = page.locator("#messages .msg").filter(has_text=f"ACUUT — Signaal {reference}")
    card.wait_for()
    card.get_by_text("de melder vult de overige vragen nog in").wait_for()
    card.get_by_role("button", name="Oppakken").wait_for()
    shot(page, "14-af-acute-card")
    # Posted in the channel within a second of the click: a message's ts is when Slack stored it.
    [posted] = [m for m in box.fake.messages_in(CASES_CHANNEL) if reference in str(m.get("blocks"))]
    assert float(posted["ts"]) - clicked_at < 1.0, float(posted["ts"]) - clicked_at


# --------------------------------------------------------------------------- Meld als signaal


def test_a_message_in_a_channel_is_reported_with_the_message_shortcut(page, sandbox) -> None:
    """Issue 14: "⋯ → Meld als signaal" on a colleague's message starts a signal with its text as the
    description; the message stays in the channel and the reporter is reminded of that."""
    box, _url = sandbox
    be(page, NETWORK_MEMBER)
    page.locator(f"#channels [data-channel='{GENERAL_CHANNEL}']").click()
    page.fill("#composer-input", "Bij de wasstraat slapen drie jongens in de bus van de baas.")
    page.press("#composer-input", "Enter")
    posted = page.locator("#messages .msg").filter(has_text="slapen drie jongens")
    posted.wait_for()

    be(page, REPORTER)
    page.locator(f"#channels [data-channel='{GENERAL_CHANNEL}']").click()
    posted.get_by_role("button", name="⋯ Meld als signaal").click()
    page.locator("#messages .msg.ephemeral").get_by_text("Ik heb je een privébericht gestuurd").wait_for()
    page.locator("#apps button").first.click()
    page.locator("#messages .thread-link").last.click()
    thread = page.locator("#thread-messages")
    thread.get_by_text("uit het kanaal halen").wait_for()
    wait_question(page, "Voor welke gemeente")
    shot(page, "15-reporter-from-message")
    general = [m["text"] for m in box.fake.messages_in(GENERAL_CHANNEL)]
    assert general == ["Bij de wasstraat slapen drie jongens in de bus van de baas."]  # the original stays


def test_the_ketenregisseur_sees_the_digests_charts_as_images_in_the_dm(page, sandbox) -> None:
    """The monthly digest's charts are uploaded with files_upload_v2; the sandbox draws them."""
    from datetime import time

    from flows.calendar import WorkingCalendar

    box, _url = sandbox
    calendar = WorkingCalendar()
    today = calendar.local(box.bot.core.clock.now()).date()
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)  # the 1st of next month
    day = first if calendar.is_working_day(first) else calendar.next_working_day(first)
    moved = box.move_clock("at", calendar.at_local(day, time(9, 30)).isoformat())
    assert any(line.startswith("digest:") for line in moved["jobs"]), moved["jobs"]
    be(page, "U0DEMOKR01")
    charts = page.locator("#messages img.msg-file")
    charts.first.wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('#messages img.msg-file')].length === 3 && "
                           "[...document.querySelectorAll('#messages img.msg-file')].every(i => i.naturalWidth > 0)")
    assert charts.first.get_attribute("alt").startswith("Signalen per maand")
    shot(page, "20-ketenregisseur-digest-charts")
