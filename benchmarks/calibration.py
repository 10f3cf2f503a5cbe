"""Calibration of the report's statistics by seeded simulation (harness/report/intervals.py says what is
estimated: the suite's fixtures are fixed, the epochs are the replication; benchmarks/scenarios.py says
how each scenario's suites are drawn).

The grid: the logit scenarios of 0/1 outcomes and scores at 3x5, 3x10 and 10x5 (ICC 0, 0.2, 0.5; means
0.6 and 0.9; the effect constant or varying), and, at 1x10, 3x3, 3x5, 6x3, 6x10, 10x5, 12x3 and 24x2,
bimodal outcomes, a candidate that sometimes fails to build one fixture of steady ones, steady and
bimodal fixtures mixed, constant scores with a rare failed build, baselines near their ceiling (0/1
outcomes at 0.95, scores at 0.97), and epochs lost to infrastructure failures.

For every cell it prints, each with its Monte Carlo standard error:
- coverage: how often the 95% interval of each variant (both variants, at true differences 0 and -margin)
  and of the difference holds the truth of its run (the mean of the fixture means);
- non-inferiority: the type-I error (passes when the truth is exactly -margin; nominal 0.025) at each
  margin, and the power (passes when the candidate is as good);
- no-regression: the type-I error (fails when the candidate is worse by exactly the negligible amount,
  0.01), and how often it catches a candidate worse by the margin;
- the mean "detectable" difference reported, and the two-sided test's power at that difference.
A margin a scenario cannot reach (one fixture's build failing more often than always) is "-".

    .venv/bin/python -m benchmarks.calibration [--runs 4000] [--margins 0.05,0.1] [--seed 20261201]

With `--sequential`, the design of `crucible run --until-decided` instead (harness/report/sequential.py):
looks after every epoch from 2 to the maximum, printing for non-inferiority the type-I error at the
margin over all looks, the power when the candidate is as good, the mean epochs made at the margin, at
0 and for a candidate 3 margins worse (and how often it is shown worse), the fewest epochs a fixed design
needs for the same power; and for no-regression its type-I error over all looks.
"""

from __future__ import annotations

import argparse
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from benchmarks.scenarios import Draw, Scenario, draw
from harness.report.intervals import (
    Suite,
    detectable,
    difference_interval,
    difference_p_value,
    score_interval,
)
from harness.report.sequential import look_levels
from harness.report.stats import NEGLIGIBLE_SCORE

SIZES = ((3, 5), (3, 10), (10, 5))
ICCS = (0.0, 0.2, 0.5)
OUTCOMES = (("binary", 0.6), ("binary", 0.9), ("score", 0.6), ("score", 0.9))
EFFECTS = ("constant", "varying")
NEW_SIZES = ((1, 10), (3, 3), (3, 5), (6, 3), (6, 10), (10, 5), (12, 3), (24, 2))


def suite(values: np.ndarray, binary: bool) -> Suite:
    """Per-fixture summaries of samples (runs, fixtures, epochs), NaN where an epoch was lost."""
    kept = ~np.isnan(values)
    n = kept.sum(axis=-1).astype(float)
    total = np.where(kept, values, 0.0).sum(axis=-1)
    mean = total / n
    squares = np.where(kept, (values - mean[..., None]) ** 2, 0.0).sum(axis=-1)
    var = np.where(n > 1, squares / np.maximum(n - 1, 1), 0.0)
    return Suite(n, mean, var, binary)


@dataclass
class Cell:
    coverage_variant: float
    coverage_difference: float
    type_one: dict[float, float] = field(default_factory=dict)  # non-inferiority, per margin
    power: dict[float, float] = field(default_factory=dict)  # non-inferiority passes at 0, per margin
    type_one_nr: float = math.nan  # no-regression fails at -negligible
    caught: dict[float, float] = field(default_factory=dict)  # no-regression fails at -margin
    mde: float = math.nan
    power_at_mde: float = math.nan
    runs: int = 0
    checked: tuple[int, int] = (0, 0)  # intervals checked: of variants, of differences


def _suites(s: Scenario, made: Draw) -> tuple[Suite, Suite]:
    return suite(made.a, s.binary), suite(made.b, s.binary)


