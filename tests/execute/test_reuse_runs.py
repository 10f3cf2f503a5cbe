"""The sample cache across runs, against the real engine and the replay provider: the pull-request
comparison run twice with the candidate's prompt edited in between generates only the candidate's
samples, and a fixture whose hidden tests changed re-evaluates the reused workspace without a model call."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.agents.factory import ProviderFactory, replay_factory
from harness.agents.gateway.sources import ModelSource
from harness.agents.gateway.upstream import Upstream, UpstreamResponse
from harness.agents.variants import Variant, load_variant
from harness.config import load_config
from harness.execute.local import run_grid
from harness.execute.plan import make_plan
from harness.fixtures import find_fixture
from harness.pipeline.cell import grid
from harness.pipeline.engine import Engine
from harness.pipeline.reuse import SampleCache
from harness.records import RunManifest, SampleRecord, SampleStatus
from harness.store import RunStore
from tests.helpers import PROJECT, run_crucible

pytestmark = pytest.mark.docker


class CountedUpstream:
    """The inner upstream, with every request counted against the sample's variant."""

    def __init__(self, inner: Upstream, counts: Counter[str], label: str) -> None:
        self.inner, self.counts, self.label = inner, counts, label

    def send(self, method: str, path: str, headers: Any, body: bytes) -> UpstreamResponse:
        self.counts[self.label] += 1
        return self.inner.send(method, path, headers, body)

    def __getattr__(self, name: str) -> Any:  # key_added, mismatch, close
        return getattr(self.inner, name)


class CountedSource:
    def __init__(self, inner: ModelSource, counts: Counter[str], label: str) -> None:
        self.inner, self.counts, self.label, self.name = inner, counts, label, inner.name

    def upstream(self) -> Any:
        return CountedUpstream(self.inner.upstream(), self.counts, self.label)

    def recorder(self) -> None:
        return None

    def identity(self) -> str:
        return self.inner.identity()

    def known_usage(self) -> list[dict[str, Any]] | None:
        return self.inner.known_usage()


def counting(factory: ProviderFactory, counts: Counter[str]) -> ProviderFactory:
    return lambda variant, fixture, epoch: CountedSource(
        factory(variant, fixture, epoch), counts, variant.label
    )


def verdict(record: SampleRecord) -> tuple[Any, ...]:
    assert record.tests is not None and record.migrations is not None and record.security is not None
    return (
        record.status,
        record.tests.passed,
        record.tests.total,
        record.migrations.score(),
        record.security.score(),
        record.workspace_digest,
    )


def test_an_edited_candidate_is_the_only_thing_generated_again(images: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "agents/cassettes").mkdir(parents=True)
    shutil.copy(PROJECT / "pyproject.toml", project)
    shutil.copytree(PROJECT / "fixtures/jwt-auth", project / "fixtures/jwt-auth")
    baseline_cassettes = PROJECT / "agents/cassettes/backend-engineer-checklist"
    shutil.copytree(baseline_cassettes, project / "agents/cassettes/backend-engineer-checklist")
    shutil.copy(PROJECT / "agents/backend-engineer-checklist.md", project / "agents")

    def candidate_is(original: str) -> Variant:
        """The candidate's prompt becomes `original`'s text, with that prompt's recording."""
        shutil.copy(PROJECT / f"agents/{original}.md", project / "agents/candidate.md")
        shutil.rmtree(project / "agents/cassettes/candidate", ignore_errors=True)
        shutil.copytree(PROJECT / f"agents/cassettes/{original}", project / "agents/cassettes/candidate")
        return load_variant("agents/candidate.md", project)

    config = load_config(project).model_copy(update={"reports_dir": tmp_path / "reports"})
    engine = Engine.start(config)
    store, cache = RunStore(config.reports_path), SampleCache(config.reports_path)
    baseline = load_variant("agents/backend-engineer-checklist.md", project)

    def run(run_id: str, variants: list[Variant]) -> tuple[dict[str, SampleRecord], Counter[str]]:
        counts: Counter[str] = Counter()
        cells = grid(variants, [find_fixture(project, "jwt-auth")], 1)
        providers = counting(replay_factory(project / "agents/cassettes"), counts)
        planned = make_plan(engine, cells, providers, config.reports_path)
        assert sum(counts.values()) == 0, "planning called the model"
        run_dir = store.create(RunManifest(run_id=run_id, kind="run", crucible_version="0"))
        found = run_grid(engine, cells, providers, run_dir, generate=2, evaluate=2, cache=cache)
        for forecast, record in zip(planned.cells, found, strict=True):  # replayed usage is exact
            assert forecast.reused == (record.reused is not None)
            assert forecast.evaluate == (record.reused is None or not record.reused.evaluation)
            if not forecast.reused:
                assert record.generation is not None
                assert forecast.tokens == record.generation.usage.total and forecast.tokens > 0
                assert forecast.dollars == pytest.approx(record.generation.dollars, abs=1e-9)
        return {r.variant or "": r for r in found}, counts

    first, counted = run("r1", [baseline, candidate_is("backend-engineer-terse")])
    assert counted["backend-engineer-checklist"] > 0 and counted["candidate"] > 0
    assert all(r.reused is None and r.generation_key for r in first.values())

    variants = "agents/backend-engineer-checklist.md,agents/candidate.md"
    candidate_is("backend-engineer")  # the pull request's edit
    planned = run_crucible(
        "plan",
        "--replay",
        "--variants",
        variants,
        "--fixtures",
        "jwt-auth",
        "--json",
        reports=config.reports_path,
        project=project,
    )
    assert planned.returncode == 0, planned.stderr[-2000:]
    forecast = json.loads(planned.stdout)
    assert (forecast["generate"], forecast["reuse"]) == (1, 1)
    second, counted = run("r2", [baseline, candidate_is("backend-engineer")])
    assert second["candidate"].generation is not None
    assert forecast["tokens"] == second["candidate"].generation.usage.total
    assert counted["backend-engineer-checklist"] == 0, "the unchanged baseline called the model"
    assert counted["candidate"] > 0 and second["candidate"].reused is None
    assert second["candidate"].workspace_digest != first["candidate"].workspace_digest
    kept = second["backend-engineer-checklist"]
    assert kept.reused is not None and kept.reused.run_id == "r1" and kept.reused.evaluation
    assert kept.run_id == "r2" and verdict(kept) == verdict(first["backend-engineer-checklist"])
    assert kept.generation == first["backend-engineer-checklist"].generation
    assert (store.runs / "r2/samples/backend-engineer-checklist.jwt-auth.e1/transcript.jsonl").is_file()

    # only a hidden test changes: the reused workspace is judged again, still with no model call
    hidden = project / "fixtures/jwt-auth/tests/test_extra_rule.py"
    hidden.write_text('def test_a_rule_added_later() -> None:\n    assert "jwt" in "jwt-auth"\n')
    third, counted = run("r3", [baseline])
    judged = third["backend-engineer-checklist"]
    assert sum(counted.values()) == 0
    assert judged.reused is not None and judged.reused.run_id == "r1" and not judged.reused.evaluation
    assert judged.status is SampleStatus.OK and judged.tests is not None and kept.tests is not None
    assert judged.tests.total == kept.tests.total + 1
    assert "test_extra_rule.py::test_a_rule_added_later" in {c.nodeid for c in judged.tests.cases}
    assert judged.evaluation_key != kept.evaluation_key == first["backend-engineer-checklist"].evaluation_key
