"""`crucible fixtures list | show | check | mutate`: the fixtures of this project, the proof that each
one tells good from bad, and the measure of how much bad it tells."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from harness.cli._common import Live, config_of, out, split, start_engine
from harness.errors import UserError
from harness.store import RunStore

if TYPE_CHECKING:
    from harness.execute.mutation_run import MutationReport

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
    reruns: Annotated[
        int,
        typer.Option(
            "--reruns",
            min=1,
            help="score each subject K times; any verdict, status or failing check that differs "
            "between the runs fails the check as FLAKY",
        ),
    ] = 1,
) -> None:
    """Prove fixtures: the reference passes everything and every mutant is caught where it says."""
    from harness.execute.fixture_check import check_subjects
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
    engine = start_engine(config, show=True)
    note = ", ".join(f.id for f in chosen)
    run = RunStore(config.reports_path).start(
        "fixtures-check", settings=json.loads(config.model_dump_json()), note=note
    )
    with run.lifecycle() as outcome, Live("checking fixtures") as live:
        checked = check_subjects(
            engine,
            chosen,
            run,
            live.update,
            set(subjects or ()),
            slots=config.run.evaluate_limit(),
            reruns=reruns,
        )
        outcome.failed = any(not c.ok for c in checked)
    table = Table(
        "fixture", "subject", "verdict", "expected", "observed", *(["reruns"] if reruns > 1 else [])
    )
    for c in checked:
        v = c.verdict
        verdict = "[red]FLAKY[/]" if c.flaky else "[green]as expected[/]" if c.ok else "[red]SURPRISE[/]"
        extra = ["\n".join(c.differences) or f"the same {reruns} times"] if reruns > 1 else []
        table.add_row(v.fixture, v.subject, verdict, v.expected, v.observed, *extra)
    out.print(table)
    failed = [c for c in checked if not c.ok]
    flaky = f", {sum(c.flaky for c in checked)} flaky over {reruns} runs each" if reruns > 1 else ""
    out.print(f"{len(checked) - len(failed)} of {len(checked)} as expected{flaky}; run {run.run_id}")
    if failed:
        raise typer.Exit(1)


@app.command("mutate")
def mutate(
    ctx: typer.Context,
    fixture_id: Annotated[str, typer.Argument(help="the fixture whose reference is mutated")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="how many mutants to score")] = 30,
    seed: Annotated[int, typer.Option("--seed", help="the same seed samples the same mutants")] = 1,
    operators: Annotated[
        list[str] | None,
        typer.Option("--operator", "-o", help="only these operators (repeatable, comma-separated)"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list the sampled mutants and score nothing (no Docker)")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="RUN",
            help="continue an interrupted `fixtures mutate` run (same fixture, count, seed, operators): "
            "samples it already scored are not evaluated again",
        ),
    ] = None,
) -> None:
    """Measure a fixture's checks by scoring automatic mutants of its reference, one small fault each
    (drop-where, drop-for-update, flip-compare, delete-check, swap-status, change-literal,
    drop-migration-op): which check killed each, and the survivors' diffs for a person to judge (some
    are equivalent to the reference); the report is mutation.json in the run directory. Exit 0 when
    every mutant was scored, whatever the kill rate (a measurement, not a gate); 1 when the numbers
    cannot be trusted: the reference itself fails a check, or a sample met an infrastructure failure."""
    from harness.execute.mutation_run import score_mutants
    from harness.fixtures import find_fixture
    from harness.fixtures.mutate import OPERATORS, plan

    config = config_of(ctx)
    fixture = find_fixture(config.project_root, fixture_id)
    chosen = split(operators) or list(OPERATORS)
    sites, mutants = plan(fixture.reference, count, seed, chosen)
    per_operator = Counter(site.operator for site in sites)
    out.print(
        f"{fixture.id}: {len(sites)} mutation sites ("
        + ", ".join(f"{op} {per_operator[op]}" for op in chosen)
        + f"); {len(mutants)} sampled with seed {seed}"
    )
    if dry_run:
        out.print(
            _mutant_table([(m.id, m.site.operator, m.site.where, m.site.change(), "") for m in mutants])
        )
        return
    store = RunStore(config.reports_path)
    if resume and store.open(resume).manifest.kind != "fixtures-mutate":
        raise UserError(f"run {resume} is not a `fixtures mutate` run", "name one from reports/runs")
    engine = start_engine(config, show=True)
    run = (
        store.open(resume)
        if resume
        else store.start(
            "fixtures-mutate", settings=json.loads(config.model_dump_json()), note=f"{fixture.id} seed {seed}"
        )
    )
    with run.lifecycle() as outcome, Live("scoring mutants") as live:
        report = score_mutants(
            engine,
            fixture,
            mutants,
            run,
            seed=seed,
            sites=sites,
            operators=chosen,
            progress=live.update,
            slots=config.run.evaluate_limit(),
            resume=resume is not None,
        )
        outcome.failed = bool(report.infra()) or not report.reference_clean
    _print_report(report)
    out.print(f"report: {run.path / 'mutation.json'}")
    if outcome.failed:
        raise typer.Exit(1)


def _mutant_table(rows: list[tuple[str, str, str, str, str]]) -> Table:
    """Rows of (id, operator, where, change, result); code is shown as text, never as markup."""
    table = Table("id", "operator", "where", "change", "killed by")
    for *cells, result in rows:
        style = "red" if result == "SURVIVED" else "yellow" if result.startswith("infra") else "green"
        table.add_row(*(Text(cell) for cell in cells), Text(result, style=style))
    return table


def _print_report(report: MutationReport) -> None:
    rows = []
    for m in report.mutants:
        result = {"survived": "SURVIVED", "infra": f"infra: {m.reason}"}.get(m.outcome) or m.killers()
        rows.append((m.id, m.operator, m.where, m.change, result))
    out.print(_mutant_table(rows))
    if not report.reference_clean:
        failing = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in report.reference_failing.items())
        out.print(
            Text(
                f"the reference itself is not clean ({report.reference_status.value}"
                f"{': ' + report.reference_reason if report.reference_reason else ''}"
                f"{'; ' + failing if failing else ''}): a mutant is killed only by what the reference passes",
                style="red",
            )
        )
    killed, scored, infra = report.killed(), report.scored(), report.infra()
    rate = report.kill_rate()
    out.print(
        f"killed {len(killed)} of {len(scored)}"
        + (f" ({rate:.0%})" if rate is not None else "")
        + f", {len(report.survivors())} survived"
        + (f", {len(infra)} infrastructure failures (not counted)" if infra else "")
    )
    kinds = report.kills_by_kind()
    out.print(
        "killed by: "
        + ", ".join(f"{kind} {n}" for kind, n in kinds.items())
        + " (one mutant may count twice)"
    )
    out.print(
        "by operator: "
        + ", ".join(f"{op} {k}/{n}" for op, (k, n) in report.by_operator().items())
        + " (killed/scored)"
    )
    for m in report.survivors():
        out.print(Text(f"\nsurvivor {m.id} ({m.operator}, {m.where}): {m.change}", style="bold"))
        out.print(Text(m.diff.rstrip()))