def _covered(s: Scenario, made: Draw) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(variant intervals covered, difference covered, lower bounds, upper bounds of the difference)."""
    a, b = _suites(s, made)
    truth_a, truth_b = made.truth_a.mean(axis=1), made.truth_b.mean(axis=1)
    hits = []
    for one, truth in ((a, truth_a), (b, truth_b)):
        low, high = score_interval(one)
        hits.append((low <= truth) & (truth <= high))
    _, lower, upper = difference_interval(a, b)
    truth = truth_b - truth_a
    return np.concatenate(hits), (lower <= truth) & (truth <= upper), lower, upper


def simulate(s: Scenario, runs: int, margins: tuple[float, ...], seed: int) -> Cell:
    rng = np.random.default_rng(seed)
    variant, difference, cell = [], [], Cell(math.nan, math.nan, runs=runs)
    equal = draw(rng, s, runs, 0.0)
    assert equal is not None
    hits_v, hits_d, lower, _ = _covered(s, equal)
    variant.append(hits_v)
    difference.append(hits_d)
    cell.power = {m: float((lower >= -m).mean()) for m in margins}
    for margin in margins:
        made = draw(rng, s, runs, -margin)
        if made is None:
            cell.type_one[margin] = cell.caught[margin] = math.nan
            continue
        hits_v, hits_d, lower, upper = _covered(s, made)
        variant.append(hits_v)
        difference.append(hits_d)
        cell.type_one[margin] = float((lower >= -margin).mean())
        cell.caught[margin] = float((upper < -NEGLIGIBLE_SCORE).mean())
    slight = draw(rng, s, runs, -NEGLIGIBLE_SCORE)
    if slight is not None:
        _, _, _, upper = _covered(s, slight)
        cell.type_one_nr = float((upper < -NEGLIGIBLE_SCORE).mean())
    cell.coverage_variant = float(np.concatenate(variant).mean())
    cell.coverage_difference = float(np.concatenate(difference).mean())
    cell.checked = (len(np.concatenate(variant)), len(np.concatenate(difference)))
    cell.mde = float(np.mean(detectable(*_suites(s, equal))))
    worse = draw(rng, s, runs, -cell.mde) if cell.mde < 0.5 else None
    if worse is not None:
        cell.power_at_mde = float((difference_p_value(*_suites(s, worse)) < 0.05).mean())
    return cell


@dataclass
class SequentialCell:
    type_one: float  # non-inferiority passes at some look when the true difference is exactly -margin
    power: float  # non-inferiority passes at some look when the candidate is as good as the baseline
    epochs_at_margin: float  # mean epochs made when the truth is -margin
    epochs_equal: float  # ... when it is 0
    epochs_worse: float  # ... when the candidate is clearly worse (3 margins)
    worse_called: float  # how often that clearly worse candidate is shown worse
    fixed_power: float  # the fixed design's power at the maximum epochs
    fixed_epochs: int | None  # the fewest fixed epochs with at least the sequential design's power
    type_one_nr: float = math.nan  # no-regression: shown worse at some look at -negligible


def _rounds(
    rng: np.random.Generator, s: Scenario, runs: int, margin: float, delta: float, levels: dict[int, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Draw]:
    """Looks after every epoch from the first look on: (passed, epochs made, shown worse, the samples)."""
    made = draw(rng, s, runs, delta)
    assert made is not None
    stopped, passed, worse = (np.zeros(runs, dtype=bool) for _ in range(3))
    used = np.full(runs, float(s.epochs))
    for epoch, level in levels.items():
        a, b = suite(made.a[..., :epoch], s.binary), suite(made.b[..., :epoch], s.binary)
        _, low, high = difference_interval(a, b, level)
        new_pass, new_worse = ~stopped & (low >= -margin), ~stopped & (high < -margin)
        passed |= new_pass
        worse |= new_worse
        now = new_pass | new_worse
        used[now] = epoch
        stopped |= now
    return passed, used, worse, made


def _regression_looks(rng: np.random.Generator, s: Scenario, runs: int, levels: dict[int, float]) -> float:
    """No-regression over all looks at a truth of -negligible: how often some look shows it worse."""
    made = draw(rng, s, runs, -NEGLIGIBLE_SCORE)
    assert made is not None
    shown = np.zeros(runs, dtype=bool)
    for epoch, level in levels.items():
        a, b = suite(made.a[..., :epoch], s.binary), suite(made.b[..., :epoch], s.binary)
        shown |= difference_interval(a, b, level)[2] < -NEGLIGIBLE_SCORE
    return float(shown.mean())


def simulate_sequential(s: Scenario, runs: int, margin: float, seed: int, first: int = 2) -> SequentialCell:
    """The gate looked at after every epoch from ``first`` to ``s.epochs`` with the sequential
    boundaries (harness/report/sequential.py), against the fixed design."""
    rng = np.random.default_rng(seed)
    levels = look_levels(first, s.epochs)
    at_margin, used_margin, _, _ = _rounds(rng, s, runs, margin, -margin, levels)
    equal, used_equal, _, made = _rounds(rng, s, runs, margin, 0.0, levels)
    _, used_worse, called, _ = _rounds(rng, s, runs, margin, -3 * margin, levels)
    power = float(equal.mean())
    fixed = {}
    for epochs in range(first, s.epochs + 1):
        a, b = suite(made.a[..., :epochs], s.binary), suite(made.b[..., :epochs], s.binary)
        fixed[epochs] = float((difference_interval(a, b)[1] >= -margin).mean())
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
        type_one_nr=_regression_looks(rng, s, runs, levels),
    )


def sequential_scenarios() -> list[Scenario]:
    logit = [
        Scenario("logit", f, e, outcome, mean, icc, effect)
        for (f, e), icc, (outcome, mean), effect in itertools.product(
            ((3, 10), (10, 5)), (0.0, 0.5), OUTCOMES, EFFECTS
        )
    ]
    return [*logit, Scenario("bimodal", 10, 5), Scenario("mixed", 10, 5), Scenario("constant", 10, 5)]


def main_sequential(runs: int, margin: float, seed: int) -> None:
    print(f"sequential: looks after every epoch from 2 to the maximum; {runs} runs a cell, margin {margin}")
    print(
        "scenario (fixtures x max epochs) | non-inferiority: type-I at margin | power at 0 (fixed at max) | "
        "mean epochs: at margin, at 0, clearly worse (shown worse) | fixed epochs for that power | "
        "no-regression: type-I"
    )
    worst = 0.0
    for index, s in enumerate(sequential_scenarios()):
        cell = simulate_sequential(s, runs, margin, seed + 1000 + index)
        worst = max(worst, cell.type_one, cell.type_one_nr)
        fixed = "more than the maximum" if cell.fixed_epochs is None else str(cell.fixed_epochs)
        print(
            f"{s.label()} | {cell.type_one:.3f} ± {mc(cell.type_one, runs):.3f} | {cell.power:.3f} "
            f"({cell.fixed_power:.3f}) | {cell.epochs_at_margin:.2f}, {cell.epochs_equal:.2f}, "
            f"{cell.epochs_worse:.2f} ({cell.worse_called:.2f}) | {fixed} | "
            f"{cell.type_one_nr:.3f} ± {mc(cell.type_one_nr, runs):.3f}"
        )
    print(f"sequential: largest type-I error {worst:.3f}")


def scenarios() -> list[Scenario]:
    today = [
        Scenario("logit", f, e, outcome, mean, icc, effect)
        for (f, e), icc, (outcome, mean), effect in itertools.product(SIZES, ICCS, OUTCOMES, EFFECTS)
    ]
    grown = []
    for f, e in NEW_SIZES:
        grown += [
            Scenario("bimodal", f, e),
            Scenario("bimodal", f, e, effect="varying"),
            Scenario("build", f, e),
            Scenario("constant", f, e),
            Scenario("logit", f, e, "binary", 0.95, 0.2),
            Scenario("logit", f, e, "score", 0.97, 0.2),
            Scenario("bimodal", f, e, dropped=True),
            Scenario("logit", f, e, "score", 0.6, 0.2, dropped=True),
        ]
        if f > 1:
            grown += [Scenario("mixed", f, e), Scenario("mixed", f, e, dropped=True)]
    return today + grown


def mc(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-12) / n) if math.isfinite(p) else math.nan


def _share(value: float, n: int) -> str:
    return "-" if not math.isfinite(value) else f"{value:.3f} ± {mc(value, n):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4000)
    parser.add_argument("--margins", default="0.05,0.1", help="comma-separated (sequential: the first)")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--only", default="", help="cells whose label contains this text")
    parser.add_argument(
        "--sequential", action="store_true", help="the sequential scenarios (--until-decided) instead"
    )
    args = parser.parse_args()
    margins = tuple(float(m) for m in args.margins.split(","))
    if args.sequential:
        main_sequential(args.runs, margins[0], args.seed)
        return
    runs = args.runs
    print(f"{runs} runs a cell, margins {margins}; ± is the Monte Carlo standard error")
    head = ["scenario", "variant coverage", "difference coverage"]
    head += [f"NI type-I at {m}" for m in margins] + [f"NI power at 0 ({m})" for m in margins]
    head += ["NR type-I", *[f"NR catches -{m}" for m in margins], "detectable (power)"]
    print(" | ".join(head))
    worst = {"low": 1.0, "high": 0.0, "type1": 0.0}
    for index, s in enumerate(scenarios()):
        if args.only not in s.label():
            continue
        cell = simulate(s, runs, margins, args.seed + index)
        worst["low"] = min(worst["low"], cell.coverage_variant, cell.coverage_difference)
        worst["high"] = max(worst["high"], cell.coverage_variant, cell.coverage_difference)
        errors = [e for e in (*cell.type_one.values(), cell.type_one_nr) if math.isfinite(e)]
        worst["type1"] = max(worst["type1"], *errors)
        row = [
            s.label(),
            _share(cell.coverage_variant, cell.checked[0]),
            _share(cell.coverage_difference, cell.checked[1]),
        ]
        row += [_share(cell.type_one[m], runs) for m in margins]
        row += [f"{cell.power[m]:.3f}" for m in margins]
        row += [_share(cell.type_one_nr, runs), *[_share(cell.caught[m], runs) for m in margins]]
        row.append(f"{cell.mde:.3f} ({cell.power_at_mde:.2f})")
        print(" | ".join(row), flush=True)
    print(
        f"coverage from {worst['low']:.3f} to {worst['high']:.3f}; largest type-I error {worst['type1']:.3f}"
    )


if __name__ == "__main__":
    main()
