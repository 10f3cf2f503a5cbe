"""`crucible report` and `crucible compare`: statistics over stored runs, for people and for CI gates."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from harness.cli._common import config_of, err, out
from harness.errors import UserError
from harness.report.stats import GATE_METRICS, METRICS
from harness.store import RunDir, RunStore


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
    margin: Annotated[float, typer.Option("--margin", help="non-inferiority margin")] = 0.05,
) -> None:
    """Write index.html, summary.md, junit.xml, results.parquet and a datasets Dataset for the runs."""
    from harness.report import write_report

    runs = _runs(ctx, run_ids)
    with err.status("writing the report"):
        files = write_report(runs, runs[0], baseline, margin)
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
    margin: Annotated[float, typer.Option("--margin", help="how much worse the candidate may be")] = 0.05,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help=f"gate metrics (default {', '.join(GATE_METRICS)})")
    ] = None,
    run_ids: Annotated[
        list[str] | None, typer.Option("--run", help="runs whose samples are pooled (default: latest)")
    ] = None,
) -> None:
    """Non-inferiority gate: exit 1 when, for a metric, the lower 95% bound of (candidate - baseline)
    falls below -margin; 0 otherwise. The reason is printed either way."""
    from harness.report import load_records
    from harness.report.stats import compare as paired
    from harness.report.stats import frame, gate

    metrics = tuple(metric or GATE_METRICS)
    if unknown := [m for m in metrics if m not in METRICS]:
        raise UserError(f"--metric {', '.join(unknown)} is unknown", f"use some of: {', '.join(METRICS)}")
    df = frame(load_records(_runs(ctx, run_ids)))
    present = sorted(df["variant"].unique()) if not df.empty else []
    for name in (baseline, candidate):
        if name not in present:
            raise UserError(
                f"variant {name!r} has no scored samples in these runs",
                f"use one of: {', '.join(present) or 'none'} (or pass --run)",
            )
    differences = paired(df, baseline, candidate, metrics=tuple(METRICS))
    result = gate(differences, margin, metrics)
    table = Table("metric", "pairs", baseline, candidate, "difference", "95% CI", "Holm p", "detectable")
    for d in differences:
        table.add_row(
            d.metric,
            str(d.pairs),
            f"{d.baseline:.3f}",
            f"{d.candidate:.3f}",
            f"{d.diff:+.3f}",
            f"{d.low:+.3f} to {d.high:+.3f}",
            f"{d.p_holm:.3g}",
            f"{d.mde:.3f}",
        )
    out.print(table)
    for reason in result.reasons:
        out.print(reason, highlight=False)
    out.print(
        f"{'PASS' if result.passed else 'FAIL'}: {candidate} vs {baseline}, margin {margin}", highlight=False
    )
    if not result.passed:
        raise typer.Exit(1)
