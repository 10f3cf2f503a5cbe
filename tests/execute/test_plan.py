"""`crucible plan`'s forecasts without Docker: from the known answers of a replay, from earlier samples
of the same variant and fixture, from a stated default; a cached sample counts as reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.agents.factory import ProviderFactory, replay_factory
from harness.agents.gateway.sources import ScriptedSource
from harness.agents.variants import load_variant
from harness.execute.plan import DEFAULT_USAGE, make_plan
from harness.fixtures import find_fixture
from harness.pipeline.cell import Cell, cell_keys, grid
from harness.pipeline.reuse import SampleCache
from harness.records import RunManifest
from harness.records.generation import Usage
from harness.store import RunStore
from tests.helpers import PROJECT, generated_record, offline_engine

CHECKLIST, TERSE = "agents/backend-engineer-checklist.md", "agents/backend-engineer-terse.md"


def cells(epochs: int = 2) -> list[Cell]:
    variants = [load_variant(v, PROJECT) for v in (CHECKLIST, TERSE)]
    return grid(variants, [find_fixture(PROJECT, "jwt-auth")], epochs)


def test_replay_is_forecast_from_its_recorded_answers(tmp_path: Path) -> None:
    engine = offline_engine(PROJECT)
    made = make_plan(engine, cells(), replay_factory(PROJECT / "agents/cassettes"), tmp_path)
    assert len(made.cells) == 4 and not any(c.reused for c in made.cells)
    first = made.cells[0]
    source = replay_factory(PROJECT / "agents/cassettes")(cells()[0].variant, cells()[0].fixture, 1)
    usage = Usage()
    for one in source.known_usage():
        usage = usage.plus(one)
    assert first.tokens == usage.total > 0
    assert first.dollars == pytest.approx(
        usage.dollars(engine.config.agent.prices["claude-sonnet-4-6"], engine.config.agent)
    )
    assert "replay answers" in first.basis
    assert set(made.detectable) == {"backend-engineer-terse"}
    assert all(0 < d <= 1 for d in made.detectable["backend-engineer-terse"].values())


def test_a_live_source_is_forecast_from_earlier_samples_then_a_default(tmp_path: Path) -> None:
    engine = offline_engine(PROJECT)
    planned = cells(1)
    live: ProviderFactory = lambda _v, _f, _e: _Live()  # noqa: E731
    fresh = make_plan(engine, planned, live, tmp_path / "reports")
    assert all(c.tokens == DEFAULT_USAGE.total and c.basis.startswith("default") for c in fresh.cells)
    run = RunStore(tmp_path / "reports").create(RunManifest(run_id="r0", kind="run", crucible_version="0"))
    earlier = generated_record("r0", "old", key="unrelated").model_copy(
        update={"variant_digest": planned[0].variant.digest}
    )
    run.write_record("samples/old/record.json", earlier)
    again = make_plan(engine, planned, live, tmp_path / "reports")
    assert again.cells[0].tokens == 15 and again.cells[0].dollars == 0.5  # that sample's usage and cost
    assert again.cells[0].generate_s == 40.0 and again.cells[0].evaluate_s == 9.0
    assert again.cells[1].basis == "mean of 1 earlier samples of other variants on the fixture"


def test_a_cached_sample_is_reused_and_costs_nothing(tmp_path: Path) -> None:
    engine = offline_engine(PROJECT)
    planned = cells(1)
    providers = replay_factory(PROJECT / "agents/cassettes")
    keys = cell_keys(engine, planned[0], providers)
    run = RunStore(tmp_path).create(RunManifest(run_id="r0", kind="run", crucible_version="0"))
    stored = generated_record("r0", planned[0].sample_id, key=keys.generation).model_copy(
        update={"evaluation_key": keys.evaluation}
    )
    run.write_record(f"samples/{planned[0].sample_id}/record.json", stored)
    (run.path / "samples" / planned[0].sample_id / "workspace").mkdir()
    SampleCache(tmp_path).remember(run, stored)
    made = make_plan(engine, planned, providers, tmp_path)
    kept, new = made.cells
    assert kept.reused and not kept.evaluate and kept.tokens == 0 and kept.basis == "reused from run r0"
    assert not new.reused and new.tokens > 0
    assert made.wall_s == pytest.approx(
        max(new.generate_s / made.generate_slots, new.evaluate_s / made.evaluate_slots)
    )


class _Live(ScriptedSource):
    """A source whose answers are not known before the run, like the live API."""

    def __init__(self) -> None:
        super().__init__([])

    def known_usage(self) -> None:  # type: ignore[override]
        return None


def test_a_live_plan_is_never_forecast_from_replayed_samples(tmp_path: Path) -> None:
    engine = offline_engine(PROJECT)
    planned = cells(1)
    live: ProviderFactory = lambda _v, _f, _e: _Live()  # noqa: E731
    run = RunStore(tmp_path).create(RunManifest(run_id="r0", kind="run", crucible_version="0"))
    replayed = generated_record("r0", "old").model_copy(update={"variant_digest": planned[0].variant.digest})
    assert replayed.generation is not None
    replayed = replayed.model_copy(
        update={"generation": replayed.generation.model_copy(update={"provider": "replay"})}
    )
    run.write_record("samples/old/record.json", replayed)
    made = make_plan(engine, planned, live, tmp_path, live=True)
    assert all(c.basis.startswith("default") and c.tokens == DEFAULT_USAGE.total for c in made.cells)
    assert "1 replayed ones left out: not a forecast of a live model" in made.history
    # a replayed plan may use them (its own answers are exact anyway)
    assert make_plan(engine, planned, live, tmp_path).cells[0].tokens == 15


def test_the_plan_says_what_the_run_can_decide(tmp_path: Path) -> None:
    engine = offline_engine(PROJECT)
    made = make_plan(engine, cells(3), replay_factory(PROJECT / "agents/cassettes"), tmp_path, margin=0.1)
    found = made.decisions["backend-engineer-terse"]
    assert set(found) == {"tests", "migrations", "security"}
    for chances in found.values():
        strict, loose = chances
        assert (strict.mode, loose.mode) == ("non-inferiority", "no-regression")
        # one fixture of 3 epochs, nothing known (0 or 1 with even chances): nothing can be established,
        # and an unchanged candidate is almost never called a regression
        assert strict.unchanged_passes < 0.05 and loose.unchanged_passes > 0.95
        assert 2 <= loose.epochs_unchanged <= 3 and made.epochs == 3 and made.fixtures == 1
