"""The AF's classification of a case (gegevens aanpassen) and the structured outcome of a hand-over.

The reporter's first guess stays on record in `Signal.answers`; the case's working fields (form,
acute, minor, sector, target group) hold the AF's classification, and route suggestions, reminders
and figures follow those. This module is pure: plain values in, the validated change out; the caller
stores it, writes the case event and the audit entry, and restarts or stops the acute ladder.

The lists (target groups, partner outcomes) are data: `classification.yaml` beside this file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import cache
from pathlib import Path

from flows.cases import Form
from flows.data import DataError, Node, load_yaml

DEFAULT_PATH = Path(__file__).with_name("classification.yaml")


class Minor(StrEnum):
    """Is a minor involved? "weet ik niet" is a valid answer with its own notice and route."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Choice:
    key: str
    label: str  # English message id


@dataclass(frozen=True)
class ClassificationData:
    target_groups: tuple[Choice, ...]
    partner_outcomes: tuple[Choice, ...]

    def target_group_keys(self) -> frozenset[str]:
        return frozenset(c.key for c in self.target_groups)

    def outcome_keys(self) -> frozenset[str]:
        return frozenset(c.key for c in self.partner_outcomes)

    def target_group_label(self, key: str | None) -> str | None:
        return next((c.label for c in self.target_groups if c.key == key), None)

    def outcome_label(self, key: str | None) -> str | None:
        return next((c.label for c in self.partner_outcomes if c.key == key), None)


@dataclass(frozen=True)
class Classification:
    """A case's working fields. `sector` and `target_group` are option keys (None: not set)."""

    form: Form
    acute: bool
    minor: Minor
    sector: str | None = None
    target_group: str | None = None


class Problem(StrEnum):
    UNKNOWN_FORM = "unknown_form"
    UNKNOWN_MINOR = "unknown_minor"
    UNKNOWN_SECTOR = "unknown_sector"
    UNKNOWN_TARGET_GROUP = "unknown_target_group"
    UNKNOWN_OUTCOME = "unknown_outcome"
    NOTHING_CHANGED = "nothing_changed"


@dataclass(frozen=True)
class Reclassification:
    """What changes, field by field as (before, after) in stored form, and what follows for the acute
    ladder: becoming acute starts it, no longer acute stops it (while the case waits for a claim)."""

    classification: Classification
    changes: dict[str, tuple[str | bool | None, str | bool | None]]

    @property
    def acute_started(self) -> bool:
        return "acute" in self.changes and self.classification.acute

    @property
    def acute_stopped(self) -> bool:
        return "acute" in self.changes and not self.classification.acute


def minor_of(minor: bool, possibly: bool) -> Minor:
    """The tri-state from the stored pair (`Signal.minor`, `Signal.minor_possible`)."""
    return Minor.YES if minor else Minor.UNKNOWN if possibly else Minor.NO


def minor_of_answer(answer: object) -> Minor:
    """The reporter's answer to "Is a minor involved?" (no answer: no)."""
    try:
        return Minor(str(answer)) if answer is not None else Minor.NO
    except ValueError:
        return Minor.NO


def reclassify(current: Classification, *, form: str, acute: bool, minor: str, sector: str | None,
               target_group: str | None, sectors: Iterable[str],
               data: ClassificationData | None = None) -> Reclassification | Problem:
    """Validate the AF's classification against the lists (the questionnaire's sectors, the target
    groups) and say what changes. Nothing changed is a problem too: no event without a change."""
    table = data or load_classification()
    try:
        new_form = Form(form)
    except ValueError:
        return Problem.UNKNOWN_FORM
    try:
        new_minor = Minor(minor)
    except ValueError:
        return Problem.UNKNOWN_MINOR
    if sector is not None and sector not in set(sectors):
        return Problem.UNKNOWN_SECTOR
    if target_group is not None and target_group not in table.target_group_keys():
        return Problem.UNKNOWN_TARGET_GROUP
    new = Classification(new_form, bool(acute), new_minor, sector, target_group)
    changes: dict[str, tuple[str | bool | None, str | bool | None]] = {}
    for f in fields(Classification):
        before, after = getattr(current, f.name), getattr(new, f.name)
        if before != after:
            changes[f.name] = (_stored(before), _stored(after))
    if not changes:
        return Problem.NOTHING_CHANGED
    return Reclassification(new, changes)


def check_outcome(kind: str | None, data: ClassificationData | None = None) -> str | Problem:
    """A partner outcome must be one of the list (the note beside it is optional)."""
    table = data or load_classification()
    if kind is None or kind not in table.outcome_keys():
        return Problem.UNKNOWN_OUTCOME
    return kind


def _stored(value: object) -> str | bool | None:
    if isinstance(value, StrEnum):
        return value.value
    return value  # type: ignore[return-value]


def load_classification(path: str | Path | None = None) -> ClassificationData:
    if path is None:
        return _default()
    return _parse(load_yaml(path))


@cache
def _default() -> ClassificationData:
    return _parse(load_yaml(DEFAULT_PATH))




def _parse(root: Node) -> ClassificationData:
    root.mapping(allowed=("version", "target_groups", "partner_outcomes"))
    version = root.child("version").integer(minimum=1)
    if version != 1:
        raise root.child("version").error(f"unsupported version {version}; this code reads version 1")
    return ClassificationData(_choices(root.child("target_groups")), _choices(root.child("partner_outcomes")))


def _choices(node: Node) -> tuple[Choice, ...]:
    out: list[Choice] = []
    for item in node.items():
        item.mapping(allowed=("key", "label"))
        key = item.child("key").text()
        if any(c.key == key for c in out):
            raise DataError(item.file, item.path + ".key", f"{key!r} appears twice")
        out.append(Choice(key, item.child("label").text()))
    return tuple(out)
