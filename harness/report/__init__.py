"""Reports of one or more runs: an HTML page for reviewers, a Markdown summary, JUnit XML, Parquet and a
`datasets` Dataset, written into the run's folder of the run store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.records import SampleRecord
from harness.store import RunDir

if TYPE_CHECKING:
    from harness.report.gate import GateSpec


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


def planned_fixtures(runs: list[RunDir]) -> list[str]:
    """The fixtures the runs' grids asked for (what the suite is, whatever was scored)."""
    planned: dict[str, None] = {}
    for run in runs:
        grid = run.manifest.grid
        planned.update(dict.fromkeys(grid.fixtures if grid else ()))
    return list(planned)


def write_report(
    runs: list[RunDir], dest: RunDir, baseline: str | None = None, spec: GateSpec | None = None
) -> ReportFiles:
    from harness.report.exports import write_exports
    from harness.report.gate import GateSpec
    from harness.report.html import render_html

    spec = spec or GateSpec()
    records = load_records(runs)
    planned = planned_fixtures(runs)
    html = render_html(records, runs, baseline, spec, planned)
    files = write_exports(records, dest, baseline, spec, planned)
    path = dest.write_text("index.html", html)
    return ReportFiles(html=path, **files)
