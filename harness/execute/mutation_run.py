"""`crucible fixtures mutate`: score a fixture's automatic mutants (:mod:`harness.fixtures.mutate`)
through the real pipeline, beside its reference, and say which ones the fixture's checks kill.

A mutant is killed when its result is not the reference's: it does not end ok where the reference
does (it would not build, migrate or start: "startup"), or a test, migration or security check fails
that passes for the reference. An infrastructure failure (of a mutant or of the reference) decides
nothing and is reported apart. The report is ``mutation.json`` in the run directory."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.fixtures import Edit, Fixture
from harness.fixtures.mutate import AutoMutant, Site
from harness.pipeline.cell import stored_sample
from harness.pipeline.engine import Engine
from harness.pipeline.evaluate import evaluate_workspace
from harness.records import Check, Record, SampleRecord, SampleStatus, Stage
from harness.store import RunDir
from harness.workspace import pack

Outcome = Literal["killed", "survived", "infra"]
REPORT = "mutation.json"
KINDS = ("startup", *(check.value for check in Check))  # what can kill a mutant


class MutantResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    key: str = Field(description="operator@file:start-end:digest, stable while the reference is")
    operator: str
    file: str
    line: int
    column: int = 1
    change: str
    diff: str
    edit: Edit = Field(
        description="the change as a mutant.toml [[edit]], to keep it as a hand-written mutant"
    )
    sample_id: str
    status: SampleStatus
    reason: str = ""
    outcome: Outcome
    killed_by: dict[str, list[str]] = Field(
        default_factory=dict,
        description="startup | tests | migrations | security -> the checks that caught it",
    )
    seconds: float = 0.0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def killers(self, shown: int = 3) -> str:
        """`tests: a, b, c (+4 more); security: probe:x`: up to ``shown`` names of each kind."""

        def names(found: list[str]) -> str:
            more = f" (+{len(found) - shown} more)" if len(found) > shown else ""
            return ", ".join(found[:shown]) + more

        return "; ".join(f"{kind}: {names(found)}" for kind, found in self.killed_by.items())


class MutationReport(Record):
    fixture: str
    run_id: str
    seed: int
    count: int
    operators: list[str]
    sites: dict[str, int] = Field(description="candidate sites per operator, before sampling")
    reference_status: SampleStatus
    reference_reason: str = ""
    reference_failing: dict[str, list[str]] = Field(
        default_factory=dict,
        description="checks the reference itself fails (a mutant failing them is not killed)",
    )
    mutants: list[MutantResult] = Field(default_factory=list)

    @property
    def reference_clean(self) -> bool:
        return self.reference_status is SampleStatus.OK and not self.reference_failing

    def scored(self) -> list[MutantResult]:
        return [m for m in self.mutants if m.outcome != "infra"]

    def killed(self) -> list[MutantResult]:
        return [m for m in self.mutants if m.outcome == "killed"]

    def survivors(self) -> list[MutantResult]:
        return [m for m in self.mutants if m.outcome == "survived"]

    def infra(self) -> list[MutantResult]:
        return [m for m in self.mutants if m.outcome == "infra"]

    def kill_rate(self) -> float | None:
        scored = self.scored()
        return len(self.killed()) / len(scored) if scored else None

    def kills_by_kind(self) -> dict[str, int]:
        """How many mutants each kind of check killed (a mutant killed by two kinds counts for both)."""
        counts = Counter(kind for m in self.killed() for kind in m.killed_by)
        return {kind: counts[kind] for kind in KINDS}

    def by_operator(self) -> dict[str, tuple[int, int]]:
        """Per operator: (killed, scored)."""
        found: dict[str, tuple[int, int]] = {}
        for m in self.scored():
            killed, scored = found.get(m.operator, (0, 0))
            found[m.operator] = (killed + (m.outcome == "killed"), scored + 1)
        return dict(sorted(found.items()))


def _failing(record: SampleRecord) -> dict[str, set[str]]:
    return {check.value: set(record.failing(check) or ()) for check in Check}


def classify(reference: SampleRecord, record: SampleRecord) -> tuple[Outcome, dict[str, list[str]]]:
    """Whether a mutant's record shows it killed, relative to the reference's record, and by what."""
    if record.status is SampleStatus.INFRA_FAILURE or reference.status is SampleStatus.INFRA_FAILURE:
        return "infra", {}
    killers: dict[str, list[str]] = {}
    broke = record.status is not SampleStatus.OK and reference.status is SampleStatus.OK
    why = record.reason or f"{record.status.value} at {record.failed_stage}"
    if broke and record.failed_stage is not Stage.TESTS:  # it never got as far as the hidden tests
        killers["startup"] = [why]
    base = _failing(reference)
    for kind, names in _failing(record).items():
        if new := sorted(names - base[kind]):
            killers[kind] = new
    if broke and not killers:  # the hidden tests ran but gave no result: a failure all the same
        killers["tests"] = [why]
    return ("killed" if killers else "survived"), dict(
        sorted(killers.items(), key=lambda i: KINDS.index(i[0]))
    )


def _result(mutant: AutoMutant, reference: Path, record: SampleRecord, verdict: SampleRecord) -> MutantResult:
    site: Site = mutant.site
    outcome, killers = classify(verdict, record)
    return MutantResult(
        id=mutant.id,
        key=site.key,
        operator=site.operator,
        file=site.file,
        line=site.line,
        column=site.column,
        change=site.change(),
        diff=mutant.diff(reference),
        edit=mutant.as_edit(reference),
        sample_id=record.sample_id,
        status=record.status,
        reason=record.reason,
        outcome=outcome,
        killed_by=killers,
        seconds=record.seconds.get("total", 0.0),
    )


def stored_record(run: RunDir, sample_id: str, workspace: Path) -> SampleRecord | None:
    """The record ``run`` holds for this sample, when it scored the same workspace to an end."""
    record = stored_sample(run, sample_id)
    return record if record and record.workspace_digest == pack(workspace)[1] else None


def score_mutants(
    engine: Engine,
    fixture: Fixture,
    mutants: list[AutoMutant],
    run: RunDir,
    *,
    seed: int,
    sites: list[Site],
    operators: list[str],
    progress: Callable[[str], None] = lambda _l: None,
    slots: int = 1,
    resume: bool = False,
) -> MutationReport:
    """Evaluate the reference and every mutant (up to ``slots`` at once), classify each mutant
    against the reference, and store the report as ``mutation.json`` in ``run``. With ``resume``, a
    sample the run already holds for the same workspace (not an infra failure) is not evaluated again."""
    done: list[str] = []

    def scored(workspace: Path, sample_id: str) -> SampleRecord:
        stored = stored_record(run, sample_id, workspace) if resume else None
        return stored or evaluate_workspace(engine, fixture, workspace, run, sample_id)

    def evaluate(mutant: AutoMutant | None) -> SampleRecord:
        if mutant is None:
            record = scored(fixture.reference, f"{fixture.id}.reference")
        else:
            with tempfile.TemporaryDirectory(prefix="crucible-automutant-") as scratch:
                workspace = mutant.materialise(fixture.reference, Path(scratch) / "workspace")
                record = scored(workspace, f"{fixture.id}.auto.{mutant.id}")
        done.append(mutant.id if mutant else "reference")
        progress(f"{len(done)} of {len(mutants) + 1} scored (last: {done[-1]})")
        return record

    with ThreadPoolExecutor(max_workers=max(1, slots), thread_name_prefix="fixture-mutate") as pool:
        reference, *records = list(pool.map(evaluate, [None, *mutants]))
    counts = Counter(site.operator for site in sites)
    failing = {kind: sorted(names) for kind, names in _failing(reference).items() if names}
    report = MutationReport(
        fixture=fixture.id,
        run_id=run.run_id,
        seed=seed,
        count=len(mutants),
        operators=operators,
        sites={op: counts[op] for op in operators},
        reference_status=reference.status,
        reference_reason=reference.reason,
        reference_failing=failing,
        mutants=[_result(m, fixture.reference, r, reference) for m, r in zip(mutants, records, strict=True)],
    )
    run.write_record(REPORT, report)
    return report
