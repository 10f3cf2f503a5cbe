"""`crucible images build | prune`: Crucible's layered images on the default engine."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table

from harness.cli._common import config_of, out, start_engine

app = typer.Typer(no_args_is_help=True, help="Build and inspect Crucible's images.")


@app.command("build")
def build(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Build (or reuse) every image a pod needs: base, runtime and PostgreSQL."""
    started = time.monotonic()
    images = start_engine(config_of(ctx), show=True).images
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


@app.command("prune")
def prune(
    ctx: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="also the base, runtime, PostgreSQL and workspace images")
    ] = False,
) -> None:
    """Remove app images (one per requirements set; they pile up) that no container uses.

    Run it between runs: a running sample may be about to use an app image it just built."""
    from harness.images.prune import prune_images
    from harness.sandbox.engine import connect

    pruned = prune_images(connect(config_of(ctx).sandbox.docker_host), everything)
    out.print(f"removed {len(pruned.removed)} image(s)" + "".join(f"\n  {tag}" for tag in pruned.removed))
    if pruned.in_use:
        out.print(
            f"kept {len(pruned.in_use)} in use by containers (`crucible sandbox cleanup` removes "
            "Crucible's): " + ", ".join(pruned.in_use)
        )
