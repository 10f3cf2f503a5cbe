"""Static lint time (semgrep + bandit + ruff, in parallel) of a workspace of about 5,000 lines, built
from copies of the jwt-auth reference, as medians with min and max over several runs.

    .venv/bin/python benchmarks/static_lint.py [--lines 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from harness.score.security.static import static_scan
from harness.workspace import pack

REFERENCE = Path(__file__).parent.parent / "fixtures" / "jwt-auth" / "reference"


def build(dest: Path, lines: int) -> int:
    sources = sorted(p for p in REFERENCE.rglob("*.py") if "__pycache__" not in p.parts)
    total, copy = 0, 0
    while total < lines:
        for source in sources:
            target = dest / f"pkg{copy}" / source.relative_to(REFERENCE)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = source.read_text()
            target.write_text(text)
            total += text.count("\n")
        copy += 1
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        total = build(Path(scratch), args.lines)
        archive = pack(Path(scratch))[0]
    times: dict[str, list[float]] = {}
    findings = 0
    for _ in range(args.runs):
        report = static_scan(archive)
        findings = len(report.findings)
        for tool, seconds in report.seconds.items():
            times.setdefault(tool, []).append(seconds)
    print(f"static lint of {total} lines of Python, {args.runs} runs, {findings} findings (seconds)")
    print(f"  {'tool':<8} {'median':>7} {'min':>7} {'max':>7}")
    for tool, values in times.items():
        print(f"  {tool:<8} {statistics.median(values):7.2f} {min(values):7.2f} {max(values):7.2f}")


if __name__ == "__main__":
    main()
