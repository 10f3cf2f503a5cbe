"""Time to write the full report (HTML with charts, summary, JUnit, Parquet, Dataset) for stored records
of 3 variants x 3 fixtures x 5 epochs, each with a copy of the jwt-auth reference as its workspace (so the
page highlights real code), as the median with min and max over several runs. With `--compare`, instead
the time of one compare() of a pair over every metric (10 fixtures x 5 epochs a variant), the report pays
once per pair: median over 50 calls.

    .venv/bin/python benchmarks/report_speed.py [--runs 3] [--compare]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from harness.records import RunManifest, SampleRecord, SampleStatus
from harness.records.migrations import MigrationReport, RevisionCheck
from harness.records.security import Finding, ProbeResult, SecurityReport
from harness.report import write_report
from harness.report.stats import METRICS, compare, frame
from harness.score.tests import CaseResult, SuiteScore
from harness.store import RunStore

REFERENCE = Path(__file__).parent.parent / "fixtures" / "jwt-auth" / "reference"


def synthetic(variant: int, fixture: int, epoch: int) -> SampleRecord:
    failing = (variant + epoch) % 3
    cases = [
        CaseResult(
            nodeid=f"test_{fixture}.py::test_{i}",
            outcome="failed" if i < failing else "passed",
            seconds=0.1,
            message="assert 403 == 200" if i < failing else "",
        )
        for i in range(50)
    ]
    tests = SuiteScore(
        total=50,
        passed=50 - failing,
        failed=failing,
        errors=0,
        skipped=0,
        pass_rate=(50 - failing) / 50,
        all_pass=failing == 0,
        seconds=5.0,
        cases=cases,
    )
    revisions = [
        RevisionCheck(revision=f"r{i}", upgrade_ok=True, downgrade_ok=True, reupgrade_ok=True, seeded_rows=3)
        for i in range(4)
    ]
    migrations = MigrationReport(
        tool="alembic",
        heads=["r3"],
        single_head=True,
        upgrade_from_empty=True,
        base_clean=variant != 1,
        revisions=revisions,
        runtime_changes=[],
    )
    security = SecurityReport(
        findings=[
            Finding(
                tool="bandit",
                rule="B608",
                cwe="CWE-89",
                severity="medium",
                confidence="medium",
                file="app/db.py",
                line=10 + i,
                message="SQL from strings",
            )
            for i in range(variant)
        ],
        probes=[ProbeResult(probe=f"test_probe_{i}", cwe="CWE-347", result="resisted") for i in range(12)],
    )
    return SampleRecord(
        run_id="bench",
        sample_id=f"v{variant}.f{fixture}.e{epoch}",
        fixture_id=f"f{fixture}",
        variant=f"v{variant}",
        epoch=epoch,
        status=SampleStatus.OK if failing == 0 else SampleStatus.MODEL_FAILURE,
        tests=tests,
        migrations=migrations,
        security=security,
        seconds={"total": 12.0},
    )


def time_compare(calls: int = 50) -> None:
    records = [synthetic(v, f, e) for v in range(2) for f in range(10) for e in range(1, 6)]
    df = frame(records)
    compare(df, "v0", "v1")  # warm
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        compare(df, "v0", "v1")
        times.append(time.perf_counter() - started)
    print(
        f"compare() of a pair over {len(METRICS)} metrics (10 fixtures x 5 epochs a variant), {calls} calls: "
        f"median {1000 * statistics.median(times):.1f} ms, min {1000 * min(times):.1f} ms, "
        f"max {1000 * max(times):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", action="store_true", help="time compare() of one pair instead")
    args = parser.parse_args()
    if args.compare:
        time_compare()
        return
    times = []
    with tempfile.TemporaryDirectory() as scratch:
        store = RunStore(Path(scratch))
        run = store.create(RunManifest(run_id="bench", kind="benchmark", crucible_version="0"))
        for v in range(3):
            for f in range(3):
                for e in range(1, 6):
                    record = synthetic(v, f, e)
                    run.write_record(f"samples/{record.sample_id}/record.json", record)
                    shutil.copytree(
                        REFERENCE,
                        run.path / "samples" / record.sample_id / "workspace",
                        ignore=shutil.ignore_patterns("__pycache__"),
                    )
        for _ in range(args.runs):
            started = time.monotonic()
            write_report([run], run, baseline="v0")
            times.append(time.monotonic() - started)
    print(
        f"report of 45 samples (3 variants x 3 fixtures x 5 epochs), {args.runs} runs: median "
        f"{statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s"
    )


if __name__ == "__main__":
    main()
