"""What every executor is given: one run's cells and what they need."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.agents.factory import ProviderFactory
from harness.config import CrucibleConfig
from harness.pipeline.cell import Cell
from harness.pipeline.engine import Engine
from harness.pipeline.reuse import SampleCache
from harness.records import SampleRecord
from harness.store import RunDir


@dataclass(frozen=True)
class Execution:
    """The cells of one run. ``engines`` are this machine's (executors that bring their own ignore
    them); ``provider`` names the provider ``providers`` builds, for executors that build theirs on
    other machines; ``progress`` hears one line at a time; ``cache`` is the sample cache (None: every
    cell is generated)."""

    config: CrucibleConfig
    engines: list[Engine]
    cells: list[Cell]
    providers: ProviderFactory
    provider: str
    run: RunDir
    progress: Callable[[str], None] = lambda _line: None
    cache: SampleCache | None = None  # earlier runs' samples to reuse (the local executor's)
    max_dollars: float | None = None  # no new sample starts once the run's generations cost this much


Executor = Callable[[Execution], list[SampleRecord]]
