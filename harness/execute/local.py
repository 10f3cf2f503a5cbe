"""Executor `local`: the grid's cells concurrently on this machine's engines. Every cell runs in a
thread of its own; the :class:`~harness.pipeline.cell.Gates` keep at most N samples generating
(network-bound) and M evaluating (container-bound) at once. Records are returned in grid order, so the
verdicts do not depend on the limits. A progress line counts the samples in each stage."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from harness.agents.factory import ProviderFactory
from harness.execute.base import Execution
from harness.execute.budget import Spend
from harness.pipeline.cell import Cell, Gates, finished, run_cell
from harness.pipeline.engine import Engine
from harness.pipeline.reuse import SampleCache
from harness.records import SampleRecord
from harness.sandbox.pool import PodPool
from harness.store import RunDir

GENERATION_STRIKES = 3


class Tally:
    """Which stage each cell is in, as one line: `generating 2 · evaluating 1 · done 5/12 (...)`."""

    def __init__(self, total: int, show: Callable[[str], None]) -> None:
        self.total, self.show = total, show
        self.stages: dict[str, str] = {}
        self.outcomes: Counter[str] = Counter()
        self.lock = threading.Lock()

    def stage(self, cell: Cell, stage: str) -> None:
        with self.lock:
            if cell.sample_id not in self.stages:
                self.show(f"{cell.sample_id} started")
            self.stages[cell.sample_id] = stage
            self._show()

    def done(self, cell: Cell, record: SampleRecord) -> None:
        with self.lock:
            self.stages.pop(cell.sample_id, None)
            self.outcomes[record.status.value] += 1
            self.show(f"{cell.sample_id} done: {outcome(record)}")
            self._show()

    def _show(self) -> None:
        counts = Counter(self.stages.values())
        busy = [
            f"{stage} {counts[stage]}" for stage in ("generating", "waiting", "evaluating") if counts[stage]
        ]
        finished = sum(self.outcomes.values())
        outcomes = ", ".join(f"{n} {status}" for status, n in sorted(self.outcomes.items()))
        self.show(
            " · ".join([*busy, f"done {finished}/{self.total}" + (f" ({outcomes})" if outcomes else "")])
        )


def outcome(record: SampleRecord) -> str:
    """A finished sample in a few words: status, the checks' scores, its time, why it failed."""
    parts = [record.status.value]
    if record.tests:
        parts.append(f"tests {record.tests.passed}/{record.tests.total}")
    if record.migrations:
        parts.append(f"migrations {record.migrations.score():.2f}")
    if record.security:
        parts.append(f"security {record.security.score():.2f}")
    if record.reused:
        parts.append(f"reused from {record.reused.run_id}")
    parts.append(f"{sum(record.seconds.values()):.0f} s")
    reason = f" ({record.reason[:100]})" if record.reason and record.status.value != "ok" else ""
    return ", ".join(parts) + reason


class Breaker:
    """After GENERATION_STRIKES generation failures in a row (a provider that is down, a key that is
    refused), the cells not yet started are not attempted: they are stored as infra failures naming the
    cause, and a resume retries them. Told inside the generate gate, so no cell slips through."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures: list[str] = []

    def open_reason(self) -> str:
        with self.lock:
            if len(self.failures) < GENERATION_STRIKES:
                return ""
            return (
                f"not attempted: generation failed {len(self.failures)} times in a row ({self.failures[-1]})"
            )

    def generated(self, failure: str) -> None:
        with self.lock:
            self.failures = [*self.failures, failure] if failure else []


def run_grid(
    engines: Engine | list[Engine],
    cells: list[Cell],
    providers: ProviderFactory,
    run: RunDir,
    progress: Callable[[str], None] = lambda _l: None,
    generate: int = 1,
    evaluate: int = 1,
    cache: SampleCache | None = None,
    max_dollars: float | None = None,
) -> list[SampleRecord]:
    """Every cell's record, in grid order. Each engine takes cells from one shared queue, with at most
    ``generate`` of its samples generating and ``evaluate`` evaluating at any time (an engine's own
    `evaluate_slots`, when configured, wins). With ``cache``, a cell whose sample an earlier run holds
    is reused rather than generated; with ``max_dollars``, no cell starts generating once the run's
    generations have cost that much (those cells are stored as not started, for a resume)."""
    engines = engines if isinstance(engines, list) else [engines]
    tally = Tally(len(cells), progress)
    breaker, spend = Breaker(), Spend(max_dollars)
    records: dict[int, SampleRecord] = {}
    work: queue.Queue[tuple[int, Cell]] = queue.Queue()
    for index, cell in enumerate(cells):
        done = finished(run, cell)
        if done is None:
            work.put((index, cell))
        else:
            records[index] = done
            spend.add(done)
            tally.done(cell, done)

    def worker(engine: Engine, gates: Gates) -> None:
        while True:
            try:
                index, cell = work.get_nowait()
            except queue.Empty:
                return
            record = run_cell(engine, cell, providers, run, gates, cache)
            records[index] = record
            spend.add(record)
            tally.done(cell, record)

    jobs = []
    for engine in engines:
        slots = _slots(engine, evaluate)
        gates = Gates(
            generate, slots, tally.stage, lambda: breaker.open_reason() or spend.reason(), breaker.generated
        )
        jobs += [(engine, gates)] * max(1, min(work.qsize(), generate + slots))
    pool = ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="cell")
    try:
        for future in [pool.submit(worker, engine, gates) for engine, gates in jobs]:
            future.result()
    except BaseException:
        # Ctrl-C (or a bug): start nothing new; the caller removes the run's containers and exits
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [records[index] for index in range(len(cells))]


def _slots(engine: Engine, default: int) -> int:
    for settings in engine.config.sandbox.engines:
        if settings.evaluate_slots and engine.url == settings.url:
            return settings.evaluate_slots
    return default


def run_local(execution: Execution) -> list[SampleRecord]:
    """The run's cells on this machine's engines, with warm pods; afterwards nothing of the run is left
    on any engine."""
    config, run, engines = execution.config, execution.run, execution.engines
    warm = config.run.warm_limit()
    if warm:
        engines = [
            replace(e, pods=PodPool(e.backend, e.images.postgres.tag, run.run_id, warm)) for e in engines
        ]
    try:
        return run_grid(
            engines,
            execution.cells,
            execution.providers,
            run,
            execution.progress,
            generate=config.run.generate_limit(),
            evaluate=config.run.evaluate_limit(),
            cache=execution.cache,
            max_dollars=execution.max_dollars,
        )
    finally:
        for engine in engines:
            if engine.pods is not None:
                engine.pods.close()
            # every sample is over: what is left of the run (pods of attempts the engine lost) is garbage
            with contextlib.suppress(Exception):  # an engine that is away keeps its labels for later
                engine.backend.cleanup(run.run_id)
