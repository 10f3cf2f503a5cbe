"""Statistics over samples: per-variant means with cluster-bootstrap confidence intervals, unbiased
pass@k and pass^k, and paired comparisons between two variants (bootstrap CI of the difference, exact
sign/McNemar test, Holm correction, minimum detectable difference).

Samples that ended `infra_failure` are excluded everywhere: they say nothing about the agent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.records import SampleRecord, SampleStatus

# metric -> (column, higher is better, binary)
METRICS: dict[str, tuple[str, bool, bool]] = {
    "tests": ("tests", True, False),
    "all_pass": ("all_pass", True, True),
    "migrations": ("migrations", True, False),
    "security": ("security", True, False),
    "secure": ("secure", True, True),
    "cost": ("cost", False, False),
    "tokens": ("tokens", False, False),
}
GATE_METRICS = ("tests", "migrations", "security")
Z_975, Z_80 = 1.959964, 0.841621


def frame(records: list[SampleRecord]) -> pd.DataFrame:
    """One row per sample that counts (not an infra failure), one column per metric."""
    rows = []
    for r in records:
        if r.status is SampleStatus.INFRA_FAILURE:
            continue
        rows.append(
            {
                "variant": r.variant or "workspace",
                "fixture": r.fixture_id,
                "epoch": r.epoch,
                "sample": r.sample_id,
                "status": r.status.value,
                "tests": r.tests.pass_rate if r.tests else 0.0,
                "all_pass": float(bool(r.tests and r.tests.all_pass and r.status is SampleStatus.OK)),
                "migrations": r.migrations.score() if r.migrations else np.nan,
                "security": r.security.score() if r.security else np.nan,
                "secure": float(r.security.secure) if r.security else np.nan,
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
        "tokens",
        "turns",
    ]
    return pd.DataFrame(rows, columns=list(dict.fromkeys(columns)))


def cluster_bootstrap(
    values: pd.Series, clusters: pd.Series, reps: int = 2000, seed: int = 7, level: float = 0.95
) -> tuple[float, float]:
    """CI of the mean, resampling clusters (fixtures) and then observations within each chosen cluster."""
    data = pd.DataFrame({"v": values.to_numpy(dtype=float), "c": clusters.to_numpy()}).dropna()
    if data.empty:
        return (math.nan, math.nan)
    groups = [g["v"].to_numpy() for _, g in data.groupby("c")]
    rng = np.random.default_rng(seed)
    means = np.empty(reps)
    for i in range(reps):
        chosen = rng.integers(0, len(groups), len(groups))
        parts = [groups[j][rng.integers(0, len(groups[j]), len(groups[j]))] for j in chosen]
        means[i] = np.concatenate(parts).mean()
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: the chance that at least one of k samples drawn from n (c correct) is correct."""
    if k > n:
        return math.nan
    return 1.0 if n - c < k else 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased pass^k: the chance that all k samples drawn from n (c correct) are correct."""
    return math.nan if k > n else math.comb(c, k) / math.comb(n, k)


def summarise(df: pd.DataFrame, ks: tuple[int, ...] = (1, 2, 5)) -> pd.DataFrame:
    """Per variant: mean and 95% CI of every metric, pass@k and pass^k averaged over fixtures."""
    rows = []
    for variant, group in df.groupby("variant", sort=True):
        row: dict[str, object] = {
            "variant": variant,
            "samples": len(group),
            "fixtures": group["fixture"].nunique(),
        }
        for name, (column, _, _) in METRICS.items():
            values = group[column].dropna()
            row[name] = float(values.mean()) if len(values) else math.nan
            low, high = cluster_bootstrap(group[column], group["fixture"])
            row[f"{name}_low"], row[f"{name}_high"] = low, high
        per_fixture = group.groupby("fixture")["all_pass"].agg(["count", "sum"])
        for k in ks:
            at = [pass_at_k(int(n), int(c), k) for n, c in per_fixture.itertuples(index=False)]
            hat = [pass_hat_k(int(n), int(c), k) for n, c in per_fixture.itertuples(index=False)]
            row[f"pass@{k}"] = float(np.nanmean(at)) if not all(math.isnan(a) for a in at) else math.nan
            row[f"pass^{k}"] = float(np.nanmean(hat)) if not all(math.isnan(h) for h in hat) else math.nan
        row["cost_per_pass"] = (
            (float(group["cost"].sum()) / group["all_pass"].sum()) if group["all_pass"].sum() else math.nan
        )
        rows.append(row)
    return pd.DataFrame(rows)


def sign_test(differences: np.ndarray) -> float:
    """Exact two-sided sign test on the non-zero differences (McNemar's exact test for 0/1 outcomes)."""
    wins, losses = int((differences > 0).sum()), int((differences < 0).sum())
    n = wins + losses
    if n == 0:
        return 1.0
    tail: float = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2.0 * tail)


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
    pairs: int
    baseline: float
    candidate: float
    diff: float  # candidate - baseline
    low: float
    high: float
    p_value: float
    p_holm: float
    mde: float  # minimum detectable difference at 80% power, two-sided 5%
    higher_is_better: bool


