"""The decisions `pytest evals/` makes, as test cases: a floor per variant and metric (and per fixture where
its fixture.toml sets one), and, with a baseline, a gate per candidate. Each names the cells it needs and
judges the stored records of those cells with the report's statistics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.config import EvalSettings
from harness.errors import ConfigError
from harness.pipeline.cell import Cell
from harness.records import SampleRecord
from harness.report.gate import GateSpec, gate
from harness.report.stats import compare, frame, suite_fixtures
from harness.report.thresholds import Floor, FloorOn, check_floor, floors_from, parse_floor


@dataclass(frozen=True)
class Decided:
    passed: bool
    message: str


@dataclass(frozen=True)
class FloorCase:
    variant: str
    floor: Floor
    on: FloorOn

    @property
    def id(self) -> str:
        return f"{self.variant}-{self.floor.label}"

    def needs(self, cells: list[Cell]) -> list[Cell]:
        wanted = self.floor.fixture
        return [c for c in cells if c.variant.label == self.variant and wanted in (None, c.fixture.id)]

    def judge(self, records: list[SampleRecord]) -> Decided:
        result = check_floor(frame(records), self.variant, self.floor, self.on)
        return Decided(result.passed, result.message)


def gate_spec_of(evals: EvalSettings) -> GateSpec:
    return GateSpec(evals.margin, evals.mode, evals.allow_partial)


@dataclass(frozen=True)
class GateCase:
    baseline: str
    candidate: str
    spec: GateSpec
    fixtures: tuple[str, ...]  # the grid's: the suite the gate expects to see whole

    @property
    def id(self) -> str:
        return f"{self.candidate}-vs-{self.baseline}"

    def needs(self, cells: list[Cell]) -> list[Cell]:
        return [c for c in cells if c.variant.label in (self.baseline, self.candidate)]

    def judge(self, records: list[SampleRecord]) -> Decided:
        pair = [r for r in records if r.variant in (self.baseline, self.candidate)]
        expected = suite_fixtures(pair, self.fixtures)
        result = gate(compare(frame(pair), self.baseline, self.candidate), self.spec, expected)
        verdict = "PASS" if result.passed else "FAIL"
        head = f"{verdict}: {self.candidate} vs {self.baseline} ({self.spec.describe()})"
        return Decided(result.passed, "\n".join([head, *result.reasons]))


def settings(config: Any, evals: EvalSettings) -> EvalSettings:
    """The project's eval settings with the command line's overrides (``config`` is pytest's)."""
    floors = dict(evals.thresholds)
    for text in config.getoption("crucible_threshold") or []:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            floor = parse_floor(part, "--crucible-threshold")
            floors[floor.metric] = floor.value
    return evals.model_copy(
        update={
            "thresholds": floors,
            "baseline": config.getoption("crucible_baseline") or evals.baseline,
            "margin": config.getoption("crucible_margin") or evals.margin,
            "mode": config.getoption("crucible_mode") or evals.mode,
            "allow_partial": config.getoption("crucible_allow_partial") or evals.allow_partial,
            "floor_on": config.getoption("crucible_floor_on") or evals.floor_on,
        }
    )


def floor_cases(cells: list[Cell], evals: EvalSettings) -> list[FloorCase]:
    """Every variant's floors: the suite's, then each fixture's own from its fixture.toml."""
    variants = list(dict.fromkeys(c.variant.label for c in cells))
    fixtures = list({c.fixture.id: c.fixture for c in cells}.values())
    floors = floors_from(evals.thresholds, "[evals.thresholds]")
    for fixture in fixtures:
        where = f"{fixture.root / 'fixture.toml'} [thresholds]"
        floors += floors_from(dict(fixture.spec.thresholds), where, fixture.id)
    return [FloorCase(v, f, evals.floor_on) for v in variants for f in floors]


def gate_cases(cells: list[Cell], evals: EvalSettings) -> list[GateCase]:
    """With a baseline, one gate per other variant of the grid."""
    if not evals.baseline:
        return []
    variants = list(dict.fromkeys(c.variant.label for c in cells))
    if evals.baseline not in variants:
        raise ConfigError(
            f"--crucible-baseline {evals.baseline!r} is not a variant of this grid ({', '.join(variants)})",
            "name one of them, or add its file to --crucible-variants",
        )
    fixtures = tuple(dict.fromkeys(c.fixture.id for c in cells))
    spec = gate_spec_of(evals)
    return [GateCase(evals.baseline, v, spec, fixtures) for v in variants if v != evals.baseline]
