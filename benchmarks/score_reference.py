"""Scoring the jwt-auth reference with warm images: each stage's time (build, pod start, PostgreSQL,
migrate, ready, tests, probes, the migration checks that run beside them, teardown, the static lint
that runs beside the pod) and the total, as medians with min and max over several runs.

    .venv/bin/python benchmarks/score_reference.py [--runs 5] [--fixture jwt-auth]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from harness.config import load_config
from harness.fixtures import find_fixture
from harness.pipeline.engine import Engine
from harness.pipeline.evaluate import evaluate_workspace
from harness.records import SampleStatus
from harness.store import RunStore

STAGES = (
    "build",
    "pod",
    "postgres",
    "migrate",
    "ready",
    "tests",
    "probes",
    "migrations",
    "teardown",
    "static",
    "total",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fixture", default="jwt-auth")
    args = parser.parse_args()
    config = load_config()
    engine = Engine.start(config)
    fixture = find_fixture(config.project_root, args.fixture)
    with tempfile.TemporaryDirectory() as scratch:
        store = RunStore(Path(scratch))
        run = store.start("benchmark")
        warmup = evaluate_workspace(
            engine, fixture, fixture.reference, run, "warmup"
        )  # builds the app image once
        if warmup.status is not SampleStatus.OK:
            raise SystemExit(f"the reference did not pass: {warmup.reason}")
        times: dict[str, list[float]] = {stage: [] for stage in STAGES}
        for index in range(args.runs):
            record = evaluate_workspace(engine, fixture, fixture.reference, run, f"run-{index}")
            if record.status is not SampleStatus.OK:
                raise SystemExit(f"run {index}: {record.reason}")
            for stage in STAGES:
                times[stage].append(record.seconds.get(stage, 0.0))
    print(f"{fixture.id} reference, warm images, {args.runs} runs (seconds)")
    print(f"  {'stage':<10} {'median':>7} {'min':>7} {'max':>7}")
    for stage, values in times.items():
        print(f"  {stage:<10} {statistics.median(values):7.2f} {min(values):7.2f} {max(values):7.2f}")


if __name__ == "__main__":
    main()
