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
  spread between fixtures looks like noise (an empirical-Bayes weight), and pulled a little away from 0
  and 1, so that a fixture seen always passing can still be imagined failing;
- the variance of the stratified mean under θ0 is Σ_f v_f(p_f) / n_f / F², v_f a fixture's variance of one
  sample where its expected score is p_f (below);
- θ0 is in the interval when |θ̂ - θ0| / sd(θ0) is at most the critical value (z, or Student's t with
  Satterthwaite's degrees of freedom where the variances are estimated).

The variance model. For 0/1 outcomes v(p) = p(1-p), exact. For scores in [0, 1], every fixture of every
variant keeps its own: v_f(p) = φ_f p(1-p) + m_f(p), where
- φ_f is the fixture's observed dispersion: its unbiased variance over its pulled mean's p(1-p), with a
  tenth of a degree of freedom of prior weight at 1 (the binomial bound) so that one sample is not read
  as no variance;
- m_f(p) = p(x̄_f - p) below the fixture's observed mean x̄_f, and (1-p)(p - x̄_f) above: what moving the
  fixture's mean from x̄_f to p adds to its variance when the mass moved goes to the nearer bound (a
  build that fails scores 0). For 0/1 outcomes the two terms together are exactly p(1-p), so this is
  the binomial score test generalised: samples that agree are not a certainty, as Wilson's interval does
  not take 10 successes in 10 for a proportion of 1.
Why not one dispersion pooled over the fixtures (what this replaced): fixtures differ. A candidate that
fails to build one fixture a third of the time shows three clean builds in a row 30% of the time; a pooled
dispersion, estimated from the fixtures that are steady, gave that fixture their tiny variance, and the
gate passed a candidate worse by the margin 18% of the time at 3 fixtures x 3 epochs. A fixture's own
samples are the only evidence of its variance, and samples that agree are weak evidence: m_f lets a
hypothesis that moves their mean do so through an outcome not seen yet. Why not a randomisation test
within fixtures: with 3 epochs a fixture has 20 arrangements, too few for a 2.5% tail, and it tests "no
difference", not a margin. Why not a hierarchical model: its prior over dispersions is estimated from the
other fixtures, the very borrowing that failed. The price is width where scores spread continuously
(coverage 0.955 to 1.000 for scores in the README's grid, 0.940 to 0.974 for 0/1 outcomes away from
a ceiling): it costs power, never safety.

A difference is a stratified score interval of its own (Miettinen and Nurminen's, with every fixture
weighing the same): for a hypothesised difference d0, each fixture's expected scores of the two variants
are those of largest (quasi-)likelihood among pairs d0 apart (Farrington and Manning's closed form, each
variant's samples weighed by n / φ), and d0 is in the interval when the observed difference is within the
critical value of d0 in the standard deviation those imply. The baseline and the candidate are independent
samples within each fixture, so no epoch is paired with another (epoch numbers carry no meaning across
variants or pooled runs). Its p-value is the same statistic at d0 = 0, so test and interval agree. The
detectable difference is that test's own power calculation (Farrington and Manning's).

Coverage, the gate's type-I error and its power are measured by seeded simulation in
`benchmarks/calibration.py`, over scenarios built to break this model (bimodal outcomes, a build that
sometimes fails on one fixture, steady and volatile fixtures mixed, epochs lost, scores near a ceiling,
constant scores); tests/report/test_calibration.py pins a few cells.

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
PRIOR = 0.1  # degrees of freedom of prior weight on a fixture's dispersion, at the binomial bound
PULL = 0.5  # pseudo-samples (half passing) that pull each fixture's anchor towards 1/2
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

    def pulled(self) -> np.ndarray:
        """Each fixture's mean pulled PULL samples towards 1/2."""
        return np.asarray((self.n * self.mean + PULL / 2) / (self.n + PULL))

    def dispersion(self) -> tuple[np.ndarray, np.ndarray]:
        """Per fixture (batch, fixtures): φ_f, and the part of it that the fixture's samples estimate (the
        rest is the prior's, known); 1 and 0 for 0/1 outcomes."""
        if self.binary:
            return np.ones_like(self.mean), np.zeros_like(self.mean)
        d = np.clip(self.n - 1, 0, None)
        p = self.pulled()
        estimated = d * (self.var / (p * (1 - p))) / (d + PRIOR)
        return estimated + PRIOR / (d + PRIOR), estimated


