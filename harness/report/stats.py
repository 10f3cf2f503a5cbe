"""Statistics over samples: per variant, each metric's score on the suite with its 95% interval, unbiased
pass@k and pass^k; between two variants, the difference on the fixtures both have, its interval, p-value
(Holm-adjusted over the metrics), the difference the test can detect and a verdict; and which fixtures
of the suite run each metric (the gate's own rules: harness/report/gate.py). What is estimated and how:
harness/report/intervals.py.

Which samples count:
- a sample that ended `infra_failure` says nothing about the agent and is left out;
- a sample that built nothing scores 0 on every quality check its fixture runs (tests, migrations,
  security), so that failing to build never looks more secure than building;
- replayed samples that repeat one recording (epochs replaying the same cassette) count once: copies are
  not replications.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.records import Check, SampleRecord, SampleStatus
from harness.report import amounts, intervals
from harness.report.intervals import Suite

# metric -> (column, higher is better, kind: "binary" 0/1, "score" in [0, 1], "amount" unbounded)
METRICS: dict[str, tuple[str, bool, str]] = {
    "tests": ("tests", True, "score"),
    "all_pass": ("all_pass", True, "binary"),
    "migrations": ("migrations", True, "score"),
    "security": ("security", True, "score"),
    "secure": ("secure", True, "binary"),
    "cost": ("cost", False, "amount"),
    "tokens": ("tokens", False, "amount"),
}
GATE_METRICS = ("tests", "migrations", "security")
# below these, a difference is called negligible, never "better" or "worse" (cost: a cent)
NEGLIGIBLE = {"cost": 0.01, "tokens": 1000.0}
NEGLIGIBLE_SCORE = 0.01
ESTIMAND = (
    "What is estimated: the fixtures of this suite are fixed and the epochs are the replication (is the "
    "candidate worse than the baseline on this suite?). Each score is the mean over fixtures; its 95% "
    "interval is a stratified score interval, a difference's a stratified score interval on the fixtures "
    "both variants have, and its p-value the same test at 0. Every fixture keeps its own variance, and "
    "samples that agree are not taken for certainty: a fixture may fail in a way it has not shown yet. "
    "Infrastructure failures are left out, "
    "a sample that built nothing scores 0 on the checks it did not reach, and replayed epochs that repeat "
    "one recording count once."
)


def _quality(r: SampleRecord, check: Check, value: float | None) -> float:
    """A check's score; 0 when the fixture runs the check but the sample failed before it could run
    (nothing built, or the app never started)."""
    if value is not None:
        return value
    return 0.0 if check in r.checks and r.status is SampleStatus.MODEL_FAILURE else math.nan


def frame(records: list[SampleRecord]) -> pd.DataFrame:
    """One row per sample that counts, one column per metric."""
    rows, seen = [], set()
    for r in records:
        if r.status is SampleStatus.INFRA_FAILURE:
            continue
        if r.generation is not None and r.generation.provider == "replay" and r.workspace_digest:
            copy = (r.variant, r.fixture_id, r.generation.runtime, r.workspace_digest)
            if copy in seen:
                continue
            seen.add(copy)
        security = r.security.score() if r.security else None
        rows.append(
            {
                "variant": r.variant or "workspace",
                "fixture": r.fixture_id,
                "epoch": r.epoch,
                "sample": r.sample_id,
                "status": r.status.value,
                "tests": _quality(r, Check.TESTS, r.tests.pass_rate if r.tests else None),
                "all_pass": float(bool(r.tests and r.tests.all_pass and r.status is SampleStatus.OK)),
                "migrations": _quality(r, Check.MIGRATIONS, r.migrations.score() if r.migrations else None),
                "security": _quality(r, Check.SECURITY, security),
                "secure": _quality(r, Check.SECURITY, float(r.security.secure) if r.security else None),
                "cost": r.generation.dollars if r.generation else np.nan,
                "tokens": float(r.generation.usage.total) if r.generation else np.nan,
                "turns": float(r.generation.turns) if r.generation else np.nan,
            }
        )
    columns = [
        "variant",
        "fixture",
        "epoch",
        "sample",
        "status",
        *[c for c, _, _ in METRICS.values()],
        "turns",
    ]
    return pd.DataFrame(rows, columns=list(dict.fromkeys(columns)))


def _groups(group: pd.DataFrame, column: str) -> dict[str, np.ndarray]:
    """Each fixture's values of one column (fixtures without any left out)."""
    return _all_groups(group, (column,))[column]


