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
    tests, migrations, security = record.tests, record.migrations, record.security
    observed = record.reason or (f"{tests.passed}/{tests.total} tests passed" if tests else "no tests")
    if migrations is not None:
        failing = migrations.failing()
        observed += f"; migrations {migrations.score():.2f}" + (f" ({', '.join(failing)})" if failing else "")
    if security is not None:
        insecure = security.failing()
        observed += f"; security {security.score():.2f}" + (f" ({', '.join(insecure)})" if insecure else "")
    ok = (
        record.status is SampleStatus.OK
        and tests is not None
        and tests.all_pass
        and (migrations is None or not migrations.failing())
        and (security is None or not security.failing())
    )
    return Verdict(
        fixture.id,
        "reference",
        "ok: every hidden test, migration and security check passes",
        observed,
        ok,
        record,
    )


def judge_mutant(fixture: Fixture, mutant: Mutant, record: SampleRecord) -> Verdict:
    """Caught as declared: the status (when pinned) matches, and for every kind of check the sample
    has results for, exactly the named checks fail and all others pass."""
    expect = mutant.spec.expect
    subject = f"mutant {mutant.name}"
    declared = {"tests": expect.tests, "migrations": expect.migrations, "security": expect.security}
    expected = "; ".join(
        (
            [f"status {expect.status}" + (f" ({expect.reason_contains!r})" if expect.reason_contains else "")]
            if expect.status
            else []
        )
        + [f"{kind} failing: {', '.join(names)}" for kind, names in declared.items() if names]
    )
    if record.status is SampleStatus.INFRA_FAILURE:
        return Verdict(fixture.id, subject, expected, f"infra failure: {record.reason}", False, record)
    problems: list[str] = []
    if expect.status and (
        record.status.value != expect.status or expect.reason_contains not in record.reason
    ):
        problems.append(f"status {record.status.value}: {record.reason}")
    observed = {
        "tests": set(record.tests.failing()) if record.tests else None,
        "migrations": set(record.migrations.failing()) if record.migrations else None,
        "security": set(record.security.failing()) if record.security else None,
    }
    for kind, names in declared.items():
        failing = observed[kind]
        if failing is None:
            if names:
                problems.append(f"no {kind} results ({record.reason or 'not run'})")
            continue
        missed, extra = sorted(set(names) - failing), sorted(failing - set(names))
        if missed:
            problems.append(f"{kind} not caught by {', '.join(missed)}")
        if extra:
            problems.append(f"{kind} also failing: {', '.join(extra)}")
    caught = [f"{kind}: {len(names)}" for kind, names in declared.items() if names]
    text = "; ".join(problems) or "caught as declared" + (f" ({', '.join(caught)})" if caught else "")
    return Verdict(fixture.id, subject, expected, text, not problems, record)


def check_fixture(
    engine: Engine,
    fixture: Fixture,
    run: RunDir,
    progress: Callable[[str], None] = lambda _l: None,
    only: set[str] | None = None,
) -> list[Verdict]:
    """Verdicts on the reference and every mutant (or only the ones named in ``only``)."""
    verdicts = []
    if not only or "reference" in only:
        progress(f"{fixture.id}: reference")
        reference = evaluate_workspace(engine, fixture, fixture.reference, run, f"{fixture.id}.reference")
        verdicts.append(judge_reference(fixture, reference))
    for mutant in fixture.mutants():
        if only and mutant.name not in only:
            continue
        progress(f"{fixture.id}: mutant {mutant.name}")
        with tempfile.TemporaryDirectory(prefix="crucible-mutant-") as scratch:
            workspace = mutant.materialise(fixture.reference, Path(scratch) / "workspace")
            record = evaluate_workspace(engine, fixture, workspace, run, f"{fixture.id}.mutant.{mutant.name}")
        verdicts.append(judge_mutant(fixture, mutant, record))
    return verdicts
