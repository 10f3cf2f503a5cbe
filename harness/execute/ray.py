"""Executor `ray`: each sample runs as a Ray task on a node with its own Docker engine.

A node offers sandbox slots as the custom resource ``crucible_slots`` (``ray start --resources
'{"crucible_slots": 2}'``); each task takes one. The task builds this node's engine (its own
DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), runs the cell into a scratch store and sends back
the record and the sample's folder, which the driver writes into the run store as results arrive. A task
lost with its worker or node is submitted again after a pause (so it runs elsewhere once the cluster
knows the node is gone); a sample that ends as an infra failure is run once more. Nodes need the project
at the same path (or a Ray ``runtime_env`` that ships it)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness._util.archive import safe_extract, tar_tree
from harness.agents.factory import provider_factory
from harness.config import CrucibleConfig
from harness.errors import InfraError
from harness.execute.base import Execution
from harness.pipeline.cell import Cell, finished, infra_failure, run_cell
from harness.pipeline.engine import Engine
from harness.records import SampleRecord, SampleStatus
from harness.store import RunDir, RunStore

RESOURCE = "crucible_slots"
ATTEMPTS = 2  # a sample that ends as an infra failure is run once more
LOST_ATTEMPTS = 5  # a task lost with its worker or node is submitted again, this many times in all
LOST_DELAY_S = 5.0  # times the attempt: time for the cluster to notice a dead node


def run_remote_cell(config_json: str, cell: Cell, run_id: str, provider: str) -> tuple[str, bytes]:
    """On a Ray worker: the cell's record (JSON) and its sample folder (tar)."""
    from harness.sandbox.engine import engine_url

    config = CrucibleConfig.model_validate_json(config_json)
    engine = replace(Engine.start(config), url=engine_url(config.sandbox.docker_host))
    providers = provider_factory(provider, config)
    with tempfile.TemporaryDirectory(prefix="crucible-ray-") as scratch:
        run = RunStore(Path(scratch)).start("ray-part", run_id=run_id)
        record = run_cell(engine, cell, providers, run)
        archive = tar_tree(run.path / "samples" / cell.sample_id, cell.sample_id)
    return record.model_dump_json(), archive


def _unpack(run: RunDir, record_json: str, archive: bytes) -> SampleRecord:
    """The task's record, with its sample folder unpacked into the run (the record is written later)."""
    record = SampleRecord.model_validate_json(record_json)
    if dropped := safe_extract(archive, run.path / "samples"):
        raise InfraError(f"the sample folder of {record.sample_id} holds unsafe entries: {dropped[0]}")
    return record


def run_ray(execution: Execution) -> list[SampleRecord]:
    """Executor `ray`: the cells on the cluster at `run.ray_address` (each node brings its engine)."""
    config = execution.config
    return run_grid_ray(
        config, execution.cells, execution.provider, execution.run, config.run.ray_address, execution.progress
    )


class _Grid:
    """The driver's view of the cells on the cluster: tasks in flight, lost tasks waiting to be
    submitted again, why earlier attempts were abandoned, and the records so far."""

    def __init__(
        self, task: Any, config: CrucibleConfig, cells: list[Cell], provider: str, run: RunDir
    ) -> None:
        self.task, self.cells, self.provider, self.run = task, cells, provider, run
        self.config_json = config.model_dump_json()
        self.records: dict[int, SampleRecord] = {}
        self.pending: dict[Any, tuple[int, Cell, int]] = {}
        self.later: list[tuple[float, int, Cell, int]] = []  # (when, index, cell, attempt)
        self.lost: dict[int, list[str]] = {}  # index -> why its earlier attempts were abandoned

    def submit(self, index: int, cell: Cell, attempt: int) -> None:
        ref = self.task.remote(self.config_json, cell, self.run.run_id, self.provider)
        self.pending[ref] = (index, cell, attempt)

    def submit_due(self) -> None:
        for item in [x for x in self.later if x[0] <= time.monotonic()]:
            self.later.remove(item)
            self.submit(*item[1:])

    def collect(self, ref: Any, progress: Callable[[str], None]) -> None:
        """One finished task: its record stored, or the cell submitted again."""
        import ray

        index, cell, attempt = self.pending.pop(ref)
        try:
            record = _unpack(self.run, *ray.get(ref))
        except ray.exceptions.RayError as exc:
            # the task was lost with its worker or node: not the sample's fault; once the cluster has
            # noticed (a few seconds), it runs elsewhere
            why = f"infrastructure: ray: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
            if attempt < LOST_ATTEMPTS:
                self.lost.setdefault(index, []).append(f"attempt {attempt}: {why}")
                self.later.append((time.monotonic() + LOST_DELAY_S * attempt, index, cell, attempt + 1))
                progress(f"{cell.sample_id}: {why}; submitted again")
                return
            record = infra_failure(self.run, cell, why, attempts=ATTEMPTS)
        if record.status is SampleStatus.INFRA_FAILURE and attempt < ATTEMPTS:
            self.lost.setdefault(index, []).append(f"attempt {attempt}: {record.reason}")
            self.submit(index, cell, attempt + 1)
            return
        retries = self.lost.get(index, []) + record.retries
        record = record.model_copy(update={"attempts": max(record.attempts, attempt), "retries": retries})
        self.run.write_record(f"samples/{cell.sample_id}/record.json", record)
        self.records[index] = record
        progress(f"done {len(self.records)}/{len(self.cells)} ({cell.sample_id}: {record.status.value})")


def run_grid_ray(
    config: CrucibleConfig,
    cells: list[Cell],
    provider: str,
    run: RunDir,
    address: str | None,
    progress: Callable[[str], None] = lambda _l: None,
) -> list[SampleRecord]:
    """Every cell's record, in grid order, computed on the Ray cluster at ``address``."""
    import ray

    env = {k: os.environ[k] for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL") if k in os.environ}
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, runtime_env={"env_vars": env})
    task = ray.remote(run_remote_cell).options(num_cpus=0, resources={RESOURCE: 1}, max_retries=0)
    grid = _Grid(task, config, cells, provider, run)
    for index, cell in enumerate(cells):
        done = finished(run, cell)
        if done is not None:
            grid.records[index] = done
        else:
            grid.submit(index, cell, 1)
    try:
        while grid.pending or grid.later:
            grid.submit_due()
            if not grid.pending:
                time.sleep(0.5)
                continue
            ready, _ = ray.wait(list(grid.pending), num_returns=1, timeout=1.0)
            if ready:
                grid.collect(ready[0], progress)
    except BaseException:
        for ref in grid.pending:
            ray.cancel(ref, force=True)
        raise
    return [grid.records[index] for index in range(len(cells))]
