"""Loading and validating the packaged YAML data (meldroute, reminder ladder).

A region can ship its own files; a mistake in one must stop start-up with a message that names the
file and the field (``reminders.yaml: rules[2].offset: ...``), never surface later as a KeyError.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class DataError(ValueError):
    """A data file is missing or invalid; the message names the file and the field."""

    def __init__(self, file: str | Path, where: str, problem: str) -> None:
        self.file = str(file)
        self.where = where
        self.problem = problem
        location = f"{self.file}: {where}" if where else self.file
        super().__init__(f"{location}: {problem}")


@dataclass(frozen=True)
class Node:
    """One value inside a data file, with its file and dotted path for error messages."""

    file: str
    path: str
    value: Any

    def error(self, problem: str) -> DataError:
        return DataError(self.file, self.path or "(top level)", problem)

    def _at(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def mapping(self, *, allowed: Iterable[str] | None = None) -> dict[str, Node]:
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping, got {_kind(self.value)}")
        if allowed is not None:
            unknown = sorted(str(k) for k in self.value if k not in set(allowed))
            if unknown:
                raise self.error(f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        return {str(k): Node(self.file, self._at(str(k)), v) for k, v in self.value.items()}

    def items(self, *, non_empty: bool = True) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.error(f"expected a list, got {_kind(self.value)}")
        if non_empty and not self.value:
            raise self.error("expected a non-empty list")
        return [Node(self.file, self._at(i), v) for i, v in enumerate(self.value)]

    def child(self, key: str) -> Node:
        """A required key of a mapping."""
        fields = self.mapping()
        if key not in fields:
            raise DataError(self.file, self._at(key), "is missing")
        return fields[key]

    def optional(self, key: str) -> Node | None:
        fields = self.mapping()
        node = fields.get(key)
        return None if node is None or node.value is None else node

    def text(self) -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.error(f"expected a non-empty string, got {_kind(self.value)}")
        return self.value.strip()

    def integer(self, *, minimum: int | None = None) -> int:
        # bool is an int in Python; `priority: yes` must not pass as 1.
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(f"expected a whole number, got {_kind(self.value)}")
        if minimum is not None and self.value < minimum:
            raise self.error(f"must be at least {minimum}, got {self.value}")
        return self.value

    def flag(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"expected true or false, got {_kind(self.value)}")
        return self.value

    def one_of(self, choices: Iterable[str]) -> str:
        allowed = list(choices)
        if not isinstance(self.value, str) or self.value not in allowed:
            raise self.error(f"expected one of {allowed}, got {self.value!r}")
        return self.value


def load_yaml(path: str | Path) -> Node:
    """Read a YAML file whose top level is a mapping; any failure is a `DataError` naming the file."""
    file = Path(path)
    try:
        raw = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(file, "", f"cannot read the file ({exc.strerror or exc})") from exc
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise DataError(file, "", f"not valid YAML: {exc}") from exc
    node = Node(str(file), "", value)
    node.mapping()  # the top level must be a mapping
    return node


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"
