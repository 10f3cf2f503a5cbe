"""`crucible fixtures check`: evaluate a fixture's reference and every mutant, and judge each
(:mod:`harness.fixtures.judge`)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.fixtures import Fixture, Mutant
from harness.fixtures.judge import Verdict, judge_mutant, judge_reference
from harness.pipeline.engine import Engine
from harness.pipeline.evaluate import evaluate_workspace
from harness.store import RunDir


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
    subjects: list[tuple[Fixture, Mutant | None]] = []
    for fixture in fixtures:  # a fixture's subjects together, its reference first
        if not only or "reference" in only:
            subjects.append((fixture, None))
        subjects += [(fixture, m) for m in fixture.mutants() if not only or m.name in only]

    def check(subject: tuple[Fixture, Mutant | None]) -> Verdict:
        fixture, mutant = subject
        if mutant is None:
            progress(f"{fixture.id}: reference")
            reference = evaluate_workspace(engine, fixture, fixture.reference, run, f"{fixture.id}.reference")
            return judge_reference(fixture, reference)
        progress(f"{fixture.id}: mutant {mutant.name}")
        with tempfile.TemporaryDirectory(prefix="crucible-mutant-") as scratch:
            workspace = mutant.materialise(fixture.reference, Path(scratch) / "workspace")
            record = evaluate_workspace(engine, fixture, workspace, run, f"{fixture.id}.mutant.{mutant.name}")
        return judge_mutant(fixture, mutant, record)

    with ThreadPoolExecutor(max_workers=max(1, slots), thread_name_prefix="fixture-check") as pool:
        return list(pool.map(check, subjects))
