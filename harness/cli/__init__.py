"""The `crucible` command line: parse options, build one config, call the library, print.

This module is the app: it loads the configuration and mounts the command modules beside it, each of
which imports only :mod:`harness.cli._common` from here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.cli import _common, fixtures, images, ops, plan, report, run, sandbox, score, variants
from harness.config import load_config
from harness.errors import CrucibleError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Crucible: evaluate coding-agent prompts.")


@app.callback()
def _root(
    ctx: typer.Context,
    project: Annotated[Path | None, typer.Option("--project", "-C", help="project directory")] = None,
    settings: Annotated[
        list[str] | None, typer.Option("--set", help="override a setting, e.g. sandbox.memory_mb=512")
    ] = None,
) -> None:
    ctx.obj = load_config(project, settings or [])


app.command()(ops.version)
app.command()(ops.doctor)
app.command()(ops.smoke)
app.add_typer(images.app, name="images")
app.add_typer(sandbox.app, name="sandbox")
app.command("run")(run.run)
app.command("plan")(plan.plan)
app.add_typer(variants.app, name="variants")
app.command()(report.report)
app.command("compare")(report.compare)
app.command()(score.score)
app.command()(score.rescore)
app.add_typer(fixtures.app, name="fixtures")


def main() -> None:
    """Entry point: run the app, turning Crucible's errors into one line and an exit code."""
    try:
        app()
    except CrucibleError as exc:
        _common.err.print(f"crucible: error: {exc.one_line()}", highlight=False, markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _common.err.print("crucible: interrupted")
        sys.exit(130)
