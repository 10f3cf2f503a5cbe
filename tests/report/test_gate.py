"""The gate in both modes, and each finding of the statistics issue that used to let a candidate through:
one dispersion pooled over fixtures, constant scores, a fixture dropped in silence (no Docker)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.scenarios import Scenario, draw
from harness.records import SampleRecord
from harness.report.gate import GateSpec, gate
from harness.report.stats import compare, frame, suite_fixtures
from tests.report.records import sample, suite_frame

FIXTURES = ("f1", "f2", "f3")


def steady(variant: str, epochs: int, fixtures: tuple[str, ...] = FIXTURES) -> list[SampleRecord]:
    return [sample(variant, f, e, 1.0 if e % 2 else 0.9) for f in fixtures for e in range(1, epochs + 1)]


def judged(records: list[SampleRecord], spec: GateSpec, metrics: tuple[str, ...] = ("tests",)):  # type: ignore[no-untyped-def]
    diffs = compare(frame(records), "base", "cand")
    return gate(diffs, spec, suite_fixtures(records), metrics)


def test_the_gate_cannot_pass_by_omission() -> None:
    records = steady("base", 20) + steady("cand", 20)
    assert judged(records, GateSpec(0.1)).passed
    # migrations: no sample of either variant has them; a missing metric fails with its reason
    missing = judged(records, GateSpec(0.1), ("tests", "migrations"))
    assert not missing.passed and "migrations: FAILS: no samples of both variants" in missing.reasons[1]
    diffs = compare(frame(records), "base", "cand")
    expected = suite_fixtures(records)
    assert not gate([d for d in diffs if d.metric != "tests"], GateSpec(0.1), expected, ("tests",)).passed
    # a bound that is not a number fails too (nan < x is false, so it used to pass)
    broken = [d if d.metric != "tests" else d.__class__(**{**d.__dict__, "low": math.nan}) for d in diffs]
    result = gate(broken, GateSpec(0.1), expected, ("tests",))
    assert not result.passed and "not a number" in result.reasons[0]


def test_a_clearly_worse_candidate_fails_in_both_modes_and_the_reason_names_the_numbers() -> None:
    worse = [sample("cand", f, e, 0.6 if e % 2 else 0.5) for f in FIXTURES for e in range(1, 6)]
    records = steady("base", 5) + worse
    diffs = {d.metric: d for d in compare(frame(records), "base", "cand", metrics=("tests", "all_pass"))}
    assert diffs["tests"].diff == pytest.approx(-0.4) and diffs["tests"].high < -0.2
    assert diffs["tests"].verdict == "candidate worse" and diffs["tests"].p_value < 0.01
    result = judged(records, GateSpec(0.05))
    assert not result.passed and result.outcomes == {"tests": "worse"}
    assert (
        "tests: FAILS: the candidate is shown worse by more than the margin: difference -0.400"
        in (result.reasons[0])
    )
    assert "15 + 15 samples on 3 fixtures" in result.reasons[0]
    regression = judged(records, GateSpec(0.05, "no-regression"))
    assert not regression.passed and regression.outcomes == {"tests": "worse"}
    assert "the candidate is shown worse (a regression): difference -0.400" in regression.reasons[0]


def test_no_regression_passes_an_unchanged_candidate_and_says_what_it_could_see() -> None:
    records = steady("base", 5) + steady("cand", 5)
    strict = judged(records, GateSpec(0.1))
    assert not strict.passed and strict.outcomes == {"tests": "too small"}
    loose = judged(records, GateSpec(0.1, "no-regression"))
    assert loose.passed
    detectable = compare(frame(records), "base", "cand", metrics=("tests",))[0].mde
    assert (
        f"no regression shown; this run detects differences of {detectable:.3f} or more" in loose.reasons[0]
    )
    assert "the margin's among them, can pass unseen" in loose.reasons[0]  # 3x5 cannot see 0.1


def test_a_fixture_whose_candidate_happened_to_build_every_time_keeps_its_own_variance() -> None:
    """3 fixtures x 3 epochs, steady: the candidate's first fixture shows three clean builds. A dispersion
    pooled over the fixtures gave it their small variance: interval -0.065 to +0.091, and a 0.1 gate
    passed. Three clean builds cannot rule out a build that fails a third of the time."""
    base = [sample("base", f, e, (1.0, 0.9, 1.0)[e - 1]) for f in FIXTURES for e in range(1, 4)]
    cand = [
        sample("cand", f, e, 1.0 if f == "f1" else (1.0, 0.9, 1.0)[e - 1])
        for f in FIXTURES
        for e in (1, 2, 3)
    ]
    (d,) = compare(frame(base + cand), "base", "cand", metrics=("tests",))
    assert d.low < -0.1
    result = judged(base + cand, GateSpec(0.1))
    assert not result.passed and result.outcomes == {"tests": "too small"}


@pytest.mark.parametrize("margin", [0.1, 0.05])
def test_the_build_failure_scenario_through_the_public_api(margin: float) -> None:
    """The candidate fails to build one of 3 steady fixtures just often enough to be `margin` worse
    (3 epochs): compare() and gate() pass it at most 3% of the time (it was 18% at 0.1)."""
    runs = 300
    made = draw(np.random.default_rng(20261206), Scenario("build", 3, 3), runs, -margin)
    assert made is not None
    expected = {"tests": [f"f{i}" for i in range(3)]}
    passed = sum(
        gate(
            compare(suite_frame(made.a[i], made.b[i]), "base", "cand", ("tests",)),
            GateSpec(margin),
            expected,
        ).passed
        for i in range(runs)
    )
    assert passed / runs <= 0.03


def test_constant_scores_are_not_certainties() -> None:
    """0.95 in every sample of 10 fixtures x 5 epochs gave 0.947 to 0.953; constant 0.5 at 3 x 3 passed a
    0.05 margin with 9 samples a variant. Samples that agree may still hide an outcome not seen yet."""
    df = suite_frame(np.full((10, 5), 0.95), np.full((10, 5), 0.95))
    (d,) = compare(df, "base", "cand", metrics=("tests",))
    assert d.low < -0.05 and d.high > 0.05
    half = suite_frame(np.full((3, 3), 0.5), np.full((3, 3), 0.5))
    (d,) = compare(half, "base", "cand", metrics=("tests",))
    result = gate([d], GateSpec(0.05), {"tests": ["f0", "f1", "f2"]}, ("tests",))
    assert not result.passed and result.outcomes == {"tests": "too small"}


def test_a_fixture_the_candidate_lacks_fails_the_gate_and_is_named() -> None:
    """10 fixtures for the baseline, 7 for the candidate: it used to pass, saying only "on 7 fixtures"."""
    fixtures = tuple(f"f{i}" for i in range(10))
    records = steady("base", 20, fixtures) + steady("cand", 20, fixtures[:7])
    result = judged(records, GateSpec(0.1))
    assert not result.passed and result.outcomes == {"tests": "partial"}
    assert (
        "judged on 7 of the suite's 10 fixtures; without samples of both variants: f7, f8, f9"
        in (result.reasons[0])
    )
    allowed = judged(records, GateSpec(0.1, allow_partial=True))
    assert allowed.passed and "partial suite allowed, left out: f7, f8, f9" in allowed.reasons[0]


def test_the_suite_comes_from_the_plan_and_checks_a_fixture_does_not_run_are_not_missing() -> None:
    records = steady("base", 20) + steady("cand", 20)
    # f4 was planned but every sample of it was lost: it is missing from every metric
    expected = suite_fixtures(records, planned=["f4"])
    assert expected["tests"] == ["f1", "f2", "f3", "f4"] and expected["migrations"] == ["f4"]
    result = gate(compare(frame(records), "base", "cand"), GateSpec(0.1), expected, ("tests",))
    assert not result.passed and "f4" in result.reasons[0]
    # the fixtures run only the tests check: migrations expect none of them
    assert suite_fixtures(records)["migrations"] == []


def test_a_variant_without_samples_compares_to_nothing_and_fails_the_gate() -> None:
    records = steady("base", 3)
    diffs = compare(frame(records), "base", "cand")
    assert all(d.fixtures == 0 for d in diffs)
    result = gate(diffs, GateSpec(0.1, "no-regression"), suite_fixtures(records), ("tests",))
    assert not result.passed and result.outcomes == {"tests": "no data"}
