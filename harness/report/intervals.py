"""Interval estimates for a suite of fixed fixtures, and the differences between two variants on it.

What is estimated: the fixtures of the suite are fixed, the epochs are the replication. A variant's score
on the suite is θ = the mean over fixtures of its expected score on each fixture (every fixture weighs the
same, however many samples it has); a comparison estimates θ_candidate - θ_baseline on the fixtures both
have. "Is B worse than A on this suite?", not "on fixtures like these in general": with 3 to 10
fixtures, the second question has too few clusters to be answered well, and the gate must answer the
question the interval answers.

Why a score interval and not the bootstrap: with 3 to 10 fixtures and 3 to 10 epochs, scores that sit
at 0 or 1 for whole fixtures are common, a bootstrap (or a Wald interval) then has zero width, and its
coverage falls far below 95% (0.65 measured for binary outcomes near 0.9). The interval here inverts a
score test of the stratified mean, as Wilson's interval does for one proportion (it is Wilson's interval
when there is one fixture):
- under a hypothesised θ0, each fixture's expected score is its estimate moved by one common shift on the
  logit scale until their mean is θ0. The estimates are first shrunk towards their mean as far as their
  spread between fixtures looks like noise (an empirical-Bayes weight: with 5 epochs, most of the spread
  of 0/1 outcomes is noise, and a spread that is noise understates the variance), and pulled a little
  away from 0 and 1, so that a fixture seen always passing can still be imagined failing;
- the variance of the stratified mean under θ0 is Σ_f φ p_f(1-p_f) / n_f / F², with φ = 1 for 0/1 outcomes
  (exact for Bernoulli) and, for scores in [0, 1], a dispersion pooled over the fixtures' within-fixture
  variances (with a tenth of a degree of freedom of prior weight at the binomial level, so that a fixture
  of one sample, or epochs that all agree, never claim zero variance outright), its degrees of freedom
  by Satterthwaite (fixtures near 0 or 1 add little to its precision);
- θ0 is in the interval when |θ̂ - θ0| / sd(θ0) is at most z (0/1 outcomes) or Student's t with the
  pooled degrees of freedom (scores in [0, 1]).
A difference combines the two variants' intervals by MOVER (Newcombe's method 10 for two proportions,
generalised by Zou and Donner): the baseline and the candidate are independent samples within each
fixture, so no pairing of epochs is assumed (epoch numbers carry no meaning across variants or pooled
runs). Its p-value is the level at which that interval first touches 0, so test and interval agree.

Coverage, the gate's type-I error at the margin and its power are measured by seeded simulation in
`benchmarks/calibration.py`; tests/report/test_intervals.py pins a few cells.

Metrics that are not in [0, 1] (dollars, tokens) get the stratified Student-t interval instead (Welch's
degrees of freedom), and their differences Welch's interval.

Everything is vectorised over a leading batch axis, so the benchmark runs thousands of suites at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

Z_975, Z_80 = 1.959963984540054, 0.8416212335729143
SHIFT = 40.0  # logit shifts searched: far beyond any estimate pulled half a sample from 0 and 1
STEPS = 44  # bisection steps on the logit shift (80 / 2**44: below 1e-11)
PRIOR_DF = 0.1  # prior weight of the binomial-level dispersion, in degrees of freedom
PULL = 0.5  # pseudo-samples (half passing) that pull each fixture's anchor towards 1/2


@dataclass(frozen=True)
class Suite:
    """Per-fixture summaries of one metric, shape (batch, fixtures): sample counts, means and unbiased
    variances (0 where a fixture has one sample). ``binary``: outcomes are 0 or 1."""

    n: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    binary: bool

    @classmethod
    def of(cls, groups: list[np.ndarray], binary: bool) -> Suite:
        """One suite from each fixture's observed values (every group non-empty)."""
        n = np.array([[len(g) for g in groups]], dtype=float)
        mean = np.array([[float(np.mean(g)) for g in groups]])
        var = np.array([[float(np.var(g, ddof=1)) if len(g) > 1 else 0.0 for g in groups]])
        return cls(n, mean, var, binary)

    @property
    def estimate(self) -> np.ndarray:
        return np.asarray(self.mean.mean(axis=-1))

    def dispersion(self) -> tuple[np.ndarray, np.ndarray]:
        """φ and the degrees of freedom behind it (infinite for 0/1 outcomes), shape (batch,)."""
        if self.binary:
            ones = np.ones(self.n.shape[0])
            return ones, np.full_like(ones, np.inf)
        binomial = self.mean * (1 - self.mean)
        df = np.clip(self.n - 1, 0, None)
        prior = PRIOR_DF * np.maximum(binomial.mean(axis=-1), 1e-6)
        phi = ((df * self.var).sum(axis=-1) + prior) / ((df * binomial).sum(axis=-1) + prior)
        # Satterthwaite: the fixtures' variances enter weighted by their binomial variance, so a few
        # fixtures near 0.5 carry the estimate while those near 0 or 1 add little to its precision
        weights = df * binomial
        with np.errstate(invalid="ignore", divide="ignore"):
            effective = weights.sum(axis=-1) ** 2 / (weights**2 / np.where(df > 0, df, np.inf)).sum(axis=-1)
        # no fixture varies at all: φ is the prior's binomial level, a bound rather than an estimate,
        # and is used as 0/1 outcomes use theirs (with z)
        effective = np.where(weights.sum(axis=-1) > 0, effective, np.inf)
        return phi, effective + PRIOR_DF


