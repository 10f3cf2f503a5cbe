"""The shape of harness/: the layer contract (import-linter) holds and catches a breach, no import
circle exists anywhere, modules and functions stay within their limits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from scripts.check_architecture import cycles, import_cycles, size_breaches

PROJECT = Path(__file__).parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_layer_contract_holds() -> None:
    result = _lint_imports(PROJECT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(PROJECT / "harness", tmp_path / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / "pyproject.toml", tmp_path / "pyproject.toml")
    store = tmp_path / "harness" / "store.py"
    store.write_text(store.read_text() + "\nfrom harness.pipeline import evaluate  # the breach\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout and "harness.store -> harness.pipeline.evaluate" in result.stdout


def test_no_import_circle_in_harness() -> None:
    assert import_cycles("harness") == []


def test_cycles_finds_every_circle_and_nothing_else() -> None:
    edges = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"], "f": ["d"]}
    assert cycles(edges) == [["a", "b", "c"], ["e"]]
    assert cycles({"x": ["y"], "y": []}) == []


def test_modules_and_functions_within_limits(tmp_path: Path) -> None:
    assert size_breaches(PROJECT / "harness") == []
    (tmp_path / "long.py").write_text("def f():\n" + "    x = 1\n" * 90)
    assert size_breaches(tmp_path) == [f"{tmp_path / 'long.py'}:1: f has 91 lines (at most 80)"]
