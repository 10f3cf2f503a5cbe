"""`crucible plan` on the demo grid (Docker: it keys the cells with the engine's images) prints what the
run can decide, and its chances match an independent simulation through compare() and gate()."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness.records import RunManifest, SampleRecord
from harness.report.power import RUNS
from harness.store import RunStore
from tests.helpers import PROJECT, run_crucible, suite_score
from tests.report.test_power import assert_matches, public_chances

RECORDED = PROJECT / "tests" / "data" / "recorded" / "demo"
BASE, CAND = "backend-engineer-checklist", "backend-engineer-terse"
PASSED = (20, 19, 20, 14, 20, 0)  # of 20 hidden tests: steady, one flaky, one bad, one that did not build


def seed(reports: Path) -> np.ndarray:
    """Earlier samples of the baseline on jwt-auth with these test results; their pass rates."""
    run = RunStore(reports).create(RunManifest(run_id="earlier", kind="run", crucible_version="0"))
    recorded = SampleRecord.model_validate_json((RECORDED / f"{BASE}.jwt-auth.json").read_text())
    for epoch, passed in enumerate(PASSED, start=1):
        sample_id = f"{BASE}.jwt-auth.e{epoch}"
        update = {
            "run_id": run.run_id,
            "sample_id": sample_id,
            "epoch": epoch,
            "workspace_digest": f"earlier-{epoch}",
            "tests": suite_score(passed, 20),
        }
        run.write_record(f"samples/{sample_id}/record.json", recorded.model_copy(update=update))
    return np.array(PASSED) / 20


def test_plan_prints_the_decision_chances_and_they_match_a_simulation(tmp_path: Path) -> None:
    pool = seed(tmp_path)
    variants = f"agents/{BASE}.md,agents/{CAND}.md"
    args = ("plan", "--replay", "--variants", variants, "--fixtures", "jwt-auth", "--epochs", "6")
    args += ("--baseline", BASE, "--margin", "0.1")
    shown = run_crucible(*args, reports=tmp_path, timeout=600)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert f"what the run can decide for {CAND}" in shown.stdout and "no-regression" in shown.stdout
    found = json.loads(run_crucible(*args, "--json", reports=tmp_path, timeout=600).stdout)
    assert found["history"].startswith("6 earlier samples") or "earlier samples" in found["history"]
    tests = {c["mode"]: c for c in found["decisions"][CAND]["tests"]}
    checks = 300
    equal = public_chances([pool], 6, 0.1, checks, 0.0, seed=5)
    worse = public_chances([pool], 6, 0.1, checks, 0.1 / float(pool.mean()), seed=6)
    assert_matches(tests, equal, worse, RUNS, checks)
