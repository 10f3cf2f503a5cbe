"""`crucible variants list | diff`: the prompt variants under test."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from harness.cli._common import config_of, out

app = typer.Typer(no_args_is_help=True, help="List and compare prompt variants.")


@app.command("list")
def list_variants(ctx: typer.Context) -> None:
    """The variants under agents/, with their model, tools and content hash."""
    from harness.agents.variants import load_variant

    root = config_of(ctx).project_root
    table = Table("variant", "name", "model", "tools", "hash")
    for path in sorted((root / "agents").glob("*.md")):
        v = load_variant(f"agents/{path.name}", root)
        table.add_row(v.source, v.name, v.model, ", ".join(v.tools) if v.tools else "(all)", v.digest)
    out.print(table)


@app.command("diff")
def diff(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="PATH or PATH@REV")],
    new: Annotated[str, typer.Argument(help="PATH or PATH@REV")],
) -> None:
    """A unified diff of two variants' prompts (model and tools included)."""
    from harness.agents.variants import load_variant, prompt_diff

    root = config_of(ctx).project_root
    text = prompt_diff(load_variant(old, root), load_variant(new, root))
    out.print(text or "the two variants are identical", markup=False, highlight=False)
