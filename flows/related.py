"""Possibly related signals (gerelateerde signalen): "zachte signalen van verschillende mensen …
puzzelstukjes" (beleidsstuk). Two signals may be about the same place when their locations name the
same address, postcode or business.

Pure: the location text in, normalised match tokens out. The caller never stores or searches these
tokens as they are; it stores a keyed hash (HMAC) of each (`bot.core.related`), so the database holds
no address in plain text and cannot be searched for one without the key.

Tokens, each with its kind (what the AF is told: "same address", "same business"):
  address   street + house number (+ letter): "hoofdstraat 12a"; also postcode + number "4811ab 12a"
  postcode  a Dutch postcode "4811ab" (about one side of a street: a weaker hint, shown as such)
  business  a name after a kind of business ("nagelstudio Lucky Nails" -> "lucky nails"), a name
            before a legal form ("Jansen Bouw BV" -> "jansen bouw"), or a name between quotes
Words are lower-cased, accents and punctuation dropped, so "Hoofdstraat 12-A" and "hoofdstraat 12a"
match. False hits are possible (it is a hint; the AF decides whether to link).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class MatchKind(StrEnum):
    ADDRESS = "address"
    POSTCODE = "postcode"
    BUSINESS = "business"


@dataclass(frozen=True, order=True)
class Token:
    kind: MatchKind
    value: str  # normalised; never stored as is

    def material(self) -> str:
        """What is hashed: the kind is part of it, so an address never matches a business name."""
        return f"{self.kind.value}:{self.value}"


# Street names end in one of these (Hoofdstraat, Ginnekenweg, Grote Markt, Havenkade…).
STREET_ENDINGS = ("straat", "laan", "weg", "plein", "singel", "gracht", "kade", "dijk", "markt", "dreef",
                  "steeg", "pad", "park", "baan", "ring", "boulevard", "wal", "haven", "veld", "hof", "erf",
                  "plaats", "street", "road")
# Kinds of business a name follows ("bij nagelstudio Lucky Nails").
BUSINESS_WORDS = ("nagelstudio", "nagelsalon", "massagesalon", "salon", "kapsalon", "kapper", "restaurant",
                  "snackbar", "shoarma", "lunchroom", "cafe", "bar", "club", "hotel", "pension", "carwash",
                  "autowasstraat", "garage", "bedrijf", "uitzendbureau", "kwekerij", "champignonkwekerij",
                  "winkel", "supermarkt", "toko", "bakkerij", "shishalounge", "lounge", "studio", "firma",
                  "boerderij", "bouwbedrijf", "schoonmaakbedrijf", "koeriersbedrijf", "webshop")
LEGAL_FORMS = ("bv", "vof", "nv", "cv")
# Words that end a name (the next word is no longer part of it).
_STOP = frozenset({"in", "aan", "op", "bij", "te", "van", "de", "het", "een", "en", "of", "naast", "tegenover",
                   "achter", "voor", "met", "waar", "die", "dat", "is", "zijn", "om", "via", "naar", "door", "onder",
                   "werkt", "werken", "werkte", "heet", "genaamd", "ook", "nu", "the", "at", "on", "for",
                   "and", "near"}) | set(STREET_ENDINGS)
# Words that alone are too common to name a street ("de weg 2" is no address).
_BARE_STREET = frozenset(STREET_ENDINGS)
# Short words that belong to a street name before a bare street word ("Grote Markt", "Nieuwe Weg").
_STREET_PREFIX_MAX = 2

_POSTCODE = re.compile(r"\b([1-9]\d{3}) ?([a-z]{2})\b")
_NUMBER = r"(\d{1,5})(?: ?-? ?([a-z])\b)?"
_STREET_NUMBER = re.compile(r"\b((?:[a-z]+ ){0," + str(_STREET_PREFIX_MAX) + r"}[a-z]*(?:" + "|".join(STREET_ENDINGS)
                            + r")) " + _NUMBER)
_POSTCODE_NUMBER = re.compile(r"\b([1-9]\d{3}) ?([a-z]{2}) ?,? ?(?:nr\.? ?)?" + _NUMBER)
_QUOTED = re.compile(r"[\"“”'‘’«»]([^\"“”'‘’«»]{2,40})[\"“”'‘’«»]")
NAME_WORDS_MAX = 3
# Where a name ends at the latest: a comma, semicolon, colon, bracket, line break or a sentence's end.
_PARTS = re.compile(r"[,;:()\[\]\n]|\.(?:\s|$)")
_ARTICLES = frozenset({"de", "het", "the", "'t", "t"})


def _legal_forms(text: str) -> str:
    """B.V., N.V., C.V., V.O.F. written as one word (bv, nv, cv, vof), so their dots end no sentence."""
    text = re.sub(r"\b([bncBNC])\. ?[vV]\.?", lambda m: m.group(1) + "v", text)
    return re.sub(r"\b[vV]\. ?[oO]\. ?[fF]\.?", "vof", text)


def fold(text: str) -> str:
    """Lower case, no accents, punctuation as spaces, single spaces (keeps digits and letters)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    plain = _legal_forms(plain)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def tokens(location: str | None) -> frozenset[Token]:
    """The match tokens of a location text (empty for none)."""
    if not location or not location.strip():
        return frozenset()
    found: set[Token] = set()
    text = fold(location)
    for m in _STREET_NUMBER.finditer(text):
        street = _street(m.group(1))
        if street:
            found.add(Token(MatchKind.ADDRESS, f"{street} {m.group(2)}{m.group(3) or ''}"))
    for m in _POSTCODE_NUMBER.finditer(text):
        found.add(Token(MatchKind.ADDRESS, f"{m.group(1)}{m.group(2)} {m.group(3)}{m.group(4) or ''}"))
    for m in _POSTCODE.finditer(text):
        found.add(Token(MatchKind.POSTCODE, f"{m.group(1)}{m.group(2)}"))
    found |= {Token(MatchKind.BUSINESS, name) for name in business_names(location)}
    return frozenset(found)


