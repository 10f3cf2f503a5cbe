"""Every statistic against hand-computed values, and each defect the statistics issue named (no Docker)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.records import Check, SampleRecord, SampleStatus
from harness.records.security import SecurityReport
from harness.report.intervals import Suite, score_interval
from harness.report.stats import compare, frame, holm, pass_at_k, pass_hat_k, summarise
from tests.report.records import generated, sample


def test_pass_at_k_and_pass_hat_k_by_hand_and_their_guards() -> None:
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)
    assert pass_at_k(5, 4, 2) == 1.0 and pass_at_k(5, 0, 3) == 0.0
    assert pass_hat_k(5, 2, 2) == pytest.approx(1 / 10)
    assert pass_hat_k(5, 5, 3) == 1.0
    assert math.isnan(pass_at_k(2, 1, 3)) and math.isnan(pass_hat_k(2, 1, 3))
    for n, c, k in ((3, 4, 1), (3, -1, 1), (3, 1, 0)):
        with pytest.raises(ValueError, match="0 <= c <= n"):
            pass_at_k(n, c, k)
        with pytest.raises(ValueError, match="0 <= c <= n"):
            pass_hat_k(n, c, k)


def test_holm_by_hand() -> None:
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "c": 0.06, "b": 0.06})


def test_one_fixture_gives_wilsons_interval_and_all_ones_is_not_a_point() -> None:
    low, high = score_interval(Suite.of([np.array([1.0] * 8 + [0.0] * 2)], binary=True))
    assert (low[0], high[0]) == pytest.approx((0.4902, 0.9433), abs=1e-4)  # Wilson, 8 of 10
    # 15 outcomes that are all 1, over 3 fixtures: not (1.0, 1.0)
    low, high = score_interval(Suite.of([np.ones(5)] * 3, binary=True))
    assert 0.6 < low[0] < 0.9 and high[0] == 1.0


def test_pass_at_k_needs_k_samples_on_every_fixture() -> None:
    f1 = [sample("a", "f1", e, 1.0 if e == 1 else 0.5) for e in range(1, 6)]
    f2 = [sample("a", "f2", e, 0.5) for e in range(1, 5)]
    lost = sample("a", "f2", 5, 1.0, SampleStatus.INFRA_FAILURE)
    row = summarise(frame([*f1, *f2, lost]), ks=(4, 5)).iloc[0]
    assert row["pass@4"] == pytest.approx((pass_at_k(5, 1, 4) + 0.0) / 2)  # 0.40
    assert math.isnan(row["pass@5"]) and math.isnan(row["pass^5"])  # f2 has 4 samples that count


def test_summary_per_variant() -> None:
    records = [sample("a", f, e, 1.0 if e <= 3 else 0.5) for f in ("f1", "f2") for e in range(1, 6)]
    records.append(sample("a", "f1", 9, 1.0, SampleStatus.INFRA_FAILURE))  # ignored
    row = summarise(frame(records)).iloc[0]
    assert row["samples"] == 10 and row["fixtures"] == 2
    assert row["tests"] == pytest.approx(0.8) and row["all_pass"] == pytest.approx(0.6)
    assert row["pass@1"] == pytest.approx(0.6)
    assert row["pass@2"] == pytest.approx(1 - math.comb(2, 2) / math.comb(5, 2))
    assert row["pass^2"] == pytest.approx(math.comb(3, 2) / math.comb(5, 2))
    assert row["tests_low"] < 0.8 < row["tests_high"] and row["all_pass_low"] < 0.6 < row["all_pass_high"]


def test_a_sample_that_built_nothing_scores_zero_on_the_checks_it_never_reached() -> None:
    built = sample("a", "f1", 1, 1.0).model_copy(
        update={"checks": [Check.TESTS, Check.SECURITY], "security": SecurityReport()}
    )
    broken = sample("b", "f1", 1, 0.0, SampleStatus.MODEL_FAILURE).model_copy(
        update={"checks": [Check.TESTS, Check.SECURITY], "tests": None, "failed_stage": "build"}
    )
    df = frame([built, broken]).set_index("variant")
    assert df.loc["b", "security"] == 0.0 and df.loc["b", "secure"] == 0.0 and df.loc["b", "tests"] == 0.0
    assert math.isnan(df.loc["a", "migrations"])  # a check its fixture does not run stays unknown


def test_pooled_runs_count_each_sample_once_and_never_raise() -> None:
    first = [sample("base", "f1", e, 1.0, run="r1") for e in (1, 2)] + [
        sample("cand", "f1", e, 0.5, run="r1") for e in (1, 2)
    ]
    second = [sample("base", "f1", e, 1.0, run="r2") for e in (1, 2)] + [
        sample("cand", "f1", 1, 0.5, run="r2"),
        sample("cand", "f1", 2, 0.5, SampleStatus.INFRA_FAILURE, run="r2"),
    ]
    (d,) = compare(frame(first + second), "base", "cand", metrics=("tests",))
    assert (d.n_baseline, d.n_candidate, d.fixtures) == (4, 3, 1) and d.diff == pytest.approx(-0.5)


def test_replayed_copies_count_once_so_identical_epochs_prove_nothing() -> None:
    """3 fixtures x 5 replayed epochs, 0.1 worse everywhere: the old paired sign test said p = 6e-5
    with an interval of width zero; copies of one recording are one sample."""

    def replayed(variant: str, rate: float) -> list[SampleRecord]:
        return [
            generated(sample(variant, f, e, rate), 0.5, provider="replay").model_copy(
                update={"workspace_digest": f"{variant}-{f}"}
            )
            for f in ("f1", "f2", "f3")
            for e in range(1, 6)
        ]

    df = frame(replayed("base", 1.0) + replayed("cand", 0.9))
    assert len(df) == 6
    (d,) = compare(df, "base", "cand", metrics=("tests",))
    assert d.n_candidate == 3 and d.p_value > 0.05 and d.high - d.low > 0.1


def test_a_zero_cost_difference_is_not_called_better() -> None:
    base = [generated(sample("base", f, e, 1.0), 0.012) for f in ("f1", "f2") for e in range(1, 4)]
    cand = [generated(sample("cand", f, e, 1.0), 0.0119) for f in ("f1", "f2") for e in range(1, 4)]
    (d,) = compare(frame(base + cand), "base", "cand", metrics=("cost",))
    assert d.verdict == "no clear difference"
    (d,) = compare(frame(base + cand), "base", "cand", metrics=("cost",), negligible={"cost": 0.0})
    assert d.verdict == "candidate better"  # below a threshold of zero, the tiny saving counts


def test_the_detectable_difference_is_the_tests_own() -> None:
    base = [sample("a", "f", e, 1.0 if e % 2 else 0.8) for e in range(1, 11)]
    cand = [sample("b", "f", e, 1.0 if e % 2 else 0.8) for e in range(1, 11)]
    (d,) = compare(frame(base + cand), "a", "b", metrics=("tests",))
    # more than the interval's half-width (a difference at the bound is detected half the time), and
    # fewer epochs detect less; its power is measured in tests/report/test_calibration.py
    half = (d.high - d.low) / 2
    assert half < d.mde < 2 * half
    (few,) = compare(frame(base[:4] + cand[:4]), "a", "b", metrics=("tests",))
    assert few.mde > d.mde
