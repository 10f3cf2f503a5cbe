"""`crucible plan`: what a run would cost before it spends anything. For every cell of the grid, whether
an earlier sample of its generation key would be reused, and the forecast tokens, dollars and seconds of
the ones to generate, each from the best source there is:
- a reused sample costs nothing (and no evaluation either when its evaluation key matches);
- under replay (or a script), the answers are known before the run: the forecast is exact;
- otherwise the mean of earlier samples of the same variant text and fixture in the run store, then of
  any variant on that fixture, then a stated default. A live run is never forecast from replayed samples
  (the bundled cassettes are hand-made): without live history it says so and uses the default.
With two or more variants, the difference each gated metric could detect at the planned epochs (80%
power, the report's own test), from the spread that earlier samples of the two variants showed, and what
the run can decide (harness/report/power.py): per gated metric and gate mode, the chance that an
unchanged candidate passes and that one worse by the margin is caught, fixed and with `--until-decided`
(its expected samples and dollars)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from harness.agents.factory import ProviderFactory
from harness.agents.variants import resolve_model
from harness.errors import CrucibleError
from harness.pipeline.cell import Cell, cell_keys
from harness.pipeline.engine import Engine
from harness.pipeline.reuse import SampleCache
from harness.records import SampleRecord, SampleStatus
from harness.records.generation import Usage
from harness.report.intervals import Suite, detectable
from harness.report.power import Chances, chances
from harness.report.stats import GATE_METRICS, METRICS, frame

# when nothing better is known: a sample of a real model on a spec this size (measured ranges in README)
DEFAULT_USAGE = Usage(input_tokens=400_000, output_tokens=40_000)
DEFAULT_GENERATE_S, DEFAULT_REPLAY_S, DEFAULT_EVALUATE_S = 600.0, 20.0, 60.0
DEFAULT_SCORE = 0.5  # the widest spread a score in [0, 1] can have, when no earlier sample says more
DEFAULT_POOL = np.array([0.0, 1.0])  # ... as samples: 0 or 1 with even chances


@dataclass(frozen=True)
class CellPlan:
    sample_id: str
    variant: str
    fixture: str
    reused: bool  # an earlier sample of the same generation key exists
    evaluate: bool  # it will be evaluated (a new sample, or a reused one whose evaluation key changed)
    tokens: int  # of the generation, 0 when reused
    dollars: float
    generate_s: float
    evaluate_s: float
    basis: str  # where the forecast comes from


@dataclass(frozen=True)
class Plan:
    cells: list[CellPlan]
    generate_slots: int
    evaluate_slots: int
    detectable: dict[str, dict[str, float]] = field(default_factory=dict)  # candidate -> metric -> delta
    # candidate -> metric -> both modes' chances, at the margin
    decisions: dict[str, dict[str, list[Chances]]] = field(default_factory=dict)
    margin: float = 0.05
    history: str = ""  # what the decisions and forecasts were drawn from
    fixtures: int = 0
    epochs: int = 1

    @property
    def dollars_per_sample(self) -> float:
        """The mean forecast of a sample to generate (of every cell when all are reused)."""
        chosen = self.new or self.cells
        return sum(c.dollars for c in chosen) / max(len(chosen), 1)

    @property
    def new(self) -> list[CellPlan]:
        """The cells that would be generated (not reused)."""
        return [c for c in self.cells if not c.reused]

    @property
    def tokens(self) -> int:
        return sum(c.tokens for c in self.new)

    @property
    def dollars(self) -> float:
        return sum(c.dollars for c in self.new)

    @property
    def wall_s(self) -> float:
        """The run's wall time if each stage's slots stay busy: the slower stage's total over its slots."""
        generating = sum(c.generate_s for c in self.new) / self.generate_slots
        evaluating = sum(c.evaluate_s for c in self.cells if c.evaluate) / self.evaluate_slots
        return max(generating, evaluating)


def earlier_samples(reports: Path) -> list[SampleRecord]:
    """Every stored generated sample that ended on its own merits, of every run."""
    found = []
    for path in sorted((reports / "runs").glob("*/samples/*/record.json")):
        try:
            record = SampleRecord.model_validate_json(path.read_bytes())
        except ValueError:
            continue  # a record of another version, or half written
        if record.generation is not None and record.status is not SampleStatus.INFRA_FAILURE:
            found.append(record)
    return found


def _priced(engine: Engine, cell: Cell, usages: list[dict[str, object]]) -> tuple[int, float]:
    """The tokens and dollars of these answers, as the run will count them."""
    usage = Usage()
    for one in usages:
        usage = usage.plus(one)
    _, price = resolve_model(cell.variant, engine.config.agent)
    return usage.total, usage.dollars(price, engine.config.agent)


def _seconds(records: list[SampleRecord]) -> tuple[float, float]:
    generate = [r.seconds.get("generate", 0.0) for r in records]
    evaluate = [sum(v for k, v in r.seconds.items() if k != "generate") for r in records]
    return float(np.mean(generate)), float(np.mean(evaluate))


