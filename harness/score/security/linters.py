"""The static linters, each run on a scratch copy of a workspace's Python files and normalised to
:class:`~harness.records.security.Finding`. They register by name in :data:`LINTERS`; the static scan
runs every one of them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from harness._util.registry import Registry
from harness.records.security import Finding, Level

Linter = Callable[[Path], tuple[list[Finding], str]]
LINTERS: Registry[Linter] = Registry("static linter", "linter")
TOOL_TIMEOUT_S = 120
# CWE ids and severities for ruff's S rules (ruff reports neither), after bandit's own for the same checks;
# codes not listed are low severity.
RUFF_CWE = {
    "S102": "CWE-78",
    "S103": "CWE-732",
    "S105": "CWE-259",
    "S106": "CWE-259",
    "S107": "CWE-259",
    "S108": "CWE-377",
    "S113": "CWE-400",
    "S301": "CWE-502",
    "S307": "CWE-78",
    "S311": "CWE-330",
    "S324": "CWE-327",
    "S501": "CWE-295",
    "S506": "CWE-20",
    "S602": "CWE-78",
    "S604": "CWE-78",
    "S605": "CWE-78",
    "S608": "CWE-89",
    "S701": "CWE-94",
}
RUFF_SEVERITY: dict[str, Level] = {
    "S102": "medium",
    "S301": "medium",
    "S307": "medium",
    "S324": "medium",
    "S501": "high",
    "S506": "medium",
    "S602": "high",
    "S604": "high",
    "S605": "high",
    "S608": "medium",
    "S701": "high",
}
SEMGREP_LEVEL: dict[str, Level] = {"ERROR": "high", "WARNING": "medium", "INFO": "low"}


def _level(value: str) -> Level:
    levels: dict[str, Level] = {"low": "low", "medium": "medium", "high": "high"}
    return levels.get(value.lower(), "medium")


def _invoke(command: list[str], cwd: Path) -> tuple[Any, str]:
    try:
        proc = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{command[0]}: {exc}"
    try:
        return json.loads(proc.stdout or "null"), ""
    except json.JSONDecodeError:
        return None, f"{Path(command[0]).name}: {(proc.stderr or proc.stdout).strip()[-300:]}"


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def semgrep(root: Path) -> tuple[list[Finding], str]:
    rules = resources.files("harness.score.security") / "rules" / "backend.yml"
    with resources.as_file(rules) as rules_path:
        data, error = _invoke(
            [
                _tool("semgrep"),
                "scan",
                "--config",
                str(rules_path),
                "--json",
                "--metrics=off",
                "--disable-version-check",
                "--quiet",
                "--no-git-ignore",
                ".",
            ],
            root,
        )
    findings = []
    for item in (data or {}).get("results", []):
        extra = item.get("extra", {})
        meta = extra.get("metadata", {})
        rule = "crucible." + str(item.get("check_id", "")).rsplit("crucible.", 1)[-1]
        findings.append(
            Finding(
                tool="semgrep",
                rule=rule,
                cwe=str(meta.get("cwe", "")),
                severity=SEMGREP_LEVEL.get(extra.get("severity"), "medium"),
                confidence=_level(str(meta.get("confidence", "medium"))),
                file=str(item.get("path", "")),
                line=int(item.get("start", {}).get("line", 0)),
                message=str(extra.get("message", "")),
                snippet=str(extra.get("lines", "")).strip()[:300],
            )
        )
    errors = [e.get("message", "") for e in (data or {}).get("errors", [])]
    return findings, error or "; ".join(errors)[:300]


def bandit(root: Path) -> tuple[list[Finding], str]:
    data, error = _invoke([sys.executable, "-m", "bandit", "-r", ".", "-f", "json", "-q"], root)
    findings = []
    for item in (data or {}).get("results", []):
        cwe = item.get("issue_cwe") or {}
        findings.append(
            Finding(
                tool="bandit",
                rule=str(item.get("test_id", "")),
                cwe=f"CWE-{cwe['id']}" if cwe.get("id") else "",
                severity=_level(item.get("issue_severity", "")),
                confidence=_level(item.get("issue_confidence", "")),
                file=str(item.get("filename", "")).removeprefix("./"),
                line=int(item.get("line_number", 0)),
                message=str(item.get("issue_text", "")),
                snippet=str(item.get("code", "")).strip()[:300],
            )
        )
    return findings, error


def ruff(root: Path) -> tuple[list[Finding], str]:
    data, error = _invoke(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "S",
            "--output-format",
            "json",
            "--exit-zero",
            ".",
        ],
        root,
    )
    findings = []
    for item in data or []:
        code = str(item.get("code", ""))
        path = Path(str(item.get("filename", "")))
        relative = (
            str(path.relative_to(root)) if path.is_absolute() and path.is_relative_to(root) else str(path)
        )
        findings.append(
            Finding(
                tool="ruff",
                rule=code,
                cwe=RUFF_CWE.get(code, ""),
                severity=RUFF_SEVERITY.get(code, "low"),
                confidence="medium",
                file=relative,
                line=int(item.get("location", {}).get("row", 0)),
                message=str(item.get("message", "")),
            )
        )
    return findings, error


LINTERS.add("semgrep", semgrep)
LINTERS.add("bandit", bandit)
LINTERS.add("ruff", ruff)
