"""The `crucible` command line: parse options, build one config, call the library, print."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from harness import __version__
from harness.config import CrucibleConfig, load_config
from harness.errors import CrucibleError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Crucible: evaluate coding-agent prompts.")
images_app = typer.Typer(no_args_is_help=True, help="Build and inspect Crucible's images.")
sandbox_app = typer.Typer(no_args_is_help=True, help="Manage sandboxes.")
app.add_typer(images_app, name="images")
app.add_typer(sandbox_app, name="sandbox")
# Redirected output (CI logs, files) gets wide tables, so that test names and reasons are not cut.
_PIPE_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
out = Console(soft_wrap=True, width=_PIPE_WIDTH)
err = Console(stderr=True, soft_wrap=True, width=_PIPE_WIDTH)


def _config(ctx: typer.Context) -> CrucibleConfig:
    config = ctx.obj
    assert isinstance(config, CrucibleConfig)
    return config


@app.callback()
def _root(
    ctx: typer.Context,
    project: Annotated[Path | None, typer.Option("--project", "-C", help="project directory")] = None,
    settings: Annotated[
        list[str] | None, typer.Option("--set", help="override a setting, e.g. sandbox.memory_mb=512")
    ] = None,
) -> None:
    ctx.obj = load_config(project, settings or [])


@app.command()
def version() -> None:
    """Print Crucible's version."""
    out.print(__version__)


@app.command()
def doctor(ctx: typer.Context) -> None:
    """Check the Docker engine, images and disk; say what to do about each problem."""
    from harness.doctor import run_checks

    checks = run_checks(_config(ctx))
    marks = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
    for check in checks:
        fix = f"  -> {check.fix}" if check.fix else ""
        out.print(f"{marks[check.level]:>14} {check.name:<15} {check.detail}{fix}", highlight=False)
    if any(check.level == "fail" for check in checks):
        raise typer.Exit(1)


def _engine(config: CrucibleConfig) -> Any:
    from harness.evaluate import Engine

    with err.status("images") as status:
        return Engine.start(config, lambda line: status.update(f"images: {line[:100]}"))


def _engines(config: CrucibleConfig) -> list[Any]:
    from harness.evaluate import Engine

    with err.status("images") as status:
        return Engine.start_all(config, lambda line: status.update(f"images: {line[:100]}"))


def _engine_and_images(config: CrucibleConfig) -> tuple[Any, Any]:
    from harness.images import ensure_images
    from harness.sandbox.engine import connect

    client = connect(config.sandbox.docker_host)
    with err.status("images") as status:
        images = ensure_images(client, config.images, lambda line: status.update(f"images: {line[:100]}"))
    return client, images


@images_app.command("build")
def images_build(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Build (or reuse) every image a pod needs: base, runtime and PostgreSQL."""
    started = time.monotonic()
    _, images = _engine_and_images(_config(ctx))
    total = time.monotonic() - started
    if as_json:
        out.print_json(json.dumps([json.loads(r.model_dump_json()) for r in images.records()]))
        return
    table = Table("image", "tag", "how", "seconds")
    for record in images.records():
        table.add_row(record.role, record.tag, record.how, f"{record.seconds:.2f}")
    out.print(table)
    reused = all(record.reused for record in images.records())
    out.print(f"{'all images reused' if reused else 'images ready'} in {total:.2f} s")


@images_app.command("prune")
def images_prune(
    ctx: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="also the base, runtime, PostgreSQL and workspace images")
    ] = False,
) -> None:
    """Remove app images (one per requirements set; they pile up) that no container uses.

    Run it between runs: a running sample may be about to use an app image it just built."""
    from harness.images.prune import prune_images
    from harness.sandbox.engine import connect

    pruned = prune_images(connect(_config(ctx).sandbox.docker_host), everything)
    out.print(f"removed {len(pruned.removed)} image(s)" + "".join(f"\n  {tag}" for tag in pruned.removed))
    if pruned.in_use:
        out.print(
            f"kept {len(pruned.in_use)} in use by containers (`crucible sandbox cleanup` removes "
            "Crucible's): " + ", ".join(pruned.in_use)
        )


@sandbox_app.command("cleanup")
def sandbox_cleanup(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option("--run", help="only this run's sandboxes")] = None,
    backend: Annotated[str | None, typer.Option("--backend", help="docker or local")] = None,
) -> None:
    """Remove every container, network and volume Crucible left (of one run, or of all runs)."""
    from harness.sandbox import create_backend

    config = _config(ctx)
    chosen = create_backend(config, holder_image="-", name=backend)
    counts = chosen.cleanup(run)
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    out.print(f"removed {summary} ({chosen.name} backend{', run ' + run if run else ''})")


@app.command()
def smoke(ctx: typer.Context) -> None:
    """Run the smoke pod: PostgreSQL plus a Python process that talks to it; store the result."""
    from harness.records import RunManifest, RunStatus, utc_now
    from harness.sandbox import create_backend
    from harness.smoke import run_smoke
    from harness.store import RunStore, new_run_id

    config = _config(ctx)
    client, images = _engine_and_images(config)
    store = RunStore(config.reports_path)
    manifest = RunManifest(run_id=new_run_id(), kind="smoke", crucible_version=__version__)
    run = store.create(manifest)
    with err.status("smoke pod"):
        record = run_smoke(
            create_backend(config, images.base.tag, client, name="docker"), images, manifest.run_id
        )
    run.write_record("smoke.json", record)
    status = RunStatus.COMPLETE if record.ok else RunStatus.FAILED
    run.write_record("run.json", manifest.model_copy(update={"status": status, "finished_at": utc_now()}))
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in record.seconds.items())
    if not record.ok:
        err.print(f"[red]smoke pod failed[/]: {record.reason}")
        raise typer.Exit(1)
    out.print(
        f"smoke pod ok: PostgreSQL {record.postgres_version}, {record.rows_round_tripped} rows round-tripped "
        f"over the pod's loopback ({stages}); record in {run.path / 'smoke.json'}",
        highlight=False,
    )


def _register_evaluation_commands() -> None:
    from harness import cli_eval, cli_report, cli_run

    app.command()(cli_run.run)
    app.command()(cli_report.report)
    app.command("compare")(cli_report.compare_cmd)
    app.add_typer(cli_run.variants_app, name="variants")
    app.command()(cli_eval.score)
    app.command()(cli_eval.rescore)
    app.add_typer(cli_eval.fixtures_app, name="fixtures")


_register_evaluation_commands()


def main() -> None:
    """Entry point: run the app, turning Crucible's errors into one line and an exit code."""
    try:
        app()
    except CrucibleError as exc:
        err.print(f"crucible: error: {exc.one_line()}", highlight=False, markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("crucible: interrupted")
        sys.exit(130)
