"""`crucible fixtures check --reruns K`: a subject whose verdicts differ between reruns is flaky,
and the difference is spelled out (fabricated verdicts, no Docker); one real rerun of jwt-auth's
reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.execute.fixture_check import Checked, Signature, rerun_differences
from harness.fixtures.judge import Verdict
from harness.records import SampleRecord, SampleStatus
from harness.records.security import ProbeResult, SecurityReport
from harness.records.tests import CaseResult, SuiteScore
from tests.helpers import run_crucible

NODES = ["test_a.py::test_one", "test_a.py::test_two"]


def verdict(failing: tuple[str, ...] = (), *, ok: bool = True, exploited: tuple[str, ...] = ()) -> Verdict:
    cases = [CaseResult(nodeid=n, outcome="failed" if n in failing else "passed", seconds=0.1) for n in NODES]
    passed = len(NODES) - len(failing)
    tests = SuiteScore(
        total=len(NODES),
        passed=passed,
        failed=len(failing),
        errors=0,
        skipped=0,
        pass_rate=passed / len(NODES),
        all_pass=not failing,
        seconds=1.0,
        cases=cases,
    )
    probes = [ProbeResult(probe=name, cwe="CWE-1", result="exploited") for name in exploited]
    status = SampleStatus.MODEL_FAILURE if failing else SampleStatus.OK
    record = SampleRecord(
        run_id="r",
        sample_id="s",
        fixture_id="f",
        status=status,
        reason=f"{len(failing)} of 2 hidden tests failed" if failing else "",
        tests=tests,
        security=SecurityReport(probes=probes),
    )
    return Verdict("f", "mutant m", "tests failing: test_a.py::test_one", "observed", ok, record)


def test_the_same_verdict_every_time_is_stable() -> None:
    runs = (verdict(), verdict(), verdict())
    assert rerun_differences(list(runs)) == []
    checked = Checked(runs)
    assert checked.ok and not checked.flaky and checked.verdict is runs[0]


def test_a_test_that_fails_only_sometimes_is_named() -> None:
    runs = (
        verdict(("test_a.py::test_one",)),
        verdict(("test_a.py::test_one",)),
        verdict(("test_a.py::test_two",), ok=False),
    )
    assert rerun_differences(list(runs)) == [
        "run 3: SURPRISE (run 1: as expected); tests failing +test_a.py::test_two -test_a.py::test_one"
    ]
    checked = Checked(runs)
    assert checked.flaky and not checked.ok


def test_a_status_change_and_a_probe_are_differences_even_with_the_same_verdict() -> None:
    runs = [verdict(), verdict(("test_a.py::test_one",)), verdict(exploited=("test_idor",))]
    lines = rerun_differences(runs)
    assert lines[0].startswith("run 2: status model_failure: 1 of 2 hidden tests failed (run 1: ok)")
    assert lines[0].endswith("tests failing +test_a.py::test_one")
    assert lines[1] == "run 3: security failing +probe:test_idor"
    # both runs were "as expected" by the judge, yet the subject is flaky: it fails the check
    assert all(v.ok for v in runs) and not Checked(tuple(runs)).ok


def test_checks_that_did_not_run_differ_from_checks_that_passed() -> None:
    ran = verdict()
    assert ran.record is not None
    skipped = Verdict(
        "f", "reference", "ok", "never ready", False, ran.record.model_copy(update={"security": None})
    )
    (line,) = rerun_differences([ran, skipped])
    assert "security not run (run 1: all passing)" in line
    assert Signature.of(Verdict("f", "spec coverage", "", "", True)) == Signature(True, "", ())


@pytest.mark.docker
def test_reruns_of_the_reference_agree(tmp_path: Path, images: Any) -> None:
    result = run_crucible(
        "fixtures", "check", "jwt-auth", "-s", "reference", "--reruns", "2", reports=tmp_path
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 of 1 as expected, 0 flaky over 2 runs each" in result.stdout
    assert "the same 2 times" in result.stdout
    (run,) = tmp_path.glob("runs/*")
    assert {p.name for p in (run / "samples").iterdir()} == {"jwt-auth.reference", "jwt-auth.reference.r2"}
