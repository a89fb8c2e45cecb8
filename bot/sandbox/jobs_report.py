"""The clock's job report in the sandbox UI's language (issue 14, point 14).

A clock move runs the scheduled jobs (`jobs run-due`); their report lines are the command line's, in
English, for operators. The sandbox's UI is Dutch (its `lang`, index.html): there each known line is
said in plain Dutch (names of people are filled in by the UI). A line this table does not know is shown
as it is, marked as the command's own words, so nothing is hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from babel import Locale

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

TITLE = {
    "nl": ("Geplande taken na de klokwijziging (jobs run-due):", "Geplande taken na de klokwijziging: niets te doen."),
    "en": ("Scheduled jobs after the clock change (jobs run-due):",
           "Scheduled jobs after the clock change: nothing to do."),
}
CLOSE = {"nl": "Sluiten", "en": "Close"}

_OUTCOME = {"sent": "gelukt", "retry": "later opnieuw", "failed": "mislukt"}
_OP = {"post": "plaatsen", "update": "bijwerken", "redact": "afschermen", "delete": "verwijderen"}
_NUDGE = {"acute": "acuut, 10 minuten niet verstuurd", "idle": "een werkdag niets gedaan"}

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]
_NL: list[_Rule] = [
    (re.compile(r"^reminders: sent (\S+) for (\S+) \(due ([^)]+)\) to (.*)$"),
     lambda m: f"Herinneringen: {m[1]} voor {m[2]} verstuurd (gepland {m[3]}) aan {_to(m[4])}"),
    (re.compile(r"^reminders: skipped (\S+) for (\S+): (\S+) is due as well$"),
     lambda m: f"Herinneringen: {m[1]} voor {m[2]} overgeslagen, want {m[3]} is ook aan de beurt"),
    (re.compile(r"^reminders: stopped (\S+) for (\S+): (\S+)$"),
     lambda m: f"Herinneringen: {m[1]} voor {m[2]} gestopt ({m[3]})"),
    (re.compile(r"^drafts: nudged (\S+) \((\w+) draft\)$"),
     lambda m: f"Concepten: de melder van {m[1]} kreeg een herinnering ({_NUDGE.get(m[2], m[2])})"),
    (re.compile(r"^outbox: (\w+) (\w+) (\S+) #(\d+)$"),
     lambda m: f"Berichten: #{m[4]} ({m[3]}) {_OP.get(m[2], m[2])}: {_OUTCOME.get(m[1], m[1])}"),
    (re.compile(r"^retention: purged (\S+) \(([^)]+)\); (\d+) message\(s\) to redact$"),
     lambda m: f"Bewaartermijn: {m[1]} gewist ({m[2]}); {_n(m[3], 'bericht wordt', 'berichten worden')} "
               "afgeschermd"),
    (re.compile(r"^retention: training: (\d+) answer\(s\) deleted, (\d+) attendance row\(s\) anonymised$"),
     lambda m: f"Bewaartermijn: {_n(m[1], 'trainingsantwoord', 'trainingsantwoorden')} gewist, "
               f"{_n(m[2], 'aanwezigheidsregistratie', 'aanwezigheidsregistraties')} geanonimiseerd"),
    (re.compile(r"^retention: (\d+) audit entries older than (\d+) months removed$"),
     lambda m: f"Bewaartermijn: {_n(m[1], 'logregel', 'logregels')} ouder dan {_n(m[2], 'maand', 'maanden')} "
               "gewist"),
    (re.compile(r"^training: reminded (\d+) member\(s\) of training #(\d+) \(([^)]+)\)$"),
     lambda m: f"Trainingen: {_n(m[1], 'deelnemer', 'deelnemers')} herinnerd aan training #{m[2]}"),
    (re.compile(r"^training: asked (\d+) organiser\(s\) for the attendance of training #(\d+)$"),
     lambda m: f"Trainingen: {_n(m[1], 'organisator', 'organisatoren')} gevraagd wie er bij training #{m[2]} was"),
    (re.compile(r"^training: sent the refresher nudge to (\d+) member\(s\)$"),
     lambda m: f"Trainingen: {_n(m[1], 'netwerklid', 'netwerkleden')} herinnerd aan een opfristraining"),
    (re.compile(r"^digest: digest for (\S+) to (\S+)$"),
     lambda m: f"Maandcijfers: de cijfers over {m[1]} verstuurd aan {m[2]}"),
    (re.compile(r"^housekeeping: forgot (\d+) handled inbox item\(s\)$"),
     lambda m: f"Opruimen: {_n(m[1], 'afgehandeld binnenkomend bericht', 'afgehandelde binnenkomende berichten')} "
               "vergeten"),
    (re.compile(r"^housekeeping: removed (\d+) delivered outbox item\(s\)$"),
     lambda m: f"Opruimen: {_n(m[1], 'afgeleverd uitgaand bericht', 'afgeleverde uitgaande berichten')} opgeruimd"),
]


def _n(count: str, one: str, other: str) -> str:
    """A count with its noun in the plural form Dutch needs (CLDR's rule, through Babel): "1 bericht", "3 berichten"."""
    return f"{count} {one if Locale.parse('nl').plural_form(int(count)) == 'one' else other}"


def _to(recipients: str) -> str:
    """"thread U1 U2, backup U3, dm U4" → Dutch: who got it, and where."""
    if recipients == "nobody":
        return "niemand"
    where = {"thread": "in de draad", "dm": "privébericht", "backup": "vervanger", "ketenregisseur":
             "ketenregisseur", "partner": "partner"}
    parts = []
    for part in recipients.split(", "):
        kind, _, who = part.partition(" ")
        parts.append(f"{where.get(kind, kind)} {who}".strip())
    return ", ".join(parts)


def line_in(language: str, line: str) -> str:
    if language != "nl":
        return line
    for pattern, say in _NL:
        match = pattern.match(line)
        if match:
            return say(match)
    return f"(opdrachtregel) {line}"


def report(lines: list[str], language: str = DEFAULT_LANGUAGE) -> dict[str, object]:
    """What the UI shows for the last clock move, in `language` (nl or en)."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    ran, idle = TITLE[language]
    return {"language": language, "title": ran if lines else idle, "lines": [line_in(language, x) for x in lines],
            "close": CLOSE[language]}
