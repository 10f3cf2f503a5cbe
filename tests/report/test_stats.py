"""Every statistic against hand-computed values (no Docker)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.records import SampleRecord, SampleStatus
from harness.report.stats import (
    cluster_bootstrap,
    compare,
    frame,
    gate,
    holm,
    pass_at_k,
    pass_hat_k,
    sign_test,
    summarise,
)
from harness.score.tests import CaseResult, SuiteScore


def sample(
    variant: str, fixture: str, epoch: int, rate: float, status: SampleStatus = SampleStatus.OK
) -> SampleRecord:
    total = 10
    passed = round(rate * total)
    cases = [
        CaseResult(nodeid=f"t{i}", outcome="passed" if i < passed else "failed", seconds=0.1)
        for i in range(total)
    ]
    tests = SuiteScore(
        total=total,
        passed=passed,
        failed=total - passed,
        errors=0,
        skipped=0,
        pass_rate=passed / total,
        all_pass=passed == total,
        seconds=1.0,
        cases=cases,
    )
    ok = status if status is not SampleStatus.OK or passed == total else SampleStatus.MODEL_FAILURE
    return SampleRecord(
        run_id="r",
        sample_id=f"{variant}.{fixture}.e{epoch}",
        fixture_id=fixture,
        variant=variant,
        epoch=epoch,
        status=ok,
        tests=tests,
    )


def test_pass_at_k_and_pass_hat_k_by_hand() -> None:
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)
    assert pass_at_k(5, 4, 2) == 1.0 and pass_at_k(5, 0, 3) == 0.0
    assert pass_hat_k(5, 2, 2) == pytest.approx(1 / 10)
    assert pass_hat_k(5, 5, 3) == 1.0
    assert math.isnan(pass_at_k(2, 1, 3))


def test_sign_test_is_exact() -> None:
    d = np.array([1] * 8 + [-1] + [0] * 3)
    assert sign_test(d) == pytest.approx(2 * (1 + 9) / 512)
    assert sign_test(np.zeros(5)) == 1.0
    assert sign_test(np.array([1.0, -1.0])) == 1.0


def test_holm_by_hand() -> None:
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "c": 0.06, "b": 0.06})


def test_cluster_bootstrap_brackets_the_mean() -> None:
    constant = cluster_bootstrap(pd.Series([0.7] * 6), pd.Series(["a", "a", "b", "b", "c", "c"]))
    assert constant == pytest.approx((0.7, 0.7))
    rng = np.random.default_rng(1)
    values = pd.Series(rng.normal(0.5, 0.1, 400))
    low, high = cluster_bootstrap(values, pd.Series(np.repeat(np.arange(20), 20)))
    assert low < 0.5 < high and high - low < 0.06  # the mean of N(0.5, 0.1) over 400 draws


def test_summary_per_variant() -> None:
    records = [sample("a", f, e, 1.0 if e <= 3 else 0.5) for f in ("f1", "f2") for e in range(1, 6)]
    records.append(sample("a", "f1", 9, 1.0, SampleStatus.INFRA_FAILURE))  # ignored
    row = summarise(frame(records)).iloc[0]
    assert row["samples"] == 10 and row["fixtures"] == 2
    assert row["tests"] == pytest.approx(0.8) and row["all_pass"] == pytest.approx(0.6)
    assert row["pass@1"] == pytest.approx(0.6) and row["pass@2"] == pytest.approx(
        1 - math.comb(2, 2) / math.comb(5, 2)
    )
    assert row["pass^2"] == pytest.approx(math.comb(3, 2) / math.comb(5, 2))
    assert row["tests_low"] <= 0.8 <= row["tests_high"]


def test_paired_comparison_and_gate() -> None:
    base = [sample("base", f, e, 1.0) for f in ("f1", "f2", "f3") for e in range(1, 6)]
    worse = [sample("cand", f, e, 0.5) for f in ("f1", "f2", "f3") for e in range(1, 6)]
    same = [sample("same", f, e, 1.0) for f in ("f1", "f2", "f3") for e in range(1, 6)]
    df = frame(base + worse + same)
    diffs = {d.metric: d for d in compare(df, "base", "cand", metrics=("tests", "all_pass"))}
    assert diffs["tests"].pairs == 15 and diffs["tests"].diff == pytest.approx(-0.5)
    assert diffs["tests"].high <= -0.5 + 1e-9 and diffs["all_pass"].diff == -1.0
    assert diffs["all_pass"].p_value == pytest.approx(2 / 2**15)
    result = gate(list(diffs.values()), margin=0.05, metrics=("tests",))
    assert not result.passed and "tests: FAILS: difference -0.500" in result.reasons[0]
    equal = gate(compare(df, "base", "same", metrics=("tests",)), margin=0.05, metrics=("tests",))
    assert equal.passed and "passes" in equal.reasons[0]
    assert not gate([], margin=0.05).passed


def test_minimum_detectable_difference() -> None:
    base = [sample("a", "f", e, 1.0) for e in range(1, 11)]
    cand = [sample("b", "f", e, 1.0 if e % 2 else 0.8) for e in range(1, 11)]
    (d,) = compare(frame(base + cand), "a", "b", metrics=("tests",))
    sd = float(np.std([0.0, -0.2] * 5, ddof=1))
    assert d.mde == pytest.approx((1.959964 + 0.841621) * sd / math.sqrt(10))
