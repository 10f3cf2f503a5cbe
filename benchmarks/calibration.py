"""Calibration of the report's statistics by seeded simulation (harness/report/intervals.py says what is
estimated: the suite's fixtures are fixed, the epochs are the replication).

Each scenario draws ``--runs`` synthetic suites of F fixtures x E epochs for a baseline and a candidate:
- fixture means for the baseline from a logit-normal distribution with the scenario's mean and ICC, the
  ICC taken on the latent scale as usual for binary outcomes (between-fixture variance s² of the logits,
  ICC = s² / (s² + π²/3); 0: every fixture alike); the location is solved so that the fixture means
  average to the scenario's mean;
- outcomes per sample: 0/1 (Bernoulli of the fixture mean), or a score in [0, 1] (the pass rate of 20
  tests, each passing with a chance drawn per sample from a Beta around the fixture mean);
- the candidate's fixture means are the baseline's plus an effect whose mean over the fixtures is the
  true difference: the same on every fixture ("constant"), or spread over them ("varying": weights drawn
  per run, from a quarter to twice the mean effect). Suites whose candidate would leave [0, 1] are drawn
  again.
For every scenario it prints, with their Monte Carlo standard errors:
- the coverage of the variant interval and of the difference interval for the truth of that run (the mean
  of the fixture means, and its difference), at true difference 0 and at -margin;
- the gate's type-I error: how often it passes when the true difference is exactly -margin (nominal 0.025);
- its power: how often it passes when the candidate is as good as the baseline;
- the mean "detectable" difference reported, and the power of the two-sided test at that difference.

    .venv/bin/python -m benchmarks.calibration [--runs 2000] [--margin 0.05] [--seed 20261201]

With `--sequential`, the design of `crucible run --until-decided` instead: looks after every epoch from 2
to the maximum with the boundaries of harness/report/sequential.py (3 fixtures up to 10 epochs, 10 up to
5), printing the type-I error at the margin over all looks, the power when the candidate is as good, the
mean epochs made at the margin, at 0 and for a candidate 3 margins worse (and how often it is shown
worse), and the fewest epochs a fixed design needs for the same power (on the same samples).
"""

from __future__ import annotations

import argparse
import itertools
import math
from dataclasses import dataclass

import numpy as np

from harness.report.intervals import (
    Suite,
    detectable,
    difference_interval,
    difference_p_value,
    score_interval,
)
from harness.report.sequential import look_levels

SIZES = ((3, 5), (3, 10), (10, 5))
ICCS = (0.0, 0.2, 0.5)
OUTCOMES = (("binary", 0.6), ("binary", 0.9), ("score", 0.6), ("score", 0.9))
EFFECTS = ("constant", "varying")
TESTS_PER_SCORE, WITHIN = 20, 4.0


@dataclass(frozen=True)
class Scenario:
    fixtures: int
    epochs: int
    icc: float
    outcome: str
    mean: float
    effect: str

    def label(self) -> str:
        size = f"{self.fixtures}x{self.epochs}"
        return f"{size} icc {self.icc:.1f} {self.outcome} {self.mean:.1f} {self.effect}"


def latent(mean: float, icc: float) -> tuple[float, float]:
    """Location and scale of the fixtures' logits: scale from the latent ICC, location so that the
    expected fixture mean is ``mean`` (Gauss-Hermite quadrature, bisection)."""
    scale = math.sqrt(icc / (1 - icc) * math.pi**2 / 3)
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    low, high = -20.0, 20.0
    for _ in range(80):
        middle = (low + high) / 2
        if float((weights / (1 + np.exp(-(middle + scale * nodes)))).sum()) < mean:
            low = middle
        else:
            high = middle
    return (low + high) / 2, scale


def fixture_means(rng: np.random.Generator, s: Scenario, runs: int) -> np.ndarray:
    location, scale = latent(s.mean, s.icc)
    return np.asarray(1 / (1 + np.exp(-(location + scale * rng.standard_normal((runs, s.fixtures))))))


def effects(rng: np.random.Generator, s: Scenario, runs: int, delta: float) -> np.ndarray:
    if s.effect == "constant":
        return np.full((runs, s.fixtures), delta)
    weights = rng.uniform(0.25, 2.0, size=(runs, s.fixtures))
    return delta * weights / weights.mean(axis=1, keepdims=True)


