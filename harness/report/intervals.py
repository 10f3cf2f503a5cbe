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
A difference is a stratified score interval of its own (Miettinen and Nurminen's, with every fixture
weighing the same): for a hypothesised difference d0, each fixture's expected scores of the two variants
are those of largest likelihood among pairs d0 apart, and d0 is in the interval when the observed
difference is within the critical value of d0 in the standard deviation those imply. The baseline and the
candidate are independent samples within each fixture, so no epoch is paired with another (epoch numbers
carry no meaning across variants or pooled runs). Its p-value is the same statistic at d0 = 0, so test
and interval agree. This replaced combining the two variants' intervals (MOVER), which was conservative
where fixtures always pass (up to 0.985 coverage) and needed a nested search for its p-value. The
detectable difference is that test's own power calculation (Farrington and Manning's), not a multiple of
the interval's half-width, which misses 80% power by up to 0.2 near 0 or 1.

Coverage, the gate's type-I error at the margin and its power are measured by seeded simulation in
`benchmarks/calibration.py`; tests/report/test_intervals.py pins a few cells.

Metrics that are not in [0, 1] (dollars, tokens) get Student-t intervals instead: harness/report/amounts.py.

Everything is vectorised over a leading batch axis, so the benchmark runs thousands of suites at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

Z_975, Z_80 = 1.959963984540054, 0.8416212335729143
SHIFT = 40.0  # logit shifts searched: far beyond any estimate pulled half a sample from 0 and 1
STEPS = 44  # bisection steps on the logit shift (80 / 2**44: below 1e-11)
PRIOR_DF = 0.1  # prior weight of the binomial-level dispersion, in degrees of freedom
PULL = 0.5  # pseudo-samples (half passing) that pull each fixture's anchor towards 1/2
RESTRICT_STEPS = 40  # bisection steps on a fixture's restricted expected score (below 1e-12)
BOUND_STEPS = 34  # bisection steps on a bound of the difference (2 / 2**34: below 1e-10)


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
    return np.asarray(np.where(np.isinf(df), special.ndtri(q), special.stdtrit(finite, q)))


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


def _joined(baseline: Suite, candidate: Suite) -> Suite:
    """Both variants' fixtures side by side, for a dispersion pooled over the two."""
    join = np.concatenate
    return Suite(
        join([baseline.n, candidate.n], axis=-1),
        join([baseline.mean, candidate.mean], axis=-1),
        join([baseline.var, candidate.var], axis=-1),
        baseline.binary,
    )


def comparison_df(baseline: Suite, candidate: Suite) -> np.ndarray:
    """Degrees of freedom of a comparison: those of the dispersion pooled over both variants (z for 0/1
    outcomes and where no fixture varies)."""
    return _joined(baseline, candidate).dispersion()[1]


