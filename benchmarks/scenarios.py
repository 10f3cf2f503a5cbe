"""The data-generating processes of the calibration benchmark (benchmarks/calibration.py): synthetic suites
of F fixtures x E epochs for a baseline and a candidate whose true difference (the mean over fixtures of
the fixtures' expected scores) is known exactly. Each family is built to break one assumption a variance
model could make:
- ``logit``: fixture means from a logit-normal with the scenario's mean and ICC (latent scale), outcomes
  0/1 (Bernoulli) or scores (the pass rate of 20 tests, each passing with a chance drawn per sample from a
  Beta around the fixture mean); the effect the same on every fixture or spread over them. With a mean of
  0.95 or more it is the near-ceiling case;
- ``bimodal``: an agent nails a fixture (most of 20 tests pass) or breaks it (few do), with a chance per
  fixture drawn from 0.1 to 0.9 (where the effect leaves room); the candidate's chances move;
- ``build``: every fixture steady (a flaky test now and then) for both variants, except that the
  candidate fails to build fixture 1 (score 0) with the chance that makes the difference the target;
- ``mixed``: steady and bimodal fixtures alternate; the effect is on the bimodal ones;
- ``constant``: each fixture scores one value between 0.35 and 0.95, except for a build that fails with a
  chance of 0.05 (the candidate's chance moves);
Any family can lose epochs to infrastructure failures (``dropped``: 0 to 2 a fixture and variant, at least
one left), so that epochs are unequal. A draw whose target difference the family cannot reach (a build
failure more likely than 1) is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TESTS_PER_SCORE, WITHIN = 20, 4.0
NAILED, BROKEN = 0.95, 0.1  # chance of each test passing when a sample nails or breaks a fixture
STEADY = (0.95, 0.995)  # a steady fixture's per-test pass chance
CONSTANT_VALUES = (0.35, 0.5, 0.65, 0.8, 0.95)
CONSTANT_DROP = 0.05


@dataclass(frozen=True)
class Scenario:
    family: str
    fixtures: int
    epochs: int
    outcome: str = "score"  # "binary" (0/1) or "score" (in [0, 1])
    mean: float = 0.6  # logit family only
    icc: float = 0.0  # logit family only
    effect: str = "constant"  # "constant" or "varying" over fixtures (logit and bimodal)
    dropped: bool = False

    def label(self) -> str:
        size = f"{self.fixtures}x{self.epochs}"
        parts = [size, self.family]
        if self.family == "logit":
            parts += [f"icc {self.icc:.1f}", self.outcome, f"{self.mean:.2f}"]
        if self.family in ("logit", "bimodal"):
            parts.append(self.effect)
        if self.dropped:
            parts.append("dropped")
        return " ".join(parts)

    @property
    def binary(self) -> bool:
        return self.outcome == "binary"


@dataclass
class Draw:
    """Samples (runs, fixtures, epochs), NaN where an epoch was lost, and the true fixture means."""

    a: np.ndarray
    b: np.ndarray
    truth_a: np.ndarray  # (runs, fixtures)
    truth_b: np.ndarray


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


def spread(rng: np.random.Generator, s: Scenario, runs: int, delta: float, width: int) -> np.ndarray:
    """Per-fixture effects averaging ``delta``: equal, or weights from a quarter to twice the mean."""
    if s.effect == "constant":
        return np.full((runs, width), delta)
    weights = rng.uniform(0.25, 2.0, size=(runs, width))
    return delta * weights / weights.mean(axis=1, keepdims=True)


class Unreachable(Exception):
    """The family cannot make the difference asked for (a draw of it is None)."""


def _redraw(make: object, runs: int, fixtures: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of per-fixture parameters from ``make(k)`` until every one lies in [0, 1] (Unreachable after
    1,000 rounds)."""
    base, cand = np.empty((runs, fixtures)), np.empty((runs, fixtures))
    missing = np.arange(runs)
    for _ in range(1000):
        if not len(missing):
            return base, cand
        a, b = make(len(missing))  # type: ignore[operator]
        good = ((b >= 0) & (b <= 1) & (a >= 0) & (a <= 1)).all(axis=1)
        base[missing[good]], cand[missing[good]] = a[good], b[good]
        missing = missing[~good]
    raise Unreachable


def _tests(rng: np.random.Generator, chance: np.ndarray) -> np.ndarray:
    return rng.binomial(TESTS_PER_SCORE, np.clip(chance, 0, 1)) / TESTS_PER_SCORE


def _logit(rng: np.random.Generator, s: Scenario, runs: int, delta: float) -> Draw:
    location, scale = latent(s.mean, s.icc)

    def make(k: int) -> tuple[np.ndarray, np.ndarray]:
        a = 1 / (1 + np.exp(-(location + scale * rng.standard_normal((k, s.fixtures)))))
        return a, a + spread(rng, s, k, delta, s.fixtures)

    means_a, means_b = _redraw(make, runs, s.fixtures)

    def sample(means: np.ndarray) -> np.ndarray:
        shape = (*means.shape, s.epochs)
        centre = np.broadcast_to(means[..., None], shape)
        if s.binary:
            return (rng.random(shape) < centre).astype(float)
        clipped = np.clip(centre, 1e-6, 1 - 1e-6)
        return _tests(rng, rng.beta(clipped * WITHIN, (1 - clipped) * WITHIN))

    return Draw(sample(means_a), sample(means_b), means_a, means_b)


