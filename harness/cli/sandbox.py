"""`crucible sandbox cleanup`: remove what Crucible left on an engine."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.cli._common import config_of, out

app = typer.Typer(no_args_is_help=True, help="Manage sandboxes.")


@app.command("cleanup")
def cleanup(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option("--run", help="only this run's sandboxes")] = None,
    backend: Annotated[str | None, typer.Option("--backend", help="docker or local")] = None,
) -> None:
    """Remove every container, network and volume Crucible left (of one run, or of all runs)."""
    from harness.sandbox import create_backend

    chosen = create_backend(config_of(ctx), holder_image="-", name=backend)
    counts = chosen.cleanup(run)
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    out.print(f"removed {summary} ({chosen.name} backend{', run ' + run if run else ''})")