def compare(
    df: pd.DataFrame,
    baseline: str,
    candidate: str,
    metrics: tuple[str, ...] = tuple(METRICS),
    reps: int = 2000,
) -> list[Difference]:
    """Paired differences of ``candidate`` minus ``baseline`` on matched (fixture, epoch)."""
    a = df[df["variant"] == baseline].set_index(["fixture", "epoch"])
    b = df[df["variant"] == candidate].set_index(["fixture", "epoch"])
    shared = a.index.intersection(b.index)
    results: list[tuple[str, int, float, float, float, float, float, float, float, bool]] = []
    p_values: dict[str, float] = {}
    for name in metrics:
        column, higher, _ = METRICS[name]
        pair = pd.DataFrame({"a": a.loc[shared, column], "b": b.loc[shared, column]}).dropna()
        if pair.empty:
            continue
        d = (pair["b"] - pair["a"]).to_numpy(dtype=float)
        fixtures = pd.Series([idx[0] for idx in pair.index])
        low, high = cluster_bootstrap(pd.Series(d), fixtures, reps=reps)
        sd = float(np.std(d, ddof=1)) if len(d) > 1 else math.nan
        mde = (Z_975 + Z_80) * sd / math.sqrt(len(d)) if len(d) > 1 else math.nan
        p_values[name] = sign_test(d)
        results.append(
            (
                name,
                len(d),
                float(pair["a"].mean()),
                float(pair["b"].mean()),
                float(d.mean()),
                low,
                high,
                p_values[name],
                mde,
                higher,
            )
        )
    adjusted = holm(p_values)
    return [
        Difference(
            metric=n,
            pairs=k,
            baseline=ma,
            candidate=mb,
            diff=md,
            low=lo,
            high=hi,
            p_value=p,
            p_holm=adjusted[n],
            mde=mde,
            higher_is_better=h,
        )
        for n, k, ma, mb, md, lo, hi, p, mde, h in results
    ]


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: list[str]


def gate(differences: list[Difference], margin: float, metrics: tuple[str, ...] = GATE_METRICS) -> GateResult:
    """Non-inferiority: the candidate fails a metric when the lower bound of its 95% CI of
    (candidate - baseline) is below -margin (where lower is better: the upper bound above +margin)."""
    reasons, passed = [], True
    for d in differences:
        if d.metric not in metrics:
            continue
        worse = d.low < -margin if d.higher_is_better else d.high > margin
        verdict = "FAILS" if worse else "passes"
        passed &= not worse
        reasons.append(
            f"{d.metric}: {verdict}: difference {d.diff:+.3f} (95% CI {d.low:+.3f} to {d.high:+.3f}), "
            f"margin {margin:.3f}, {d.pairs} pairs, Holm p {d.p_holm:.3g}"
        )
    if not reasons:
        return GateResult(False, ["no matched samples of both variants: nothing to compare"])
    return GateResult(passed, reasons)
