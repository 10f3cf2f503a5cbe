"""The gate looked at after every round (`crucible run --until-decided`), without the error that looking
again and again adds: a group-sequential design with Lan and DeMets's O'Brien-Fleming-type alpha spending.

Why this and not anytime-valid confidence sequences: the looks are known in advance (one after each round
of one epoch, up to `--max-epochs`), and a group-sequential design spends exactly the error there is over
exactly those looks. A confidence sequence stays valid for any number of looks and any stopping rule, but
pays for that with intervals far wider at 3 to 10 epochs, and needs a bounded or sub-Gaussian model of the
statistic that the stratified score statistic does not give without more slack. O'Brien-Fleming-type
spending spends almost nothing early, so the last look's critical value stays near the fixed design's
(2.04 instead of 1.96 with 5 looks) and the power at the maximum is nearly the fixed design's, while a
clear case stops early.

The model: at look k the gate's statistic is Z_k = S_k / sqrt(t_k), with S a Brownian motion in the
information fraction t (the information of a stratified difference grows with the samples, and every
round adds one epoch to every cell, so t_k = epochs so far / maximum epochs). The critical value c_k
solves P(Z_j < c_j for all j < k, Z_k >= c_k) = a(t_k) - a(t_(k-1)), with the spending
a(t) = 2 - 2Φ(z_(1-a/2) / sqrt(t)) of a one-sided error a = 0.025 (the fixed gate's: a 95% two-sided
interval's bound against the margin). It is found by numerical integration of the continuation
region's density from look to look (Armitage, McPherson and Rowe's recursion). At a look, the gate is
the report's gate with intervals at the two-sided level 2Φ(c_k) - 1: it passes when every gated
metric's bound clears the margin, fails as soon as one is shown worse beyond it (the other side, with
the same boundary), and is too small at the last look otherwise.

How far the model holds for scores of a handful of fixtures is measured, not assumed: the sequential
scenarios of `benchmarks/calibration.py`."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
from scipy import special

from harness.records import SampleRecord
from harness.records.sequential import Look, SequentialRun
from harness.report.gate import GateSpec, gate
from harness.report.stats import GATE_METRICS, compare, frame, suite_fixtures

ALPHA = 0.025  # one-sided, as the fixed gate's 95% two-sided interval
GRID = 1201  # points of the continuation density
TAIL_SD = 10.0  # the grid reaches this many standard deviations below zero
SOLVE_STEPS = 60


def spent(t: float, alpha: float = ALPHA) -> float:
    """Lan-DeMets O'Brien-Fleming-type spending: the error spent by information fraction ``t``."""
    if t <= 0:
        return 0.0
    z = special.ndtri(1 - alpha / 2)
    return float(2 - 2 * special.ndtr(z / math.sqrt(min(t, 1.0))))


def boundaries(fractions: list[float], alpha: float = ALPHA) -> list[float]:
    """The critical values c_k of one-sided looks at these increasing information fractions."""
    if not fractions or fractions[0] <= 0 or any(b <= a for a, b in itertools.pairwise(fractions)):
        raise ValueError(f"information fractions must increase from above 0: {fractions}")
    first = fractions[0]
    c = float(special.ndtri(1 - spent(first, alpha)))
    found = [c]
    grid = np.linspace(-TAIL_SD * math.sqrt(first), c * math.sqrt(first), GRID)
    density = np.exp(-(grid**2) / (2 * first)) / math.sqrt(2 * math.pi * first)
    for before, t in itertools.pairwise(fractions):
        weights = _trapezoid(grid) * density  # mass of the paths still going at the look before
        c = _solve(weights, grid, t, t - before, spent(t, alpha) - spent(before, alpha))
        found.append(c)
        fresh = np.linspace(-TAIL_SD * math.sqrt(t), c * math.sqrt(t), GRID)
        gap = fresh[:, None] - grid[None, :]
        step = t - before
        grid, density = fresh, np.exp(-(gap**2) / (2 * step)) / math.sqrt(2 * math.pi * step) @ weights
    return found


def _trapezoid(grid: np.ndarray) -> np.ndarray:
    h = np.diff(grid)
    weights = np.zeros_like(grid)
    weights[:-1] += h / 2
    weights[1:] += h / 2
    return weights


def _solve(weights: np.ndarray, grid: np.ndarray, t: float, step: float, target: float) -> float:
    """The c at which the paths still going (``weights`` on ``grid``, the score at the look before) cross
    c sqrt(t) at this look with probability ``target``; infinite when there is nothing to spend."""
    if target <= 0:
        return math.inf
    low, high = 0.0, 12.0
    for _ in range(SOLVE_STEPS):
        middle = (low + high) / 2
        crossing = float((weights * special.ndtr((grid - middle * math.sqrt(t)) / math.sqrt(step))).sum())
        low, high = (middle, high) if crossing > target else (low, middle)
    return (low + high) / 2


def look_levels(first: int, last: int, alpha: float = ALPHA) -> dict[int, float]:
    """For looks after every epoch from ``first`` to ``last``: the two-sided level of each look's
    intervals, by epoch."""
    epochs = list(range(first, last + 1))
    critical = boundaries([e / last for e in epochs], alpha)
    return {e: float(2 * special.ndtr(c) - 1) for e, c in zip(epochs, critical, strict=True)}


def look(
    records: list[SampleRecord], design: SequentialRun, planned: list[str], epoch: int, level: float
) -> Look:
    """The gate on the samples so far, its intervals at this look's level. Non-inferiority is decided
    when every gated metric passes or one is shown worse. No-regression is decided when one is shown
    worse (it fails), when every one is shown within the margin (no regression of the margin's size is
    left to find: it passes), or at the last look (it passes unless shown worse)."""
    spec = GateSpec(design.margin, design.mode, design.allow_partial)
    pair = [r for r in records if r.variant in (design.baseline, design.candidate)]
    diffs = compare(frame(pair), design.baseline, design.candidate, GATE_METRICS, level=level)
    expected = suite_fixtures(pair, planned)
    result = gate(diffs, spec, expected)
    decided = result.passed or "worse" in result.outcomes.values()
    if spec.mode == "no-regression" and result.passed and epoch < design.max_epochs:
        decided = gate(diffs, replace(spec, mode="non-inferiority"), expected).passed
    return Look(
        epoch=epoch,
        level=level,
        outcomes=result.outcomes,
        reasons=result.reasons,
        passed=result.passed,
        decided=decided,
    )