def _all_groups(group: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, dict[str, np.ndarray]]:
    """Per column, each fixture's values (NaN dropped; fixtures without any left out), in one pass."""
    found: dict[str, dict[str, np.ndarray]] = {c: {} for c in columns}
    if group.empty:
        return found
    fixtures = group["fixture"].to_numpy()
    order = np.argsort(fixtures, kind="stable")
    names, starts = np.unique(fixtures[order], return_index=True)
    bounds = [*starts[1:], len(order)]
    for column in columns:
        values = group[column].to_numpy(dtype=float)[order]
        for name, first, last in zip(names, starts, bounds, strict=True):
            chunk = values[first:last]
            chunk = chunk[~np.isnan(chunk)]
            if len(chunk):
                found[column][str(name)] = chunk
    return found


def interval(group: pd.DataFrame, name: str) -> tuple[float, float, float]:
    """A variant's score on a metric and its 95% interval (NaN without values)."""
    column, _, kind = METRICS[name]
    groups = list(_groups(group, column).values())
    if not groups:
        return math.nan, math.nan, math.nan
    suite = Suite.of(groups, kind == "binary")
    low, high = amounts.mean_interval(suite) if kind == "amount" else intervals.score_interval(suite)
    return float(suite.estimate[0]), float(low[0]), float(high[0])


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: the chance that at least one of k samples drawn from n (c correct) is correct;
    NaN when k exceeds n."""
    _check_counts(n, c, k)
    if k > n:
        return math.nan
    return 1.0 if n - c < k else 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased pass^k: the chance that all k samples drawn from n (c correct) are correct."""
    _check_counts(n, c, k)
    return math.nan if k > n else math.comb(c, k) / math.comb(n, k)


def _check_counts(n: int, c: int, k: int) -> None:
    if n < 0 or not 0 <= c <= n or k < 1:
        raise ValueError(f"pass@k needs 0 <= c <= n and k >= 1 (got n={n}, c={c}, k={k})")


