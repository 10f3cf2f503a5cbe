"""Cold start: from an engine without any of Crucible's images to the first report.

Each repeat removes every Crucible image (`crucible images prune --all`), then times one replayed sample
(`crucible run`, one variant x jwt-auth x 1 epoch) until its HTML report is written, and splits that
into the sample's own stage times and the rest (mostly building the pod images). The wheel cache stays
warm unless `--cold-cache` (then the wheels are resolved again through the host's pip configuration).
Prints median, min and max.

    .venv/bin/python benchmarks/cold_start.py [--repeats 3] [--cold-cache]
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
VARIANT = "agents/backend-engineer-checklist.md"


def crucible(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "-C", str(PROJECT), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"crucible {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done


def one_start(reports: Path, cold_cache: bool) -> dict[str, float]:
    crucible("images", "prune", "--all")
    if cold_cache:
        shutil.rmtree(load_config(PROJECT).images.cache_dir, ignore_errors=True)
    started = time.monotonic()
    crucible("--set", f'reports_dir="{reports}"', "run", "--variants", VARIANT, "--fixtures", "jwt-auth",
             "--epochs", "1", "--provider", "replay")  # fmt: skip
    total = time.monotonic() - started
    run = (reports / "latest").resolve()
    assert (run / "index.html").is_file(), f"no report in {run}"
    record = json.loads(next((run / "samples").glob("*/record.json")).read_text())
    sample = float(sum(record.get("seconds", {}).values()))
    return {"total": total, "sample": sample, "setup": total - sample}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold-cache", action="store_true", help="also clear the wheel and lint caches")
    args = parser.parse_args()
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="crucible-cold-") as scratch:
        for repeat in range(args.repeats):
            runs.append(one_start(Path(scratch) / f"r{repeat}", args.cold_cache))
            print(f"repeat {repeat + 1}: {runs[-1]['total']:.1f} s", flush=True)
    cache = "cold" if args.cold_cache else "warm"
    print(f"\ncold start to first report (no images, {cache} wheel cache), {args.repeats} repeat(s)")
    print(f"{'part':>8} {'median s':>9} {'min':>7} {'max':>7}")
    for part in ("setup", "sample", "total"):
        values = [r[part] for r in runs]
        print(f"{part:>8} {statistics.median(values):>9.1f} {min(values):>7.1f} {max(values):>7.1f}")


if __name__ == "__main__":
    main()
