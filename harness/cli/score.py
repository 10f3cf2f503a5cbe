"""`crucible score` and `crucible rescore`: evaluate one workspace, or recompute stored scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from harness.cli._common import config_of, err, out, start_engine
from harness.errors import UserError
from harness.records import ALL_CHECKS, Check, SampleRecord, SampleStatus
from harness.records.migrations import MigrationReport
from harness.records.security import SecurityReport
from harness.records.tests import SuiteScore
from harness.store import RunDir, RunStore

EXIT_PASSED, EXIT_INFRA, EXIT_FAILED = 0, 1, 3


def verdict(record: SampleRecord) -> tuple[int, list[str]]:
    """The exit code of `crucible score` and the failing checks it names: 0 when every check that ran
    passes, 3 when the submission fails one (or failed before the checks), 1 on the infrastructure."""
    if record.status is SampleStatus.INFRA_FAILURE:
        return EXIT_INFRA, []
    failing = [f"{check.value}: {name}" for check in record.checks for name in record.failing(check) or []]
    if record.status is SampleStatus.MODEL_FAILURE and not failing:
        failing = [f"{(record.failed_stage.value + ': ') if record.failed_stage else ''}{record.reason}"]
    return (EXIT_FAILED if failing or record.status is SampleStatus.MODEL_FAILURE else EXIT_PASSED), failing


def score(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="the workspace directory to evaluate")],
    fixture: Annotated[str | None, typer.Option("--fixture", "-f", help="fixture id, e.g. jwt-auth")] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="tests, migrations or security (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the record as JSON")] = False,
) -> None:
    """Evaluate a backend workspace against a fixture and store the sample. Exit 0 when every check that
    ran passes, 3 when one fails (named on stderr), 1 on an infrastructure failure, whatever `--only`
    says. `--only migrations` needs no fixture; `--only security` without one lints only."""
    from harness.errors import SubmissionError
    from harness.fixtures import Fixture, find_fixture
    from harness.pipeline.evaluate import evaluate_workspace
    from harness.workspace import check_size

    config = config_of(ctx)
    if not path.is_dir():
        raise UserError(f"workspace {path} is not a directory", "pass the folder that holds service.toml")
    try:
        check_size(path)
    except SubmissionError as exc:
        raise UserError(f"workspace {path}: {exc.message}", "pass the folder of a backend project") from exc
    checks = _checks(only)
    if fixture is None and Check.TESTS in checks:
        raise UserError(
            "--fixture is required to run hidden tests", "add --fixture ID, or use --only migrations"
        )
    found = find_fixture(config.project_root, fixture) if fixture else Fixture.bare()
    engine = start_engine(config)
    settings = json.loads(config.model_dump_json())
    run = RunStore(config.reports_path).start("score", settings=settings, note=f"{found.id} {path}")
    with run.lifecycle() as outcome, err.status(f"scoring {path} against {found.id}"):
        record = evaluate_workspace(engine, found, path.resolve(), run, f"{found.id}.score", checks=checks)
        outcome.failed = record.status is SampleStatus.INFRA_FAILURE
    if as_json:
        out.print_json(record.model_dump_json())
    else:
        print_record(record, run)
    code, failing = verdict(record)
    for line in failing:
        err.print(f"failing: {line}", highlight=False, markup=False)
    raise typer.Exit(code)


def _checks(only: list[str] | None) -> frozenset[Check]:
    names = set(only or ALL_CHECKS)
    if unknown := names - set(ALL_CHECKS):
        raise UserError(
            f"--only {', '.join(sorted(unknown))} is not a check", "use --only tests, migrations or security"
        )
    return frozenset(Check(name) for name in names)


def rescore(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="a run id, or `latest`")],
    sample: Annotated[str | None, typer.Option("--sample", help="only this sample")] = None,
) -> None:
    """Recompute the scores of stored samples from their artifacts (no Docker, no model)."""
    from harness.pipeline.evaluate import rescore_sample

    run = RunStore(config_of(ctx).reports_path).open(run_id)
    samples_dir = run.path / "samples"
    names = (
        [sample] if sample else sorted(p.name for p in samples_dir.iterdir() if (p / "record.json").is_file())
    )
    if not names:
        raise UserError(f"run {run.run_id} has no samples", "score something into it first")
    table = Table("sample", "status", "tests", "reason")
    for name in names:
        record = rescore_sample(run, name)
        tests = f"{record.tests.passed}/{record.tests.total}" if record.tests else "-"
        table.add_row(name, record.status.value, tests, record.reason[:100])
    out.print(table)


def print_record(record: SampleRecord, run: RunDir) -> None:
    """One sample as a two-column table: status and reason, then each check's details."""
    colour = {"ok": "green", "model_failure": "yellow", "infra_failure": "red"}[record.status.value]
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("fixture", record.fixture_id)
    table.add_row("workspace", record.workspace_digest or "-")
    table.add_row("status", f"[{colour}]{record.status.value}[/]")
    if record.reason:
        table.add_row("reason", record.reason)
    if record.tests:
        _tests_rows(table, record.tests)
    if record.migrations:
        _migration_rows(table, record.migrations)
    if record.security:
        _security_rows(table, record.security)
    table.add_row("stages", "  ".join(f"{k} {v:.2f}s" for k, v in record.seconds.items()))
    table.add_row("record", str(run.path / "samples" / record.sample_id / "record.json"))
    out.print(table)


