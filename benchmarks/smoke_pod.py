"""Stage times of the smoke pod (warm images), as medians with min and max over several runs.

.venv/bin/python benchmarks/smoke_pod.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics

from harness.config import load_config
from harness.images import ensure_images
from harness.ops.smoke import run_smoke
from harness.sandbox import create_backend
from harness.sandbox.engine import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    config = load_config()
    client = connect(config.sandbox.docker_host)
    images = ensure_images(client, config.images, lambda _line: None)
    backend = create_backend(config, images.base.tag, client, name="docker")
    samples: dict[str, list[float]] = {}
    for index in range(args.runs):
        record = run_smoke(backend, images, f"bench-smoke-{index}")
        if not record.ok:
            raise SystemExit(f"run {index} failed: {record.reason}")
        for stage, seconds in record.seconds.items():
            samples.setdefault(stage, []).append(seconds)
    print(f"smoke pod, {args.runs} runs (seconds): stage  median  min  max")
    for stage, values in samples.items():
        print(f"  {stage:<15} {statistics.median(values):6.3f} {min(values):6.3f} {max(values):6.3f}")


if __name__ == "__main__":
    main()
