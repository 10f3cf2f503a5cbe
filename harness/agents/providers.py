"""Model providers behind one small protocol: the real Anthropic Messages API (through the official
SDK, whose retries with exponential backoff, jitter and `retry-after` we configure), replay of recorded
cassettes, a scripted double for tests and demos, and a recorder that wraps any of them.

A cassette is JSONL: a first line of metadata, then one line per exchange
`{"index", "request_digest", "response"}`. Replay checks each request's digest, so a run replays byte for
byte or stops with a clear mismatch."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from harness._util.fs import atomic_write_bytes
from harness.agents.gateway.upstream import HttpUpstream
from harness.errors import InfraError, UserError

CASSETTE_VERSION = 1


class ProviderError(InfraError):
    """The model service failed (after retries) or a cassette cannot answer: an infra failure."""


class Provider(Protocol):
    name: str

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """One Messages API call: the request body in, the response body (a dict) out."""
        ...


def request_digest(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class AnthropicProvider:
    name = "anthropic"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 4,
        timeout: float = 600.0,
    ) -> None:
        import anthropic

        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise UserError("ANTHROPIC_API_KEY is not set", "export it, or use --provider replay")
        self._errors = (anthropic.APIError,)
        self._client = anthropic.Anthropic(
            api_key=key, base_url=base_url, max_retries=max_retries, timeout=timeout
        )
        self._key, self._retries, self._timeout = key, max_retries, timeout

    def upstream(self) -> HttpUpstream:
        """The same service, key and retries for the model gateway, which forwards raw requests."""
        return HttpUpstream(str(self._client.base_url), self._key, self._retries, self._timeout)

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            message = self._client.messages.create(**request)
        except self._errors as exc:
            status = getattr(exc, "status_code", None)
            raise ProviderError(
                f"the Messages API failed{f' with {status}' if status else ''}: {exc}"
            ) from exc
        return dict(message.model_dump(mode="json", exclude_none=True))


def read_cassette(path: Path, version: int = CASSETTE_VERSION) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A cassette's metadata line and its exchanges; ProviderError when it is not of ``version`` (1: the
    built-in loop's, 2: the gateway's)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not lines or lines[0].get("cassette") != version:
        raise ProviderError(f"{path} is not a cassette of version {version}")
    return lines[0], lines[1:]


class ReplayProvider:
    name = "replay"

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise ProviderError(
                f"no cassette at {path}", "record one with --record, or use --provider anthropic"
            )
        self.path = path
        self.meta, self._entries = read_cassette(path)
        self._next = 0

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        if self._next >= len(self._entries):
            raise ProviderError(
                f"{self.path}: the run asked for exchange {self._next + 1}, the cassette has "
                f"{len(self._entries)}"
            )
        entry = self._entries[self._next]
        if entry["request_digest"] != request_digest(request):
            raise ProviderError(
                f"{self.path}: request {self._next + 1} differs from the recording (did the prompt, "
                "the model or a tool result change?)",
                "re-record the cassette",
            )
        self._next += 1
        return dict(entry["response"])


class ScriptedProvider:
    """A test double: answers with the given responses in order, whatever is asked."""

    name = "scripted"

    def __init__(self, responses: list[dict[str, Any]]) -> None:
        self._responses: Iterator[dict[str, Any]] = iter(responses)
        self.requests: list[dict[str, Any]] = []

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(request)
        try:
            return next(self._responses)
        except StopIteration:
            raise ProviderError("the scripted provider ran out of responses") from None


class RecordingProvider:
    """Wraps a provider and writes every exchange to a cassette (rewritten atomically after each one)."""

    def __init__(self, inner: Provider, path: Path, meta: dict[str, Any]) -> None:
        self.inner, self.path = inner, path
        self.name = inner.name
        self._lines = [json.dumps({"cassette": CASSETTE_VERSION, **meta}, sort_keys=True)]

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        response = self.inner.complete(request)
        entry = {"index": len(self._lines), "request_digest": request_digest(request), "response": response}
        self._lines.append(json.dumps(entry, sort_keys=True, ensure_ascii=False))
        atomic_write_bytes(self.path, ("\n".join(self._lines) + "\n").encode())
        return response


def write_calls(folder: Path, root: str = "/workspace", prefix: str = "toolu_write") -> list[dict[str, Any]]:
    """Write tool calls that recreate every file of ``folder`` under ``root`` (for scripted agents)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return [
        {
            "type": "tool_use",
            "id": f"{prefix}_{i:02d}",
            "name": "Write",
            "input": {"file_path": f"{root}/{p.relative_to(folder)}", "content": p.read_text()},
        }
        for i, p in enumerate(files)
    ]