def _street(words: str) -> str | None:
    """The street name from up to three words ending in a street word: the last word, with the words
    before it only when the last is a bare street word ("grote markt"); None for "de weg"."""
    parts = words.split()
    last = parts[-1]
    if last not in _BARE_STREET:
        return last
    before = [w for w in parts[:-1] if w not in _STOP or w in ("de", "het")]
    name = [w for w in before if w not in ("de", "het")]
    return " ".join([*name, last]) if name else None


def business_names(location: str) -> set[str]:
    """Names of businesses in a location text, folded."""
    names: set[str] = set()
    for m in _QUOTED.finditer(location):
        name = fold(m.group(1))
        if name and not name.isdigit():
            names.add(name)
    for part in _PARTS.split(_legal_forms(location.lower())):
        names |= _names_in(fold(part).split())
    return names


def _names_in(words: list[str]) -> set[str]:
    """Names in one part of a text (a comma, a semicolon or a sentence's end ends a name)."""
    names: set[str] = set()
    for i, word in enumerate(words):
        if word in BUSINESS_WORDS:
            name = _name(words[i + 1:i + 1 + NAME_WORDS_MAX])
            if name:
                names.add(name)
        if word in LEGAL_FORMS and i > 0:
            name = _name(list(reversed(words[max(0, i - NAME_WORDS_MAX):i])))
            if name:
                names.add(" ".join(reversed(name.split())))
    return names


def _is_street(word: str) -> bool:
    return any(word.endswith(ending) and len(word) > len(ending) + 2 for ending in STREET_ENDINGS)


def _name(words: list[str]) -> str | None:
    """Up to NAME_WORDS_MAX words of a name; a leading article is not part of it ("De Gouden Draak" and
    "Gouden Draak" match)."""
    while words and words[0] in _ARTICLES:
        words = words[1:]
    out: list[str] = []
    for w in words:
        if w in _STOP or w.isdigit() or w in BUSINESS_WORDS or w in LEGAL_FORMS or _is_street(w):
            break
        out.append(w)
    return " ".join(out) if out and len("".join(out)) >= 3 else None


def shared_kinds(a: frozenset[str], b: frozenset[str], kinds: dict[str, MatchKind]) -> list[MatchKind]:
    """The kinds two signals share, strongest first, given their digests and each digest's kind."""
    common = {kinds[d] for d in a & b if d in kinds}
    return [k for k in (MatchKind.ADDRESS, MatchKind.BUSINESS, MatchKind.POSTCODE) if k in common]
