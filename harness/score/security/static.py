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
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

from harness._util.archive import safe_extract
from harness._util.fs import atomic_write_bytes
from harness.records.security import Finding, SecurityReport
from harness.score.security import linters
from harness.score.security.linters import LINTERS

MAX_FILE_BYTES = 1_000_000
SUPPRESSED_EVERYWHERE = {"B104", "S104"}
SUPPRESSED_IN_TESTS = {"B101", "S101", "B105", "B106", "S105", "S106"}

TOOL_PREFERENCE = {"semgrep": 0, "bandit": 1, "ruff": 2}


def deduplicate(findings: list[Finding]) -> list[Finding]:
    """One finding per (file, line, cwe): the preferred tool's, naming the others in ``also``."""
    chosen: dict[tuple[str, int, str], Finding] = {}
    for finding in sorted(findings, key=lambda f: (TOOL_PREFERENCE.get(f.tool, 9), f.rule)):
        key = (finding.file, finding.line, finding.cwe)
        if key in chosen:
            kept = chosen[key]
            if finding.tool != kept.tool and finding.tool not in kept.also:
                chosen[key] = kept.model_copy(update={"also": [*kept.also, finding.tool]})
        else:
            chosen[key] = finding
    return sorted(chosen.values(), key=lambda f: (f.file, f.line, f.cwe))


def scan_tree(archive: bytes, dest: Path) -> int:
    """Unpack the workspace's regular .py files into ``dest``; links and oversized files are skipped.
    The number of files unpacked."""

    def wanted(member: tarfile.TarInfo) -> bool:
        return member.isfile() and member.name.endswith(".py") and member.size <= MAX_FILE_BYTES

    safe_extract(archive, dest, select=wanted)
    return sum(1 for path in dest.rglob("*.py") if path.is_file())


def _is_test_file(path: str) -> bool:
    parts = path.split("/")
    return "tests" in parts or "test" in parts or parts[-1].startswith("test_") or parts[-1] == "conftest.py"


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
            runs = {name: pool.submit(timed, name, LINTERS.get(name)) for name in LINTERS}
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
    code = Path(__file__).read_bytes() + Path(linters.__file__).read_bytes()
    for part in (__version__.encode(), rules, code, archive):
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
        atomic_write_bytes(path, report.model_dump_json().encode())
    return report