def _anchor(suite: Suite, phi: np.ndarray) -> np.ndarray:
    """Where each fixture's expected score is taken to lie before the common shift: its estimate, shrunk
    towards the mean of the fixtures as far as its spread is noise (an empirical-Bayes weight), then
    pulled towards 1/2 by PULL pseudo-samples on the scale of its effective sample size n / φ, so that
    its logit is finite."""
    n = suite.n / phi[:, None]
    centre = suite.mean.mean(axis=-1, keepdims=True)
    noise = (centre * (1 - centre) / n).mean(axis=-1, keepdims=True)
    spread = suite.mean.var(axis=-1, ddof=1, keepdims=True) if suite.n.shape[-1] > 1 else noise
    between = np.clip(spread - noise, 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = np.where(between > 0, between / (between + centre * (1 - centre) / n), 0.0)
    shrunk = centre + kept * (suite.mean - centre)
    return np.asarray((n * shrunk + PULL / 2) / (n + PULL))


def critical(df: np.ndarray, level: float = 0.95) -> np.ndarray:
    """The two-sided critical value: z for infinite degrees of freedom, Student's t otherwise."""
    q = 1 - (1 - level) / 2
    finite = np.where(np.isinf(df), 1.0, df)
    return np.asarray(np.where(np.isinf(df), stats.norm.ppf(q), stats.t.ppf(q, finite)))


def score_interval(suite: Suite, crit: np.ndarray | float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The score interval of the stratified mean, at the critical value ``crit`` (default: 95%)."""
    phi, df = suite.dispersion()
    c = critical(df) if crit is None else np.broadcast_to(np.asarray(crit, dtype=float), phi.shape)
    logits = special.logit(_anchor(suite, phi))
    estimate = suite.estimate
    count = suite.n.shape[-1]

    def at(shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = special.expit(logits + shift[:, None])
        theta = p.mean(axis=-1)
        sd = np.sqrt(phi * (p * (1 - p) / suite.n).sum(axis=-1)) / count
        return theta, sd

    def bound(sign: float) -> np.ndarray:
        # the shift where (estimate - theta) / sd = sign * c; the statistic falls as the shift grows
        low, high = np.full(phi.shape, -SHIFT), np.full(phi.shape, SHIFT)
        for _ in range(STEPS):
            middle = (low + high) / 2
            theta, sd = at(middle)
            above = (estimate - theta) > sign * c * sd
            low, high = np.where(above, middle, low), np.where(above, high, middle)
        theta, _ = at((low + high) / 2)
        return theta

    lower, upper = bound(1.0), bound(-1.0)
    lower = np.where(lower <= at(np.full(phi.shape, -SHIFT))[0] + 1e-12, 0.0, lower)
    upper = np.where(upper >= at(np.full(phi.shape, SHIFT))[0] - 1e-12, 1.0, upper)
    return np.minimum(lower, estimate), np.maximum(upper, estimate)


def difference_interval(
    baseline: Suite, candidate: Suite, crit: np.ndarray | float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MOVER interval of candidate - baseline on the same fixtures: (difference, lower, upper)."""
    if crit is None:
        crit = critical(comparison_df(baseline, candidate))
    la, ua = score_interval(baseline, crit)
    lb, ub = score_interval(candidate, crit)
    a, b = baseline.estimate, candidate.estimate
    diff = b - a
    lower = diff - np.sqrt((b - lb) ** 2 + (ua - a) ** 2)
    upper = diff + np.sqrt((ub - b) ** 2 + (a - la) ** 2)
    return diff, lower, upper


def comparison_df(baseline: Suite, candidate: Suite) -> np.ndarray:
    """Degrees of freedom of a comparison: the smaller of the two variants' (z for 0/1 outcomes)."""
    return np.asarray(np.minimum(baseline.dispersion()[1], candidate.dispersion()[1]))


def difference_p_value(baseline: Suite, candidate: Suite) -> np.ndarray:
    """Two-sided p-value of "no difference": the level at which the MOVER interval first touches 0."""
    diff = candidate.estimate - baseline.estimate
    df = comparison_df(baseline, candidate)
    low, high = np.zeros_like(diff), np.full_like(diff, 12.0)
    for _ in range(26):  # the critical value to 12 / 2**26, below 1e-6
        middle = (low + high) / 2
        _, lower, upper = difference_interval(baseline, candidate, middle)
        excludes = (lower > 0) | (upper < 0)
        low, high = np.where(excludes, middle, low), np.where(excludes, high, middle)
    c = (low + high) / 2
    tail = np.where(np.isinf(df), stats.norm.sf(c), stats.t.sf(c, np.where(np.isinf(df), 1.0, df)))
    return np.where(diff == 0, 1.0, np.minimum(1.0, 2 * tail))


def detectable(lower: np.ndarray, upper: np.ndarray, df: np.ndarray) -> np.ndarray:
    """The difference the two-sided 5% test detects with 80% power at this size: (z_.975 + z_.8) standard
    errors, the standard error read off the 95% interval's half-width."""
    half = (upper - lower) / 2
    crit = critical(df)
    power = np.where(np.isinf(df), Z_80, stats.t.ppf(0.8, np.where(np.isinf(df), 1.0, df)))
    return np.asarray(half / crit * (crit + power))


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
    tail = np.where(np.isinf(df), stats.norm.sf(stat), stats.t.sf(stat, np.where(np.isinf(df), 1.0, df)))
    return diff, diff - half, diff + half, np.minimum(1.0, 2 * tail)
