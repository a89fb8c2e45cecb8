"""What `/signaal info` tells everyone: the knowledge the regional policy asks to spread (the definition,
the four overarching signals, the forms with examples, prostitution is not trafficking, the
non-punishment principle, where to learn more, the meldpunten of Bijlage 2). Data in knowledge.yaml,
checked here: a region's own file (SIGNAAL_REGION_DIR/knowledge.yaml) that is wrong stops start-up
with the file and field named, never a KeyError later."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flows.data import DataError, Node, load_yaml

DEFAULT_PATH = Path(__file__).with_name("knowledge.yaml")


@dataclass(frozen=True)
class Section:
    key: str
    title: str  # English message ids: the edge translates them
    text: str | None
    points: tuple[str, ...]


@dataclass(frozen=True)
class Knowledge:
    version: str
    sections: tuple[Section, ...]


def load(path: str | Path = DEFAULT_PATH) -> Knowledge:
    root = load_yaml(path)
    fields = root.mapping(allowed={"version", "sections"})
    version = fields["version"].text() if "version" in fields else "1"
    sections: list[Section] = []
    seen: set[str] = set()
    for node in root.child("sections").items():
        raw = node.mapping(allowed={"key", "title", "text", "points"})
        key = raw["key"].text() if "key" in raw else ""
        if not key:
            raise node.error("needs a key")
        if key in seen:
            raise DataError(node.file, node.path + ".key", f"{key!r} appears twice")
        seen.add(key)
        text_node = node.optional("text")
        points_node = node.optional("points")
        points = tuple(_point(p) for p in points_node.items()) if points_node is not None else ()
        text = text_node.text() if text_node is not None else None
        if text is None and not points:
            raise node.error("needs a text or points")
        sections.append(Section(key, node.child("title").text(), text, points))
    if not sections:
        raise root.error("no sections")
    return Knowledge(version, tuple(sections))


def _point(node: Node) -> str:
    return node.child("text").text() if isinstance(node.value, dict) else node.text()


def for_region(region_dir: Path | None) -> Knowledge:
    if region_dir and (region_dir / "knowledge.yaml").exists():
        return load(region_dir / "knowledge.yaml")
    return load()
