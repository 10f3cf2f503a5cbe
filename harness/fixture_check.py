"""`crucible fixtures check`: a fixture must tell good from bad. Its reference must pass every check,
and each mutant must be caught exactly where its mutant.toml says."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.evaluate import Engine, evaluate_workspace
from harness.fixtures import Fixture, Mutant
from harness.records import SampleRecord, SampleStatus
from harness.store import RunDir


@dataclass(frozen=True)
class Verdict:
    fixture: str
    subject: str  # "reference" or "mutant <name>"
    expected: str
    observed: str
    ok: bool
    record: SampleRecord


def judge_reference(fixture: Fixture, record: SampleRecord) -> Verdict:
    tests = record.tests
    observed = record.reason or (f"{tests.passed}/{tests.total} tests passed" if tests else "no tests")
    ok = record.status is SampleStatus.OK and tests is not None and tests.all_pass
    return Verdict(fixture.id, "reference", "ok, every hidden test passes", observed, ok, record)


def judge_mutant(fixture: Fixture, mutant: Mutant, record: SampleRecord) -> Verdict:
    expect = mutant.spec.expect
    subject = f"mutant {mutant.name}"
    if record.status is SampleStatus.INFRA_FAILURE:
        return Verdict(fixture.id, subject, expect.check, f"infra failure: {record.reason}", False, record)
    if expect.check == "tests":
        wanted = set(expect.failing)
        failing = set(record.tests.failing()) if record.tests else set()
        expected = f"exactly these tests fail: {', '.join(sorted(wanted))}"
        if record.tests is None:
            return Verdict(fixture.id, subject, expected, f"no tests ran: {record.reason}", False, record)
        missed, extra = sorted(wanted - failing), sorted(failing - wanted)
        parts = ([f"not caught by {', '.join(missed)}"] if missed else []) + (
            [f"also failing: {', '.join(extra)}"] if extra else []
        )
        observed = "; ".join(parts) or f"caught by {len(wanted)} test(s)"
        return Verdict(fixture.id, subject, expected, observed, not parts, record)
    expected = f"status {expect.status}" + (
        f" with {expect.reason_contains!r}" if expect.reason_contains else ""
    )
    ok = record.status.value == expect.status and expect.reason_contains in record.reason
    return Verdict(fixture.id, subject, expected, f"{record.status.value}: {record.reason}", ok, record)


def check_fixture(
    engine: Engine, fixture: Fixture, run: RunDir, progress: Callable[[str], None] = lambda _l: None
) -> list[Verdict]:
    progress(f"{fixture.id}: reference")
    reference = evaluate_workspace(engine, fixture, fixture.reference, run, f"{fixture.id}.reference")
    verdicts = [judge_reference(fixture, reference)]
    for mutant in fixture.mutants():
        progress(f"{fixture.id}: mutant {mutant.name}")
        with tempfile.TemporaryDirectory(prefix="crucible-mutant-") as scratch:
            workspace = mutant.materialise(fixture.reference, Path(scratch) / "workspace")
            record = evaluate_workspace(engine, fixture, workspace, run, f"{fixture.id}.mutant.{mutant.name}")
        verdicts.append(judge_mutant(fixture, mutant, record))
    return verdicts
