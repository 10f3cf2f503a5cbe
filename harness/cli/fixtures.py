"""`crucible fixtures list | show | check`: the fixtures of this project, and the proof that each one
tells good from bad."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from harness.cli._common import config_of, err, out, start_engine
from harness.errors import UserError
from harness.store import RunStore

app = typer.Typer(no_args_is_help=True, help="List, show and prove fixtures.")


@app.command("list")
def list_cmd(ctx: typer.Context) -> None:
    """List the fixtures of this project."""
    from harness.fixtures import list_fixtures

    table = Table("id", "kind", "title", "hidden tests", "mutants")
    for fixture in list_fixtures(config_of(ctx).project_root):
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


@app.command("show")
def show(ctx: typer.Context, fixture_id: Annotated[str, typer.Argument()]) -> None:
    """Show one fixture: its settings, environment, mutants and the map of its spec's rules to checks."""
    from harness.fixtures import find_fixture
    from harness.fixtures.coverage import coverage

    fixture = find_fixture(config_of(ctx).project_root, fixture_id)
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
    mapped = coverage(fixture)
    table = Table("spec.md", "rule", "checked by", title="spec coverage (coverage.toml)")
    for bullet, rule in mapped.rows:
        if rule is None:
            checks = "[red]nothing[/]"
        else:
            checks = "\n".join(rule.checks) or f"untestable: {rule.untestable}"
        table.add_row(f"{bullet.line}", bullet.text[:90], checks)
    if mapped.rows:
        out.print(table)
    covered = sum(rule is not None for _, rule in mapped.rows)
    out.print(f"{covered} of {len(mapped.rows)} rules of spec.md mapped to checks")
    for problem in mapped.problems:
        out.print(f"[red]coverage:[/] {problem}", markup=True, highlight=False)


@app.command("check")
def check(
    ctx: typer.Context,
    fixture_id: Annotated[str | None, typer.Argument(help="one fixture; all when omitted")] = None,
    subjects: Annotated[
        list[str] | None,
        typer.Option("--subject", "-s", help="only `reference` or these mutants (repeatable)"),
    ] = None,
) -> None:
    """Prove fixtures: the reference passes everything and every mutant is caught where it says."""
    from harness.execute.fixture_check import check_fixtures
    from harness.fixtures import find_fixture, list_fixtures

    config = config_of(ctx)
    root = config.project_root
    chosen = [find_fixture(root, fixture_id)] if fixture_id else list_fixtures(root)
    if subjects:
        if len(chosen) != 1:
            raise UserError("--subject needs one fixture", "name it: crucible fixtures check ID -s NAME")
        known = {"reference", *(m.name for m in chosen[0].mutants())}
        if unknown := sorted(set(subjects) - known):
            raise UserError(
                f"{chosen[0].id} has no reference or mutant named {', '.join(unknown)}",
                f"use one of: {', '.join(sorted(known))}",
            )
    engine = start_engine(config)
    note = ", ".join(f.id for f in chosen)
    run = RunStore(config.reports_path).start(
        "fixtures-check", settings=json.loads(config.model_dump_json()), note=note
    )
    with run.lifecycle() as outcome, err.status("checking fixtures") as status:
        verdicts = check_fixtures(
            engine,
            chosen,
            run,
            lambda line: status.update(f"checking {line}"),
            set(subjects or ()),
            slots=config.run.evaluate_limit(),
        )
        outcome.failed = any(not v.ok for v in verdicts)
    table = Table("fixture", "subject", "verdict", "expected", "observed")
    for v in verdicts:
        verdict = "[green]as expected[/]" if v.ok else "[red]SURPRISE[/]"
        table.add_row(v.fixture, v.subject, verdict, v.expected, v.observed)
    out.print(table)
    surprises = [v for v in verdicts if not v.ok]
    out.print(f"{len(verdicts) - len(surprises)} of {len(verdicts)} as expected; run {run.run_id}")
    if surprises:
        raise typer.Exit(1)