def _restricted(baseline: Suite, candidate: Suite, d0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each fixture's expected scores (baseline, candidate) of largest (quasi-)likelihood among those whose
    difference is d0: a bisection on the baseline's, whose score equation falls as it grows."""
    edge = 1 - 1e-12  # a difference of exactly ±1 leaves no room inside (0, 1) for the bisection
    d = np.clip(d0[:, None], -edge, edge) + np.zeros_like(baseline.mean)
    low, high = np.maximum(0.0, -d), np.minimum(1.0, 1.0 - d)
    for _ in range(RESTRICT_STEPS):
        pa = (low + high) / 2
        pb = pa + d
        score = baseline.n * (baseline.mean - pa) / (pa * (1 - pa))
        score += candidate.n * (candidate.mean - pb) / (pb * (1 - pb))
        rising = score > 0
        low, high = np.where(rising, pa, low), np.where(rising, high, pa)
    pa = (low + high) / 2
    return pa, pa + d


def _fitted(baseline: Suite, candidate: Suite) -> np.ndarray | float:
    """Miettinen and Nurminen's factor N / (N - 1) on a fixture's variance for 0/1 outcomes: restricted
    estimates fit their own samples too well. Scores need none: their pooled dispersion has its degrees
    of freedom, and Student's t covers them."""
    if not baseline.binary:
        return 1.0
    total = baseline.n + candidate.n
    return np.asarray(total / np.maximum(total - 1, 1))


def _difference_statistic(baseline: Suite, candidate: Suite, d0: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """(observed difference - d0) / its standard deviation where the difference is d0."""
    pa, pb = _restricted(baseline, candidate, d0)
    count = baseline.n.shape[-1]
    spread = pa * (1 - pa) / baseline.n + pb * (1 - pb) / candidate.n
    sd = np.sqrt(phi * (spread * _fitted(baseline, candidate)).sum(axis=-1)) / count
    gap = candidate.estimate - baseline.estimate - d0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, gap / sd, np.where(gap == 0, 0.0, np.sign(gap) * np.inf))


def difference_interval(
    baseline: Suite, candidate: Suite, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stratified score interval of candidate - baseline on the same fixtures: (difference, lower,
    upper). Every d0 whose statistic is within the critical value is in it."""
    phi, df = _joined(baseline, candidate).dispersion()
    c = critical(df, level)
    diff = candidate.estimate - baseline.estimate

    def bound(sign: float) -> np.ndarray:
        # between the observed difference (statistic 0) and ∓1 (statistic ±∞): the statistic falls in d0
        inner, outer = diff.copy(), np.full_like(diff, -sign)
        for _ in range(BOUND_STEPS):
            middle = (inner + outer) / 2
            within = sign * _difference_statistic(baseline, candidate, middle, phi) <= c
            inner, outer = np.where(within, middle, inner), np.where(within, outer, middle)
        return np.asarray((inner + outer) / 2)

    return diff, bound(1.0), bound(-1.0)


def difference_p_value(baseline: Suite, candidate: Suite) -> np.ndarray:
    """Two-sided p-value of "no difference": the same statistic at d0 = 0, so that p < 0.05 exactly
    when the 95% interval leaves out 0."""
    phi, df = _joined(baseline, candidate).dispersion()
    stat = np.abs(_difference_statistic(baseline, candidate, np.zeros_like(phi), phi))
    return np.asarray(np.minimum(1.0, 2 * tail(stat, df)))


def detectable(baseline: Suite, candidate: Suite, power: float = 0.8) -> np.ndarray:
    """The difference that the two-sided 5% test above detects with the given power at this size: the
    δ where δ = c s0(δ) + q s1(δ) (the score test's power, as Farrington and Manning give it), with
    each fixture's expected score taken from both variants' samples (pulled half a sample towards 1/2),
    the candidate's moved by δ on a common logit shift, s1 the standard deviation of the difference
    there and s0 the one the test assumes under "no difference". Of a decrease and an increase, the
    larger: near 0 a decrease has no room, near 1 an increase."""
    phi, df = _joined(baseline, candidate).dispersion()
    c = critical(df)
    q = np.where(np.isinf(df), special.ndtri(power), special.stdtrit(np.where(np.isinf(df), 1, df), power))
    n_a, n_b = baseline.n / phi[:, None], candidate.n / phi[:, None]
    pooled = (n_a * baseline.mean + n_b * candidate.mean + PULL / 2) / (n_a + n_b + PULL)
    factor = phi[:, None] * _fitted(baseline, candidate)

    def needed(sign: float) -> np.ndarray:
        start = pooled.mean(axis=-1)
        low, high = np.zeros_like(phi), start if sign < 0 else 1 - start  # δ: up to all the room there is
        for _ in range(BOUND_STEPS):
            delta = (low + high) / 2
            pb = _moved(pooled, start + sign * delta)
            sd1 = np.sqrt(
                (phi[:, None] * (pooled * (1 - pooled) / baseline.n + pb * (1 - pb) / candidate.n)).sum(-1)
            )
            mix = (baseline.n * pooled + candidate.n * pb) / (baseline.n + candidate.n)
            sd0 = np.sqrt((factor * mix * (1 - mix) * (1 / baseline.n + 1 / candidate.n)).sum(axis=-1))
            short = delta < (c * sd0 + q * sd1) / baseline.n.shape[-1]
            low, high = np.where(short, delta, low), np.where(short, high, delta)
        return np.asarray((low + high) / 2)

    return np.asarray(np.maximum(needed(-1.0), needed(1.0)))


def growth_to_pass(baseline: Suite, candidate: Suite, margin: float, power: float = 0.8) -> np.ndarray:
    """By what factor the samples on every fixture would have to grow for a candidate this far from the
    baseline (the same means and spread) to clear a non-inferiority bound at -margin with the given power:
    ((c + q) / T)², T the score statistic at d0 = -margin, which grows with the square root of the
    samples. Infinite where the difference seen is at or below -margin."""
    phi, df = _joined(baseline, candidate).dispersion()
    stat = _difference_statistic(baseline, candidate, np.full_like(phi, -margin), phi)
    finite = np.where(np.isinf(df), 1.0, df)
    q = np.where(np.isinf(df), special.ndtri(power), special.stdtrit(finite, power))
    with np.errstate(divide="ignore"):
        return np.asarray(np.where(stat > 0, ((critical(df) + q) / stat) ** 2, np.inf))


def _moved(p: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``p`` (batch, fixtures) moved by one common logit shift until its mean over fixtures is ``target``."""
    logits = special.logit(p)
    low, high = np.full(target.shape, -SHIFT), np.full(target.shape, SHIFT)
    for _ in range(STEPS):
        shift = (low + high) / 2
        over = special.expit(logits + shift[:, None]).mean(axis=-1) > target
        low, high = np.where(over, low, shift), np.where(over, shift, high)
    return np.asarray(special.expit(logits + ((low + high) / 2)[:, None]))


def tail(stat: np.ndarray, df: np.ndarray) -> np.ndarray:
    """The upper tail of z (infinite degrees of freedom) or Student's t beyond ``stat``."""
    finite = np.where(np.isinf(df), 1.0, df)
    return np.asarray(np.where(np.isinf(df), special.ndtr(-stat), special.stdtr(finite, -stat)))
