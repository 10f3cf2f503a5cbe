"""What a run of a planned size can decide, before it is made: for a gated metric and each gate mode, the
chance that an unchanged candidate passes and the chance that a candidate worse by the margin is caught
(fails), at a fixed number of epochs and with `--until-decided` (how many epochs it would make on
average, so that samples and dollars can be forecast).

By simulation, not by a formula: the report's intervals are score intervals whose width depends on the
outcomes themselves (a fixture whose samples all agree is not a certainty), so no normal approximation
gives their chances. Each fixture's samples are drawn from a pool of values (earlier samples of the
baseline on that fixture, or a stated default); the unchanged candidate draws from the same pools, and
the worse one from the same pools with a failed build (score 0) mixed in just often enough to lower the
suite's mean by the margin. Every simulated run is judged by the gate's own rules on the report's own
intervals (harness/report/gate.py): non-inferiority passes when the lower bound clears -margin,
no-regression fails when the upper bound lies below -negligible; the sequential looks use the boundaries
of harness/report/sequential.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.report.intervals import Suite, difference_interval
from harness.report.sequential import look_levels
from harness.report.stats import NEGLIGIBLE_SCORE

RUNS = 1000  # simulated runs: a chance's Monte Carlo error is at most 0.016


@dataclass(frozen=True)
class Chances:
    mode: str
    unchanged_passes: float  # an unchanged candidate passes (fixed design, the planned epochs)
    worse_caught: float  # a candidate worse by the margin fails
    epochs_unchanged: float  # with --until-decided (first look at 2, at most the planned epochs)
    epochs_worse: float
    sequential_passes: float  # --until-decided passes an unchanged candidate
    sequential_caught: float  # ... and fails one worse by the margin


def _draw(
    rng: np.random.Generator, pools: list[np.ndarray], epochs: int, runs: int, failing: float
) -> np.ndarray:
    """Samples (runs, fixtures, epochs) from each fixture's pool, a build failing with chance ``failing``."""
    values = np.stack(
        [pool[rng.integers(0, len(pool), size=(runs, epochs))] for pool in pools], axis=1
    ).astype(float)
    return np.asarray(np.where(rng.random(values.shape) < failing, 0.0, values))


def _suite(values: np.ndarray, binary: bool) -> Suite:
    n = np.full(values.shape[:2], float(values.shape[2]))
    var = values.var(axis=2, ddof=1) if values.shape[2] > 1 else np.zeros(values.shape[:2])
    return Suite(n, values.mean(axis=2), var, binary)


def _verdicts(
    a: np.ndarray, b: np.ndarray, binary: bool, margin: float, level: float
) -> tuple[np.ndarray, ...]:
    """(non-inferiority passes, no-regression fails, non-inferiority shown worse) for each run."""
    _, low, high = difference_interval(_suite(a, binary), _suite(b, binary), level)
    return low >= -margin, high < -NEGLIGIBLE_SCORE, high < -margin


def _sequential(
    a: np.ndarray, b: np.ndarray, binary: bool, margin: float, mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """(passed, epochs made) of --until-decided: looks from epoch 2 to the last."""
    runs, last = a.shape[0], a.shape[2]
    passed, stopped = np.zeros(runs, dtype=bool), np.zeros(runs, dtype=bool)
    used = np.full(runs, float(last))
    for epoch, level in look_levels(min(2, last), last).items():
        shown_within, regression, worse = _verdicts(a[..., :epoch], b[..., :epoch], binary, margin, level)
        if mode == "non-inferiority":
            ends, passes = shown_within | worse | (epoch == last), shown_within
        else:
            ends, passes = shown_within | regression | (epoch == last), ~regression
        now = ends & ~stopped
        passed[now], used[now] = passes[now], epoch
        stopped |= now
    return passed, used


def chances(
    pools: list[np.ndarray], epochs: int, margin: float, binary: bool, runs: int = RUNS, seed: int = 0
) -> list[Chances]:
    """Both modes' chances for a suite whose fixtures draw from ``pools`` (one array of values each)."""
    rng = np.random.default_rng(seed)
    level_mean = float(np.mean([pool.mean() for pool in pools]))
    failing = min(1.0, margin / level_mean) if level_mean > 0 else 1.0
    base, same = _draw(rng, pools, epochs, runs, 0.0), _draw(rng, pools, epochs, runs, 0.0)
    worse = _draw(rng, pools, epochs, runs, failing)
    base_again = _draw(rng, pools, epochs, runs, 0.0)
    passes_equal, regression_equal, _ = _verdicts(base, same, binary, margin, 0.95)
    passes_worse, regression_worse, _ = _verdicts(base_again, worse, binary, margin, 0.95)
    found = []
    for mode in ("non-inferiority", "no-regression"):
        seq_equal, used_equal = _sequential(base, same, binary, margin, mode)
        seq_worse, used_worse = _sequential(base_again, worse, binary, margin, mode)
        ni = mode == "non-inferiority"
        found.append(
            Chances(
                mode=mode,
                unchanged_passes=float((passes_equal if ni else ~regression_equal).mean()),
                worse_caught=float((~passes_worse if ni else regression_worse).mean()),
                epochs_unchanged=float(used_equal.mean()),
                epochs_worse=float(used_worse.mean()),
                sequential_passes=float(seq_equal.mean()),
                sequential_caught=float((~seq_worse).mean()),
            )
        )
    return found
