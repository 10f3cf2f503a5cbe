"""Providers that feed the gateway rather than the built-in loop: replay of a gateway cassette, and a
live provider whose exchanges are recorded into one. The `claude-code` runtime asks a provider for its
``upstream()`` (and, when recording, its ``recorder()``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.agents.gateway.cassette import CassetteUpstream, CassetteWriter
from harness.agents.gateway.upstream import Upstream
from harness.agents.providers import Provider, ProviderError

LOOP_ONLY = "a gateway cassette serves the claude-code runtime; the built-in loop replays its own cassettes"


class GatewayReplay:
    name = "replay"

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise ProviderError(
                f"no claude-code cassette at {path}",
                "record one with --record, or use --provider anthropic",
            )
        self.path = path

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        raise ProviderError(LOOP_ONLY)

    def upstream(self) -> CassetteUpstream:
        return CassetteUpstream(self.path)


class GatewayRecording:
    def __init__(self, inner: Provider, path: Path, meta: dict[str, Any]) -> None:
        self.inner, self.path, self.meta = inner, path, meta
        self.name = inner.name
        self.writer: CassetteWriter | None = None

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        raise ProviderError(LOOP_ONLY)

    def upstream(self) -> Upstream:
        live = getattr(self.inner, "upstream", None)
        if live is None:
            raise ProviderError(f"the {self.inner.name} provider cannot feed the gateway")
        made: Upstream = live()
        return made

    def recorder(self) -> CassetteWriter:
        """A new cassette at ``path`` (kept as ``writer``, to annotate once the sample is done)."""
        self.writer = CassetteWriter(self.path, self.meta)
        return self.writer
