"""`crucible run --until-decided` on recorded outcomes (no Docker): rounds of one epoch, a look after
each from the first look on, and a stop as soon as the gate is decided, at the maximum, or when the
budget ends a round."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.agents.variants import load_variant
from harness.execute.until_decided import REPORT, run_until_decided, verdict
from harness.fixtures import list_fixtures
from harness.pipeline.cell import Cell, grid
from harness.records import BUDGET_ENDED, RunManifest, SampleRecord, SampleStatus
from harness.records.migrations import MigrationReport
from harness.records.security import ProbeResult, SecurityReport
from harness.records.sequential import SequentialRun
from harness.store import RunDir, RunStore
from tests.helpers import PROJECT, suite_score

BASE, CAND = "backend-engineer-checklist", "backend-engineer-terse"


def scored(cell: Cell, passed: int, total: int = 20) -> SampleRecord:
    tests = suite_score(passed, total)
    migrations = MigrationReport(
        tool="alembic", heads=["a"], single_head=True, upgrade_from_empty=True, base_clean=True
    )
    security = SecurityReport(probes=[ProbeResult(probe="test_p", cwe="CWE-89", result="resisted")])
    return SampleRecord(
        run_id="r",
        sample_id=cell.sample_id,
        fixture_id=cell.fixture.id,
        variant=cell.variant.label,
        epoch=cell.epoch,
        status=SampleStatus.OK,
        tests=tests,
        migrations=migrations,
        security=security,
    )


def setting(tmp_path: Path, max_epochs: int = 8) -> tuple[list[Cell], RunDir, SequentialRun]:
    variants = [load_variant(f"agents/{v}.md", PROJECT) for v in (BASE, CAND)]
    cells = grid(variants, list_fixtures(PROJECT), max_epochs)
    run = RunStore(tmp_path).create(RunManifest(run_id="r", kind="run", crucible_version="0"))
    design = SequentialRun(baseline=BASE, candidate=CAND, margin=0.05, min_epochs=2, max_epochs=max_epochs)
    return cells, run, design


def rounds(
    outcome: Callable[[Cell], SampleRecord], made: list[int]
) -> Callable[[list[Cell]], list[SampleRecord]]:
    """An executor that scores cells by ``outcome`` and notes the highest epoch asked for each round."""

    def execute_round(cells: list[Cell]) -> list[SampleRecord]:
        made.append(max(c.epoch for c in cells))
        return [outcome(c) for c in cells]

    return execute_round


def test_a_clearly_worse_candidate_stops_early_as_worse(tmp_path: Path) -> None:
    cells, run, design = setting(tmp_path)
    made: list[int] = []
    worse = rounds(lambda c: scored(c, 20 if c.variant.label == BASE else 4 + c.epoch % 3), made)
    records, done = run_until_decided(worse, cells, run, design)
    assert done.ended == "decided" and not done.looks[-1].passed
    assert done.looks[-1].outcomes["tests"] == "worse" and done.epochs < 8
    assert made == list(range(1, done.epochs + 1)), "a round made more than one new epoch"
    assert [look.epoch for look in done.looks] == list(range(2, done.epochs + 1))
    assert all(not look.decided for look in done.looks[:-1])
    assert len(records) == 2 * 3 * done.epochs
    assert run.read_record(REPORT, SequentialRun) == done
    assert "fails at epoch" in verdict(done) and "(decided;" in verdict(done)
    levels = [look.level for look in done.looks]
    assert levels == sorted(levels, reverse=True) and levels[0] > 0.999  # early looks spend little


def test_equal_variants_are_never_called_worse_and_the_last_look_is_the_widest_allowed(
    tmp_path: Path,
) -> None:
    cells, run, design = setting(tmp_path, max_epochs=4)
    made: list[int] = []
    equal = rounds(lambda c: scored(c, 15 + (c.epoch + len(c.fixture.id)) % 4), made)
    _, done = run_until_decided(equal, cells, run, design)
    assert all("worse" not in look.outcomes.values() for look in done.looks)
    if done.ended == "maximum":
        assert (
            done.epochs == 4 and not done.looks[-1].decided and "not decided by the maximum" in verdict(done)
        )
    else:
        assert done.ended == "decided" and done.looks[-1].passed
    # the last look's interval is only a little wider than the fixed design's 95%
    assert 0.95 < done.looks[-1].level < 0.96


def test_the_budget_ends_the_rounds(tmp_path: Path) -> None:
    cells, run, design = setting(tmp_path)

    def outcome(c: Cell) -> SampleRecord:
        if c.epoch < 3:
            return scored(c, 18)
        return scored(c, 0).model_copy(update={"status": SampleStatus.INFRA_FAILURE, "reason": BUDGET_ENDED})

    made: list[int] = []
    _, done = run_until_decided(rounds(outcome, made), cells, run, design)
    assert done.ended == "budget" and done.epochs == 3 and made == [1, 2, 3]
    assert "budget ended the run after 3 epochs" in verdict(done)


def test_no_regression_passes_an_equal_candidate_at_the_last_look_and_stops_a_worse_one(
    tmp_path: Path,
) -> None:
    cells, run, design = setting(tmp_path, max_epochs=4)
    design = design.model_copy(update={"mode": "no-regression"})
    equal = rounds(lambda c: scored(c, 15 + (c.epoch + len(c.fixture.id)) % 4), [])
    _, done = run_until_decided(equal, cells, run, design)
    # nothing is shown worse, so the last look passes it (no earlier look could show it within the margin)
    assert done.ended == "decided" and done.epochs == 4 and done.looks[-1].passed
    assert [look.decided for look in done.looks] == [False, False, True]
    assert run.read_record(REPORT, SequentialRun).mode == "no-regression"
    assert "no regression shown" in done.looks[-1].reasons[0]
    cells, run, design = setting(tmp_path / "worse")
    design = design.model_copy(update={"mode": "no-regression"})
    worse = rounds(lambda c: scored(c, 20 if c.variant.label == BASE else 4 + c.epoch % 3), [])
    _, done = run_until_decided(worse, cells, run, design)
    assert done.ended == "decided" and not done.looks[-1].passed and done.epochs < 8
    assert done.looks[-1].outcomes["tests"] == "worse"
