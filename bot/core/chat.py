"""What a message typed in the bot's 1:1 chat asks, where a platform has no slash commands (Teams):
one of the bot's words — info, help, status, training, netwerk, cijfers (with a year or a month:
"cijfers 2026-03"), training cijfers (who was trained per municipality) — or, for a single word
that is nearly one of them ("stauts", "training cijfrs"), a suggestion.
Anything else is not a command: the edge shows its start card.

Only the recognised word (and the period after "cijfers", when it is one) is kept (the edge stores it
in the inbox instead of the message's text); the text itself is neither stored nor logged."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

INFO, HELP, STATUS = "info", "help", "status"
TRAINING, NETWORK, FIGURES = "training", "netwerk", "cijfers"
TRAINING_FIGURES = "training cijfers"  # as Slack's `/signaal training cijfers`
WORDS = {"info": INFO, "kennis": INFO, "uitleg": INFO, "help": HELP, "hulp": HELP, "status": STATUS,
         "training": TRAINING, "trainingen": TRAINING, "trainings": TRAINING,
         "netwerk": NETWORK, "network": NETWORK, "cijfers": FIGURES, "figures": FIGURES,
         "trainingscijfers": TRAINING_FIGURES, "trainingcijfers": TRAINING_FIGURES}
_OF_TRAINING = ("cijfers", "figures", "stats")  # after "training": its figures (Slack's words too)
COMMANDS = (INFO, HELP, STATUS, TRAINING, NETWORK, FIGURES, TRAINING_FIGURES)
_TRIM = re.compile(r"^[\s/]+|[\s?!.]+$")
_PERIOD = re.compile(r"^\d{4}(?:-\d{1,2})?$")  # what may follow "cijfers" (bot.core.figures.period checks it)
BAD_PERIOD = "?"  # "cijfers" followed by a word that is not a year or a month: the core says what to give


@dataclass(frozen=True)
class Asked:
    command: str | None = None  # one of COMMANDS: what the message asks
    suggestion: str | None = None  # not a command, but a single word close to one: "Did you mean …?"
    period: str = ""  # after "cijfers": a year or a month as typed ("2026", "2026-03"), or BAD_PERIOD


def asked(text: str | None) -> Asked:
    word = _TRIM.sub("", (text or "")).lower()
    if word in WORDS:
        return Asked(command=WORDS[word])
    first, _sep, rest = word.partition(" ")
    if WORDS.get(first) == TRAINING and rest and " " not in rest:
        # "training cijfers"; nearly ("training cijfrs"): the suggestion.
        if rest in _OF_TRAINING:
            return Asked(command=TRAINING_FIGURES)
        close = difflib.get_close_matches(rest, list(_OF_TRAINING), n=1, cutoff=0.7)
        return Asked(suggestion=TRAINING_FIGURES) if close else Asked()
    if WORDS.get(first) == FIGURES and rest and len(rest.split()) == 1:
        # "cijfers 2026": the period only, checked; any other single word gets the core's hint.
        return Asked(command=FIGURES, period=rest if _PERIOD.match(rest) else BAD_PERIOD)
    if not word or " " in word or len(word) > 20:
        return Asked()
    match = difflib.get_close_matches(word, list(WORDS), n=1, cutoff=0.7)
    return Asked(suggestion=WORDS[match[0]]) if match else Asked()
