"""`crucible fixtures check`: evaluate a fixture's reference and every mutant, and judge each
(:mod:`harness.fixtures.judge`); with reruns, score each subject several times and call it flaky
when the reruns' verdicts differ."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness.fixtures import Fixture, Mutant
from harness.fixtures.judge import Verdict, judge_coverage, judge_mutant, judge_reference
from harness.pipeline.engine import Engine
from harness.pipeline.evaluate import evaluate_workspace
from harness.records import Check
from harness.store import RunDir

Subject = tuple[Fixture, Mutant | None]  # a fixture's reference (None) or one of its mutants


@dataclass(frozen=True)
class Signature:
    """What a rerun must reproduce: the verdict, how the sample ended, and which checks failed."""

    ok: bool
    status: str
    failing: tuple[tuple[str, frozenset[str] | None], ...]  # (kind, names), None when not run

    @classmethod
    def of(cls, verdict: Verdict) -> Signature:
        record = verdict.record
        if record is None:  # a verdict on the fixture's files, not on an evaluated sample
            return cls(verdict.ok, "", ())
        failing = []
        for check in Check:
            names = record.failing(check)
            failing.append((check.value, None if names is None else frozenset(names)))
        return cls(verdict.ok, record.status.value, tuple(failing))


def _verdict_word(ok: bool) -> str:
    return "as expected" if ok else "SURPRISE"


def _names(failing: frozenset[str] | None) -> str:
    if failing is None:
        return "not run"
    return f"failing {', '.join(sorted(failing))}" if failing else "all passing"


def rerun_differences(verdicts: list[Verdict]) -> list[str]:
    """How each rerun's verdict differs from the first run's, one line per differing rerun (none
    when the subject is stable)."""
    first = Signature.of(verdicts[0])
    lines = []
    for number, verdict in enumerate(verdicts[1:], start=2):
        other = Signature.of(verdict)
        if other == first:
            continue
        parts = []
        if other.ok != first.ok:
            parts.append(f"{_verdict_word(other.ok)} (run 1: {_verdict_word(first.ok)})")
        if other.status != first.status:
            reason = f": {verdict.record.reason}" if verdict.record and verdict.record.reason else ""
            parts.append(f"status {other.status}{reason} (run 1: {first.status})")
        for (kind, before), (_, after) in zip(first.failing, other.failing, strict=True):
            if before == after:
                continue
            if before is None or after is None:
                parts.append(f"{kind} {_names(after)} (run 1: {_names(before)})")
                continue
            added, gone = sorted(after - before), sorted(before - after)
            parts.append(f"{kind} failing " + " ".join([f"+{n}" for n in added] + [f"-{n}" for n in gone]))
        lines.append(f"run {number}: " + "; ".join(parts))
    return lines


@dataclass(frozen=True)
class Checked:
    """One subject's verdicts, one per rerun, the first run's first."""

    verdicts: tuple[Verdict, ...]

    @property
    def verdict(self) -> Verdict:
        return self.verdicts[0]

    @property
    def differences(self) -> list[str]:
        return rerun_differences(list(self.verdicts))

    @property
    def flaky(self) -> bool:
        return bool(self.differences)

    @property
    def ok(self) -> bool:
        """As expected on every rerun (which also means: not flaky)."""
        return all(v.ok for v in self.verdicts) and not self.flaky


def _subjects(fixtures: list[Fixture], only: set[str] | None) -> list[Subject]:
    subjects: list[Subject] = []
    for fixture in fixtures:  # a fixture's subjects together, its reference first
        if not only or "reference" in only:
            subjects.append((fixture, None))
        subjects += [(fixture, m) for m in fixture.mutants() if not only or m.name in only]
    return subjects


def check_subjects(
    engine: Engine,
    fixtures: list[Fixture],
    run: RunDir,
    progress: Callable[[str], None] = lambda _l: None,
    only: set[str] | None = None,
    slots: int = 1,
    reruns: int = 1,
) -> list[Checked]:
    """Each subject (every fixture's reference and mutants, or only those named in ``only``) scored
    ``reruns`` times and judged each time, in subject order; up to ``slots`` evaluations at once. A
    whole fixture checked (``only`` empty) also has its spec coverage map judged, first."""
    jobs = [(subject, rerun) for subject in _subjects(fixtures, only) for rerun in range(1, reruns + 1)]

    def check(job: tuple[Subject, int]) -> Verdict:
        (fixture, mutant), rerun = job
        suffix = f".r{rerun}" if rerun > 1 else ""
        label = f" (run {rerun} of {reruns})" if reruns > 1 else ""
        if mutant is None:
            progress(f"{fixture.id}: reference{label}")
            sample = f"{fixture.id}.reference{suffix}"
            return judge_reference(
                fixture, evaluate_workspace(engine, fixture, fixture.reference, run, sample)
            )
        progress(f"{fixture.id}: mutant {mutant.name}{label}")
        with tempfile.TemporaryDirectory(prefix="crucible-mutant-") as scratch:
            workspace = mutant.materialise(fixture.reference, Path(scratch) / "workspace")
            sample = f"{fixture.id}.mutant.{mutant.name}{suffix}"
            record = evaluate_workspace(engine, fixture, workspace, run, sample)
        return judge_mutant(fixture, mutant, record)

    # a whole fixture checked: its spec coverage map first (no sample)
    mapped = [] if only else [Checked((judge_coverage(fixture),)) for fixture in fixtures]
    with ThreadPoolExecutor(max_workers=max(1, slots), thread_name_prefix="fixture-check") as pool:
        verdicts = list(pool.map(check, jobs))
    return mapped + [Checked(tuple(verdicts[i : i + reruns])) for i in range(0, len(verdicts), reruns)]


def check_fixtures(
    engine: Engine,
    fixtures: list[Fixture],
    run: RunDir,
    progress: Callable[[str], None] = lambda _l: None,
    only: set[str] | None = None,
    slots: int = 1,
) -> list[Verdict]:
    """Verdicts on each fixture's reference and every mutant (or only the ones named in ``only``), in
    that order; up to ``slots`` subjects are evaluated at once."""
    return [checked.verdict for checked in check_subjects(engine, fixtures, run, progress, only, slots)]