def forecast_cell(
    engine: Engine, cell: Cell, providers: ProviderFactory, cache: SampleCache, earlier: list[SampleRecord]
) -> CellPlan:
    keys = cell_keys(engine, cell, providers)
    found = cache.find(keys.generation)
    alike = [
        r for r in earlier if r.fixture_id == cell.fixture.id and r.variant_digest == cell.variant.digest
    ]
    fixture_wide = [r for r in earlier if r.fixture_id == cell.fixture.id]
    known = alike or fixture_wide
    generate_s, evaluate_s = _seconds(known) if known else (DEFAULT_GENERATE_S, DEFAULT_EVALUATE_S)
    common = {"sample_id": cell.sample_id, "variant": cell.variant.label, "fixture": cell.fixture.id}
    if found is not None:
        again = found.record.evaluation_key != keys.evaluation
        basis = f"reused from run {found.run.run_id}" + ("; evaluated again" if again else "")
        return CellPlan(
            **common,
            reused=True,
            evaluate=again,
            tokens=0,
            dollars=0.0,
            generate_s=0.0,
            evaluate_s=evaluate_s if again else 0.0,
            basis=basis,
        )
    try:
        source = providers(cell.variant, cell.fixture, cell.epoch)
    except CrucibleError:  # no cassette: the run will say so
        source = None
    usages = source.known_usage() if source is not None else None
    if usages is not None and source is not None:
        tokens, dollars = _priced(engine, cell, usages)
        generate_s = generate_s if known else DEFAULT_REPLAY_S
        times = f", times of {len(known)} earlier" if known else ", default times"
        basis = f"its {source.name} answers{times}"
    elif known:
        tokens = int(np.mean([r.generation.usage.total for r in known if r.generation]))
        dollars = float(np.mean([r.generation.dollars for r in known if r.generation]))
        basis = f"mean of {len(known)} earlier samples" + (
            "" if alike else " of other variants on the fixture"
        )
    else:
        _, price = resolve_model(cell.variant, engine.config.agent)
        tokens, dollars = DEFAULT_USAGE.total, DEFAULT_USAGE.dollars(price, engine.config.agent)
        basis = "default (no earlier sample)"
    return CellPlan(
        **common,
        reused=False,
        evaluate=True,
        tokens=tokens,
        dollars=dollars,
        generate_s=generate_s,
        evaluate_s=evaluate_s,
        basis=basis,
    )


def _suite(records: list[SampleRecord], fixtures: list[str], column: str, epochs: int, binary: bool) -> Suite:
    """Per fixture: the planned epochs, with the mean and spread earlier samples showed (else the
    widest a score can have)."""
    df = frame(records) if records else None
    means, variances = [], []
    for fixture in fixtures:
        values = df[df["fixture"] == fixture][column].dropna().to_numpy() if df is not None else np.array([])
        mean = float(values.mean()) if len(values) else DEFAULT_SCORE
        spread = float(values.var(ddof=1)) if len(values) > 1 else mean * (1 - mean)
        means.append(mean)
        variances.append(spread)
    count = len(fixtures)
    return Suite(np.full((1, count), float(epochs)), np.array([means]), np.array([variances]), binary)


def detectable_at(
    earlier: list[SampleRecord], baseline: Cell, candidate: Cell, fixtures: list[str], epochs: int
) -> dict[str, float]:
    """For each gated metric, the difference the planned epochs could detect between the two."""
    a = [r for r in earlier if r.variant_digest == baseline.variant.digest]
    b = [r for r in earlier if r.variant_digest == candidate.variant.digest]
    found = {}
    for metric in GATE_METRICS:
        column, _, kind = METRICS[metric]
        sa = _suite(a, fixtures, column, epochs, kind == "binary")
        sb = _suite(b, fixtures, column, epochs, kind == "binary")
        found[metric] = float(detectable(sa, sb)[0])
    return found


def pools(records: list[SampleRecord], fixtures: list[str], column: str) -> list[np.ndarray]:
    """Per fixture, the values earlier samples showed (the default pool where there are none)."""
    df = frame(records) if records else None
    found = []
    for fixture in fixtures:
        values = df[df["fixture"] == fixture][column].dropna().to_numpy() if df is not None else np.array([])
        found.append(values if len(values) else DEFAULT_POOL)
    return found


def decisions_at(
    earlier: list[SampleRecord], baseline: Cell, fixtures: list[str], epochs: int, margin: float
) -> dict[str, list[Chances]]:
    """Per gated metric, both modes' chances for a suite drawn from the baseline's earlier samples."""
    a = [r for r in earlier if r.variant_digest == baseline.variant.digest]
    found = {}
    for metric in GATE_METRICS:
        column, _, kind = METRICS[metric]
        found[metric] = chances(pools(a, fixtures, column), epochs, margin, kind == "binary")
    return found


def make_plan(
    engine: Engine,
    cells: list[Cell],
    providers: ProviderFactory,
    reports: Path,
    baseline: str | None = None,
    margin: float = 0.05,
    live: bool = False,
) -> Plan:
    cache, stored = SampleCache(reports), earlier_samples(reports)
    earlier = [r for r in stored if not (live and r.generation and r.generation.provider == "replay")]
    history = f"{len(earlier)} earlier samples"
    if live and len(earlier) < len(stored):
        history += f" ({len(stored) - len(earlier)} replayed ones left out: not a forecast of a live model)"
    planned = [forecast_cell(engine, cell, providers, cache, earlier) for cell in cells]
    run = engine.config.run
    plan = Plan(planned, run.generate_limit(), run.evaluate_limit(), margin=margin, history=history)
    firsts = {c.variant.label: c for c in cells if c.epoch == 1}
    labels = list(firsts)
    if len(labels) < 2:
        return plan
    base = baseline if baseline in firsts else labels[0]
    fixtures = sorted({c.fixture.id for c in cells})
    epochs = max(c.epoch for c in cells)
    plan = replace(plan, fixtures=len(fixtures), epochs=epochs)
    decided = decisions_at(earlier, firsts[base], fixtures, epochs, margin)
    for label in labels:
        if label != base:
            plan.detectable[label] = detectable_at(earlier, firsts[base], firsts[label], fixtures, epochs)
            plan.decisions[label] = decided
    return plan