def variance_at(suite: Suite, phi: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each fixture's variance of one sample where its expected score is p (batch, fixtures): p(1-p) for
    0/1 outcomes; for scores, its dispersion's share of p(1-p) plus what moving the fixture's mean from
    the observed x̄ to p adds when the mass moved goes to the nearer bound (p(x̄ - p) below x̄, (1-p)(p - x̄)
    above): a fixture whose samples all agree can still hide an outcome it has not shown yet."""
    return _variance(suite.binary, phi, suite.mean, p)


def _variance(binary: bool, phi: np.ndarray, x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """:func:`variance_at` for a fixture whose samples' mean is x."""
    binomial = p * (1 - p)
    if binary:
        return np.asarray(binomial)
    return np.asarray(phi * binomial + np.where(p < x, p * (x - p), (1 - p) * (p - x)))


def freedom(*parts: tuple[Suite, np.ndarray]) -> np.ndarray:
    """Satterthwaite's degrees of freedom of Σ c_f φ_f over the suites' fixtures, each given with its
    weights c (batch, fixtures): the estimated part of φ_f has n_f - 1 of them (infinite where nothing is
    estimated: 0/1 outcomes, or samples that all agree)."""
    total = np.zeros(parts[0][0].n.shape[0])
    spread = np.zeros_like(total)
    for suite, weights in parts:
        phi, estimated = suite.dispersion()
        d = np.clip(suite.n - 1, 0, None)
        total = total + (weights * phi).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = spread + np.where(d > 0, (weights * estimated) ** 2 / d, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(spread > 0, total**2 / spread, np.inf))


def _anchor(suite: Suite, phi: np.ndarray) -> np.ndarray:
    """Where each fixture's expected score is taken to lie before the common shift: its estimate, shrunk
    towards the mean of the fixtures as far as its spread is noise (an empirical-Bayes weight), then
    pulled towards 1/2 by PULL pseudo-samples on the scale of its effective sample size n / φ_f, so that
    its logit is finite."""
    n = suite.n / phi
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
    return quantile(df, q)


def quantile(df: np.ndarray, q: float) -> np.ndarray:
    """The q quantile of z (infinite degrees of freedom) or Student's t."""
    finite = np.where(np.isinf(df), 1.0, df)
    return np.asarray(np.where(np.isinf(df), special.ndtri(q), special.stdtrit(finite, q)))


def _bisect(rises: object, low: np.ndarray, high: np.ndarray, steps: int) -> np.ndarray:
    """The point where the vectorised predicate ``rises(x)`` turns from False to True between low and
    high, by bisection."""
    for _ in range(steps):
        middle = (low + high) / 2
        up = rises(middle)  # type: ignore[operator]
        low, high = np.where(up, low, middle), np.where(up, middle, high)
    return np.asarray((low + high) / 2)


def score_interval(suite: Suite, crit: np.ndarray | float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The score interval of the stratified mean, at the critical value ``crit`` (default: 95%)."""
    phi, _ = suite.dispersion()
    p0 = suite.pulled()
    df = freedom((suite, p0 * (1 - p0) / suite.n))
    c = critical(df) if crit is None else np.broadcast_to(np.asarray(crit, dtype=float), df.shape)
    logits = special.logit(_anchor(suite, phi))
    estimate = suite.estimate
    count = suite.n.shape[-1]
    batch = len(estimate)
    # both bounds in one batch: the first half the lower (sign +1), the second the upper
    sign = np.repeat([1.0, -1.0], batch)
    logits2, phi2, n2 = (np.concatenate([x, x]) for x in (logits, phi, suite.n))
    s2 = _doubled(suite)
    est2, c2 = np.concatenate([estimate, estimate]), np.concatenate([c, c])

    def at(shift: np.ndarray) -> np.ndarray:
        p = special.expit(logits2 + shift[:, None])
        theta = p.mean(axis=-1)
        sd = np.sqrt((variance_at(s2, phi2, p) / n2).sum(axis=-1)) / count
        # the statistic falls as the shift grows: rises to True past the bound
        return np.asarray((est2 - theta) <= sign * c2 * sd)

    shift = _bisect(at, np.full(2 * batch, -SHIFT), np.full(2 * batch, SHIFT), STEPS)
    theta = special.expit(logits2 + shift[:, None]).mean(axis=-1)
    lower, upper = theta[:batch], theta[batch:]
    edge_low = special.expit(logits - SHIFT).mean(axis=-1)
    edge_high = special.expit(logits + SHIFT).mean(axis=-1)
    lower = np.where(lower <= edge_low + 1e-12, 0.0, lower)
    upper = np.where(upper >= edge_high - 1e-12, 1.0, upper)
    return np.minimum(lower, estimate), np.maximum(upper, estimate)


def _restricted(
    baseline: Suite, candidate: Suite, d0: np.ndarray, phis: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Each fixture's expected scores (baseline, candidate) of largest quasi-likelihood among those whose
    difference is d0, each variant's samples weighed n / φ: Farrington and Manning's closed form (the
    root of a cubic)."""
    m_a, m_b = baseline.n / phis[0], candidate.n / phis[1]
    edge = 1 - 1e-9
    d = np.clip(d0[:, None], -edge, edge) + np.zeros_like(baseline.mean)
    x1, x2, theta = candidate.mean, baseline.mean, m_a / m_b  # group 1 the candidate, p1 - p2 = d
    a = 1 + theta
    b = -(1 + theta + x1 + theta * x2 + d * (theta + 2))
    c = d * d + d * (2 * x1 + theta + 1) + x1 + theta * x2
    e = -x1 * d * (1 + d)
    v = b**3 / (3 * a) ** 3 - b * c / (6 * a * a) + e / (2 * a)
    u = np.sign(v) * np.sqrt(np.clip(b * b / (3 * a) ** 2 - c / (3 * a), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(u != 0, v / u**3, 0.0)
    w = (np.pi + np.arccos(np.clip(ratio, -1.0, 1.0))) / 3
    p1 = 2 * u * np.cos(w) - b / (3 * a)
    lo, hi = np.maximum(0.0, d), np.minimum(1.0, 1.0 + d)
    p1 = np.clip(p1, lo, hi)
    return p1 - d, p1


def _fitted(baseline: Suite, candidate: Suite) -> np.ndarray | float:
    """Miettinen and Nurminen's factor N / (N - 1) on a fixture's variance for 0/1 outcomes: restricted
    estimates fit their own samples too well. Scores need none: their dispersions carry their degrees of
    freedom, and Student's t covers them."""
    if not baseline.binary:
        return 1.0
    total = baseline.n + candidate.n
    return np.asarray(total / np.maximum(total - 1, 1))


def _statistic(
    baseline: Suite, candidate: Suite, d0: np.ndarray, phis: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """(observed difference - d0) / its standard deviation where the difference is d0."""
    pa, pb = _restricted(baseline, candidate, d0, phis)
    count = baseline.n.shape[-1]
    spread = (
        variance_at(baseline, phis[0], pa) / baseline.n + variance_at(candidate, phis[1], pb) / candidate.n
    )
    sd = np.sqrt((spread * _fitted(baseline, candidate)).sum(axis=-1)) / count
    gap = candidate.estimate - baseline.estimate - d0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, gap / sd, np.where(gap == 0, 0.0, np.sign(gap) * np.inf))


def comparison_df(baseline: Suite, candidate: Suite) -> np.ndarray:
    """Degrees of freedom of a comparison: Satterthwaite's over both variants' fixtures (z for 0/1
    outcomes and where no fixture varies)."""
    pa, pb = baseline.pulled(), candidate.pulled()
    return freedom((baseline, pa * (1 - pa) / baseline.n), (candidate, pb * (1 - pb) / candidate.n))


def _phis(baseline: Suite, candidate: Suite) -> tuple[np.ndarray, np.ndarray]:
    return baseline.dispersion()[0], candidate.dispersion()[0]


def _doubled(suite: Suite) -> Suite:
    join = np.concatenate
    return Suite(
        join([suite.n, suite.n]), join([suite.mean, suite.mean]), join([suite.var, suite.var]), suite.binary
    )


def difference_interval(
    baseline: Suite, candidate: Suite, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stratified score interval of candidate - baseline on the same fixtures: (difference, lower,
    upper). Every d0 whose statistic is within the critical value is in it."""
    c = critical(comparison_df(baseline, candidate), level)
    diff = candidate.estimate - baseline.estimate
    batch = len(diff)
    a2, b2 = _doubled(baseline), _doubled(candidate)
    phis = _phis(a2, b2)
    sign = np.repeat([1.0, -1.0], batch)
    c2, diff2 = np.concatenate([c, c]), np.concatenate([diff, diff])

    def outside(d0: np.ndarray) -> np.ndarray:
        # d0 runs from the observed difference (statistic 0) to ∓1: True once the statistic passes c
        return np.asarray(sign * _statistic(a2, b2, diff2 - sign * d0, phis) > c2)

    # bisect on the distance from the observed difference, up to the whole room to ∓1
    room = np.where(sign > 0, diff2 + 1, 1 - diff2)
    distance = _bisect(outside, np.zeros(2 * batch), room, BOUND_STEPS)
    return diff, diff - distance[:batch], diff + distance[batch:]


def difference_p_value(baseline: Suite, candidate: Suite) -> np.ndarray:
    """Two-sided p-value of "no difference": the same statistic at d0 = 0, so that p < 0.05 exactly
    when the 95% interval leaves out 0."""
    df = comparison_df(baseline, candidate)
    stat = np.abs(_statistic(baseline, candidate, np.zeros_like(df), _phis(baseline, candidate)))
    return np.asarray(np.minimum(1.0, 2 * tail(stat, df)))


def one_sided_p_value(baseline: Suite, candidate: Suite, d0: float, worse: bool) -> np.ndarray:
    """One-sided p-value of "the difference is at least d0" (``worse``: evidence that it is below d0)
    or "at most d0" (evidence that it is above)."""
    df = comparison_df(baseline, candidate)
    stat = _statistic(baseline, candidate, np.full_like(df, d0), _phis(baseline, candidate))
    return tail(-stat if worse else stat, df)


def detectable(baseline: Suite, candidate: Suite, power: float = 0.8) -> np.ndarray:
    """The difference that the two-sided 5% test above detects with the given power at this size: the
    δ where δ = c s0(δ) + q s1(δ) (the score test's power, as Farrington and Manning give it), with
    each fixture's expected score taken from both variants' samples (pulled half a sample towards 1/2),
    the candidate's moved by δ on a common logit shift, s1 the standard deviation of the difference
    there and s0 the one the test assumes under "no difference". Of a decrease and an increase, the
    larger: near 0 a decrease has no room, near 1 an increase."""
    df = comparison_df(baseline, candidate)
    c, q = critical(df), quantile(df, power)
    phi_a, phi_b = _phis(baseline, candidate)
    n_a, n_b = baseline.n / phi_a, candidate.n / phi_b
    pooled = (n_a * baseline.mean + n_b * candidate.mean + PULL / 2) / (n_a + n_b + PULL)
    factor = _fitted(baseline, candidate)
    start = pooled.mean(axis=-1)
    logits = special.logit(pooled)
    count = baseline.n.shape[-1]
    binary = baseline.binary
    base_spread = (_variance(binary, phi_a, pooled, pooled) / baseline.n).sum(axis=-1)

    def detected(shift: np.ndarray, sign: float) -> np.ndarray:
        # the candidate's samples centred on pb; the test's variance where both are at their mix
        pb = special.expit(logits + shift[:, None])
        delta = sign * (pb.mean(axis=-1) - start)
        sd1 = np.sqrt(base_spread + (_variance(binary, phi_b, pb, pb) / candidate.n).sum(axis=-1))
        mix = (baseline.n * pooled + candidate.n * pb) / (baseline.n + candidate.n)
        spread0 = _variance(binary, phi_a, pooled, mix) / baseline.n
        spread0 = spread0 + _variance(binary, phi_b, pb, mix) / candidate.n
        sd0 = np.sqrt((factor * spread0).sum(axis=-1))
        return np.asarray(delta >= (c * sd0 + q * sd1) / count)

    found = []
    for sign in (-1.0, 1.0):
        far = np.full_like(start, sign * SHIFT)
        reach = sign * (special.expit(logits + far[:, None]).mean(axis=-1) - start)
        shift = _bisect(
            lambda s, g=sign: detected(s * g, g), np.zeros_like(start), np.full_like(start, SHIFT), STEPS
        )
        delta = sign * (special.expit(logits + sign * shift[:, None]).mean(axis=-1) - start)
        found.append(np.where(detected(far, sign), delta, reach))
    return np.asarray(np.maximum(found[0], found[1]))


def growth_to_pass(baseline: Suite, candidate: Suite, margin: float, power: float = 0.8) -> np.ndarray:
    """By what factor the samples on every fixture would have to grow for a candidate this far from the
    baseline (the same means and spread) to clear a non-inferiority bound at -margin with the given power:
    ((c + q) / T)², T the score statistic at d0 = -margin, which grows with the square root of the
    samples. Infinite where the difference seen is at or below -margin."""
    df = comparison_df(baseline, candidate)
    stat = _statistic(baseline, candidate, np.full_like(df, -margin), _phis(baseline, candidate))
    with np.errstate(divide="ignore"):
        return np.asarray(np.where(stat > 0, ((critical(df) + quantile(df, power)) / stat) ** 2, np.inf))


def tail(stat: np.ndarray, df: np.ndarray) -> np.ndarray:
    """The upper tail of z (infinite degrees of freedom) or Student's t beyond ``stat``."""
    finite = np.where(np.isinf(df), 1.0, df)
    return np.asarray(np.where(np.isinf(df), special.ndtr(-stat), special.stdtr(finite, -stat)))
