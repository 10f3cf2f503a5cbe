"""`crucible run`: generate with agent variants and evaluate, over variants x fixtures x epochs."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Annotated

import typer
from rich.table import Table

from harness import __version__
from harness.errors import UserError
from harness.records import RunManifest, RunStatus, SampleRecord, SampleStatus, utc_now
from harness.store import RunStore, new_run_id

STOP_GRACE_S = 1.0


def _split(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def run(
    ctx: typer.Context,
    variants: Annotated[
        list[str] | None, typer.Option("--variants", "-v", help="agent files, PATH or PATH@REV")
    ] = None,
    fixtures: Annotated[list[str] | None, typer.Option("--fixtures", "-f", help="fixture ids")] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", "-n", min=1, help="samples per variant and fixture (default 1)")
    ] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="anthropic or replay")] = None,
    record: Annotated[bool, typer.Option("--record", help="record every exchange to the cassettes")] = False,
    replay: Annotated[bool, typer.Option("--replay", help="same as --provider replay")] = False,
    resume: Annotated[
        str | None, typer.Option("--resume", help="continue RUN_ID; finished samples are kept")
    ] = None,
) -> None:
    """Let each variant write a backend for each fixture, then evaluate it. With no API key, replays the
    bundled cassettes."""
    from harness.agents.providers import AnthropicProvider
    from harness.agents.variants import load_variant
    from harness.cli import _config, _engines, err, out
    from harness.fixtures import find_fixture, list_fixtures
    from harness.generate import resolve_model
    from harness.orchestrate import generation_outage, grid, recording_factory, replay_factory
    from harness.scheduler import execute

    config = _config(ctx)
    root = config.project_root
    store = RunStore(config.reports_path)
    if resume:
        given = [
            name
            for name, value in (("--variants", variants), ("--fixtures", fixtures), ("--epochs", epochs))
            if value
        ]
        if given:
            raise UserError(
                f"--resume continues the run's own grid; {', '.join(given)} cannot change it",
                f"drop {', '.join(given)}, or start a new run without --resume",
            )
        run_dir = store.open(resume)
        manifest = run_dir.manifest
        saved = manifest.config.get("grid", {})
        variants, fixtures, epochs = (
            saved.get("variants"),
            saved.get("fixtures"),
            int(saved.get("epochs", 1)),
        )
        provider = provider or saved.get("provider")
    if replay:
        if provider not in (None, "replay"):
            raise UserError("--replay contradicts --provider " + str(provider), "use one of them")
        provider = "replay"
    chosen = (
        provider
        or config.agent.provider
        or ("anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "replay")
    )
    if chosen not in ("anthropic", "replay"):
        raise UserError(f"--provider {chosen} is unknown", "use --provider anthropic or --provider replay")
    if record and chosen == "replay":
        raise UserError("--record needs a live provider", "use --provider anthropic with --record")
    if provider is None and chosen == "replay" and not config.agent.provider:
        err.print("no ANTHROPIC_API_KEY: replaying the bundled cassettes (hand-made demo recordings)")
    variant_specs = _split(variants) or sorted(f"agents/{p.name}" for p in (root / "agents").glob("*.md"))
    loaded_variants = [load_variant(spec, root) for spec in variant_specs]
    loaded_fixtures = [find_fixture(root, f) for f in _split(fixtures)] or list_fixtures(root)
    if not loaded_variants or not loaded_fixtures:
        raise UserError("nothing to run", "add variants under agents/ and fixtures under fixtures/")
    for variant in loaded_variants:
        resolve_model(variant, config.agent)  # an unknown model fails now, before anything is written
    epochs = epochs or 1
    cassettes = root / config.agent.cassettes_dir
    if chosen == "replay":
        providers = replay_factory(cassettes)
    else:
        settings = config.agent

        def live() -> AnthropicProvider:
            return AnthropicProvider(
                base_url=settings.base_url,
                max_retries=settings.max_retries,
                timeout=settings.request_timeout_s,
            )

        live()  # fail now, not mid-run, when the key is missing
        providers = recording_factory(live, cassettes) if record else (lambda v, f, e: live())
    on_ray = config.run.executor == "ray"
    if on_ray and record:
        raise UserError("--record does not work on the ray executor", 'record with run.executor = "local"')
    engines = [] if on_ray else _engines(config)
    if not resume:
        grid_spec = {
            "variants": variant_specs,
            "fixtures": [f.id for f in loaded_fixtures],
            "epochs": epochs,
            "provider": chosen,
        }
        manifest = RunManifest(
            run_id=new_run_id(),
            kind="run",
            crucible_version=__version__,
            config={**json.loads(config.model_dump_json()), "grid": grid_spec},
        )
        run_dir = store.create(manifest)
    else:
        run_dir.remove_partial_writes()
        left = sum(engine.backend.cleanup(run_dir.run_id)["containers"] for engine in engines)
        if left:
            err.print(f"removed {left} containers left behind by the interrupted run")
    cells = grid(loaded_variants, loaded_fixtures, epochs)
    run_dir.write_record("run.json", manifest.model_copy(update={"status": RunStatus.RUNNING}))
    try:
        with err.status("running") as status:
            records = execute(config, engines, cells, providers, chosen, run_dir, status.update)
    except KeyboardInterrupt:
        for engine in engines:
            engine.backend.stop()  # samples still in flight can start nothing new
        time.sleep(STOP_GRACE_S)  # ... and what they had just asked the engine for exists by now
        for engine in engines:
            engine.backend.cleanup(run_dir.run_id)
        run_dir.write_record("run.json", manifest.model_copy(update={"status": RunStatus.INTERRUPTED}))
        err.print(f"interrupted; continue with `crucible run --resume {run_dir.run_id}`")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)  # samples still in flight in worker threads must not hold the exit up
    run_dir.write_record(
        "run.json", manifest.model_copy(update={"status": RunStatus.COMPLETE, "finished_at": utc_now()})
    )
    out.print(summary_table(records))
    if outage := generation_outage(records):
        err.print(f"[red]{outage}[/]")
    from harness.report import write_report

    with err.status("writing the report"):
        files = write_report([run_dir], run_dir)
    out.print(f"run {run_dir.run_id}: {len(records)} samples; report {files.html}", highlight=False)


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
            r.reason[:80],
        )
    return table


variants_app = typer.Typer(no_args_is_help=True, help="List and compare prompt variants.")


@variants_app.command("list")
def variants_list(ctx: typer.Context) -> None:
    """The variants under agents/, with their model, tools and content hash."""
    from harness.agents.variants import load_variant
    from harness.cli import _config, out

    root = _config(ctx).project_root
    table = Table("variant", "name", "model", "tools", "hash")
    for path in sorted((root / "agents").glob("*.md")):
        v = load_variant(f"agents/{path.name}", root)
        table.add_row(v.source, v.name, v.model, ", ".join(v.tools) if v.tools else "(all)", v.digest)
    out.print(table)


@variants_app.command("diff")
def variants_diff(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="PATH or PATH@REV")],
    new: Annotated[str, typer.Argument(help="PATH or PATH@REV")],
) -> None:
    """A unified diff of two variants' prompts (model and tools included)."""
    from harness.agents.variants import load_variant, prompt_diff
    from harness.cli import _config, out

    root = _config(ctx).project_root
    text = prompt_diff(load_variant(old, root), load_variant(new, root))
    out.print(text or "the two variants are identical", markup=False, highlight=False)
