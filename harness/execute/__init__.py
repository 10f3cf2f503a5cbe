"""Many samples: the grid's cells on an executor chosen by name (`run.executor`): `local` (this
machine's engines, concurrently) or `ray` (a task per sample on a Ray cluster)."""

from __future__ import annotations

from collections.abc import Callable

from harness._util.registry import Registry
from harness.agents.factory import ProviderFactory
from harness.config import CrucibleConfig
from harness.execute.local import run_local
from harness.execute.ray import run_ray
from harness.pipeline.cell import Cell
from harness.pipeline.engine import Engine
from harness.records import SampleRecord
from harness.store import RunDir

Executor = Callable[
    [CrucibleConfig, list[Engine], list[Cell], ProviderFactory, str, RunDir, Callable[[str], None]],
    list[SampleRecord],
]
EXECUTORS: Registry[Executor] = Registry("executor", "run.executor")
EXECUTORS.add("local", run_local)
EXECUTORS.add("ray", run_ray)


def execute(
    config: CrucibleConfig,
    engines: list[Engine],
    cells: list[Cell],
    providers: ProviderFactory,
    provider: str,
    run: RunDir,
    progress: Callable[[str], None],
) -> list[SampleRecord]:
    """Every cell's record, in grid order, from the configured executor. ``engines`` are this machine's
    (unused by executors that bring their own); ``provider`` names the provider for executors that
    build theirs elsewhere."""
    return EXECUTORS.get(config.run.executor)(config, engines, cells, providers, provider, run, progress)
