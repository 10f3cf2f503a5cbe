"""`crucible fixtures check`: evaluate a fixture's reference and every mutant, and judge each
(:mod:`harness.fixtures.judge`)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.fixtures import Fixture
from harness.fixtures.judge import Verdict, judge_mutant, judge_reference
from harness.pipeline.engine import Engine
from harness.pipeline.evaluate import evaluate_workspace
from harness.store import RunDir


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