def summarise(df: pd.DataFrame, ks: tuple[int, ...] = (1, 2, 5)) -> pd.DataFrame:
    """Per variant: every metric's score and 95% interval; pass@k and pass^k, the mean over fixtures
    (NaN, shown "-", when a fixture has fewer than k samples that count)."""
    rows = []
    for variant, group in df.groupby("variant", sort=True):
        row: dict[str, object] = {
            "variant": variant,
            "samples": len(group),
            "fixtures": group["fixture"].nunique(),
        }
        for name in METRICS:
            row[name], row[f"{name}_low"], row[f"{name}_high"] = interval(group, name)
        per_fixture = group.groupby("fixture")["all_pass"].agg(["count", "sum"])
        counts = [(int(n), int(c)) for n, c in per_fixture.itertuples(index=False)]
        for k in ks:
            short = any(n < k for n, _ in counts)
            row[f"pass@{k}"] = math.nan if short else float(np.mean([pass_at_k(n, c, k) for n, c in counts]))
            row[f"pass^{k}"] = math.nan if short else float(np.mean([pass_hat_k(n, c, k) for n, c in counts]))
        passing = group["all_pass"].sum()
        row["cost_per_pass"] = float(group["cost"].sum()) / passing if passing else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def holm(p_values: dict[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values (monotone)."""
    ordered = sorted(p_values.items(), key=lambda item: item[1])
    adjusted, running = {}, 0.0
    for rank, (name, p) in enumerate(ordered):
        running = max(running, min(1.0, (len(ordered) - rank) * p))
        adjusted[name] = running
    return adjusted


@dataclass(frozen=True)
class Difference:
    metric: str
    fixtures: int  # fixtures both variants have values on
    n_baseline: int
    n_candidate: int
    baseline: float
    candidate: float
    diff: float  # candidate - baseline, over the shared fixtures
    low: float
    high: float
    p_value: float
    p_holm: float
    mde: float  # the difference the two-sided 5% test detects with 80% power at this size
    higher_is_better: bool
    negligible: float
    level: float = 0.95  # of the interval
    shared: tuple[str, ...] = ()  # the fixtures both variants have values on
    # the two variants' per-fixture summaries on the shared fixtures (scores in [0, 1] only)
    suites: tuple[Suite, Suite] | None = field(default=None, repr=False, compare=False)

    @property
    def verdict(self) -> str:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return "no samples to compare"
        if (self.low <= 0 <= self.high) or abs(self.diff) < self.negligible:
            return "no clear difference"
        return "candidate better" if (self.diff > 0) == self.higher_is_better else "candidate worse"


def _difference(
    a: dict[str, np.ndarray], b: dict[str, np.ndarray], name: str, negligible: float, level: float = 0.95
) -> tuple[Difference, float]:
    """One metric's difference from each variant's per-fixture values."""
    _, higher, kind = METRICS[name]
    shared = sorted(set(a) & set(b))
    if not shared:
        nan = math.nan
        return Difference(name, 0, 0, 0, nan, nan, nan, nan, nan, nan, nan, nan, higher, negligible), nan
    ga, gb = [a[f] for f in shared], [b[f] for f in shared]
    sa, sb = Suite.of(ga, kind == "binary"), Suite.of(gb, kind == "binary")
    if kind == "amount":
        diff, low, high, p = amounts.mean_difference(sa, sb)
        mde = amounts.detectable_amount(low, high)
    else:
        diff, low, high = intervals.difference_interval(sa, sb, level)
        p = intervals.difference_p_value(sa, sb)
        mde = intervals.detectable(sa, sb)
    made = Difference(
        metric=name,
        fixtures=len(shared),
        n_baseline=sum(len(v) for v in ga),
        n_candidate=sum(len(v) for v in gb),
        baseline=float(sa.estimate[0]),
        candidate=float(sb.estimate[0]),
        diff=float(diff[0]),
        low=float(low[0]),
        high=float(high[0]),
        p_value=float(p[0]),
        p_holm=math.nan,
        mde=float(np.asarray(mde)[0]),
        higher_is_better=higher,
        negligible=negligible,
        suites=None if kind == "amount" else (sa, sb),
        level=0.95 if kind == "amount" else level,
        shared=tuple(shared),
    )
    return made, made.p_value


def compare(
    df: pd.DataFrame,
    baseline: str,
    candidate: str,
    metrics: tuple[str, ...] = tuple(METRICS),
    negligible: dict[str, float] | None = None,
    level: float = 0.95,
) -> list[Difference]:
    """Differences of ``candidate`` minus ``baseline`` on the fixtures both have, every sample once (no
    epoch is paired with another); a metric without shared samples is kept, with NaN values. ``level``:
    of the intervals of scores (a sequential look's is wider)."""
    thresholds = {**NEGLIGIBLE, **(negligible or {})}
    columns = tuple(dict.fromkeys(METRICS[name][0] for name in metrics))
    a = _all_groups(df[df["variant"] == baseline], columns)
    b = _all_groups(df[df["variant"] == candidate], columns)
    made = [
        _difference(a[METRICS[n][0]], b[METRICS[n][0]], n, thresholds.get(n, NEGLIGIBLE_SCORE), level)
        for n in metrics
    ]
    adjusted = holm({d.metric: p for d, p in made if math.isfinite(p)})
    return [Difference(**{**d.__dict__, "p_holm": adjusted.get(d.metric, math.nan)}) for d, _ in made]


# which check a metric needs (None: every fixture has it, e.g. cost)
METRIC_CHECKS: dict[str, Check | None] = {
    "tests": Check.TESTS,
    "all_pass": Check.TESTS,
    "migrations": Check.MIGRATIONS,
    "security": Check.SECURITY,
    "secure": Check.SECURITY,
    "cost": None,
    "tokens": None,
}


def suite_fixtures(records: list[SampleRecord], planned: Iterable[str] = ()) -> dict[str, list[str]]:
    """Per metric, the suite's fixtures that run it: every fixture planned (the run's grid) or with a
    record of any status, either variant's, infrastructure failures included; a fixture runs a check
    when its records list it, and one planned that has no record at all is expected on every metric
    (nothing says it would not have run it)."""
    checks: dict[str, set[Check]] = {f: set() for f in planned}
    for r in records:
        checks.setdefault(r.fixture_id, set()).update(r.checks)
    return {
        metric: sorted(f for f, ran in checks.items() if needed is None or not ran or needed in ran)
        for metric, needed in METRIC_CHECKS.items()
    }
