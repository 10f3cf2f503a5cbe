"""Reports of one or more runs: an HTML page for reviewers, a Markdown summary, JUnit XML, Parquet and a
`datasets` Dataset, written into the run's folder of the run store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.records import SampleRecord
from harness.store import RunDir


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    summary: Path
    junit: Path
    parquet: Path
    dataset: Path


def load_records(runs: list[RunDir]) -> list[SampleRecord]:
    records = []
    for run in runs:
        for path in sorted((run.path / "samples").glob("*/record.json")):
            records.append(run.read_record(str(path.relative_to(run.path)), SampleRecord))
    return records


def write_report(
    runs: list[RunDir], dest: RunDir, baseline: str | None = None, margin: float = 0.05
) -> ReportFiles:
    from harness.report.exports import write_exports
    from harness.report.html import render_html

    records = load_records(runs)
    html = render_html(records, runs, baseline, margin)
    files = write_exports(records, dest, baseline, margin)
    path = dest.write_text("index.html", html)
    return ReportFiles(html=path, **files)
