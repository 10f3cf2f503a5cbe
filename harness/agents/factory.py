"""The one place that chooses a model provider and builds its source per sample: the real Messages API,
replay of the bundled cassettes, or the live API recorded into them. `crucible run`, the pytest plugin and
the Ray workers all come here; each sample's gateway then serves whichever runtime it runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from harness._util.registry import Registry
from harness.agents.gateway.sources import LiveSource, ModelSource, RecordingSource, ReplaySource
from harness.agents.variants import Variant
from harness.config import CrucibleConfig
from harness.errors import UserError
from harness.fixtures import Fixture
from harness.records import utc_now

ProviderFactory = Callable[[Variant, Fixture, int], ModelSource]
Builder = Callable[[CrucibleConfig], ProviderFactory]
PROVIDERS: Registry[Builder] = Registry("model provider", "--provider")


def choose_provider(requested: str | None, config: CrucibleConfig) -> str:
    """The provider's name: the one asked for, else the configured one, else anthropic when
    ANTHROPIC_API_KEY is set and replay when not."""
    chosen = (
        requested
        or config.agent.provider
        or ("anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "replay")
    )
    PROVIDERS.get(chosen)
    return chosen


def provider_factory(chosen: str, config: CrucibleConfig, record: bool = False) -> ProviderFactory:
    """A model source per (variant, fixture, epoch). A live one is built once here, so that a missing
    key fails before anything runs. ``record`` writes every exchange to the cassettes."""
    if record and chosen == "replay":
        raise UserError("--record needs a live provider", "use --provider anthropic with --record")
    factory = PROVIDERS.get(chosen)(config)
    return recording_factory(factory, cassettes_root(config)) if record else factory


def cassettes_root(config: CrucibleConfig) -> Path:
    return config.project_root / config.agent.cassettes_dir


def cassette_path(root: Path, variant: Variant, fixture: Fixture, epoch: int) -> Path:
    """Where the cassette of a cell lives; epochs without one of their own replay epoch 1's."""
    own = _recording_path(root, variant, fixture, epoch)
    return own if own.is_file() else _recording_path(root, variant, fixture, 1)


def _recording_path(root: Path, variant: Variant, fixture: Fixture, epoch: int) -> Path:
    """``e{epoch}.jsonl`` for the built-in loop, ``e{epoch}.claude-code.jsonl`` for Claude Code."""
    kind = "" if variant.runtime == "loop" else f".{variant.runtime}"
    return root / Path(variant.source.split("@", 1)[0]).stem / fixture.id / f"e{epoch}{kind}.jsonl"


def replay_factory(root: Path) -> ProviderFactory:
    """Replay of the cassettes under ``root``, each cell its own (its runtime's)."""

    def make(variant: Variant, fixture: Fixture, epoch: int) -> ModelSource:
        return ReplaySource(cassette_path(root, variant, fixture, epoch))

    return make


@PROVIDERS.register("replay")
def _replay(config: CrucibleConfig) -> ProviderFactory:
    return replay_factory(cassettes_root(config))


@PROVIDERS.register("anthropic")
def anthropic_factory(config: CrucibleConfig) -> ProviderFactory:
    settings = config.agent

    live = LiveSource(  # fails now, not mid-run, when the key is missing
        base_url=settings.base_url, max_retries=settings.max_retries, timeout=settings.request_timeout_s
    )
    return lambda _variant, _fixture, _epoch: live


def recording_factory(inner: ProviderFactory, root: Path) -> ProviderFactory:
    def make(variant: Variant, fixture: Fixture, epoch: int) -> ModelSource:
        meta = {
            "runtime": variant.runtime,
            "variant": variant.source,
            "variant_digest": variant.digest,
            "fixture": fixture.id,
            "epoch": epoch,
            "recorded_at": utc_now().isoformat(),
            "hand_made": False,
        }
        return RecordingSource(
            inner(variant, fixture, epoch), _recording_path(root, variant, fixture, epoch), meta
        )

    return make
