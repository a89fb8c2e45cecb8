"""Bring bot/locale/{nl,en}/LC_MESSAGES/messages.po up to date with the code.

New message ids are added (English: msgstr = msgid; Dutch: empty, to translate), obsolete ones
are dropped. Run: .venv/bin/python scripts/update_catalogs.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.i18n import LOCALE_DIR  # noqa: E402
from bot.i18n_extract import extract  # noqa: E402


def main() -> int:
    template = extract()
    for lang in ("nl", "en"):
        path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as fh:
                old = read_po(fh, locale=lang)
        else:
            old = Catalog(locale=lang)
        new = Catalog(locale=lang, project="signaalbot", fuzzy=False)
        missing = 0
        for msg in template:
            if not msg.id:
                continue
            prev = old.get(msg.id)
            if isinstance(msg.id, tuple):  # plural forms: (singular, plural) → one text per form
                known = prev.string if prev is not None and isinstance(prev.string, tuple) else ()
                text: str | tuple[str, ...] = tuple(known) if known and all(known) else (
                    tuple(msg.id) if lang == "en" else ("", ""))
            else:
                text = prev.string if prev is not None and isinstance(prev.string, str) and prev.string else ""
                if lang == "en" and not text:
                    text = msg.id
            if not text or (isinstance(text, tuple) and not all(text)):
                missing += 1
            new.add(msg.id, text, locations=msg.locations)
        with path.open("wb") as fh:
            write_po(fh, new, width=120, sort_output=True, omit_header=False, include_lineno=False)
        print(f"{path}: {len(new)} messages, {missing} without translation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
