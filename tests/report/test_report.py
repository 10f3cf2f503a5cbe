"""Reports from stored records (no Docker): every file is written and says what the records say."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from harness.records import RunManifest, SampleRecord, SampleStatus
from harness.records.security import Finding, ProbeResult, SecurityReport
from harness.report import write_report
from harness.report.gate import GateSpec
from harness.score.tests import CaseResult, SuiteScore
from harness.store import RunDir, RunStore


def record(variant: str, fixture: str, epoch: int, failing: list[str]) -> SampleRecord:
    cases = [
        CaseResult(nodeid=n, outcome="failed", seconds=0.1, message="AssertionError: expected 403, got 200")
        for n in failing
    ] + [CaseResult(nodeid=f"t{i}", outcome="passed", seconds=0.1) for i in range(9)]
    tests = SuiteScore(
        total=len(cases),
        passed=9,
        failed=len(failing),
        errors=0,
        skipped=0,
        pass_rate=9 / len(cases),
        all_pass=not failing,
        seconds=1.0,
        cases=cases,
    )
    security = SecurityReport(
        findings=[
            Finding(
                tool="semgrep",
                rule="crucible.sql-built-from-strings",
                cwe="CWE-89",
                severity="high",
                confidence="medium",
                file="app/db.py",
                line=3,
                message="SQL from strings",
                snippet="conn.execute(f'...')",
            )
        ]
        if failing
        else [],
        probes=[
            ProbeResult(
                probe="test_alg_none",
                cwe="CWE-347",
                result="exploited" if failing else "resisted",
                evidence="GET /users/me -> 200",
            )
        ],
    )
    status = SampleStatus.MODEL_FAILURE if failing else SampleStatus.OK
    return SampleRecord(
        run_id="r1",
        sample_id=f"{variant}.{fixture}.e{epoch}",
        fixture_id=fixture,
        variant=variant,
        epoch=epoch,
        status=status,
        reason="1 of 10 hidden tests failed" if failing else "",
        tests=tests,
        security=security,
        seconds={"total": 3.0},
    )


def stored_run(tmp_path: Path) -> RunDir:
    run = RunStore(tmp_path / "reports").create(RunManifest(run_id="r1", kind="run", crucible_version="0"))
    for fixture in ("f1", "f2"):
        for epoch in (1, 2, 3):
            for rec in (
                record("base", fixture, epoch, []),
                record("cand", fixture, epoch, ["test_admin.py::test_x"]),
            ):
                if rec.sample_id == "base.f1.e2":  # its first attempt was lost with the engine
                    rec = rec.model_copy(update={"attempts": 2, "retries": ["attempt 1: engine went away"]})
                run.write_record(f"samples/{rec.sample_id}/record.json", rec)
    return run


def test_report_files(tmp_path: Path) -> None:
    run = stored_run(tmp_path)
    files = write_report([run], run, baseline="base", spec=GateSpec(0.05))
    html = files.html.read_text()
    assert html.count("<svg") == 4
    assert not any(ref in html for ref in ('src="http', 'href="http', "<link", "<script src", "@import"))
    assert "candidate worse" in html and "CWE-89" in html and "expected 403, got 200" in html
    assert html.count("earlier ones abandoned") == 1 and "attempt 1: engine went away" in html
    # the gate, with its reason per metric, as the summary and `crucible compare` give it
    assert 'id="gates"' in html and "FAIL</strong> cand" in html and "tests: FAILS: " in html
    summary = files.summary.read_text()
    assert "| base | 6 |" in summary and "## cand vs base: FAIL" in summary
    assert "tests: FAILS: " in summary
    suites = ET.parse(files.junit).getroot()
    assert {s.get("name") for s in suites} == {"f1", "f2"}
    failures = [c.get("name") for c in suites.iter("testcase") if c.find("failure") is not None]
    assert "cand.f1.e1::tests" in failures and "cand.f1.e1::security" in failures
    assert not any(name.startswith("base.") for name in failures)
    table = pd.read_parquet(files.parquet)
    assert len(table) == 12 and set(table["variant"]) == {"base", "cand"}
    import datasets

    loaded = datasets.load_from_disk(str(files.dataset))
    assert loaded.num_rows == 12 and "tests" in loaded.column_names


def test_the_cwe_chart_legend_sits_beside_the_bars() -> None:
    import matplotlib.pyplot as plt
    import pandas as pd

    from harness.report.charts import cwe_figure

    rows = [
        {"variant": v, "cwe": c, "kind": k, "n": n}
        for v in ("backend-engineer-checklist", "backend-engineer-terse")
        for c, n in (("CWE-89", 4), ("CWE-256", 9), ("CWE-532", 2))
        for k in ("static", "exploited")
    ]
    figure = cwe_figure(pd.DataFrame(rows))
    figure.canvas.draw()
    (axis,) = figure.axes
    legend = axis.get_legend().get_window_extent()
    plot = axis.get_window_extent()
    assert legend.x0 >= plot.x1, (legend, plot)  # wholly to the right of the plotting area
    plt.close(figure)
