"""CLI commands that evaluate workspaces: `score`, `rescore`, `fixtures list|show|check`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from harness import __version__
from harness.errors import UserError
from harness.records import RunManifest, RunStatus, SampleRecord, SampleStatus, utc_now
from harness.store import RunDir, RunStore, new_run_id

fixtures_app = typer.Typer(no_args_is_help=True, help="List, show and prove fixtures.")
EXIT_FOR_STATUS = {SampleStatus.OK: 0, SampleStatus.MODEL_FAILURE: 3, SampleStatus.INFRA_FAILURE: 1}


def _new_run(ctx: typer.Context, kind: str, note: str) -> tuple[RunStore, RunManifest, RunDir]:
    from harness.cli import _config

    config = _config(ctx)
    store = RunStore(config.reports_path)
    manifest = RunManifest(
        run_id=new_run_id(),
        kind=kind,
        crucible_version=__version__,
        note=note,
        config=json.loads(config.model_dump_json()),
    )
    return store, manifest, store.create(manifest)


def _finish(run: RunDir, manifest: RunManifest, ok: bool) -> None:
    status = RunStatus.COMPLETE if ok else RunStatus.FAILED
    run.write_record("run.json", manifest.model_copy(update={"status": status, "finished_at": utc_now()}))


def print_record(record: SampleRecord, run: RunDir) -> None:
    from harness.cli import out

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
        t = record.tests
        table.add_row(
            "tests", f"{t.passed}/{t.total - t.skipped} passed ({t.pass_rate:.1%}), {t.skipped} skipped"
        )
        for case in [c for c in t.cases if c.outcome in ("failed", "error")][:15]:
            first = (case.message.splitlines() or [""])[0][:160]
            table.add_row(f"  {case.outcome}", f"{case.nodeid}: {first}")
    if record.migrations:
        m = record.migrations
        failing = m.failing()
        table.add_row(
            "migrations",
            f"score {m.score():.2f}; "
            + ("all checks pass" if not failing else "failing: " + ", ".join(failing)),
        )
        if m.error:
            table.add_row("  error", m.error)
        for check in m.revisions:
            verdict = (
                "ok"
                if check.score() == 1.0
                else check.error
                or "; ".join(check.downgrade_diff[:2] + check.reupgrade_diff[:2] + check.data_diff[:2])
            )
            table.add_row(f"  {check.revision[:12]}", f"{check.doc[:40]}: {verdict}")
        for line in m.base_diff[:4] + (m.runtime_changes or [])[:4]:
            table.add_row("  schema", line)
        if m.backfill is not None:
            b = m.backfill
            details = [c.detail for c in b.checks if c.detail]
            details += b.preserved_diff + b.downgrade_diff + b.data_diff
            summary = f"{b.seeded_rows} rows seeded at {b.base_revision}; {b.score():.2f} of its checks pass"
            table.add_row("  existing data", "; ".join([summary, b.error, *details[:3]]).strip("; "))
    if record.security:
        sec = record.security
        probes = sec.probes or []
        summary = (
            f"score {sec.score():.2f}; {'secure' if sec.secure else 'INSECURE'}; "
            f"{sum(p.result == 'resisted' for p in probes)}/{len(probes)} probes resisted, "
            f"{len(sec.findings)} static findings ({sec.suppressed} suppressed)"
        )
        table.add_row("security", summary)
        for probe in sec.exploited:
            table.add_row(f"  {probe.cwe}", f"probe {probe.probe} exploited: {probe.evidence[:200]}")
        for finding in sec.findings[:10]:
            table.add_row(
                f"  {finding.cwe or '-'}",
                f"{finding.severity} {finding.tool} {finding.rule} "
                f"{finding.file}:{finding.line}: {finding.message[:100]}",
            )
        for error in sec.tool_errors:
            table.add_row("  tool error", error)
    table.add_row("stages", "  ".join(f"{k} {v:.2f}s" for k, v in record.seconds.items()))
    table.add_row("record", str(run.path / "samples" / record.sample_id / "record.json"))
    out.print(table)


def score(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="the workspace directory to evaluate")],
    fixture: Annotated[str | None, typer.Option("--fixture", "-f", help="fixture id, e.g. jwt-auth")] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="tests, migrations or security (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the record as JSON")] = False,
) -> None:
    """Evaluate a backend workspace against a fixture and store the sample. Exit 0 ok, 3 model failure,
    1 infra failure. `--only migrations` needs no fixture; `--only security` without one lints only."""
    from harness.cli import _config, _engine
    from harness.errors import SubmissionError
    from harness.evaluate import evaluate_workspace
    from harness.fixtures import Fixture, find_fixture
    from harness.run import ALL_CHECKS
    from harness.workspace import check_size

    config = _config(ctx)
    if not path.is_dir():
        raise UserError(f"workspace {path} is not a directory", "pass the folder that holds service.toml")
    try:
        check_size(path)
    except SubmissionError as exc:
        raise UserError(f"workspace {path}: {exc.message}", "pass the folder of a backend project") from exc
    checks = frozenset(only or ALL_CHECKS)
    if unknown := checks - ALL_CHECKS:
        raise UserError(
            f"--only {', '.join(sorted(unknown))} is not a check", "use --only tests, migrations or security"
        )
    if fixture is None and "tests" in checks:
        raise UserError(
            "--fixture is required to run hidden tests", "add --fixture ID, or use --only migrations"
        )
    found = find_fixture(config.project_root, fixture) if fixture else Fixture.bare()
    engine = _engine(config)
    _, manifest, run = _new_run(ctx, "score", f"{found.id} {path}")
    from harness.cli import err, out

    with err.status(f"scoring {path} against {found.id}"):
        record = evaluate_workspace(engine, found, path.resolve(), run, f"{found.id}.score", checks=checks)
    _finish(run, manifest, record.status is not SampleStatus.INFRA_FAILURE)
    if as_json:
        out.print_json(record.model_dump_json())
    else:
        print_record(record, run)
    raise typer.Exit(EXIT_FOR_STATUS[record.status])


def rescore(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="a run id, or `latest`")],
    sample: Annotated[str | None, typer.Option("--sample", help="only this sample")] = None,
) -> None:
    """Recompute the scores of stored samples from their artifacts (no Docker, no model)."""
    from harness.cli import _config, out
    from harness.evaluate import rescore_sample

    run = RunStore(_config(ctx).reports_path).open(run_id)
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


@fixtures_app.command("list")
def fixtures_list(ctx: typer.Context) -> None:
    """List the fixtures of this project."""
    from harness.cli import _config, out
    from harness.fixtures import list_fixtures

    table = Table("id", "kind", "title", "hidden tests", "mutants")
    for fixture in list_fixtures(_config(ctx).project_root):
        tests = sum(
            1
            for p in fixture.tests_dir.glob("test_*.py")
            for line in p.read_text().splitlines()
            if line.startswith("def test_")
        )
        table.add_row(
            fixture.id, fixture.spec.kind, fixture.spec.title, str(tests), str(len(fixture.mutants()))
        )
    out.print(table)


@fixtures_app.command("show")
def fixtures_show(ctx: typer.Context, fixture_id: Annotated[str, typer.Argument()]) -> None:
    """Show one fixture: its settings, environment and mutants."""
    from harness.cli import _config, out
    from harness.fixtures import find_fixture

    fixture = find_fixture(_config(ctx).project_root, fixture_id)
    out.print(f"[bold]{fixture.id}[/] ({fixture.spec.kind}): {fixture.spec.title}")
    out.print(fixture.spec.summary)
    out.print(f"folder: {fixture.root}")
    out.print(f"port {fixture.spec.port}; timeouts {fixture.spec.timeouts.model_dump()}")
    out.print(f"weights {fixture.spec.weights.model_dump()}")
    out.print("env: " + ", ".join(sorted(fixture.spec.env)))
    for mutant in fixture.mutants():
        out.print(
            f"  mutant [bold]{mutant.name}[/] ({mutant.spec.expect.caught_by()}): {mutant.spec.description}"
        )


@fixtures_app.command("check")
def fixtures_check(
    ctx: typer.Context,
    fixture_id: Annotated[str | None, typer.Argument(help="one fixture; all when omitted")] = None,
    subjects: Annotated[
        list[str] | None,
        typer.Option("--subject", "-s", help="only `reference` or these mutants (repeatable)"),
    ] = None,
) -> None:
    """Prove fixtures: the reference passes everything and every mutant is caught where it says."""
    from harness.cli import _config, _engine, err, out
    from harness.fixture_check import check_fixture
    from harness.fixtures import find_fixture, list_fixtures

    config = _config(ctx)
    chosen = (
        [find_fixture(config.project_root, fixture_id)] if fixture_id else list_fixtures(config.project_root)
    )
    if subjects:
        if len(chosen) != 1:
            raise UserError("--subject needs one fixture", "name it: crucible fixtures check ID -s NAME")
        known = {"reference", *(m.name for m in chosen[0].mutants())}
        unknown = sorted(set(subjects) - known)
        if unknown:
            raise UserError(
                f"{chosen[0].id} has no reference or mutant named {', '.join(unknown)}",
                f"use one of: {', '.join(sorted(known))}",
            )
    engine = _engine(config)
    _, manifest, run = _new_run(ctx, "fixtures-check", ", ".join(f.id for f in chosen))
    verdicts = []
    with err.status("checking fixtures") as status:
        for fixture in chosen:
            verdicts += check_fixture(
                engine, fixture, run, lambda line: status.update(f"checking {line}"), set(subjects or ())
            )
    table = Table("fixture", "subject", "verdict", "expected", "observed")
    for v in verdicts:
        table.add_row(
            v.fixture,
            v.subject,
            "[green]as expected[/]" if v.ok else "[red]SURPRISE[/]",
            v.expected,
            v.observed,
        )
    out.print(table)
    surprises = [v for v in verdicts if not v.ok]
    _finish(run, manifest, not surprises)
    out.print(f"{len(verdicts) - len(surprises)} of {len(verdicts)} as expected; run {run.run_id}")
    if surprises:
        raise typer.Exit(1)
