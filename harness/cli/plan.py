"""`crucible plan`: what a run would cost and what it can decide, before it spends anything."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from harness.cli._common import config_of, out, start_engines
from harness.cli.run import (
    EpochsOption,
    FixturesOption,
    ProviderOption,
    ReplayOption,
    RuntimeOption,
    VariantsOption,
    _asked_grid,
    _cells,
)
from harness.config import with_runtimes
from harness.store import RunStore


def plan(
    ctx: typer.Context,
    variants: VariantsOption = None,
    fixtures: FixturesOption = None,
    epochs: EpochsOption = None,
    provider: ProviderOption = None,
    runtime: RuntimeOption = None,
    replay: ReplayOption = False,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="variant label the detectable differences are against")
    ] = None,
    margin: Annotated[
        float | None, typer.Option("--margin", help="the gate's (default evals.margin)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the plan as JSON")] = False,
) -> None:
    """Before spending: for the grid `crucible run` would make with these options, how many samples
    would be generated and how many reused, their forecast tokens, dollars and time, and the
    difference the planned epochs could detect, and what the run can decide in each gate mode (the
    chance an unchanged candidate passes, that one worse by the margin is caught, and the samples and
    dollars `--until-decided` would spend). Nothing is generated."""
    from harness.agents.factory import choose_provider, provider_factory
    from harness.execute.plan import make_plan

    config = config_of(ctx)
    store = RunStore(config.reports_path)
    asked, _ = _asked_grid(variants, fixtures, epochs, provider, replay, None, store, runtime)
    config = with_runtimes(config, asked.runtimes)
    chosen = choose_provider(asked.provider, config)
    _, cells = _cells(config, asked, chosen)
    (engine, *_) = start_engines(config)
    made = make_plan(
        engine,
        cells,
        provider_factory(chosen, config),
        config.reports_path,
        baseline,
        margin or config.evals.margin,
        live=chosen != "replay",
    )
    if as_json:
        out.print_json(json.dumps(plan_json(made)))
        return
    out.print(plan_table(made))
    out.print(
        f"{len(made.new)} to generate, {len(made.cells) - len(made.new)} reused; forecast "
        f"{made.tokens:,} tokens, ${made.dollars:.2f}, about "
        f"{made.wall_s / 60:.1f} min at {made.generate_slots} generating and {made.evaluate_slots} "
        "evaluating at once",
        highlight=False,
    )
    for candidate, metrics in made.detectable.items():
        shown = ", ".join(f"{m} {d:.3f}" for m, d in metrics.items())
        out.print(f"detectable for {candidate} at these epochs (80% power): {shown}", highlight=False)
    for candidate in made.decisions:
        out.print(decisions_table(made, candidate))


def plan_table(made: Any) -> Table:
    table = Table("variant", "fixture", "generate", "reuse", "tokens", "cost $", "minutes", "forecast from")
    groups: dict[tuple[str, str], list[Any]] = {}
    for c in made.cells:
        groups.setdefault((c.variant, c.fixture), []).append(c)
    for (variant, fixture), cells in groups.items():
        new = [c for c in cells if not c.reused]
        minutes = sum(c.generate_s + c.evaluate_s for c in cells) / 60
        bases = sorted({c.basis for c in cells})
        table.add_row(
            variant,
            fixture,
            str(len(new)),
            str(len(cells) - len(new)),
            f"{sum(c.tokens for c in new):,}",
            f"{sum(c.dollars for c in new):.2f}",
            f"{minutes:.1f}",
            "; ".join(bases)[:90],
        )
    return table


def plan_json(made: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "cells": [asdict(c) for c in made.cells],
        "generate": len(made.new),
        "reuse": len(made.cells) - len(made.new),
        "tokens": made.tokens,
        "dollars": round(made.dollars, 6),
        "wall_s": made.wall_s,
        "detectable": made.detectable,
        "margin": made.margin,
        "history": made.history,
        "decisions": {
            candidate: {metric: [asdict(c) for c in found] for metric, found in metrics.items()}
            for candidate, metrics in made.decisions.items()
        },
    }


def decisions_table(made: Any, candidate: str) -> Table:
    """What the planned run can decide for one candidate, per gated metric and gate mode."""
    fixtures, epochs, per_sample = made.fixtures, made.epochs, made.dollars_per_sample
    table = Table(
        "metric",
        "mode",
        "unchanged passes",
        "worse by the margin caught",
        "--until-decided: passes / caught",
        "samples (unchanged / worse)",
        "dollars",
        title=(
            f"what the run can decide for {candidate} (margin {made.margin:g}; simulated from "
            f"{made.history}; a fixture without any: 0 or 1 with even chances)"
        ),
    )
    for metric, found in made.decisions[candidate].items():
        for c in found:
            samples = (2 * fixtures * c.epochs_unchanged, 2 * fixtures * c.epochs_worse)
            table.add_row(
                metric,
                c.mode,
                f"{c.unchanged_passes:.2f}",
                f"{c.worse_caught:.2f}",
                f"{c.sequential_passes:.2f} / {c.sequential_caught:.2f}",
                f"{samples[0]:.0f} / {samples[1]:.0f} (at most {2 * fixtures * epochs})",
                f"{per_sample * samples[0]:.2f} / {per_sample * samples[1]:.2f}",
            )
    return table
