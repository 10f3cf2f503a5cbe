"""Crucible's warm per-sample evaluation against its floor: the same container work done by a plain
shell script (benchmarks/floor.sh: the docker CLI only, same pod layout, same commands, same migration
checks and static lint in parallel). Runs both alternately and prints medians with min and max, and the
ratio of the medians (Crucible / floor).

    .venv/bin/python benchmarks/floor.py [--runs 5] [--fixture jwt-auth]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from harness.config import load_config
from harness.fixtures import find_fixture
from harness.pipeline.build import build_app
from harness.pipeline.engine import Engine
from harness.pipeline.evaluate import evaluate_workspace
from harness.records import SampleStatus
from harness.store import RunStore
from harness.workspace import load_workspace

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fixture", default="jwt-auth")
    args = parser.parse_args()
    config = load_config()
    engine = Engine.start(config)
    fixture = find_fixture(config.project_root, args.fixture)
    images = engine.images
    app = build_app(engine.client, images, load_workspace(fixture.reference).requirements, config.images)
    pgsnap = resources.files("harness.score.migrations") / "inpod" / "pgsnap.py"
    crucible: list[float] = []
    floor: list[float] = []
    with tempfile.TemporaryDirectory() as scratch, resources.as_file(pgsnap) as pgsnap_path:
        envfile = Path(scratch) / "fixture.env"
        envfile.write_text("".join(f"{k}={v}\n" for k, v in fixture.spec.env.items()))
        run = RunStore(Path(scratch)).start("benchmark")
        command = [
            "bash", str(HERE / "floor.sh"), images.base.tag, images.runtime.tag, images.postgres.tag, app.tag,
            str(fixture.reference), str(fixture.tests_dir), str(fixture.root / "probes"), str(pgsnap_path),
            str(fixture.spec.port), str(envfile),
        ]  # fmt: skip
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        for index in range(args.runs + 1):  # the first round warms both up and is not counted
            started = time.monotonic()
            subprocess.run(command, check=True, env=env, capture_output=True)
            floor_s = time.monotonic() - started
            shutil.rmtree(
                config.images.cache_dir / "static-lint", ignore_errors=True
            )  # lint as the floor does
            record = evaluate_workspace(engine, fixture, fixture.reference, run, f"run-{index}")
            if record.status is not SampleStatus.OK:
                raise SystemExit(f"run {index}: {record.reason}")
            if index:
                floor.append(floor_s)
                crucible.append(record.seconds["total"])
            print(
                f"round {index}: crucible {record.seconds['total']:.2f} s, floor {floor_s:.2f} s", flush=True
            )
    print(f"\n{fixture.id} reference, warm, {args.runs} rounds (seconds)")
    print(f"  {'':<9} {'median':>7} {'min':>7} {'max':>7}")
    for name, values in (("crucible", crucible), ("floor", floor)):
        print(f"  {name:<9} {statistics.median(values):7.2f} {min(values):7.2f} {max(values):7.2f}")
    ratio = statistics.median(crucible) / statistics.median(floor)
    print(f"  ratio (median crucible / median floor): {ratio:.2f}")


if __name__ == "__main__":
    main()
