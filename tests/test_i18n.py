"""Every user-facing text has a Dutch and an English translation; Dutch is the default."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, language_for, translator
from bot.i18n_extract import extract

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_message_has_a_translation(lang: str) -> None:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    def translated(string: str | tuple[str, ...] | None) -> bool:  # a plural needs every form
        return bool(string) and (not isinstance(string, tuple) or all(string))

    missing = [m.id for m in extract() if m.id and not (catalog.get(m.id) and translated(catalog.get(m.id).string))]
    assert missing == [], f"{len(missing)} message(s) without {lang} translation; run scripts/update_catalogs.py " \
                          f"and translate: {missing[:10]}"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_translations_keep_their_placeholders(lang: str) -> None:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    def forms(text: str | tuple[str, ...]) -> tuple[str, ...]:
        return text if isinstance(text, tuple) else (text,)

    wrong = [m.id for m in catalog if m.id and m.string
             and any(set(PLACEHOLDER.findall(forms(m.id)[0])) != set(PLACEHOLDER.findall(s)) for s in forms(m.string))]
    assert wrong == []


def test_counts_take_the_plural_form_of_the_language() -> None:
    nl, en = translator("nl"), translator("en")
    assert nl.ngettext("{count} signal", "{count} signals", 1) == "1 signaal"
    assert nl.ngettext("{count} signal", "{count} signals", 3) == "3 signalen"
    assert en.ngettext("{count} signal", "{count} signals", 1) == "1 signal"
    assert en.ngettext("{count} signal", "{count} signals", 0) == "0 signals"
    assert nl.ngettext("{count} signal", "{count} signals", 5, count="< 5") == "< 5 signalen"


def test_dutch_is_the_default_and_english_follows_the_slack_locale() -> None:
    assert language_for(None) == "nl"
    assert language_for("en-US") == "en"
    assert language_for("nl-NL") == "nl"
    assert language_for("de-DE") == "nl"
    assert translator("nl")("Send") == "Versturen"
    assert translator("en")("Send") == "Send"