def _bimodal(
    rng: np.random.Generator, s: Scenario, runs: int, delta: float, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(samples a, samples b, means a, means b) of ``width`` bimodal fixtures."""
    gap = NAILED - BROKEN

    def make(k: int) -> tuple[np.ndarray, np.ndarray]:
        # the baseline's chance from 0.1 to 0.9, where the effect leaves the candidate's inside [0, 1]
        effect = spread(rng, s, k, delta, width) / gap
        low, high = np.maximum(0.1, -effect), np.minimum(0.9, 1 - effect)
        a = low + (high - low) * rng.random((k, width))
        return a, a + effect

    chance_a, chance_b = _redraw(make, runs, width)

    def sample(chance: np.ndarray) -> np.ndarray:
        nailed = rng.random((*chance.shape, s.epochs)) < chance[..., None]
        return _tests(rng, np.where(nailed, NAILED, BROKEN))

    return sample(chance_a), sample(chance_b), BROKEN + gap * chance_a, BROKEN + gap * chance_b


def _steady(rng: np.random.Generator, s: Scenario, runs: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    chance = rng.uniform(*STEADY, size=(runs, width))
    return chance, _tests(rng, np.broadcast_to(chance[..., None], (runs, width, s.epochs)))


def draw(rng: np.random.Generator, s: Scenario, runs: int, delta: float) -> Draw | None:
    """One batch of suites whose true difference is ``delta`` (None: out of this family's reach)."""
    try:
        return _draw(rng, s, runs, delta)
    except Unreachable:
        return None


def _draw(rng: np.random.Generator, s: Scenario, runs: int, delta: float) -> Draw | None:
    if s.family == "logit":
        made = _logit(rng, s, runs, delta)
    elif s.family == "bimodal":
        made = Draw(*_bimodal(rng, s, runs, delta, s.fixtures))
    elif s.family == "build":
        made = _build(rng, s, runs, delta)
        if made is None:
            return None
    elif s.family == "mixed":
        made = _mixed(rng, s, runs, delta)
    elif s.family == "constant":
        made = _constant(rng, s, runs, delta)
        if made is None:
            return None
    else:
        raise ValueError(f"unknown scenario family {s.family!r}")
    if s.dropped:
        made.a, made.b = _drop(rng, made.a), _drop(rng, made.b)
    return made


def _build(rng: np.random.Generator, s: Scenario, runs: int, delta: float) -> Draw | None:
    chance_a, a = _steady(rng, s, runs, s.fixtures)
    # the candidate's fixtures are the same steady ones, resampled; fixture 1 sometimes does not build
    b = _tests(rng, np.broadcast_to(chance_a[..., None], a.shape))
    failure = -delta * s.fixtures / chance_a[:, 0]
    if (failure > 1).any() or (failure < 0).any():
        return None
    broken = rng.random((runs, s.epochs)) < failure[:, None]
    b[:, 0, :] = np.where(broken, 0.0, b[:, 0, :])
    truth_b = chance_a.copy()
    truth_b[:, 0] *= 1 - failure
    return Draw(a, b, chance_a, truth_b)


def _mixed(rng: np.random.Generator, s: Scenario, runs: int, delta: float) -> Draw:
    volatile = np.arange(s.fixtures) % 2 == 1 if s.fixtures > 1 else np.array([True])
    count = int(volatile.sum())
    chance, steady = _steady(rng, s, runs, s.fixtures - count)
    va, vb, ma, mb = _bimodal(rng, s, runs, delta * s.fixtures / count, count)
    a, b = np.empty((runs, s.fixtures, s.epochs)), np.empty((runs, s.fixtures, s.epochs))
    truth_a, truth_b = np.empty((runs, s.fixtures)), np.empty((runs, s.fixtures))
    a[:, volatile], b[:, volatile], truth_a[:, volatile], truth_b[:, volatile] = va, vb, ma, mb
    a[:, ~volatile], truth_a[:, ~volatile], truth_b[:, ~volatile] = steady, chance, chance
    b[:, ~volatile] = _tests(rng, np.broadcast_to(chance[..., None], steady.shape))
    return Draw(a, b, truth_a, truth_b)


def _constant(rng: np.random.Generator, s: Scenario, runs: int, delta: float) -> Draw | None:
    value = rng.choice(CONSTANT_VALUES, size=(runs, s.fixtures))
    drop_b = CONSTANT_DROP - delta / value
    if (drop_b > 1).any() or (drop_b < 0).any():
        return None
    shape = (runs, s.fixtures, s.epochs)
    a = np.where(rng.random(shape) < CONSTANT_DROP, 0.0, value[..., None])
    b = np.where(rng.random(shape) < drop_b[..., None], 0.0, value[..., None])
    return Draw(a, b, value * (1 - CONSTANT_DROP), value * (1 - drop_b))


def _drop(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    """0 to 2 epochs of each fixture lost (the last ones; epochs are exchangeable), at least one left."""
    epochs = values.shape[-1]
    lost = np.minimum(rng.integers(0, 3, size=values.shape[:2]), epochs - 1)
    keep = np.arange(epochs) < (epochs - lost)[..., None]
    return np.where(keep, values, np.nan)
