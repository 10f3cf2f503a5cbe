"""Scoring a fixture's reference with warm images: each stage's time (build, pod start, PostgreSQL,
migrate, ready, tests, probes, the migration checks that run beside them and how long the sample still
waits for them after the probes, teardown, the static lint that runs beside the pod) and the total, as
medians with min and max over several runs.

    .venv/bin/python benchmarks/score_reference.py [--runs 5] [--fixture jwt-auth]
    .venv/bin/python benchmarks/score_reference.py --fixture order-management --against HEAD~1 \\
        [--rounds 3] [--runs 2]

With ``--against REV`` the same reference is also scored by the code of commit REV (checked out in a
temporary git worktree), side by side in one benchmark run: rounds alternate which side goes first, each
side scores ``--runs`` samples per round after a warm-up of its own, and the table gives both medians
and their ratio (this tree / REV), so that a noisy machine moves both sides alike.
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
)
HERE = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter with the tree under test first on sys.path; it uses only the API that the
# compared commits share.
WORKER = """
import json, sys, tempfile
from pathlib import Path
import harness
tree, fixture_id, runs = Path(sys.argv[1]).resolve(), sys.argv[2], int(sys.argv[3])
assert Path(harness.__file__).resolve().is_relative_to(tree), f"harness came from {harness.__file__}"
from harness.config import load_config
from harness.fixtures import find_fixture
from harness.pipeline.engine import Engine
from harness.pipeline.evaluate import evaluate_workspace
from harness.records import SampleStatus
from harness.store import RunStore
config = load_config()
engine = Engine.start(config)
fixture = find_fixture(config.project_root, fixture_id)
times = []
with tempfile.TemporaryDirectory() as scratch:
    run = RunStore(Path(scratch)).start("benchmark")
    for index in range(runs + 1):  # the first is the warm-up (it builds the app image once)
        record = evaluate_workspace(engine, fixture, fixture.reference, run, f"run-{index}")
        if record.status is not SampleStatus.OK:
            raise SystemExit(f"run {index}: {record.reason}")
        if index:
            times.append(dict(record.seconds))
print("TIMES " + json.dumps(times))
"""


def score(tree: Path, fixture: str, runs: int) -> list[dict[str, float]]:
    """``runs`` scored samples of ``fixture``'s reference by the code in ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(tree), fixture, str(runs)],
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


def compare(fixture: str, against: str, rounds: int, runs: int) -> None:
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
                    sides[name] += score(tree, fixture, runs)
                    print(f"round {index + 1}/{rounds}: {name} done", file=sys.stderr)
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(old)], check=False)
    for name, samples in sides.items():
        show(f"{fixture} reference, warm images, {len(samples)} runs, {name} (seconds)", samples)
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
    args = parser.parse_args()
    if args.against:
        compare(args.fixture, args.against, args.rounds, args.runs)
    else:
        show(
            f"{args.fixture} reference, warm images, {args.runs} runs (seconds)",
            score(HERE, args.fixture, args.runs),
        )


if __name__ == "__main__":
    main()
