"""The lock files in requirements/ (pip-compile --generate-hashes, `make lock`) match pyproject.toml:
every requirement of pyproject.toml is pinned there, at a version its specifier allows, as a direct
requirement of the project; nothing is pinned as direct that pyproject.toml no longer asks for; every
pin carries hashes, so `pip install --require-hashes` accepts the file. Re-resolving would need the
package index, so this checks the files as written."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def parse_lock(text: str) -> dict[str, tuple[Version, int, set[str]]]:
    """name → (version, number of hashes, what it is pulled in by)."""
    pins: dict[str, tuple[Version, int, set[str]]] = {}
    name = None
    for line in text.splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match[1])
            pins[name] = (Version(match[2]), 0, set())
        elif name and (hashed := re.search(r"--hash=sha256:[0-9a-f]{64}", line)):
            version, hashes, via = pins[name]
            pins[name] = (version, hashes + bool(hashed), via)
        elif name and (via := re.match(r"^\s+#\s+(?:via\s+)?(\S.*)$", line)) and via[1] != "via":
            pins[name][2].add(via[1].strip())
        elif line and not line.startswith((" ", "#")):
            name = None
            if not line.startswith("--"):
                raise AssertionError(f"not a hashed pin: {line!r}")
    return pins


def requirements(*extras: str, build: bool = False) -> list[Requirement]:
    if build:
        return [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    names = PYPROJECT["project"]["dependencies"] + [
        r for extra in extras for r in PYPROJECT["project"]["optional-dependencies"][extra]]
    return [Requirement(r) for r in names]


LOCKS = {
    "requirements/main.txt": ((), False, "signaalbot (pyproject.toml)"),
    "requirements/dev.txt": (("dev", "bench"), False, "signaalbot (pyproject.toml)"),
    "requirements/build.txt": ((), True, "signaalbot (pyproject.toml::build-system.requires)"),
}


def lock_problems(text: str, wanted: list[Requirement], direct_marker: str) -> list[str]:
    found: list[str] = []
    pins = parse_lock(text)
    for req in wanted:
        name = canonicalize_name(req.name)
        if name not in pins:
            found.append(f"{req.name} is not in the lock (run `make lock`)")
            continue
        version, _, via = pins[name]
        if not req.specifier.contains(version, prereleases=True):
            found.append(f"{req.name}=={version} does not satisfy {req} (run `make lock`)")
        if direct_marker not in via:
            found.append(f"{req.name} is not pinned as a requirement of pyproject.toml (run `make lock`)")
    wanted_names = {canonicalize_name(r.name) for r in wanted}
    found += [f"{name} is pinned as a requirement of pyproject.toml, which no longer asks for it (run `make lock`)"
              for name, (_, _, via) in pins.items() if direct_marker in via and name not in wanted_names]
    found += [f"{name} has no hash" for name, (_, hashes, _) in pins.items() if not hashes]
    return found


@pytest.mark.parametrize("path", sorted(LOCKS))
def test_lock_matches_pyproject(path: str) -> None:
    extras, build, marker = LOCKS[path]
    assert lock_problems((ROOT / path).read_text(), requirements(*extras, build=build), marker) == []


def test_dev_lock_pins_the_same_versions_as_the_runtime_lock() -> None:
    main = parse_lock((ROOT / "requirements/main.txt").read_text())
    dev = parse_lock((ROOT / "requirements/dev.txt").read_text())
    assert {n: v for n, (v, _, _) in main.items()} == {n: dev[n][0] for n in main if n in dev}
    assert set(main) <= set(dev)


def test_the_check_finds_a_stale_lock() -> None:
    text = (ROOT / "requirements/main.txt").read_text()
    wanted = requirements() + [Requirement("a-new-dependency>=1.0")]
    stale = re.sub(r"^(alembic==)\S+", r"\g<1>1.0.0", text, flags=re.M)
    unhashed = re.sub(r"^(babel==\S+) \\\n(\s+--hash=\S+ \\\n)*\s+--hash=\S+\n", r"\1\n", stale, flags=re.M)
    problems = lock_problems(unhashed, wanted, "signaalbot (pyproject.toml)")
    assert "a-new-dependency is not in the lock (run `make lock`)" in problems
    assert any(p.startswith("alembic==1.0.0 does not satisfy") for p in problems)
    assert "babel has no hash" in problems
    dropped = [r for r in requirements() if r.name != "PyYAML"]
    assert lock_problems(text, dropped, "signaalbot (pyproject.toml)") == [
        "pyyaml is pinned as a requirement of pyproject.toml, which no longer asks for it (run `make lock`)"]
