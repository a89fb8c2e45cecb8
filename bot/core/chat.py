"""What a message typed in the bot's 1:1 chat asks, where a platform has no slash commands (Teams):
one of the reporter's words — info, help, status — or, for a single word that is nearly one of them
("stauts"), a suggestion. Anything else is not a command: the edge shows its start card.

Only the recognised word is kept (the edge stores it in the inbox instead of the message's text);
the text itself is neither stored nor logged."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

INFO, HELP, STATUS = "info", "help", "status"
WORDS = {"info": INFO, "kennis": INFO, "uitleg": INFO, "help": HELP, "hulp": HELP, "status": STATUS}
_TRIM = re.compile(r"^[\s/]+|[\s?!.]+$")


@dataclass(frozen=True)
class Asked:
    command: str | None = None  # INFO, HELP or STATUS: what the message asks
    suggestion: str | None = None  # not a command, but a single word close to one: "Did you mean …?"


def asked(text: str | None) -> Asked:
    word = _TRIM.sub("", (text or "")).lower()
    if word in WORDS:
        return Asked(command=WORDS[word])
    if not word or " " in word or len(word) > 20:
        return Asked()
    match = difflib.get_close_matches(word, list(WORDS), n=1, cutoff=0.7)
    return Asked(suggestion=WORDS[match[0]]) if match else Asked()
