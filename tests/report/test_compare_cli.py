"""`crucible compare` on stored runs: the gate fails a clearly worse candidate and passes an equal one."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.records import RunManifest
from harness.store import RunStore
from tests.helpers import run_crucible
from tests.report.test_report import record


def store_pair(reports: Path, candidate_fails: bool) -> tuple[str, str]:
    store = RunStore(reports)
    baseline_run = store.create(RunManifest(run_id="baseline-run", kind="run", crucible_version="0"))
    candidate_run = store.create(RunManifest(run_id="candidate-run", kind="run", crucible_version="0"))
    for fixture in ("f1", "f2", "f3"):
        for epoch in range(1, 6):
            base = record("base", fixture, epoch, [])
            baseline_run.write_record(f"samples/{base.sample_id}/record.json", base)
            cand = record("cand", fixture, epoch, ["test_admin.py::test_x"] if candidate_fails else [])
            candidate_run.write_record(f"samples/{cand.sample_id}/record.json", cand)
    return baseline_run.run_id, candidate_run.run_id


def gate(reports: Path, baseline: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_crucible(
        "compare", "--baseline", baseline, "--candidate", "cand", *extra, reports=reports, timeout=120
    )


def test_clearly_worse_candidate_fails_the_gate(tmp_path: Path) -> None:
    a, b = store_pair(tmp_path, candidate_fails=True)
    result = gate(tmp_path, "base", "--run", a, "--run", b)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "tests: FAILS: difference -0.100" in result.stdout and "FAIL: cand vs base" in result.stdout


def test_equal_candidate_passes_within_the_margin(tmp_path: Path) -> None:
    a, b = store_pair(tmp_path, candidate_fails=False)
    result = gate(tmp_path, "base", "--margin", "0.05", "--run", a, "--run", b)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS: cand vs base" in result.stdout and "FAILS" not in result.stdout


def test_unknown_variant_or_metric_is_a_one_line_error(tmp_path: Path) -> None:
    a, b = store_pair(tmp_path, candidate_fails=False)
    result = gate(tmp_path, "nope", "--run", a, "--run", b)
    assert result.returncode == 2 and "variant 'nope' has no scored samples" in result.stderr
    result = gate(tmp_path, "base", "--metric", "speed", "--run", a)
    assert result.returncode == 2 and "--metric speed is unknown" in result.stderr
