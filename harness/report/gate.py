"""The gate: may the candidate replace the baseline? It judges each gated metric's difference (from
:func:`harness.report.stats.compare`) in one of two modes, each calibrated in `benchmarks/calibration.py`:

- ``non-inferiority`` (for a release, or any change that must be shown safe): a metric passes only when
  the 95% interval of (candidate - baseline) lies above -margin, so the candidate is shown not worse by
  more than the margin. Passing a candidate exactly the margin worse happens at most 2.5% of the time; a
  run too small to show it fails ("too small") and says how many epochs would do.
- ``no-regression`` (for a pull request that should not make things worse): a metric fails only when
  the interval lies below -negligible, so the candidate is shown worse. Failing a candidate that is no
  worse than the negligible amount happens at most 2.5% of the time; a pass says what the run could
  have seen ("no regression shown; this run detects differences of X or more"), because a small run
  passes almost anything.

Either way a gate never passes by omission: a gated metric with no samples of both variants fails, and
so does one judged on fewer fixtures than the suite runs it on (the suite's list comes from the run
plan, not from what happened to be scored), unless the caller allows a partial suite, and then the
reason names the fixtures left out.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import get_args

from harness.config import GateMode
from harness.report import intervals
from harness.report.stats import GATE_METRICS, Difference

Mode = GateMode
MODES: tuple[str, ...] = get_args(GateMode)


@dataclass(frozen=True)
class GateSpec:
    """How a candidate is gated: the margin, the mode, and whether a partial suite may pass."""

    margin: float = 0.05
    mode: Mode = "non-inferiority"
    allow_partial: bool = False

    def describe(self) -> str:
        partial = ", partial suite allowed" if self.allow_partial else ""
        return f"{self.mode}, margin {self.margin:g}{partial}"


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: list[str]
    # per gated metric: "passes", "worse" (shown worse: beyond the margin, or in no-regression mode beyond
    # the negligible amount), "too small" (non-inferiority not established), "partial" (fixtures of the
    # suite missing) or "no data"
    outcomes: dict[str, str] = field(default_factory=dict)


def epochs_needed(d: Difference, margin: float) -> float:
    """About how many epochs a fixture would let a candidate this far from the baseline clear the margin
    with 80% power (infinite when the difference seen is beyond it). For scores, from the score statistic
    at the margin; for amounts, from the detectable difference."""
    epochs = max(d.n_baseline, d.n_candidate) / max(d.fixtures, 1)
    if d.suites is not None and d.higher_is_better:
        growth = float(intervals.growth_to_pass(*d.suites, margin)[0])
    else:
        growth = (d.mde / margin) ** 2
    return math.inf if not math.isfinite(growth) else max(1, math.ceil(epochs * growth))


def _facts(d: Difference, threshold: str) -> str:
    return (
        f"difference {d.diff:+.3f} ({100 * d.level:.4g}% CI {d.low:+.3f} to {d.high:+.3f}), {threshold}, "
        f"{d.n_baseline} + {d.n_candidate} samples on {d.fixtures} fixture{'s' if d.fixtures != 1 else ''}, "
        f"Holm p {d.p_holm:.3g}"
    )


def _non_inferiority(d: Difference, margin: float) -> tuple[str, str]:
    sign = 1 if d.higher_is_better else -1
    near, far = (d.low, d.high) if d.higher_is_better else (d.high, d.low)
    facts = _facts(d, f"margin {margin:.3f}")
    if sign * near >= -margin:
        return "passes", f"{d.metric}: passes: {facts}"
    if sign * far < -margin:
        return "worse", f"{d.metric}: FAILS: the candidate is shown worse by more than the margin: {facts}"
    needed = epochs_needed(d, margin)
    more = (
        f"about {needed:.0f} epochs a fixture would be needed to establish it at this margin (80% power, "
        "if the difference stays as seen)"
        if math.isfinite(needed)
        else "the difference seen is beyond the margin, so more epochs would more likely show it worse"
    )
    return "too small", (
        f"{d.metric}: FAILS: cannot establish non-inferiority: the run is too small: {facts}; {more}"
    )


def _no_regression(d: Difference, margin: float) -> tuple[str, str]:
    sign = 1 if d.higher_is_better else -1
    far = d.high if d.higher_is_better else d.low
    facts = _facts(d, f"negligible {d.negligible:g}")
    if sign * far < -d.negligible:
        return "worse", f"{d.metric}: FAILS: the candidate is shown worse (a regression): {facts}"
    reach = (
        "smaller regressions, the margin's among them, can pass unseen"
        if d.mde > margin
        else f"a regression of the margin ({margin:g}) would be seen"
    )
    return "passes", (
        f"{d.metric}: passes: no regression shown; this run detects differences of {d.mde:.3f} or more "
        f"(80% power), so {reach}: {facts}"
    )


def gate(
    differences: list[Difference],
    spec: GateSpec,
    expected: Mapping[str, Collection[str]],
    metrics: tuple[str, ...] = GATE_METRICS,
) -> GateResult:
    """Each gated metric judged in ``spec.mode``; ``expected``: per metric, the suite's fixtures that run
    it (:func:`harness.report.stats.suite_fixtures`). A metric that cannot be judged fails (no samples
    of both variants, a bound that is not a number, fixtures of the suite missing unless
    ``spec.allow_partial``)."""
    found = {d.metric: d for d in differences}
    judge = _non_inferiority if spec.mode == "non-inferiority" else _no_regression
    reasons, outcomes = [], {}
    for metric in metrics:
        d = found.get(metric)
        missing = sorted(set(expected.get(metric, ())) - set(d.shared if d else ()))
        if d is None or d.fixtures == 0:
            outcomes[metric] = "no data"
            reasons.append(f"{metric}: FAILS: no samples of both variants on a shared fixture")
        elif not (math.isfinite(d.low) and math.isfinite(d.high)):
            outcomes[metric] = "no data"
            reasons.append(f"{metric}: FAILS: its interval is not a number ({d.low} to {d.high})")
        elif missing and not spec.allow_partial:
            outcomes[metric] = "partial"
            total = d.fixtures + len(missing)
            reasons.append(
                f"{metric}: FAILS: judged on {d.fixtures} of the suite's {total} fixtures; "
                f"without samples of both variants: {', '.join(missing)} (rerun them, or pass "
                "--allow-partial to judge on the rest)"
            )
        else:
            outcomes[metric], reason = judge(d, spec.margin)
            if missing:
                reason += f"; partial suite allowed, left out: {', '.join(missing)}"
            reasons.append(reason)
    return GateResult(all(o == "passes" for o in outcomes.values()), reasons, outcomes)
