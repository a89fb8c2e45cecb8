"""The layers hold: the core (`bot/core`), the domain (`flows`) and the tables (`models`) load no Slack or Teams
and not the composition root, and no two `bot` modules need each other (no import cycle, not even
one hidden in a function). Checked for every module there is, so a new module is covered."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import bot.core
import flows
import models

ROOT = Path(__file__).resolve().parent.parent
EDGE = ("slack_sdk", "slack_bolt", "bot.slack", "bot.teams", "microsoft_teams", "bot.runtime", "bot.scheduler")


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def inner_modules() -> list[str]:
    names = [pkg.__name__ for pkg in (bot.core, flows, models)]
    for pkg in (bot.core, flows, models):
        names += [i.name for i in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
    return sorted(names)


# Runs in a fresh interpreter that has loaded nothing of the bot: each module is imported in a child
# forked from it (so each starts from the same clean state), which reports what it loaded from EDGE.
_PROBE = """
import json, os, sys
names, edge = json.loads(sys.argv[1]), tuple(sys.argv[2].split(","))
import sqlalchemy, sqlmodel  # third-party warm-up only, so the children are quick
assert not [m for m in sys.modules if m.split(".")[0] in ("bot", "flows", "models", "slack_sdk", "slack_bolt")]
found = {}
for name in names:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            __import__(name)
            out = sorted(m for m in sys.modules if any(m == e or m.startswith(e + ".") for e in edge))
        except BaseException as exc:
            out = ["import failed: " + repr(exc)]
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        found[name] = json.loads(f.read() or '["child died"]')
    os.waitpid(pid, 0)
print(json.dumps(found))
"""


def test_core_flows_and_models_load_no_slack_and_not_the_composition_root() -> None:
    names = inner_modules()
    assert "bot.core.reminders" in names and "flows.cases" in names and "models.signals" in names
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(names), ",".join(EDGE)], cwd=ROOT,
                          capture_output=True, text=True, timeout=100, check=True)
    found = json.loads(done.stdout)
    assert set(found) == set(names)
    assert {name: loaded for name, loaded in found.items() if loaded} == {}


# --- static: every import in the source, also those inside functions (not `if TYPE_CHECKING:`) ---

def _source_modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for top in ("bot", "flows", "models"):
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join(parts)] = path
    return mods


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module `name` imports anywhere in its code, resolved to the most specific name:
    `from bot.core import audit` is bot.core.audit; a package's parent is not counted, since every
    submodule loads its package anyway."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - child.level + 1] + ([base] if base else []))
                for alias in child.names:
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m != name and not name.startswith(m + ".")}


def import_graph() -> dict[str, set[str]]:
    known = _source_modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    result: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                result.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return result


def test_no_module_of_the_core_flows_or_models_imports_slack_even_lazily() -> None:
    graph = import_graph()
    inner = ("bot.core", "flows", "models")
    wrong = {name: sorted(m for m in imports if _under(m, EDGE))
             for name, imports in graph.items() if _under(name, inner)}
    assert {name: imports for name, imports in wrong.items() if imports} == {}


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_among_the_bots_modules() -> None:
    graph = import_graph()
    assert "bot.runtime" in graph["bot.serve"]  # the graph sees imports
    assert "bot.core.audit" in graph["bot.core.retention"]  # `from bot.core import audit`
    # models/__init__.py imports its table modules, which import models.base: that is no cycle
    assert cycles(graph) == []
