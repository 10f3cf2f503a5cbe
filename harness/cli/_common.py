"""What every command module shares: the consoles, the config of the invocation, engines with their
images, a list option's values. Command modules import this; it imports none of them."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from harness.config import CrucibleConfig

if TYPE_CHECKING:
    from harness.pipeline.engine import Engine

# Redirected output (CI logs, files) gets wide tables, so that test names and reasons are not cut.
_PIPE_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
out = Console(soft_wrap=True, width=_PIPE_WIDTH)
err = Console(stderr=True, soft_wrap=True, width=_PIPE_WIDTH)


def config_of(ctx: typer.Context) -> CrucibleConfig:
    """The configuration the root callback loaded for this invocation."""
    config = ctx.obj
    assert isinstance(config, CrucibleConfig)
    return config


def split(values: list[str] | None) -> list[str]:
    """A repeatable, comma-separated option's values: `-v a,b -v c` -> a, b, c."""
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def start_engine(config: CrucibleConfig) -> Engine:
    """The default engine with every image ready on it (images built or reused, shown as they go)."""
    from harness.pipeline.engine import Engine

    with err.status("images") as status:
        return Engine.start(config, lambda line: status.update(f"images: {line[:100]}"))


def start_engines(config: CrucibleConfig) -> list[Engine]:
    """Every configured engine, each with its images ready."""
    from harness.pipeline.engine import Engine

    with err.status("images") as status:
        return Engine.start_all(config, lambda line: status.update(f"images: {line[:100]}"))
