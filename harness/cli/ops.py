"""`crucible version`, `doctor` and `smoke`: is this machine ready, and does a pod work on it."""

from __future__ import annotations

import typer

from harness import __version__
from harness.cli._common import config_of, err, out, start_engine


def version() -> None:
    """Print Crucible's version."""
    out.print(__version__)


def doctor(ctx: typer.Context) -> None:
    """Check the Docker engine, images and disk; say what to do about each problem."""
    from harness.ops.doctor import run_checks

    checks = run_checks(config_of(ctx))
    marks = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
    for check in checks:
        fix = f"  -> {check.fix}" if check.fix else ""
        out.print(f"{marks[check.level]:>14} {check.name:<15} {check.detail}{fix}", highlight=False)
    if any(check.level == "fail" for check in checks):
        raise typer.Exit(1)


def smoke(ctx: typer.Context) -> None:
    """Run the smoke pod: PostgreSQL plus a Python process that talks to it; store the result."""
    from harness.ops.smoke import run_smoke
    from harness.store import RunStore

    config = config_of(ctx)
    engine = start_engine(config)
    run = RunStore(config.reports_path).start("smoke")
    with run.lifecycle() as outcome, err.status("smoke pod"):
        record = run_smoke(engine.backend, engine.images, run.run_id)
        run.write_record("smoke.json", record)
        outcome.failed = not record.ok
    if not record.ok:
        err.print(f"[red]smoke pod failed[/]: {record.reason}")
        raise typer.Exit(1)
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in record.seconds.items())
    out.print(
        f"smoke pod ok: PostgreSQL {record.postgres_version}, {record.rows_round_tripped} rows round-tripped "
        f"over the pod's loopback ({stages}); record in {run.path / 'smoke.json'}",
        highlight=False,
    )
