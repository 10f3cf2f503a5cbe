"""Machine-readable results and the Markdown summary: results.parquet, a `datasets` Dataset,
junit.xml (one test case per sample and check), summary.md (for a pull request or a CI job)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.records import BUDGET_ENDED, Check, SampleRecord, SampleStatus
from harness.report.gate import GateSpec, gate
from harness.report.stats import ESTIMAND, compare, frame, suite_fixtures, summarise
from harness.store import RunDir


def _fmt(value: float, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _cell(row: dict[Any, Any]) -> Any:
    def cell(name: str) -> str:
        return f"{_fmt(row[name])} [{_fmt(row[name + '_low'])}, {_fmt(row[name + '_high'])}]"

    return cell


def run_notes(records: list[SampleRecord]) -> list[str]:
    """What a reader must know of how the samples came about: reused ones, a budget that ended the run."""
    notes = []
    if reused := sum(r.reused is not None for r in records):
        notes.append(
            f"{reused} samples were reused from earlier runs (same generation key), with no model call."
        )
    if unstarted := sum(r.reason.startswith(BUDGET_ENDED) for r in records):
        notes.append(f"The budget ended the run (`--max-dollars`): {unstarted} samples were not started.")
    return notes


def summary_markdown(
    records: list[SampleRecord], baseline: str | None, spec: GateSpec, planned: list[str] | None = None
) -> str:
    df = frame(records)
    lines = ["# Crucible results", ""]
    infra = sum(r.status is SampleStatus.INFRA_FAILURE for r in records)
    lines.append(f"{len(records)} samples ({infra} infrastructure failures, excluded from scores).")
    lines += run_notes(records)
    lines += [
        "",
        "| variant | samples | tests | all pass | pass@1 | migrations | security | secure | cost $ |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    table = summarise(df) if not df.empty else None
    for row in [] if table is None else table.to_dict("records"):
        cell = _cell(row)

        lines.append(
            f"| {row['variant']} | {row['samples']} | {cell('tests')} | {cell('all_pass')} | "
            f"{_fmt(row['pass@1'])} | {cell('migrations')} | {cell('security')} | {cell('secure')} | "
            f"{_fmt(row['cost'], 3)} |"
        )
    variants = sorted(df["variant"].unique()) if not df.empty else []
    if baseline and baseline in variants:
        for candidate in [v for v in variants if v != baseline]:
            pair = [r for r in records if (r.variant or "workspace") in (baseline, candidate)]
            result = gate(compare(df, baseline, candidate), spec, suite_fixtures(pair, planned or ()))
            lines += [
                "",
                f"## {candidate} vs {baseline}: {'PASS' if result.passed else 'FAIL'} ({spec.describe()})",
                "",
            ]
            lines += [f"- {reason}" for reason in result.reasons]
    lines += ["", ESTIMAND]
    return "\n".join(lines) + "\n"


def junit(records: list[SampleRecord]) -> bytes:
    suites = ET.Element("testsuites", name="crucible")
    for fixture in sorted({r.fixture_id for r in records}):
        chosen = [r for r in records if r.fixture_id == fixture]
        suite = ET.SubElement(suites, "testsuite", name=fixture)
        count = failures = errors = 0
        for r in chosen:
            checks: list[tuple[str, str | None, bool]] = [
                ("status", r.reason or None, r.status is SampleStatus.INFRA_FAILURE)
            ]
            for kind in Check:
                failing = r.failing(kind)
                if failing is None:
                    continue
                if kind is Check.TESTS:
                    problem = None if r.tests and r.tests.all_pass else ", ".join(failing[:10])
                else:
                    problem = ", ".join(failing) or None
                checks.append((kind.value, problem, False))
            for check, problem, is_error in checks:
                count += 1
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=r.variant or "workspace",
                    name=f"{r.sample_id}::{check}",
                    time=f"{r.seconds.get('total', 0):.2f}",
                )
                if check == "status" and r.status is SampleStatus.OK:
                    continue
                if problem:
                    tag = "error" if is_error else "failure"
                    errors += is_error
                    failures += not is_error
                    ET.SubElement(case, tag, message=problem[:500])
        suite.set("tests", str(count))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites)


def write_exports(
    records: list[SampleRecord], dest: RunDir, baseline: str | None, spec: GateSpec, planned: list[str]
) -> dict[str, Path]:
    df = frame(records)
    summary = dest.write_text("summary.md", summary_markdown(records, baseline, spec, planned))
    junit_path = dest.write_bytes("junit.xml", junit(records))
    parquet = dest.path / "results.parquet"
    df.to_parquet(parquet.with_suffix(".parquet.tmp"), index=False)
    parquet.with_suffix(".parquet.tmp").replace(parquet)
    import datasets

    datasets.disable_progress_bars()
    dataset_dir = dest.path / "dataset"
    datasets.Dataset.from_pandas(df, preserve_index=False).save_to_disk(str(dataset_dir))
    return {"summary": summary, "junit": junit_path, "parquet": parquet, "dataset": dataset_dir}
