"""Collect every user-facing message id: `_()` / `N_()` calls in the code, and the texts in the
YAML data files (questionnaire). Used by `scripts/update_catalogs.py` and by the test that fails
when a message lacks a Dutch or English translation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("bot", "flows")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}  # _.ngettext(singular, plural, n): plural forms
YAML_TEXT_KEYS = ("prompt", "hint", "label", "description", "text", "button", "title")
YAML_FILES = ("flows/questionnaire.yaml", "flows/knowledge.yaml", "flows/classification.yaml")


def _yaml_texts(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in YAML_TEXT_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _yaml_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _yaml_texts(item)


def extract(root: Path = ROOT) -> Catalog:
    catalog = Catalog()
    for folder in CODE_DIRS:
        for path in sorted((root / folder).rglob("*.py")):
            if "sandbox" in path.parts and path.name in {"fake_slack.py", "blockkit.py", "driver.py"}:
                continue
            rel = path.relative_to(root)
            for lineno, message, _comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS):
                if isinstance(message, str) and message:
                    catalog.add(message, locations=[(str(rel), lineno)])
                elif isinstance(message, tuple) and all(isinstance(part, str) and part for part in message):
                    catalog.add(message, locations=[(str(rel), lineno)])  # (singular, plural)
    for name in YAML_FILES:
        data = yaml.safe_load((root / name).read_text(encoding="utf-8"))
        for text in _yaml_texts(data):
            catalog.add(text, locations=[(name, 0)])
    return catalog
