"""`crucible plan`'s decision chances (harness/report/power.py) against an independent simulation
through the public compare() and gate(), within their Monte Carlo errors (no Docker)."""

from __future__ import annotations

import math

import numpy as np

from harness.report.gate import GateSpec, gate
from harness.report.power import chances
from harness.report.stats import compare
from tests.report.records import suite_frame

POOLS = [np.array([1.0, 0.95, 1.0, 0.9]), np.array([0.0, 0.85, 0.9, 0.95]), np.array([0.5, 0.7, 0.6])]
FIXTURES, EPOCHS, MARGIN = 3, 6, 0.1


def public_chances(
    pools: list[np.ndarray], epochs: int, margin: float, runs: int, failing: float, seed: int
) -> dict[str, float]:
    """How often each mode's gate passes, judged by compare() and gate() on suites drawn from the pools
    (the candidate's builds failing with chance ``failing``)."""
    rng = np.random.default_rng(seed)
    passed = {"non-inferiority": 0, "no-regression": 0}
    expected = {"tests": [f"f{i}" for i in range(len(pools))]}
    for _ in range(runs):
        a = np.stack([p[rng.integers(0, len(p), epochs)] for p in pools])
        b = np.stack([p[rng.integers(0, len(p), epochs)] for p in pools])
        b = np.where(rng.random(b.shape) < failing, 0.0, b)
        diffs = compare(suite_frame(a, b), "base", "cand", ("tests",))
        for mode in passed:
            passed[mode] += gate(diffs, GateSpec(margin, mode), expected, ("tests",)).passed  # type: ignore[arg-type]
    return {mode: count / runs for mode, count in passed.items()}


def assert_matches(
    found: dict[str, dict[str, float]],
    equal: dict[str, float],
    worse: dict[str, float],
    runs: int,
    checks: int,
) -> None:
    """The plan's chances (per mode: unchanged passes, worse caught) within 4 Monte Carlo errors of the
    public simulation's."""
    for mode, c in found.items():
        for planned, seen in ((c["unchanged_passes"], equal[mode]), (c["worse_caught"], 1 - worse[mode])):
            error = math.sqrt(max(planned * (1 - planned), 0.01) * (1 / runs + 1 / checks))
            assert abs(planned - seen) <= 4 * error, (mode, planned, seen)


def test_the_plans_chances_match_the_gate_run_on_simulated_suites() -> None:
    runs, checks = 1000, 300
    found = {c.mode: c.__dict__ for c in chances(POOLS, EPOCHS, MARGIN, binary=False, runs=runs, seed=3)}
    failing = MARGIN / float(np.mean([p.mean() for p in POOLS]))
    equal = public_chances(POOLS, EPOCHS, MARGIN, checks, 0.0, seed=11)
    worse = public_chances(POOLS, EPOCHS, MARGIN, checks, failing, seed=12)
    assert_matches(found, equal, worse, runs, checks)
    assert found["no-regression"]["unchanged_passes"] > found["non-inferiority"]["unchanged_passes"]
