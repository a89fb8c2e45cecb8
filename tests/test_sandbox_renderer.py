"""The sandbox's renderers (JavaScript: Block Kit, and Adaptive Cards for Teams) are unit-tested with Node's own
test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).parent.parent / "bot" / "sandbox" / "web" / "tests"


def test_the_renderers_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the renderer's tests run with `node --test` (Node 20+)")
    result = subprocess.run([node, "--test", str(TESTS)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
