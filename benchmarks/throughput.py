"""Throughput of `crucible run` on replayed samples at several concurrency levels: the same 12 samples
(the bundled variants x jwt-auth x 4 epochs, replayed from the bundled cassettes) at generate and
evaluate concurrency 1, 2 and 4 (warm pods as many), wall time per run as the median with min and max,
samples per minute, the speed-up against concurrency 1, the share of the machine's CPU time that was
busy (a run that keeps every core busy at concurrency 1 cannot go faster), and whether every level gave
the same verdicts. Each run starts without cached static-lint results.

    .venv/bin/python benchmarks/throughput.py [--levels 1,2,4] [--repeats 1] [--epochs 4]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.config import load_config

PROJECT = Path(__file__).parent.parent
BUSY: dict[int, list[float]] = {}  # level -> share of the machine's CPU time that was busy, per run


def verdicts(reports: Path) -> dict[str, tuple[object, ...]]:
    """Per sample: status, tests passed/total, failing migration and security checks."""
    out: dict[str, tuple[object, ...]] = {}
    for path in sorted((reports / "latest" / "samples").glob("*/record.json")):
        r = json.loads(path.read_text())
        tests = r.get("tests") or {}
        out[path.parent.name] = (
            r["status"],
            tests.get("passed"),
            tests.get("total"),
            r.get("reason", "")[:60],
        )
    return out


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def one_run(level: int, epochs: int, reports: Path) -> float:
    settings = [f"run.{key}={level}" for key in ("generate_concurrency", "evaluate_concurrency", "warm_pods")]
    command = [sys.executable, "-m", "harness", "-C", str(PROJECT), "--set", f'reports_dir="{reports}"']
    for setting in settings:
        command += ["--set", setting]
    command += ["run", "--fixtures", "jwt-auth", "--epochs", str(epochs), "--provider", "replay"]
    # every run does the same work: none starts with static-lint results of an earlier run
    shutil.rmtree(load_config(PROJECT).images.cache_dir / "static-lint", ignore_errors=True)
    started, (busy, total) = time.monotonic(), cpu_ticks()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    busy2, total2 = cpu_ticks()
    BUSY.setdefault(level, []).append((busy2 - busy) / max(1, total2 - total))
    if done.returncode != 0:
        raise SystemExit(f"concurrency {level} failed: {done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="1,2,4")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument(
        "--fresh-lint", action="store_true", help="clear the static-lint cache before each run"
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    samples = 3 * args.epochs
    times: dict[int, list[float]] = {level: [] for level in levels}
    seen: dict[int, dict[str, tuple[object, ...]]] = {}
    with tempfile.TemporaryDirectory(prefix="crucible-throughput-") as scratch:
        for repeat in range(args.repeats):
            for level in levels:
                reports = Path(scratch) / f"c{level}-r{repeat}"
                times[level].append(one_run(level, args.epochs, reports))
                seen[level] = verdicts(reports)
                print(f"concurrency {level}, repeat {repeat + 1}: {times[level][-1]:.1f} s", flush=True)
    base = statistics.median(times[levels[0]])
    grid = f"jwt-auth, 3 variants x {args.epochs} epochs"
    print(f"\n{samples} replayed samples ({grid}), {args.repeats} repeat(s)")
    print(
        f"{'level':>5} {'median s':>9} {'min':>7} {'max':>7} {'samples/min':>12} {'speed-up':>9} "
        f"{'CPU busy':>9}"
    )
    for level in levels:
        median = statistics.median(times[level])
        rate = samples / median * 60
        print(
            f"{level:>5} {median:>9.1f} {min(times[level]):>7.1f} {max(times[level]):>7.1f} "
            f"{rate:>12.2f} {base / median:>8.2f}x {statistics.median(BUSY[level]):>8.0%}"
        )
    reference = seen[levels[0]]
    same = all(seen[level] == reference for level in levels)
    print(f"verdicts identical across levels: {same}")
    if not same:
        for level in levels:
            diff = {k: v for k, v in seen[level].items() if reference.get(k) != v}
            if diff:
                print(f"  level {level} differs: {diff}")


if __name__ == "__main__":
    main()
