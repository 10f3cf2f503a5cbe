"""The sample cache's keys and index, without Docker: what makes a cached sample miss, what only
re-evaluates it, and what the index hands back."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from harness.agents.gateway.sources import ReplaySource, ScriptedSource
from harness.agents.variants import Variant, load_variant
from harness.config import load_config
from harness.errors import UserError
from harness.fixtures import find_fixture
from harness.images import ImageSet
from harness.pipeline.engine import Engine
from harness.pipeline.generate import sample_policy
from harness.pipeline.reuse import (
    Earlier,
    SampleCache,
    copy_sample,
    evaluation_key,
    generation_key,
    reused_record,
)
from harness.records import ALL_CHECKS, RunManifest, SampleRecord, SampleStatus
from harness.store import RunStore
from tests.helpers import generated_record as generated
from tests.helpers import image
from tests.helpers import offline_engine as engine

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's variants, cassettes and one fixture, to edit."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "agents", root / "agents")
    shutil.copytree(ROOT / "fixtures" / "jwt-auth", root / "fixtures" / "jwt-auth")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def keys(
    project: Path, eng: Engine | None = None, variant: Variant | None = None, epoch: int = 1
) -> tuple[str, str]:
    eng = eng or engine(project)
    variant = variant or load_variant("agents/backend-engineer-terse.md", project)
    fixture = find_fixture(project, "jwt-auth")
    source = ReplaySource(project / "agents/cassettes/backend-engineer-terse/jwt-auth/e1.jsonl")
    return generation_key(eng, variant, fixture, epoch, source), evaluation_key(eng, fixture, ALL_CHECKS)


def test_equal_inputs_give_equal_keys(project: Path) -> None:
    assert keys(project) == keys(project)


def test_one_byte_of_the_variant_body_misses(project: Path) -> None:
    before = keys(project)
    path = project / "agents/backend-engineer-terse.md"
    text = path.read_text().rstrip()
    path.write_text(text[:-1] + ("?" if text[-1] != "?" else "!") + "\n")
    after = keys(project)
    assert after[0] != before[0] and after[1] == before[1]


def test_the_model_alias_mapping_misses(project: Path) -> None:
    variant = load_variant("agents/backend-engineer-terse.md", project)
    before = keys(project, variant=variant)
    models = {**load_config(project).agent.models}
    alias = variant.model if variant.model in models else load_config(project).agent.inherit
    models[alias] = "claude-sonnet-4-5"
    assert keys(project, engine(project, models=models), variant)[0] != before[0]


def test_the_runtime_and_its_version_miss(project: Path) -> None:
    loop = load_variant("agents/backend-engineer-terse.md", project)
    cli = replace(loop, runtime="claude-code")
    settings = load_config(project).agent.claude_code
    pinned = keys(project, variant=cli)[0]
    newer = engine(project, claude_code=settings.model_copy(update={"version": "9.9.9"}))
    assert len({keys(project, variant=loop)[0], pinned, keys(project, newer, cli)[0]}) == 3


def test_the_fixture_spec_misses_and_a_hidden_test_only_re_evaluates(project: Path) -> None:
    before = keys(project)
    test = next((project / "fixtures/jwt-auth/tests").glob("test_*.py"))
    test.write_text(test.read_text() + "\n# edited\n")
    hidden = keys(project)
    assert hidden[0] == before[0] and hidden[1] != before[1]
    spec = project / "fixtures/jwt-auth/spec.md"
    spec.write_text(spec.read_text() + "\nOne more rule.\n")
    assert keys(project)[0] != before[0]


def test_the_epoch_the_recording_and_the_images_miss(project: Path) -> None:
    before = keys(project)
    assert keys(project, epoch=2)[0] != before[0]
    cassette = project / "agents/cassettes/backend-engineer-terse/jwt-auth/e1.jsonl"
    cassette.write_bytes(cassette.read_bytes() + b"\n")
    recorded = keys(project)
    assert recorded[0] != before[0]
    images = ImageSet(
        base=image("base"),
        runtime=image("runtime", "k2"),
        postgres=image("postgres"),
        workspace=image("workspace", "k2"),
    )
    moved = keys(project, engine(project, images))
    assert moved[0] != recorded[0] and moved[1] != recorded[1]


def test_a_script_is_its_own_source() -> None:
    one, two = ScriptedSource([{"a": 1}]), ScriptedSource([{"a": 2}])
    assert one.identity() != two.identity() and one.identity() == ScriptedSource([{"a": 1}]).identity()


def test_the_index_finds_the_newest_stored_sample_and_nothing_unusable(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "reports")
    cache = SampleCache(tmp_path / "reports")
    run = store.create(RunManifest(run_id="r1", kind="run", crucible_version="0"))
    assert cache.find("g1") is None
    record = generated("r1", "v.jwt-auth.e1")
    run.write_record("samples/v.jwt-auth.e1/record.json", record)
    cache.remember(run, record)
    assert cache.find("g1") is None, "a sample without its workspace cannot be reused"
    (run.path / "samples/v.jwt-auth.e1/workspace").mkdir()
    (run.path / "samples/v.jwt-auth.e1/workspace/app.py").write_text("x = 1\n")
    (run.path / "samples/v.jwt-auth.e1/transcript.jsonl").write_text("{}\n")
    found = cache.find("g1")
    assert found is not None and found.record == record and found.run.run_id == "r1"
    assert cache.find("g2") is None
    infra = generated("r1", "v.jwt-auth.e2", key="g3", status=SampleStatus.INFRA_FAILURE)
    cache.remember(run, infra)
    assert cache.find("g3") is None, "an infrastructure failure is never remembered"
    shutil.rmtree(run.path)
    assert cache.find("g1") is None, "a deleted run's sample is generated anew"


def test_a_reused_sample_is_renamed_and_points_at_where_it_was_made(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "reports")
    first = store.create(RunManifest(run_id="r1", kind="run", crucible_version="0"))
    record = generated("r1", "old.jwt-auth.e1")
    folder = first.path / "samples/old.jwt-auth.e1"
    (folder / "workspace").mkdir(parents=True)
    (folder / "workspace/app.py").write_text("x = 1\n")
    first.write_record("samples/old.jwt-auth.e1/record.json", record)
    second = store.create(RunManifest(run_id="r2", kind="run", crucible_version="0"))
    earlier = Earlier(first, record)
    workspace = copy_sample(earlier, second, "new.jwt-auth.e1")
    assert (workspace / "app.py").read_text() == "x = 1\n"
    assert not (workspace.parent / "record.json").exists()
    kept = reused_record(earlier, None, run_id="r2", sample_id="new.jwt-auth.e1", variant="new")
    assert (kept.run_id, kept.sample_id, kept.variant) == ("r2", "new.jwt-auth.e1", "new")
    assert kept.reused is not None and kept.reused.evaluation and kept.reused.run_id == "r1"
    assert kept.generation == record.generation and kept.seconds == record.seconds
    evaluated = SampleRecord(
        run_id="r2",
        sample_id="new.jwt-auth.e1",
        fixture_id="jwt-auth",
        status=SampleStatus.OK,
        seconds={"tests": 3.0},
    )
    again = reused_record(earlier, evaluated)
    assert again.reused is not None and not again.reused.evaluation
    assert again.generation == record.generation and again.seconds == {"generate": 40.0, "tests": 3.0}
    # a reuse of a reuse still names the run that generated the sample
    third = store.create(RunManifest(run_id="r3", kind="run", crucible_version="0"))
    chained = reused_record(Earlier(second, kept), None, run_id="r3")
    assert chained.reused is not None and chained.reused.run_id == "r1" and third.run_id == "r3"


def test_a_server_tool_opt_in_misses_and_joins_the_run_s_and_the_fixture_s(project: Path) -> None:
    before = keys(project)
    settings = load_config(project).agent
    by_run = engine(project, gateway=settings.gateway.model_copy(update={"server_tools": ["web_fetch"]}))
    assert keys(project, by_run)[0] != before[0]
    manifest = project / "fixtures/jwt-auth/fixture.toml"
    text = manifest.read_text()
    manifest.write_text(text.replace("[env]", 'server_tools = ["web_search"]\n\n[env]', 1))
    by_fixture = keys(project)[0]
    assert by_fixture not in (before[0], keys(project, by_run)[0])
    policy = sample_policy(by_run.config.agent, find_fixture(project, "jwt-auth"))
    assert policy.server_tools == {"web_search", "web_fetch"}
    manifest.write_text(text.replace("[env]", 'server_tools = ["teleport"]\n\n[env]', 1))
    with pytest.raises(UserError, match="server_tools"):
        find_fixture(project, "jwt-auth")
