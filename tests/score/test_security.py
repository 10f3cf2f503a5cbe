"""Security scoring on recorded outputs and small workspaces (no Docker): probe results, static
findings' normalisation, suppression and de-duplication, and the score."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from harness.records.security import Finding, ProbeResult, SecurityReport
from harness.score.security.probes import parse_probes
from harness.score.security.static import deduplicate, scan_tree, static_scan, suppressed
from harness.workspace import pack

RECORDED = Path(__file__).parent.parent / "data" / "recorded"


def finding(
    tool: str, rule: str, cwe: str, line: int = 3, severity: str = "high", file: str = "app/x.py"
) -> Finding:
    return Finding.model_validate(
        {
            "tool": tool,
            "rule": rule,
            "cwe": cwe,
            "severity": severity,
            "confidence": "high",
            "file": file,
            "line": line,
            "message": "m",
        }
    )


def test_recorded_probes_read_as_cwe_tagged_results() -> None:
    results = {
        p.probe: p for p in parse_probes((RECORDED / "probes-jwt-signature-unchecked.xml").read_bytes())
    }
    assert len(results) == 13
    assert {name for name, p in results.items() if p.result == "exploited"} == {
        "test_forged_signature",
        "test_alg_none",
        "test_expired_token",
        "test_refresh_token_as_access_token",
    }
    assert results["test_alg_none"].cwe == "CWE-347" and "unsigned token" in results["test_alg_none"].evidence
    assert results["test_sql_injection_in_login"].result == "resisted"
    assert all(p.cwe.startswith("CWE-") for p in results.values())


def test_recorded_report_scores_and_names_failures() -> None:
    report = SecurityReport.model_validate_json(
        (RECORDED / "security-jwt-signature-unchecked.json").read_text()
    )
    assert not report.secure
    assert report.failing() == [
        "probe:test_alg_none",
        "probe:test_expired_token",
        "probe:test_forged_signature",
        "probe:test_refresh_token_as_access_token",
        "static:crucible.jwt-decode-unverified",
    ]
    assert report.per_cwe()["CWE-347"] == {"static": 1, "exploited": 2}
    assert 0 < report.score() < 0.7


def test_score_formula() -> None:
    clean = SecurityReport(probes=[ProbeResult(probe="a", cwe="CWE-1", result="resisted")])
    assert clean.score() == 1.0 and clean.secure and clean.failing() == []
    half = SecurityReport(
        probes=[
            ProbeResult(probe="a", cwe="CWE-1", result="resisted"),
            ProbeResult(probe="b", cwe="CWE-2", result="exploited"),
            ProbeResult(probe="c", cwe="CWE-3", result="inconclusive"),
        ]
    )
    assert half.score() == 0.5 and not half.secure
    linted = SecurityReport(findings=[finding("semgrep", "r", "CWE-89")], probes=None)
    assert linted.score() == round(1 / 2, 4)  # one high/high finding: penalty 1
    low = SecurityReport(findings=[finding("ruff", "S105", "CWE-259", severity="low")])
    assert low.failing() == [] and low.score() == round(1 / 1.1, 4)


def test_deduplication_keeps_the_preferred_tool_and_names_the_others() -> None:
    kept = deduplicate(
        [
            finding("ruff", "S608", "CWE-89"),
            finding("bandit", "B608", "CWE-89"),
            finding("semgrep", "crucible.sql-built-from-strings", "CWE-89"),
            finding("bandit", "B608", "CWE-89", line=9),
        ]
    )
    assert [(f.tool, f.line, f.also) for f in kept] == [("semgrep", 3, ["bandit", "ruff"]), ("bandit", 9, [])]


def test_suppression_list() -> None:
    assert suppressed(finding("bandit", "B104", "CWE-605"))
    assert suppressed(finding("bandit", "B101", "CWE-703", file="tests/test_api.py"))
    assert not suppressed(finding("bandit", "B101", "CWE-703", file="app/main.py"))
    assert suppressed(finding("ruff", "S105", "CWE-259", file="app/tests/conftest.py"))
    assert not suppressed(finding("ruff", "S105", "CWE-259", file="app/config.py"))


def test_scan_tree_takes_python_files_only_and_never_links(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / "app").mkdir(parents=True)
    (workspace / "app" / "main.py").write_text("x = 1\n")
    (workspace / "README.md").write_text("hi\n")
    os.symlink("/etc/passwd", workspace / "app" / "leak.py")
    archive, _, _ = pack(workspace)
    dest = tmp_path / "scan"
    assert scan_tree(archive, dest) == 1
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == ["app/main.py"]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("../escape.py")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    assert scan_tree(buffer.getvalue(), tmp_path / "scan2") == 0
    assert not (tmp_path / "escape.py").exists()


def test_static_scan_of_a_vulnerable_workspace(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / "app").mkdir(parents=True)
    (workspace / "app" / "db.py").write_text(
        "import subprocess\n\n\ndef find(conn, email):\n"
        "    return conn.execute(f\"SELECT * FROM users WHERE email = '{email}'\")\n\n\n"
        "def backup(name):\n    subprocess.run(f'pg_dump > {name}', shell=True)\n\n\n"
        "HOST = '0.0.0.0'\n"
    )
    report = static_scan(pack(workspace)[0])
    assert report.tool_errors == []
    rules = {(f.tool, f.rule, f.cwe) for f in report.findings}
    assert ("semgrep", "crucible.sql-built-from-strings", "CWE-89") in rules
    assert ("semgrep", "crucible.shell-command", "CWE-78") in rules
    sql = next(f for f in report.findings if f.cwe == "CWE-89")
    assert sql.file == "app/db.py" and sql.line == 5 and "bandit" in sql.also and "SELECT" in sql.snippet
    assert report.suppressed >= 1  # binding every interface (B104/S104)
    assert set(report.seconds) >= {"semgrep", "bandit", "ruff", "static"}
