"""Dutch and English through gettext catalogs (Babel).

Message ids are English; `bot/locale/<lang>/LC_MESSAGES/messages.po` translate them. Catalogs are
compiled in memory at first use, so no build step is needed. Use:

    _ = translator("nl")
    _("Signal {reference} was received.", reference=ref)
    _.ngettext("{count} signal", "{count} signals", n)  # the plural form the language needs
"""

from __future__ import annotations

import gettext
import io
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Protocol

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"


class Translate(Protocol):
    lang: str

    def __call__(self, message: str, /, **params: Any) -> str: ...

    def ngettext(self, singular: str, plural: str, count: int, /, **params: Any) -> str: ...


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    return message


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, cat)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def language_for(locale: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map a Slack locale such as 'en-US' or 'nl-NL' to a supported language."""
    if locale:
        lang = locale.replace("_", "-").split("-", 1)[0].lower()
        if lang in LANGUAGES:
            return lang
    return default


class _Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self._cat = catalog(self.lang)

    def __call__(self, message: str, /, **params: Any) -> str:
        text = self._cat.gettext(message) if message else message
        return text.format(**params) if params else text

    def ngettext(self, singular: str, plural: str, count: int, /, **params: Any) -> str:
        """A count in words, in the plural form the language needs for `count` ("1 signaal", "3 signalen").
        `{count}` in the text is `count` unless `params` gives what to show instead (e.g. "< 5": pass
        the threshold as `count` then, so that the plural is chosen)."""
        text = self._cat.ngettext(singular, plural, count)
        return text.format(**{"count": count, **params})


@lru_cache(maxsize=8)
def translator(lang: str | None) -> Translate:
    return _Translator(lang or DEFAULT_LANGUAGE)