def means_pair(
    rng: np.random.Generator, s: Scenario, runs: int, delta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Baseline and candidate fixture means, every candidate mean inside [0, 1]."""
    base, cand = np.empty((runs, s.fixtures)), np.empty((runs, s.fixtures))
    missing = np.arange(runs)
    while len(missing):
        a = fixture_means(rng, s, len(missing))
        b = a + effects(rng, s, len(missing), delta)
        good = ((b >= 0) & (b <= 1)).all(axis=1)
        base[missing[good]], cand[missing[good]] = a[good], b[good]
        missing = missing[~good]
    return base, cand


def outcomes(rng: np.random.Generator, s: Scenario, means: np.ndarray) -> np.ndarray:
    """Samples, shape (runs, fixtures, epochs)."""
    shape = (*means.shape, s.epochs)
    centre = np.broadcast_to(means[..., None], shape)
    if s.outcome == "binary":
        return (rng.random(shape) < centre).astype(float)
    clipped = np.clip(centre, 1e-6, 1 - 1e-6)
    chance = rng.beta(clipped * WITHIN, (1 - clipped) * WITHIN)
    return rng.binomial(TESTS_PER_SCORE, chance) / TESTS_PER_SCORE


def suite(values: np.ndarray, binary: bool) -> Suite:
    n = np.full(values.shape[:2], float(values.shape[2]))
    return Suite(n, values.mean(axis=2), values.var(axis=2, ddof=1), binary)


@dataclass
class Cell:
    coverage_variant: float
    coverage_difference: float
    type_one: float
    power: float
    mde: float
    power_at_mde: float


def simulate(s: Scenario, runs: int, margin: float, seed: int) -> Cell:
    rng = np.random.default_rng(seed)
    binary = s.outcome == "binary"
    covered_v, covered_d, passes_at_margin, passes_at_zero, mdes = [], [], [], [], []
    for delta in (-margin, 0.0):
        a_means, b_means = means_pair(rng, s, runs, delta)
        a, b = suite(outcomes(rng, s, a_means), binary), suite(outcomes(rng, s, b_means), binary)
        low, high = score_interval(a)
        truth_a = a_means.mean(axis=1)
        covered_v.append((low <= truth_a) & (truth_a <= high))
        _, lower, upper = difference_interval(a, b)
        truth = b_means.mean(axis=1) - truth_a
        covered_d.append((lower <= truth) & (truth <= upper))
        passed = lower >= -margin
        (passes_at_margin if delta < 0 else passes_at_zero).append(passed)
        if delta == 0:
            mdes.append(detectable(a, b))
    mde = float(np.mean(np.concatenate(mdes)))
    a_means, b_means = means_pair(rng, s, runs, -mde) if mde < 0.5 else (None, None)
    if a_means is None or b_means is None:
        power_at_mde = math.nan
    else:
        a, b = suite(outcomes(rng, s, a_means), binary), suite(outcomes(rng, s, b_means), binary)
        power_at_mde = float((difference_p_value(a, b) < 0.05).mean())
    return Cell(
        coverage_variant=float(np.concatenate(covered_v).mean()),
        coverage_difference=float(np.concatenate(covered_d).mean()),
        type_one=float(np.concatenate(passes_at_margin).mean()),
        power=float(np.concatenate(passes_at_zero).mean()),
        mde=mde,
        power_at_mde=power_at_mde,
    )


@dataclass
class SequentialCell:
    type_one: float  # passes at some look when the true difference is exactly -margin
    power: float  # passes at some look when the candidate is as good as the baseline
    epochs_at_margin: float  # mean epochs made when the truth is -margin
    epochs_equal: float  # ... when it is 0
    epochs_worse: float  # ... when the candidate is clearly worse (3 margins)
    worse_called: float  # how often that clearly worse candidate is shown worse
    fixed_power: float  # the fixed design's power at the maximum epochs
    fixed_epochs: int | None  # the fewest fixed epochs with at least the sequential design's power


def _rounds(
    rng: np.random.Generator, s: Scenario, runs: int, margin: float, delta: float, levels: dict[int, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Looks after every epoch from the first look on: (passed, epochs made, shown worse, the samples)."""
    binary = s.outcome == "binary"
    a_means, b_means = means_pair(rng, s, runs, delta)
    a_all, b_all = outcomes(rng, s, a_means), outcomes(rng, s, b_means)
    stopped, passed, worse = (np.zeros(runs, dtype=bool) for _ in range(3))
    used = np.full(runs, float(s.epochs))
    for epoch, level in levels.items():
        a, b = suite(a_all[..., :epoch], binary), suite(b_all[..., :epoch], binary)
        _, low, high = difference_interval(a, b, level)
        new_pass, new_worse = ~stopped & (low >= -margin), ~stopped & (high < -margin)
        passed |= new_pass
        worse |= new_worse
        now = new_pass | new_worse
        used[now] = epoch
        stopped |= now
    return passed, used, worse, (a_all, b_all)


def simulate_sequential(s: Scenario, runs: int, margin: float, seed: int, first: int = 2) -> SequentialCell:
    """The gate looked at after every epoch from ``first`` to ``s.epochs`` with the sequential
    boundaries (harness/report/sequential.py), against the fixed design."""
    rng = np.random.default_rng(seed)
    levels = look_levels(first, s.epochs)
    at_margin, used_margin, _, _ = _rounds(rng, s, runs, margin, -margin, levels)
    equal, used_equal, _, (a_all, b_all) = _rounds(rng, s, runs, margin, 0.0, levels)
    _, used_worse, called, _ = _rounds(rng, s, runs, margin, -3 * margin, levels)
    power = float(equal.mean())
    binary = s.outcome == "binary"
    fixed = {}
    for epochs in range(first, s.epochs + 1):
        _, low, _ = difference_interval(
            suite(a_all[..., :epochs], binary), suite(b_all[..., :epochs], binary)
        )
        fixed[epochs] = float((low >= -margin).mean())
    enough = [e for e, p in fixed.items() if p >= power]
    return SequentialCell(
        type_one=float(at_margin.mean()),
        power=power,
        epochs_at_margin=float(used_margin.mean()),
        epochs_equal=float(used_equal.mean()),
        epochs_worse=float(used_worse.mean()),
        worse_called=float(called.mean()),
        fixed_power=fixed[s.epochs],
        fixed_epochs=min(enough) if enough else None,
    )


def sequential_scenarios() -> list[Scenario]:
    return [
        Scenario(f, e, icc, outcome, mean, effect)
        for (f, e), icc, (outcome, mean), effect in itertools.product(
            ((3, 10), (10, 5)), (0.0, 0.5), OUTCOMES, EFFECTS
        )
    ]


def main_sequential(runs: int, margin: float, seed: int) -> None:
    print(f"sequential: looks after every epoch from 2 to the maximum; {runs} runs a cell, margin {margin}")
    print(
        "scenario (fixtures x max epochs) | type-I at margin | power at 0 (fixed at max) | "
        "mean epochs: at margin, at 0, clearly worse (shown worse) | fixed epochs for that power"
    )
    worst = 0.0
    for index, s in enumerate(sequential_scenarios()):
        cell = simulate_sequential(s, runs, margin, seed + 1000 + index)
        worst = max(worst, cell.type_one)
        fixed = "more than the maximum" if cell.fixed_epochs is None else str(cell.fixed_epochs)
        print(
            f"{s.label()} | {cell.type_one:.3f} ± {mc(cell.type_one, runs):.3f} | {cell.power:.3f} "
            f"({cell.fixed_power:.3f}) | {cell.epochs_at_margin:.2f}, {cell.epochs_equal:.2f}, "
            f"{cell.epochs_worse:.2f} ({cell.worse_called:.2f}) | {fixed}"
        )
    print(f"sequential: largest type-I error {worst:.3f}")


def scenarios() -> list[Scenario]:
    return [
        Scenario(f, e, icc, outcome, mean, effect)
        for (f, e), icc, (outcome, mean), effect in itertools.product(SIZES, ICCS, OUTCOMES, EFFECTS)
    ]


def mc(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-12) / n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--margin", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument(
        "--sequential", action="store_true", help="the sequential scenarios (--until-decided) instead"
    )
    args = parser.parse_args()
    if args.sequential:
        main_sequential(args.runs, args.margin, args.seed)
        return
    runs = args.runs
    print(f"{runs} runs a cell, margin {args.margin}; ± is the Monte Carlo standard error")
    columns = (
        "variant coverage",
        "difference coverage",
        "type-I at margin",
        "power at 0",
        "detectable (power)",
    )
    print(" | ".join(("scenario", *columns)))
    worst = {"low": 1.0, "high": 0.0, "type1": 0.0}
    for index, s in enumerate(scenarios()):
        cell = simulate(s, runs, args.margin, args.seed + index)
        coverages = (cell.coverage_variant, cell.coverage_difference)
        worst["low"] = min(worst["low"], *coverages)
        worst["high"] = max(worst["high"], *coverages)
        worst["type1"] = max(worst["type1"], cell.type_one)
        print(
            f"{s.label()} | {cell.coverage_variant:.3f} ± {mc(cell.coverage_variant, 2 * runs):.3f} | "
            f"{cell.coverage_difference:.3f} ± {mc(cell.coverage_difference, 2 * runs):.3f} | "
            f"{cell.type_one:.3f} ± {mc(cell.type_one, runs):.3f} | {cell.power:.3f} | "
            f"{cell.mde:.3f} ({cell.power_at_mde:.2f})"
        )
    print(
        f"coverage from {worst['low']:.3f} to {worst['high']:.3f}; largest type-I error {worst['type1']:.3f}"
    )


if __name__ == "__main__":
    main()
