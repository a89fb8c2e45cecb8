"""The chat platforms the core knows by name and the syntax of their ids, in one table: what the
network file accepts, and how a platform's id of a person becomes a person key and back.

A person key (`Person.user_id`, and every column that names a person) is opaque to the rest of the
core. For Slack it is the Slack user id itself (so data from before identities keeps its keys); for
another platform it is the platform's prefix and its id (`teams:<AAD object id>`), which cannot
collide with a Slack id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SLACK = "slack"
TEAMS = "teams"
EMAIL = re.compile(r"^[^@\s:]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Platform:
    name: str
    prefix: str  # marks the platform in the network file and in person keys ('' for Slack)
    person: re.Pattern[str]  # a person's id on the platform (after the prefix)
    place: re.Pattern[str]  # a conversation id for a municipality's case place (after the prefix)
    person_example: str
    place_example: str
    # A person's id as recognised in free data (the audit log's, to pseudonymise it): stricter than
    # `person` where that would take ordinary words (Slack's: 'UTC' is no user id).
    person_in_data: re.Pattern[str] | None = None


_GUID = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
PLATFORMS: tuple[Platform, ...] = (
    Platform(SLACK, "", re.compile(r"[UW][A-Z0-9]{2,}"), re.compile(r"[CG][A-Z0-9]{2,}"),
             "U0123ABCD", "C0123ABCD", person_in_data=re.compile(r"[UW][A-Z0-9]{8,}")),
    # Entra (AAD) object id, or a Bot Framework user id (29:…); a channel or chat id (19:…).
    Platform(TEAMS, "teams:", re.compile(rf"{_GUID}|29:[A-Za-z0-9_\-]{{10,250}}"),
             re.compile(r"19:[A-Za-z0-9_\-.@:]{5,240}"),
             "teams:00000000-0000-0000-0000-000000000000", "teams:19:abc123@thread.tacv2"),
)
BY_NAME = {p.name: p for p in PLATFORMS}
# Longest prefix first, so the Slack entry ('' prefix) is tried last.
_BY_PREFIX = sorted(PLATFORMS, key=lambda p: -len(p.prefix))


def _parse(text: str, place: bool) -> tuple[str, str] | None:
    text = text.strip()
    for platform in _BY_PREFIX:
        if not text.startswith(platform.prefix):
            continue
        rest = text[len(platform.prefix):]
        if (platform.place if place else platform.person).fullmatch(rest):
            # A GUID compares case-insensitively: stored in lower case, so one person has one key.
            return platform.name, rest.lower() if _is_guid(rest) else rest
        if platform.prefix:
            return None  # prefixed for this platform but not its syntax
    return None


def _is_guid(text: str) -> bool:
    return re.fullmatch(_GUID, text) is not None


def person_id(text: str) -> tuple[str, str] | None:
    """(platform, the platform's id) of a person as written in the network file, else None."""
    return _parse(text, place=False)


def place_id(text: str) -> tuple[str, str] | None:
    """(platform, conversation id) of a case place as written in the network file, else None."""
    return _parse(text, place=True)


def looks_like_person_key(value: str) -> bool:
    """Whether `value`, found in free data, has the syntax of some platform's person key."""
    for platform in _BY_PREFIX:
        if value.startswith(platform.prefix):
            rest = value[len(platform.prefix):]
            return (platform.person_in_data or platform.person).fullmatch(rest) is not None
    return False


def person_key(platform: str, external_id: str) -> str:
    """The key of a new person first known as `external_id` on `platform`."""
    return BY_NAME[platform].prefix + external_id


def identity_of_key(key: str) -> tuple[str, str]:
    """(platform, the platform's id) a person key was made from (`person_key`'s inverse)."""
    for platform in _BY_PREFIX:
        if platform.prefix and key.startswith(platform.prefix):
            return platform.name, key[len(platform.prefix):]
    return SLACK, key


def place_text(platform: str, conversation: str) -> str:
    """A case place as the network file writes it (and `signaalbot network show` shows it)."""
    return BY_NAME[platform].prefix + conversation if platform in BY_NAME else f"{platform}:{conversation}"
