"""Crucible's semgrep rules (harness/score/security/rules/backend.yml), checked by semgrep's own test
runner against the annotated cases in tests/score/semgrep/backend.py: every line marked `ruleid` must
be reported by the rules it names, every line marked `ok` must not. The real semgrep runs, offline,
with no Docker."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

import harness.score.security
from harness.score.security.linters import semgrep

RULES_DIR = Path(harness.score.security.__file__).parent / "rules"
RULES = RULES_DIR / "backend.yml"
CASES_DIR = Path(__file__).parent / "semgrep"
CASES = CASES_DIR / "backend.py"
ANNOTATION = re.compile(r"^\s*#\s*(ruleid|ok):\s*(?P<ids>\S.*)$")


def semgrep_binary() -> str:
    beside = Path(sys.executable).with_name("semgrep")
    return str(beside) if beside.exists() else (shutil.which("semgrep") or "semgrep")


def rules() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = yaml.safe_load(RULES.read_text())["rules"]
    return loaded


def annotations(text: str) -> dict[str, Counter[str]]:
    """rule id -> how many `ruleid` and `ok` lines name it in the test cases ``text``."""
    counts: dict[str, Counter[str]] = {}
    for line in text.splitlines():
        match = ANNOTATION.match(line)
        if match:
            for rule in match["ids"].split(","):
                counts.setdefault(rule.strip(), Counter())[match[1]] += 1
    return counts


@pytest.fixture(scope="module")
def semgrep_test() -> dict[str, Any]:
    command = [
        semgrep_binary(),
        "scan",
        "--test",
        "--json",
        "--metrics=off",
        "--disable-version-check",
        "--config",
        str(RULES_DIR),
        str(CASES_DIR),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_semgrep_test_passes_for_every_rule(semgrep_test: dict[str, Any]) -> None:
    assert semgrep_test["config_with_errors"] == []
    assert semgrep_test["config_missing_tests"] == []
    (checks,) = [r["checks"] for path, r in semgrep_test["results"].items() if Path(path).name == RULES.name]
    ids = [rule["id"] for rule in rules()]
    assert sorted(checks) == sorted(ids)
    for rule in ids:
        check = checks[rule]
        assert check["passed"] is True, (rule, check)
        assert check["errors"] == [], (rule, check["errors"])
        (matches,) = [m for path, m in check["matches"].items() if Path(path).name == CASES.name]
        assert matches["expected_lines"], f"{rule}: no line it must report"
        assert matches["reported_lines"] == matches["expected_lines"], (rule, matches)


def test_every_rule_has_a_flagged_case_and_a_near_miss() -> None:
    counts = annotations(CASES.read_text())
    ids = {rule["id"] for rule in rules()}
    assert set(counts) <= ids, f"cases for rules that do not exist: {sorted(set(counts) - ids)}"
    missing = {
        rule: [kind for kind in ("ruleid", "ok") if not counts.get(rule, Counter())[kind]]
        for rule in sorted(ids)
    }
    assert {rule: kinds for rule, kinds in missing.items() if kinds} == {}


def test_the_annotation_check_sees_a_missing_near_miss() -> None:
    counts = annotations("# ruleid: crucible.a, crucible.b\nx = 1\n# ok: crucible.b\ny = 2\n")
    assert counts["crucible.a"] == Counter(ruleid=1)
    assert counts["crucible.b"] == Counter(ruleid=1, ok=1)


def test_every_rule_has_a_cwe_and_a_confidence() -> None:
    for rule in rules():
        assert re.fullmatch(r"CWE-\d+", rule["metadata"]["cwe"]), rule["id"]
        assert rule["metadata"]["confidence"] in {"LOW", "MEDIUM", "HIGH"}, rule["id"]
        assert rule["id"].startswith("crucible."), rule["id"]


def test_the_linter_reports_rule_ids_and_cwes_as_written(tmp_path: Path) -> None:
    """The static scan's own semgrep call: findings carry the rule's id and its metadata's CWE. (On a
    copy: semgrep's default ignore list skips a tests/ directory of the repository it runs in.)"""
    shutil.copy(CASES, tmp_path / CASES.name)
    findings, error = semgrep(tmp_path)
    assert not error, error
    cwe = {rule["id"]: rule["metadata"]["cwe"] for rule in rules()}
    assert findings and all(f.file == CASES.name for f in findings)
    assert {f.rule for f in findings} == set(cwe)
    assert all(f.cwe == cwe[f.rule] for f in findings), [(f.rule, f.cwe) for f in findings]
