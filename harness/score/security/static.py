"""Static lint of a workspace: semgrep with Crucible's own rules, bandit, and ruff's S rules, run on
the host over a copy of the workspace's Python files (regular files only: links are never followed),
normalised to :class:`Finding` and de-duplicated on (file, line, CWE).

Suppressed, because the runtime contract or ordinary practice makes them unavoidable or harmless:
- binding every interface (bandit B104, ruff S104): the contract has the app listen on 0.0.0.0 inside
  its pod, which has no other interface than loopback;
- `assert` (B101, S101) and hard-coded passwords (B105, B106, S105, S106) in the workspace's own tests.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

from harness.score.security.findings import Finding, Level, SecurityReport, deduplicate

MAX_FILE_BYTES = 1_000_000
TOOL_TIMEOUT_S = 120
SUPPRESSED_EVERYWHERE = {"B104", "S104"}
SUPPRESSED_IN_TESTS = {"B101", "S101", "B105", "B106", "S105", "S106"}
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


def scan_tree(archive: bytes, dest: Path) -> int:
    """Unpack the workspace's regular .py files into ``dest``; links and oversized files are skipped."""
    count = 0
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".py") or member.size > MAX_FILE_BYTES:
                continue
            parts = [p for p in member.name.split("/") if p not in ("", ".")]
            if ".." in parts:
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is not None:
                target.write_bytes(source.read())
                count += 1
    return count


def _level(value: str) -> Level:
    levels: dict[str, Level] = {"low": "low", "medium": "medium", "high": "high"}
    return levels.get(value.lower(), "medium")


def _is_test_file(path: str) -> bool:
    parts = path.split("/")
    return "tests" in parts or "test" in parts or parts[-1].startswith("test_") or parts[-1] == "conftest.py"


def _run(command: list[str], cwd: Path) -> tuple[Any, str]:
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
        data, error = _run(
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
    data, error = _run([sys.executable, "-m", "bandit", "-r", ".", "-f", "json", "-q"], root)
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
    data, error = _run(
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


def _with_snippet(root: Path, finding: Finding) -> Finding:
    """The finding with its source line read from the scanned copy (tools differ in what they give)."""
    path = (root / finding.file).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return finding
    lines = path.read_text(errors="replace").splitlines()
    if 0 < finding.line <= len(lines):
        return finding.model_copy(update={"snippet": lines[finding.line - 1].strip()[:300]})
    return finding


def suppressed(finding: Finding) -> bool:
    if finding.rule in SUPPRESSED_EVERYWHERE:
        return True
    return finding.rule in SUPPRESSED_IN_TESTS and _is_test_file(finding.file)


def static_scan(archive: bytes) -> SecurityReport:
    """Lint the workspace in ``archive`` with all three tools (in parallel) and normalise the results."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crucible-lint-") as scratch:
        root = Path(scratch).resolve()
        scan_tree(archive, root)
        seconds: dict[str, float] = {}

        def timed(name: str, tool: Any) -> tuple[list[Finding], str]:
            mark = time.monotonic()
            result: tuple[list[Finding], str] = tool(root)
            seconds[name] = round(time.monotonic() - mark, 3)
            return result

        with ThreadPoolExecutor(max_workers=3) as pool:
            runs = {
                name: pool.submit(timed, name, tool)
                for name, tool in (("semgrep", semgrep), ("bandit", bandit), ("ruff", ruff))
            }
            results = {name: future.result() for name, future in runs.items()}
        everything = [_with_snippet(root, f) for findings, _ in results.values() for f in findings]
    kept = [f for f in everything if not suppressed(f)]
    errors = [f"{name}: {error}" for name, (_, error) in results.items() if error]
    seconds["static"] = round(time.monotonic() - started, 3)
    return SecurityReport(
        findings=deduplicate(kept),
        suppressed=len(everything) - len(kept),
        tool_errors=errors,
        seconds=seconds,
    )


def _scan_key(archive: bytes) -> str:
    """The workspace's content, the rules and Crucible's version: what a scan's result depends on
    (the tools are pinned by Crucible's own requirements)."""
    from harness import __version__

    rules = (resources.files("harness.score.security") / "rules" / "backend.yml").read_bytes()
    digest = hashlib.sha256()
    for part in (__version__.encode(), rules, Path(__file__).read_bytes(), archive):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


def cached_static_scan(archive: bytes, cache_dir: Path) -> SecurityReport:
    """:func:`static_scan`, reused for a workspace already scanned (epochs that wrote the same code);
    a reused report says so in its timings (`static` 0, `cached` 1)."""
    path = cache_dir / "static-lint" / f"{_scan_key(archive)}.json"
    if path.is_file():
        try:
            report = SecurityReport.model_validate_json(path.read_bytes())
            return report.model_copy(update={"seconds": {"static": 0.0, "cached": 1.0}})
        except ValueError:
            path.unlink(missing_ok=True)
    report = static_scan(archive)
    if not report.tool_errors:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        scratch.write_text(report.model_dump_json())
        os.replace(scratch, path)
    return report
