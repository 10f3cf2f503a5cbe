"""Scoring a fixture's reference with warm images: each stage's time (build, pod start, PostgreSQL,
migrate, ready, tests, probes, the migration checks that run beside them and how long the sample still
waits for them after the probes, teardown, the static lint that runs beside the pod) and the total, as
medians with min and max over several runs.

    .venv/bin/python benchmarks/score_reference.py [--runs 5] [--fixture jwt-auth]
    .venv/bin/python benchmarks/score_reference.py --fixture order-management --against HEAD~1 \\
        [--rounds 3] [--runs 2] [--concurrency 2] [--own-fixtures]

With ``--against REV`` the same reference is also scored by the code of commit REV (checked out in a
temporary git worktree), side by side in one benchmark run: rounds alternate which side goes first, each
side scores ``--runs`` samples per round after a warm-up of its own, and the table gives both medians
and their ratio (this tree / REV), so that a noisy machine moves both sides alike. Both sides score with
this tree's fixture (its spec, reference and hidden tests), so the ratio is the harness's alone;
``--own-fixtures`` gives each side the fixture of its own commit instead.

``--concurrency N`` scores N samples at once (as `crucible run` and `fixtures check` do on two cores);
each sample's stages are then times under that load, and ``wall`` is a batch's wall time divided by the
samples in it (the inverse of the throughput).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

STAGES = (
    "build",
    "pod",
    "postgres",
    "migrate",
    "ready",
    "tests",
    "probes",
    "migrations",
    "migrations_wait",
    "teardown",
    "static",
    "total",
    "wall",
)
HERE = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter with the tree under test first on sys.path; it uses only the API that the
# compared commits share.
WORKER = """
import json, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import harness
tree, fixtures_from, fixture_id = Path(sys.argv[1]).resolve(), Path(sys.argv[2]), sys.argv[3]
runs, concurrency = int(sys.argv[4]), int(sys.argv[5])
assert Path(harness.__file__).resolve().is_relative_to(tree), f"harness came from {harness.__file__}"
from harness.config import load_config
from harness.fixtures import find_fixture
from harness.pipeline.engine import Engine
from harness.pipeline.evaluate import evaluate_workspace
from harness.records import SampleStatus
from harness.store import RunStore
config = load_config()
engine = Engine.start(config)
fixture = find_fixture(fixtures_from, fixture_id)
times = []
with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(concurrency) as pool:
    run = RunStore(Path(scratch)).start("benchmark")
    def one(name):
        record = evaluate_workspace(engine, fixture, fixture.reference, run, name)
        if record.status is not SampleStatus.OK:
            raise SystemExit(f"{name}: {record.reason}")
        return dict(record.seconds)
    one("warm-up")  # builds the app image once
    for index in range(runs):
        start = time.monotonic()
        batch = list(pool.map(one, [f"run-{index}-{k}" for k in range(concurrency)]))
        wall = (time.monotonic() - start) / concurrency
        times += [{**seconds, "wall": wall} for seconds in batch]
print("TIMES " + json.dumps(times))
"""


def score(
    tree: Path, fixtures_from: Path, fixture: str, runs: int, concurrency: int
) -> list[dict[str, float]]:
    """``runs`` batches of ``concurrency`` scored samples of ``fixture``'s reference (the one in
    ``fixtures_from``) by the code in ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(tree), str(fixtures_from), fixture, str(runs), str(concurrency)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("TIMES ")), None)
    if done.returncode or line is None:
        raise SystemExit(f"scoring in {tree} failed:\n{done.stderr[-3000:]}")
    return list(json.loads(line[len("TIMES ") :]))


def column(samples: list[dict[str, float]], stage: str) -> list[float]:
    return [sample.get(stage, 0.0) for sample in samples]


def show(title: str, samples: list[dict[str, float]]) -> None:
    print(title)
    print(f"  {'stage':<16} {'median':>7} {'min':>7} {'max':>7}")
    for stage in STAGES:
        values = column(samples, stage)
        print(f"  {stage:<16} {statistics.median(values):7.2f} {min(values):7.2f} {max(values):7.2f}")


def compare(fixture: str, against: str, rounds: int, runs: int, concurrency: int, own_fixtures: bool) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        old = Path(scratch) / "old"
        subprocess.run(
            ["git", "-C", str(HERE), "worktree", "add", "-q", "--detach", str(old), against], check=True
        )
        try:
            sides: dict[str, list[dict[str, float]]] = {"this tree": [], against: []}
            for index in range(rounds):
                order = [(HERE, "this tree"), (old, against)]
                for tree, name in order if index % 2 == 0 else order[::-1]:
                    sides[name] += score(tree, tree if own_fixtures else HERE, fixture, runs, concurrency)
                    print(f"round {index + 1}/{rounds}: {name} done", file=sys.stderr)
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(old)], check=False)
    for name, samples in sides.items():
        show(
            f"{fixture} reference, warm images, {len(samples)} samples ({concurrency} at once), {name}",
            samples,
        )
    print(f"ratio of medians, this tree / {against}")
    for stage in STAGES:
        new, base = (statistics.median(column(sides[n], stage)) for n in ("this tree", against))
        print(f"  {stage:<16} {new / base if base else float('nan'):7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fixture", default="jwt-auth")
    parser.add_argument("--against", help="also score with the code of this commit, side by side")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1, help="samples scored at once")
    parser.add_argument("--own-fixtures", action="store_true", help="each side scores its commit's fixture")
    args = parser.parse_args()
    if args.against:
        compare(args.fixture, args.against, args.rounds, args.runs, args.concurrency, args.own_fixtures)
    else:
        samples = score(HERE, HERE, args.fixture, args.runs, args.concurrency)
        show(
            f"{args.fixture} reference, warm images, {len(samples)} samples ({args.concurrency} at once)",
            samples,
        )


if __name__ == "__main__":
    main()
