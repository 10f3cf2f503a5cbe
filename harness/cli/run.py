"""`crucible run`: generate with agent variants and evaluate, over variants x fixtures x epochs."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.table import Table

from harness.cli._common import Live, config_of, err, gate_spec, out, split, start_engines
from harness.config import CrucibleConfig, with_runtimes
from harness.errors import UserError
from harness.records import BUDGET_ENDED, Grid, SampleRecord, SampleStatus
from harness.store import RunDir, RunStore

if TYPE_CHECKING:
    from harness.pipeline.cell import Cell
    from harness.pipeline.engine import Engine

STOP_GRACE_S = 1.0
# the grid's options, the same for `crucible run` and `crucible plan`
VariantsOption = Annotated[
    list[str] | None, typer.Option("--variants", "-v", help="agent files, PATH or PATH@REV")
]
FixturesOption = Annotated[list[str] | None, typer.Option("--fixtures", "-f", help="fixture ids")]
EpochsOption = Annotated[
    int | None, typer.Option("--epochs", "-n", min=1, help="samples per variant and fixture (default 1)")
]
ProviderOption = Annotated[str | None, typer.Option("--provider", help="anthropic or replay")]
RuntimeOption = Annotated[
    list[str] | None,
    typer.Option("--runtime", help="loop, claude-code, or both (comma-separated): each variant in each"),
]
ReplayOption = Annotated[bool, typer.Option("--replay", help="same as --provider replay")]


def run(
    ctx: typer.Context,
    variants: VariantsOption = None,
    fixtures: FixturesOption = None,
    epochs: EpochsOption = None,
    provider: ProviderOption = None,
    runtime: RuntimeOption = None,
    record: Annotated[bool, typer.Option("--record", help="record every exchange to the cassettes")] = False,
    replay: ReplayOption = False,
    resume: Annotated[
        str | None, typer.Option("--resume", help="continue RUN_ID; finished samples are kept")
    ] = None,
    max_dollars: Annotated[
        float | None,
        typer.Option(
            "--max-dollars", min=0.0, help="start no new sample once the run's generations cost this much"
        ),
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="generate every sample anew (default: reuse earlier runs' samples of the same key)",
        ),
    ] = False,
    until_decided: Annotated[
        bool,
        typer.Option(
            "--until-decided",
            help="epochs in rounds until the gate of --candidate against --baseline is decided (sequential)",
        ),
    ] = False,
    baseline: Annotated[str | None, typer.Option("--baseline", help="with --until-decided")] = None,
    candidate: Annotated[str | None, typer.Option("--candidate", help="with --until-decided")] = None,
    max_epochs: Annotated[int, typer.Option("--max-epochs", min=2, help="with --until-decided")] = 10,
    min_epochs: Annotated[int, typer.Option("--min-epochs", min=1, help="first look (--until-decided)")] = 2,
    margin: Annotated[
        float | None, typer.Option("--margin", help="the gate's (default evals.margin)")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option("--mode", help="the gate's: non-inferiority or no-regression (default evals.mode)"),
    ] = None,
    allow_partial: Annotated[
        bool, typer.Option("--allow-partial", help="a gated metric may be judged on fewer fixtures")
    ] = False,
) -> None:
    """Let each variant write a backend for each fixture, then evaluate it. With no API key, replays the
    bundled cassettes."""
    from harness.agents.factory import choose_provider, provider_factory
    from harness.execute import Execution
    from harness.pipeline.reuse import SampleCache

    config = config_of(ctx)
    store = RunStore(config.reports_path)
    if until_decided:
        epochs = _sequential_epochs(epochs, resume, baseline, candidate, min_epochs, max_epochs)
    asked, resumed = _asked_grid(variants, fixtures, epochs, provider, replay, resume, store, runtime)
    config = with_runtimes(config, asked.runtimes)
    chosen = choose_provider(asked.provider, config)
    if asked.provider is None and chosen == "replay" and not config.agent.provider:
        err.print("no ANTHROPIC_API_KEY: replaying the bundled cassettes (hand-made demo recordings)")
    grid, cells = _cells(config, asked, chosen)
    spec = gate_spec(config.evals, margin, mode, allow_partial)
    design = _design(cells, baseline, candidate, spec, (min_epochs, max_epochs)) if until_decided else None
    providers = provider_factory(chosen, config, record)
    engines = _engines(config, record)
    if resumed is None:
        run_dir = store.start("run", settings=json.loads(config.model_dump_json()), grid=grid)
    else:
        run_dir = resumed
        _clear_leftovers(run_dir, engines)
    cache = None if fresh or record else SampleCache(config.reports_path)
    execution = Execution(
        config, engines, cells, providers, chosen, run_dir, cache=cache, max_dollars=max_dollars
    )
    records, design = _execute(execution, design)
    _finish(run_dir, records, design)


def _design(cells: list[Cell], baseline: Any, candidate: Any, spec: Any, looks: tuple[int, int]) -> Any:
    from harness.execute.until_decided import design_of

    return design_of(cells, baseline, candidate, spec, *looks)


def _engines(config: Any, record: bool) -> list[Any]:
    """The engines of a local run (none on Ray, whose workers start their own)."""
    if config.run.executor != "ray":
        return start_engines(config)
    if record:
        raise UserError("--record does not work on the ray executor", 'record with run.executor = "local"')
    return []


def _sequential_epochs(
    epochs: int | None, resume: str | None, baseline: str | None, candidate: str | None, first: int, last: int
) -> int:
    if epochs or resume or not (baseline and candidate) or first > last:
        raise UserError(
            "--until-decided needs --baseline and --candidate, and sets the epochs itself",
            "name both variant labels, use --max-epochs (not --epochs or --resume), min <= max",
        )
    return last


def _execute(execution: Any, design: Any) -> tuple[list[SampleRecord], Any]:
    """The run's records (all cells, or rounds until decided), in the run's lifecycle; Ctrl-C ends it."""
    from harness.execute import execute
    from harness.execute.until_decided import run_until_decided

    run_dir, engines = execution.run, execution.engines
    try:
        with run_dir.lifecycle(), Live("run") as live:
            execution = replace(execution, progress=live.update)
            if design is None:
                return execute(execution), None

            def one_round(chosen_cells: list[Cell]) -> list[SampleRecord]:
                return execute(replace(execution, cells=chosen_cells))

            return run_until_decided(one_round, execution.cells, run_dir, design, live.update)
    except KeyboardInterrupt:
        _interrupted(run_dir, engines)


def _finish(run_dir: RunDir, records: list[SampleRecord], design: Any) -> None:
    """The table, what ended the run, the report."""
    from harness.execute.until_decided import verdict
    from harness.pipeline.cell import generation_outage
    from harness.report import write_report

    out.print(summary_table(records))
    if design is not None:
        out.print(verdict(design), highlight=False)
    if outage := generation_outage(records):
        err.print(f"[red]{outage}[/]")
    if unstarted := sum(r.reason.startswith(BUDGET_ENDED) for r in records):
        err.print(
            f"the budget ended the run: {unstarted} samples not started "
            f"(`crucible run --resume {run_dir.run_id}` makes them)"
        )
    with err.status("writing the report"):
        files = write_report([run_dir], run_dir)
    reused = sum(r.reused is not None for r in records)
    made = f" ({reused} reused from earlier runs)" if reused else ""
    out.print(f"run {run_dir.run_id}: {len(records)} samples{made}; report {files.html}", highlight=False)


def _asked_grid(
    variants: list[str] | None,
    fixtures: list[str] | None,
    epochs: int | None,
    provider: str | None,
    replay: bool,
    resume: str | None,
    store: RunStore,
    runtimes: list[str] | None = None,
) -> tuple[Grid, RunDir | None]:
    """The grid the options ask for, or the resumed run's own (which options may not change), and the
    resumed run."""
    resumed = None
    if resume is not None:
        given = [
            name
            for name, value in (
                ("--variants", variants),
                ("--fixtures", fixtures),
                ("--epochs", epochs),
                ("--runtime", runtimes),
            )
            if value
        ]
        if given:
            raise UserError(
                f"--resume continues the run's own grid; {', '.join(given)} cannot change it",
                f"drop {', '.join(given)}, or start a new run without --resume",
            )
        resumed = store.open(resume)
        saved = resumed.manifest.grid
        if saved is None:
            raise UserError(
                f"run {resumed.run_id} records no grid (it was not made by `crucible run`)",
                "start a new run without --resume",
            )
        variants, fixtures, epochs = saved.variants, saved.fixtures, saved.epochs
        provider, runtimes = provider or saved.provider, saved.runtimes
    if replay:
        if provider not in (None, "replay"):
            raise UserError("--replay contradicts --provider " + str(provider), "use one of them")
        provider = "replay"
    grid = Grid(
        variants=split(variants),
        fixtures=split(fixtures),
        epochs=epochs or 1,
        provider=provider,
        runtimes=split(runtimes) or [],
    )
    return grid, resumed


def _cells(config: CrucibleConfig, asked: Grid, chosen: str) -> tuple[Grid, list[Cell]]:
    """The grid as it will be stored (defaults filled in) and its cells; bad variants, fixtures or
    models fail here, before anything is written."""
    from harness.agents.variants import load_variant, resolve_model
    from harness.fixtures import find_fixture, list_fixtures
    from harness.pipeline.cell import grid

    root = config.project_root
    specs = asked.variants or sorted(f"agents/{p.name}" for p in (root / "agents").glob("*.md"))
    loaded_variants = [load_variant(spec, root) for spec in specs]
    loaded_fixtures = [find_fixture(root, f) for f in asked.fixtures] or list_fixtures(root)
    if not loaded_variants or not loaded_fixtures:
        raise UserError("nothing to run", "add variants under agents/ and fixtures under fixtures/")
    for variant in loaded_variants:
        resolve_model(variant, config.agent)
    stored = Grid(
        variants=specs,
        fixtures=[f.id for f in loaded_fixtures],
        epochs=asked.epochs,
        provider=chosen,
        runtimes=list(config.agent.runtimes()),
    )
    return stored, grid(loaded_variants, loaded_fixtures, asked.epochs, config.agent.runtimes())


def _clear_leftovers(run_dir: RunDir, engines: list[Engine]) -> None:
    """Before a resume: the temporary files and containers an interrupted run left."""
    run_dir.remove_partial_writes()
    left = sum(engine.backend.cleanup(run_dir.run_id)["containers"] for engine in engines)
    if left:
        err.print(f"removed {left} containers left behind by the interrupted run")


def _interrupted(run_dir: RunDir, engines: list[Engine]) -> NoReturn:
    """Ctrl-C: stop the samples in flight, remove their containers, say how to resume, exit 130."""
    for engine in engines:
        engine.backend.stop()  # samples still in flight can start nothing new
    time.sleep(STOP_GRACE_S)  # ... and what they had just asked the engine for exists by now
    for engine in engines:
        engine.backend.cleanup(run_dir.run_id)
    err.print(f"interrupted; continue with `crucible run --resume {run_dir.run_id}`")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)  # samples still in flight in worker threads must not hold the exit up


def summary_table(records: list[SampleRecord]) -> Table:
    table = Table("sample", "status", "tests", "migrations", "security", "turns", "cost $", "reason")
    for r in records:
        tests = f"{r.tests.passed}/{r.tests.total}" if r.tests else "-"
        migrations = f"{r.migrations.score():.2f}" if r.migrations else "-"
        security = (
            (f"{r.security.score():.2f}" + ("" if r.security.secure else " INSECURE")) if r.security else "-"
        )
        turns = str(r.generation.turns) if r.generation else "-"
        cost = f"{r.generation.dollars:.3f}" if r.generation else "-"
        colour = {SampleStatus.OK: "green", SampleStatus.MODEL_FAILURE: "yellow"}.get(r.status, "red")
        table.add_row(
            r.sample_id,
            f"[{colour}]{r.status.value}[/]",
            tests,
            migrations,
            security,
            turns,
            cost,
            (f"reused from {r.reused.run_id}; " if r.reused else "") + r.reason[:80],
        )
    return table