def _tests_rows(table: Table, t: SuiteScore) -> None:
    table.add_row(
        "tests", f"{t.passed}/{t.total - t.skipped} passed ({t.pass_rate:.1%}), {t.skipped} skipped"
    )
    for case in [c for c in t.cases if c.outcome in ("failed", "error")][:15]:
        first = (case.message.splitlines() or [""])[0][:160]
        table.add_row(f"  {case.outcome}", f"{case.nodeid}: {first}")


def _migration_rows(table: Table, m: MigrationReport) -> None:
    failing = m.failing()
    verdict = "all checks pass" if not failing else "failing: " + ", ".join(failing)
    table.add_row("migrations", f"score {m.score():.2f}; {verdict}")
    if m.error:
        table.add_row("  error", m.error)
    for check in m.revisions:
        shown = check.error or "; ".join(
            check.downgrade_diff[:2] + check.reupgrade_diff[:2] + check.data_diff[:2]
        )
        table.add_row(
            f"  {check.revision[:12]}", f"{check.doc[:40]}: {'ok' if check.score() == 1.0 else shown}"
        )
    for line in m.base_diff[:4] + (m.runtime_changes or [])[:4]:
        table.add_row("  schema", line)
    if m.backfill is not None:
        b = m.backfill
        details = [c.detail for c in b.checks if c.detail] + b.preserved_diff + b.downgrade_diff + b.data_diff
        summary = f"{b.seeded_rows} rows seeded at {b.base_revision}; {b.score():.2f} of its checks pass"
        table.add_row("  existing data", "; ".join([summary, b.error, *details[:3]]).strip("; "))


def _security_rows(table: Table, sec: SecurityReport) -> None:
    probes = sec.probes or []
    summary = (
        f"score {sec.score():.2f}; {'secure' if sec.secure else 'INSECURE'}; "
        f"{sum(p.result == 'resisted' for p in probes)}/{len(probes)} probes resisted, "
        f"{len(sec.findings)} static findings ({sec.suppressed} suppressed)"
    )
    table.add_row("security", summary)
    for probe in sec.exploited:
        table.add_row(f"  {probe.cwe}", f"probe {probe.probe} exploited: {probe.evidence[:200]}")
    for f in sec.findings[:10]:
        table.add_row(
            f"  {f.cwe or '-'}", f"{f.severity} {f.tool} {f.rule} {f.file}:{f.line}: {f.message[:100]}"
        )
    for error in sec.tool_errors:
        table.add_row("  tool error", error)
