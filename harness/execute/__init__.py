"""Many samples: the grid's cells on an executor chosen by name (`run.executor`): `local` (this
machine's engines, concurrently) or `ray` (a task per sample on a Ray cluster)."""

from __future__ import annotations

from harness._util.registry import Registry
from harness.execute.base import Execution, Executor
from harness.execute.local import run_local
from harness.execute.ray import run_ray
from harness.records import SampleRecord

__all__ = ["EXECUTORS", "Execution", "Executor", "execute"]

EXECUTORS: Registry[Executor] = Registry("executor", "run.executor")
EXECUTORS.add("local", run_local)
EXECUTORS.add("ray", run_ray)


def execute(execution: Execution) -> list[SampleRecord]:
    """Every cell's record, in grid order, from the configured executor."""
    return EXECUTORS.get(execution.config.run.executor)(execution)
