"""Intervals for metrics that are not in [0, 1] (dollars, tokens), on the same estimand as
harness/report/intervals.py (the suite's fixtures fixed, the epochs the replication): the stratified
Student-t interval of a variant's mean over fixtures, and Welch's interval of a difference, both with
Welch-Satterthwaite degrees of freedom."""

from __future__ import annotations

import numpy as np

from harness.report.intervals import Z_80, Z_975, Suite, critical, tail


def _welch(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Variance and Welch-Satterthwaite degrees of freedom of a sum of per-fixture mean estimates, each
    given as (variances of the means, their degrees of freedom)."""
    total = sum(v.sum(axis=-1) for v, _ in parts)
    denominator = sum((v**2 / np.where(d > 0, d, np.inf)).sum(axis=-1) for v, d in parts)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.where(denominator > 0, np.asarray(total) ** 2 / denominator, np.inf)
    return np.asarray(total), np.asarray(df)


def mean_interval(suite: Suite) -> tuple[np.ndarray, np.ndarray]:
    """The stratified Student-t interval (for metrics outside [0, 1])."""
    count = suite.n.shape[-1]
    variance, df = _welch([(suite.var / suite.n / count**2, suite.n - 1)])
    half = critical(df) * np.sqrt(variance)
    return suite.estimate - half, suite.estimate + half


def mean_difference(
    baseline: Suite, candidate: Suite
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Welch's interval of candidate - baseline: (difference, lower, upper, two-sided p)."""
    count = baseline.n.shape[-1]
    variance, df = _welch([(s.var / s.n / count**2, s.n - 1) for s in (baseline, candidate)])
    diff = candidate.estimate - baseline.estimate
    sd = np.sqrt(variance)
    half = critical(df) * sd
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.where(sd > 0, np.abs(diff) / sd, np.where(diff == 0, 0.0, np.inf))
    return diff, diff - half, diff + half, np.minimum(1.0, 2 * tail(stat, df))


def detectable_amount(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The difference Welch's two-sided 5% test detects with 80% power: (z_.975 + z_.8) standard errors,
    the standard error read off the interval (a t-test of a mean has the same width at every value)."""
    return np.asarray((high - low) / 2 / Z_975 * (Z_975 + Z_80))
