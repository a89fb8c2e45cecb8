"""Dutch that reads well (docs/woordenlijst.md): a count takes the plural form of the language ("1 werkdag",
"3 werkdagen"), both forms are translated, and one word is used per thing."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.core.presenters import waited as duration
from bot.i18n import LOCALE_DIR, translator
from bot.i18n_extract import extract

PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Placeholders that hold a number of things: a text that shows one must choose the plural form for it
# (`_.ngettext`), so "1 dagen" or "3 signal" cannot happen. Not here: a text's length and the limits on
# it in characters ({length}, {limit}, {shown}: a text only gets there when it is over a limit of
# hundreds), ranks ("plek {rank}") and numbered steps ("stap {step}").
COUNTS = frozenset({"count", "n", "number", "days", "hours", "minutes", "weeks", "months", "told", "people",
                    "trained", "attended", "yes", "waiting", "capacity", "total"})


def _catalog(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _where(message) -> str:  # noqa: ANN001
    return ", ".join(f"{path}:{line}" for path, line in message.locations)


def counts_without_plural(catalog: Catalog) -> list[str]:
    """Message ids (from `_()`/`N_()` in the code and the YAML texts) that show a count but are no plural."""
    return [f"{message.id!r} ({_where(message)})" for message in catalog
            if isinstance(message.id, str)
            and (COUNTS & set(PLACEHOLDER.findall(message.id))
                 or (PLACEHOLDER.search(message.id) and "(s)" in message.id))]


def test_a_count_is_shown_in_the_plural_form_of_the_language() -> None:
    wrong = counts_without_plural(extract())
    assert wrong == [], "a count needs _.ngettext(singular, plural, n) (see bot/i18n.py): " + "; ".join(wrong)


def test_the_plural_check_catches_a_count_without_plural_forms() -> None:
    catalog = Catalog()
    catalog.add("{count} signals", locations=[("bot/x.py", 1)])
    catalog.add("Advice still pending: {n} request(s)", locations=[("bot/x.py", 2)])
    catalog.add("Deleted after {days} days", locations=[("flows/x.yaml", 0)])
    catalog.add(("{count} signal", "{count} signals"), locations=[("bot/x.py", 3)])
    catalog.add("Signal {reference}", locations=[("bot/x.py", 4)])
    assert len(counts_without_plural(catalog)) == 3


def test_every_dutch_plural_has_both_forms() -> None:
    catalog = _catalog("nl")
    assert catalog.num_plurals == 2
    plurals = [m for m in catalog if isinstance(m.id, tuple)]
    assert len(plurals) >= 20  # the counts in the reminders, Home, training, figures…
    wrong = [m.id[0] for m in plurals
             if not isinstance(m.string, tuple) or len(m.string) != 2 or not all(s.strip() for s in m.string)]
    assert wrong == []
    # No "(en)" or "-vragen" plural stand-ins left in the Dutch.
    stand_ins = [m.string for m in catalog if isinstance(m.string, str) and re.search(r"\w\((en|s)\)|/-\w", m.string)]
    assert stand_ins == []


@pytest.mark.parametrize(("minutes", "days", "nl", "en"), [
    (None, 1, "1 werkdag", "1 working day"),
    (None, 3, "3 werkdagen", "3 working days"),
    (1, None, "1 minuut", "1 minute"),
    (30, None, "30 minuten", "30 minutes"),
])
def test_a_reminder_says_how_long_in_the_plural_form_it_needs(minutes: int | None, days: int | None, nl: str,
                                                               en: str) -> None:
    view = SimpleNamespace(waited_minutes=minutes, waited_working_days=days)
    assert duration(translator("nl"), view) == nl  # type: ignore[arg-type]
    assert duration(translator("en"), view) == en  # type: ignore[arg-type]


# One word per thing (docs/woordenlijst.md). The words we do not use, and where an exception is allowed.
REJECTED = {
    r"\bplaatsvervang\w*": "vervanger",
    r"\bback-?up\w*": "vervanger",
    r"\bvervangende\b": "vervanger (van de aandachtsfunctionaris)",
    r"\bomschrijving\w*": "beschrijving",
    r"\btermijn verstreken\b": "te laat / over de termijn",
}
# *melding* is the hand-over to a partner only (what the reporter sends is a *signaal*): the Dutch may
# say it only where the English speaks of a hand-over or a melding.
MELDING = re.compile(r"\bmelding(en)?\b", re.IGNORECASE)
HAND_OVER = re.compile(r"hand-over|handed over|melding|routed|route", re.IGNORECASE)


def _texts(message) -> tuple[str, ...]:  # noqa: ANN001
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _ids(message) -> str:  # noqa: ANN001
    return " ".join(message.id) if isinstance(message.id, tuple) else message.id


def test_the_dutch_uses_one_word_per_thing() -> None:
    catalog = _catalog("nl")
    wrong = [(word, text) for m in catalog if m.id for text in _texts(m)
             for word in REJECTED if re.search(word, text, re.IGNORECASE)]
    assert wrong == [], "see docs/woordenlijst.md"
    meldingen = [text for m in catalog if m.id for text in _texts(m)
                 if MELDING.search(text) and not HAND_OVER.search(_ids(m))]
    assert meldingen == [], "a reporter's report is a *signaal*; *melding* is the hand-over to a partner"
