"""`crucible compare` on stored runs: the gate fails a clearly worse candidate, passes an equal one in
no-regression mode, and names a fixture one variant lacks; `--json` gives the same for scripts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness.records import RunManifest
from harness.store import RunStore
from tests.helpers import run_crucible
from tests.report.test_report import record


def store_pair(reports: Path, candidate_fails: bool, candidate_fixtures: int = 3) -> tuple[str, str]:
    """Two runs of 3 fixtures x 8 epochs; the baseline fails one test in every other epoch, the
    candidate the same (equal) or in every epoch (worse), on its first ``candidate_fixtures`` fixtures."""
    store = RunStore(reports)
    baseline_run = store.create(RunManifest(run_id="baseline-run", kind="run", crucible_version="0"))
    candidate_run = store.create(RunManifest(run_id="candidate-run", kind="run", crucible_version="0"))
    one = ["test_admin.py::test_x"]
    for index, fixture in enumerate(("f1", "f2", "f3")):
        for epoch in range(1, 9):
            base = record("base", fixture, epoch, one if epoch % 2 else [])
            baseline_run.write_record(f"samples/{base.sample_id}/record.json", base)
            if index >= candidate_fixtures:
                continue
            cand = record("cand", fixture, epoch, one if candidate_fails or epoch % 2 else [])
            candidate_run.write_record(f"samples/{cand.sample_id}/record.json", cand)
    return baseline_run.run_id, candidate_run.run_id


def gate(reports: Path, baseline: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_crucible(
        "compare", "--baseline", baseline, "--candidate", "cand", *extra, reports=reports, timeout=120
    )


def test_clearly_worse_candidate_fails_the_gate(tmp_path: Path) -> None:
    a, b = store_pair(tmp_path, candidate_fails=True)
    result = gate(tmp_path, "base", "--metric", "security", "--run", a, "--run", b)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "security: FAILS: the candidate is shown worse by more than the margin: difference" in result.stdout
    )
    assert "FAIL: cand vs base" in result.stdout


def test_an_equal_candidate_passes_no_regression_and_is_too_few_for_non_inferiority(tmp_path: Path) -> None:
    a, b = store_pair(tmp_path, candidate_fails=False)
    result = gate(tmp_path, "base", "--margin", "0.1", "--metric", "tests", "--run", a, "--run", b)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "tests: FAILS: cannot establish non-inferiority: the run is too small" in result.stdout
    assert "FAIL: cand vs base (non-inferiority, margin 0.1)" in result.stdout
    result = gate(
        tmp_path, "base", "--mode", "no-regression", "--metric", "tests", "--run", a, "--run", b, "--json"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = json.loads(result.stdout)
    assert found["mode"] == "no-regression" and found["gate"]["passed"] is True
    assert "no regression shown; this run detects differences of" in found["gate"]["reasons"][0]


def test_a_fixture_the_candidate_lacks_fails_unless_partial_is_allowed(tmp_path: Path) -> None:
    a, b = store_pair(tmp_path, candidate_fails=False, candidate_fixtures=2)
    args = ("--mode", "no-regression", "--metric", "tests", "--run", a, "--run", b)
    result = gate(tmp_path, "base", *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "judged on 2 of the suite's 3 fixtures; without samples of both variants: f3" in result.stdout
    result = gate(tmp_path, "base", *args, "--allow-partial")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "partial suite allowed, left out: f3" in result.stdout


def test_json_gives_the_differences_and_the_gate(tmp_path: Path) -> None:
    a, b = store_pair(tmp_path, candidate_fails=True)
    result = gate(tmp_path, "base", "--metric", "security", "--json", "--run", a, "--run", b)
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)
    security = next(d for d in found["differences"] if d["metric"] == "security")
    assert security["samples"] == {"baseline": 24, "candidate": 24} and security["fixtures"] == 3
    assert security["difference"] < 0 and security["interval"][0] < security["difference"]
    assert security["verdict"] == "candidate worse" and found["gate"]["passed"] is False
    cost = next(d for d in found["differences"] if d["metric"] == "cost")  # these records cost nothing
    assert cost["difference"] is None and cost["verdict"] == "no samples to compare"


def test_unknown_variant_or_metric_is_a_one_line_error(tmp_path: Path) -> None:
    a, b = store_pair(tmp_path, candidate_fails=False)
    result = gate(tmp_path, "nope", "--run", a, "--run", b)
    assert result.returncode == 2 and "variant 'nope' has no scored samples" in result.stderr
    result = gate(tmp_path, "base", "--metric", "speed", "--run", a)
    assert result.returncode == 2 and "--metric speed is unknown" in result.stderr
    result = gate(tmp_path, "base", "--mode", "lenient", "--run", a, "--run", b)
    assert result.returncode == 2 and "--mode lenient is unknown" in result.stderr
