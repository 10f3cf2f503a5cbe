"""`crucible report` and `crucible compare`: statistics over stored runs, for people and for CI gates."""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer
from rich.table import Table

from harness.cli._common import config_of, err, gate_spec, out
from harness.errors import UserError
from harness.report.stats import GATE_METRICS, METRICS
from harness.store import RunDir, RunStore

MARGIN = "the gate's margin (default evals.margin)"
MODE = "non-inferiority (a release) or no-regression (a pull request); default evals.mode"
PARTIAL = "let a gated metric be judged on fewer fixtures than the suite runs it on"


def _runs(ctx: typer.Context, run_ids: list[str] | None) -> list[RunDir]:
    store = RunStore(config_of(ctx).reports_path)
    return [store.open(run_id) for run_id in (run_ids or ["latest"])]


def report(
    ctx: typer.Context,
    run_ids: Annotated[
        list[str] | None, typer.Argument(help="run ids (default: latest); the first gets the files")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="variant the others are compared with")
    ] = None,
    margin: Annotated[float | None, typer.Option("--margin", help=MARGIN)] = None,
    mode: Annotated[str | None, typer.Option("--mode", help=MODE)] = None,
    allow_partial: Annotated[bool, typer.Option("--allow-partial", help=PARTIAL)] = False,
) -> None:
    """Write index.html, summary.md, junit.xml, results.parquet and a datasets Dataset for the runs."""
    from harness.report import write_report

    spec = gate_spec(config_of(ctx).evals, margin, mode, allow_partial)
    runs = _runs(ctx, run_ids)
    with err.status("writing the report"):
        files = write_report(runs, runs[0], baseline, spec)
    out.print(
        f"report: {files.html}\nsummary: {files.summary}\njunit: {files.junit}\nparquet: {files.parquet}\n"
        f"dataset: {files.dataset}",
        highlight=False,
    )


def compare(
    ctx: typer.Context,
    baseline: Annotated[
        str, typer.Option("--baseline", help="the variant to hold the line (label, e.g. backend-engineer)")
    ],
    candidate: Annotated[str, typer.Option("--candidate", help="the variant under review")],
    margin: Annotated[float | None, typer.Option("--margin", help=MARGIN)] = None,
    mode: Annotated[str | None, typer.Option("--mode", help=MODE)] = None,
    allow_partial: Annotated[bool, typer.Option("--allow-partial", help=PARTIAL)] = False,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help=f"gate metrics (default {', '.join(GATE_METRICS)})")
    ] = None,
    run_ids: Annotated[
        list[str] | None, typer.Option("--run", help="runs whose samples are pooled (default: latest)")
    ] = None,
    negligible: Annotated[
        list[str] | None,
        typer.Option("--negligible", help="METRIC=AMOUNT: smaller differences are never better or worse"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the differences and the gate as JSON")] = False,
) -> None:
    """The gate: exit 1 when a gated metric fails in the chosen mode (non-inferiority: the 95% interval
    of candidate - baseline reaches below -margin; no-regression: it lies wholly below -negligible), or
    cannot be judged (no samples, or fixtures of the suite missing without --allow-partial); 0
    otherwise. The reasons are printed either way."""
    from harness.report import load_records, planned_fixtures
    from harness.report.gate import gate
    from harness.report.stats import compare as paired
    from harness.report.stats import frame, suite_fixtures

    metrics = tuple(metric or GATE_METRICS)
    if unknown := [m for m in metrics if m not in METRICS]:
        raise UserError(f"--metric {', '.join(unknown)} is unknown", f"use some of: {', '.join(METRICS)}")
    spec = gate_spec(config_of(ctx).evals, margin, mode, allow_partial)
    runs = _runs(ctx, run_ids)
    records = load_records(runs)
    df = frame(records)
    present = sorted(df["variant"].unique()) if not df.empty else []
    for name in (baseline, candidate):
        if name not in present:
            raise UserError(
                f"variant {name!r} has no scored samples in these runs",
                f"use one of: {', '.join(present) or 'none'} (or pass --run)",
            )
    differences = paired(df, baseline, candidate, metrics=tuple(METRICS), negligible=_amounts(negligible))
    pair = [r for r in records if (r.variant or "workspace") in (baseline, candidate)]
    result = gate(differences, spec, suite_fixtures(pair, planned_fixtures(runs)), metrics)
    if as_json:
        out.print_json(data=_as_json(baseline, candidate, spec, differences, result))
        if not result.passed:
            raise typer.Exit(1)
        return
    table = Table(
        "metric", "samples", baseline, candidate, "difference", "95% CI", "Holm p", "detectable", "verdict"
    )
    for d in differences:
        table.add_row(
            d.metric,
            f"{d.n_baseline} + {d.n_candidate} on {d.fixtures}",
            f"{d.baseline:.3f}",
            f"{d.candidate:.3f}",
            f"{d.diff:+.3f}",
            f"{d.low:+.3f} to {d.high:+.3f}",
            f"{d.p_holm:.3g}",
            f"{d.mde:.3f}",
            d.verdict,
        )
    out.print(table)
    for reason in result.reasons:
        out.print(reason, highlight=False)
    out.print(
        f"{'PASS' if result.passed else 'FAIL'}: {candidate} vs {baseline} ({spec.describe()})",
        highlight=False,
    )
    if not result.passed:
        raise typer.Exit(1)


def _amounts(given: list[str] | None) -> dict[str, float]:
    amounts = {}
    for item in given or []:
        name, _, value = item.partition("=")
        try:
            amount = float(value)
        except ValueError:
            amount = math.nan
        if name not in METRICS or not math.isfinite(amount) or amount < 0:
            raise UserError(
                f"--negligible {item} is not METRIC=AMOUNT",
                f"for example cost=0.01 (metrics: {', '.join(METRICS)})",
            )
        amounts[name] = amount
    return amounts


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _as_json(baseline: str, candidate: str, spec: Any, differences: list[Any], result: Any) -> dict[str, Any]:
    return {
        "baseline": baseline,
        "candidate": candidate,
        "margin": spec.margin,
        "mode": spec.mode,
        "allow_partial": spec.allow_partial,
        "differences": [
            {
                "metric": d.metric,
                "fixtures": d.fixtures,
                "samples": {"baseline": d.n_baseline, "candidate": d.n_candidate},
                "baseline": _number(d.baseline),
                "candidate": _number(d.candidate),
                "difference": _number(d.diff),
                "interval": [_number(d.low), _number(d.high)],
                "p": _number(d.p_value),
                "p_holm": _number(d.p_holm),
                "detectable": _number(d.mde),
                "shared_fixtures": list(d.shared),
                "verdict": d.verdict,
            }
            for d in differences
        ],
        "gate": {"passed": result.passed, "reasons": result.reasons, "outcomes": result.outcomes},
    }
