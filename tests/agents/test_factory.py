"""The one place that chooses and builds providers: the choice rules, replay of the bundled cassettes,
recording, and one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.agents.factory import PROVIDERS, choose_provider, provider_factory
from harness.agents.gateway.sources import RecordingSource, ReplaySource, ScriptedSource
from harness.agents.variants import load_variant
from harness.config import load_config
from harness.errors import ConfigError, UserError
from harness.fixtures import find_fixture

PROJECT = Path(__file__).parents[2]


def test_choice_follows_option_then_config_then_key(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(PROJECT)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert choose_provider(None, config) == "replay"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    assert choose_provider(None, config) == "anthropic"
    assert choose_provider("replay", config) == "replay"
    configured = load_config(PROJECT, ["agent.provider='replay'"])
    assert choose_provider(None, configured) == "replay"
    with pytest.raises(ConfigError, match=r"--provider openai is unknown.*use one of: anthropic, replay"):
        choose_provider("openai", config)
    assert list(PROVIDERS) == ["anthropic", "replay"]


def test_replay_reads_the_cell_cassette_and_falls_back_to_epoch_one() -> None:
    config = load_config(PROJECT)
    variant = load_variant("agents/backend-engineer.md", PROJECT)
    fixture = find_fixture(PROJECT, "jwt-auth")
    make = provider_factory("replay", config)
    first, third = make(variant, fixture, 1), make(variant, fixture, 3)
    assert isinstance(first, ReplaySource) and isinstance(third, ReplaySource)
    expected = PROJECT / "agents" / "cassettes" / "backend-engineer" / "jwt-auth" / "e1.jsonl"
    assert first.path == third.path == expected


def test_recording_needs_a_live_provider_and_a_live_one_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(PROJECT)
    with pytest.raises(UserError, match="--record needs a live provider"):
        provider_factory("replay", config, record=True)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY is not set"):
        provider_factory("anthropic", config)


def test_recording_opens_the_cell_cassette_for_its_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(PROJECT).model_copy(update={"project_root": tmp_path})
    scripted = ScriptedSource([])
    monkeypatch.setitem(PROVIDERS._entries, "anthropic", lambda _config: lambda *_cell: scripted)
    variant = load_variant("agents/backend-engineer.md", PROJECT)
    fixture = find_fixture(PROJECT, "jwt-auth")
    source = provider_factory("anthropic", config, record=True)(variant, fixture, 2)
    assert isinstance(source, RecordingSource) and source.upstream() is scripted
    source.recorder()
    cassette = tmp_path / "agents" / "cassettes" / "backend-engineer" / "jwt-auth" / "e2.jsonl"
    (meta,) = (json.loads(line) for line in cassette.read_text().splitlines())
    assert (meta["cassette"], meta["runtime"], meta["fixture"], meta["epoch"], meta["hand_made"]) == (
        2,
        "loop",
        "jwt-auth",
        2,
        False,
    )
