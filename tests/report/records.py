"""Sample records for the statistics' tests: a variant's sample on a fixture with a tests pass rate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.records import Check, SampleRecord, SampleStatus
from harness.records.generation import AgentOutcome, Usage
from harness.report.stats import METRICS
from harness.score.tests import CaseResult
from tests.helpers import suite_score


def sample(
    variant: str,
    fixture: str,
    epoch: int,
    rate: float,
    status: SampleStatus = SampleStatus.OK,
    run: str = "r",
) -> SampleRecord:
    total = 10
    passed = round(rate * total)
    cases = [
        CaseResult(nodeid=f"t{i}", outcome="passed" if i < passed else "failed", seconds=0.1)
        for i in range(total)
    ]
    tests = suite_score(passed, total, cases)
    ok = status if status is not SampleStatus.OK or passed == total else SampleStatus.MODEL_FAILURE
    return SampleRecord(
        run_id=run,
        sample_id=f"{variant}.{fixture}.e{epoch}",
        fixture_id=fixture,
        variant=variant,
        epoch=epoch,
        status=ok,
        tests=tests,
        checks=[Check.TESTS],
    )


def generated(record: SampleRecord, dollars: float, provider: str = "anthropic") -> SampleRecord:
    outcome = AgentOutcome(
        model="m",
        stop="end_turn",
        turns=3,
        tool_calls=5,
        tool_errors=0,
        usage=Usage(),
        dollars=dollars,
        seconds=1.0,
        provider=provider,
    )
    return record.model_copy(update={"generation": outcome})


def suite_frame(a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    """frame()'s shape from tests scores (fixtures, epochs) of the baseline ("base") and the candidate
    ("cand"); the other metrics empty."""
    rows = [
        {"variant": variant, "fixture": f"f{f}", "epoch": e, "tests": float(values[f, e])}
        for variant, values in (("base", a), ("cand", b))
        for f in range(values.shape[0])
        for e in range(values.shape[1])
    ]
    df = pd.DataFrame(rows)
    for column, _, _ in METRICS.values():
        if column not in df:
            df[column] = np.nan
    return df
