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
    tests, migrations = record.tests, record.migrations
    observed = record.reason or (f"{tests.passed}/{tests.total} tests passed" if tests else "no tests")
    if migrations is not None:
        failing = migrations.failing()
        observed += f"; migrations {migrations.score():.2f}" + (f" ({', '.join(failing)})" if failing else "")
    ok = (
        record.status is SampleStatus.OK
        and tests is not None
        and tests.all_pass
        and (migrations is None or not migrations.failing())
    )
    return Verdict(
        fixture.id, "reference", "ok: every hidden test and migration check passes", observed, ok, record
    )


def _exact(kind: str, wanted: set[str], failing: set[str]) -> tuple[str, list[str]]:
    expected = f"exactly these {kind} fail: {', '.join(sorted(wanted))}"
    missed, extra = sorted(wanted - failing), sorted(failing - wanted)
    problems = ([f"not caught by {', '.join(missed)}"] if missed else []) + (
        [f"also failing: {', '.join(extra)}"] if extra else []
    )
    return expected, problems


def judge_mutant(fixture: Fixture, mutant: Mutant, record: SampleRecord) -> Verdict:
    """A mutant is caught as declared when exactly the declared checks fail and every other check of
    the sample passes (a mutant of the migrations must not break hidden tests, and the reverse)."""
    expect = mutant.spec.expect
    subject = f"mutant {mutant.name}"
    if record.status is SampleStatus.INFRA_FAILURE:
        return Verdict(fixture.id, subject, expect.check, f"infra failure: {record.reason}", False, record)
    if expect.check == "status":
        expected = f"status {expect.status}" + (
            f" with {expect.reason_contains!r}" if expect.reason_contains else ""
        )
        ok = record.status.value == expect.status and expect.reason_contains in record.reason
        return Verdict(fixture.id, subject, expected, f"{record.status.value}: {record.reason}", ok, record)
    tests = set(record.tests.failing()) if record.tests else None
    migrations = set(record.migrations.failing()) if record.migrations else None
    observed = {"tests": tests, "migrations": migrations}[expect.check]
    if observed is None:
        return Verdict(
            fixture.id, subject, expect.check, f"no {expect.check} results: {record.reason}", False, record
        )
    expected, problems = _exact(expect.check, set(expect.failing), observed)
    other = migrations if expect.check == "tests" else tests
    if other:
        problems.append(
            f"{'migration checks' if expect.check == 'tests' else 'tests'} also fail: "
            + ", ".join(sorted(other))
        )
    text = "; ".join(problems) or f"caught by {len(expect.failing)} {expect.check} check(s)"
    return Verdict(fixture.id, subject, expected, text, not problems, record)


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
