"""`crucible run --until-decided`: epochs in rounds, one epoch of every cell a round; after each round
from ``min_epochs`` on, the gate of the candidate against the baseline with the sequential boundaries of
:mod:`harness.report.sequential`; the run stops when it is decided either way, at ``max_epochs``, or when
the budget ended a round. What every look said is stored as ``sequential.json``."""

from __future__ import annotations

from collections.abc import Callable

from harness.errors import UserError
from harness.pipeline.cell import Cell
from harness.records import BUDGET_ENDED, SampleRecord
from harness.records.sequential import SequentialRun
from harness.report.gate import GateSpec
from harness.report.sequential import look, look_levels
from harness.store import RunDir

REPORT = "sequential.json"


def design_of(
    cells: list[Cell], baseline: str, candidate: str, spec: GateSpec, first: int, last: int
) -> SequentialRun:
    """The sequential design of a run, its two variants checked against the grid's."""
    labels = sorted({c.variant.label for c in cells})
    if baseline not in labels or candidate not in labels or baseline == candidate:
        raise UserError(
            f"--baseline {baseline} and --candidate {candidate} must be two of the run's variants",
            f"use two of: {', '.join(labels)}",
        )
    return SequentialRun(
        baseline=baseline,
        candidate=candidate,
        margin=spec.margin,
        mode=spec.mode,
        allow_partial=spec.allow_partial,
        min_epochs=first,
        max_epochs=last,
    )


def run_until_decided(
    execute_round: Callable[[list[Cell]], list[SampleRecord]],
    cells: list[Cell],
    run: RunDir,
    design: SequentialRun,
    progress: Callable[[str], None] = lambda _line: None,
) -> tuple[list[SampleRecord], SequentialRun]:
    """The records of the cells made, and the design with its looks. ``execute_round`` runs cells and
    returns their records (those a round before made are kept, not made again)."""
    levels = look_levels(design.min_epochs, design.max_epochs)
    records: list[SampleRecord] = []
    for epoch in range(1, design.max_epochs + 1):
        records = execute_round([c for c in cells if c.epoch <= epoch])
        design = design.model_copy(update={"epochs": epoch})
        if any(r.reason.startswith(BUDGET_ENDED) for r in records):
            design = design.model_copy(update={"ended": "budget"})
            break
        if epoch < design.min_epochs:
            continue
        planned = list(dict.fromkeys(c.fixture.id for c in cells))
        seen = look(records, design, planned, epoch, levels[epoch])
        design = design.model_copy(update={"looks": [*design.looks, seen]})
        run.write_record(REPORT, design)
        progress(f"epoch {epoch}: " + ", ".join(f"{m} {o}" for m, o in seen.outcomes.items()))
        if seen.decided:
            design = design.model_copy(update={"ended": "decided"})
            break
    else:
        design = design.model_copy(update={"ended": "maximum"})
    run.write_record(REPORT, design)
    return records, design


def verdict(design: SequentialRun) -> str:
    """One line: how the run ended and what the last look said."""
    last = design.looks[-1] if design.looks else None
    if design.ended == "budget":
        return f"the budget ended the run after {design.epochs} epochs, undecided"
    if last is None:
        return "no look was made"
    said = "passes" if last.passed else "fails"
    how = {"decided": "decided", "maximum": "not decided by the maximum"}.get(design.ended, design.ended)
    return (
        f"{design.candidate} vs {design.baseline}: the gate {said} at epoch {last.epoch} of at most "
        f"{design.max_epochs} ({how}; sequential boundaries, intervals at {100 * last.level:.4g}%)"
    )
