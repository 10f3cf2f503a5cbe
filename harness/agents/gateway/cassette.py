"""Cassettes of gateway traffic: what a sample's agent (the built-in loop or Claude Code) sent and got,
recorded through the gateway (`--record`) and served back through the same socket (`--provider replay`).

A cassette is JSONL: a metadata line (`{"cassette": 2, "runtime": "loop" | "claude-code", ...}`), then one
line per exchange: the path, the digest of the normalised request, the normalised last message (to say what
differs), the status and the assembled answer.

Claude Code's requests are not byte-stable between runs, so replay compares a normalised form (the same
for both runtimes; the loop's requests are stable, so for them it only ever ignores tool schemas and
cache markers). It ignores:
- `metadata` (device, account and session ids) and the request headers;
- in every text: dates and times, UUIDs, the CLI's agent ids (`a` + 16 hex digits), the build suffix of
  `cc_version=`, the `OS Version:` line of the environment block, and durations and token counts in the
  CLI's own progress notes (`duration_ms`, `total_tokens`, `tool_uses`);
- `cache_control` markers, and the tools' descriptions and schemas (their names count).
Everything else (model, system text, tool names, every message's role, text, tool calls and results)
must match, request by request, in order; otherwise the answer is an API-shaped error saying which
request differs and how, and the sample fails as an infrastructure failure."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness._util.fs import atomic_write_bytes
from harness.agents.gateway.sse import encode_events
from harness.agents.gateway.upstream import UpstreamResponse
from harness.agents.providers import ProviderError
from harness.records.gateway import Exchange

CASSETTE_VERSION = 2
MASKS = [
    (re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?"), "<date>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\ba[0-9a-f]{16}\b"), "<agent>"),
    (re.compile(r"cc_version=[\w.]+"), "cc_version=<version>"),
    (re.compile(r"OS Version: [^\n]*"), "OS Version: <os>"),
    (re.compile(r"(duration_ms|total_tokens|tool_uses)(\W+)\d+"), r"\1\2<n>"),
]


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        for pattern, replacement in MASKS:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items() if k != "cache_control"}
    return value


def normalise(request: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a request replay compares, with the fields that vary between runs masked."""
    return {
        "model": request.get("model"),
        "system": _mask(request.get("system")),
        "tools": [t.get("name") for t in request.get("tools") or [] if isinstance(t, dict)],
        "messages": _mask(request.get("messages") or []),
    }


def digest(request: Mapping[str, Any]) -> str:
    canonical = json.dumps(normalise(request), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def cassette_line(exchange: Exchange) -> str:
    messages = normalise(exchange.request)["messages"]
    entry = {
        "index": exchange.index,
        "path": exchange.path,
        "request_digest": digest(exchange.request),
        "last_message": messages[-1] if messages else None,
        "status": exchange.status,
        "response": exchange.response,
    }
    return json.dumps(entry, ensure_ascii=False) + "\n"


class CassetteWriter:
    """Receives the gateway's exchanges and appends them to a new cassette at ``path``."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"cassette": CASSETTE_VERSION, "runtime": "claude-code", **meta}  # meta names the runtime
        path.write_text(json.dumps(header, ensure_ascii=False, sort_keys=True) + "\n")
        self.path, self._lock = path, threading.Lock()

    def __call__(self, exchange: Exchange) -> None:
        with self._lock, self.path.open("a") as out:
            out.write(cassette_line(exchange))

    def annotate(self, **fields: Any) -> None:
        """Add ``fields`` to the metadata line (for example the workspace digest the run produced)."""
        with self._lock:
            head, *rest = self.path.read_text().splitlines(keepends=True)
            meta = {**json.loads(head), **fields}
            atomic_write_bytes(
                self.path,
                (json.dumps(meta, ensure_ascii=False, sort_keys=True) + "\n").encode()
                + "".join(rest).encode(),
            )


def read_cassette(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A cassette's metadata line and its exchanges; ProviderError for anything else (a version-1
    cassette of the built-in loop from before it went through the gateway included)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    version = lines[0].get("cassette") if lines else None
    if version != CASSETTE_VERSION:
        raise ProviderError(
            f"{path} is not a cassette of version {CASSETTE_VERSION} (found {version})",
            "record it again with --record (or scripts/make_demo_cassettes.py for the bundled ones)",
        )
    return lines[0], lines[1:]


class CassetteUpstream:
    """Serves a cassette's answers in order, each only to the request it was recorded for."""

    key_added = False
    secrets: tuple[str, ...] = ()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.meta, self._entries = read_cassette(path)
        self._next = 0
        self._lock = threading.Lock()
        self.mismatch: str | None = None

    def send(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        request = json.loads(body)
        with self._lock:
            problem = self._check(path.split("?", 1)[0], request)
            entry = self._entries[self._next - 1] if problem is None else None
        if entry is None:
            self.mismatch = self.mismatch or problem
            error = {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": f"crucible replay: {problem}"},
            }
            return UpstreamResponse.whole(400, json.dumps(error).encode(), "application/json")
        if request.get("stream") and int(entry["status"]) == 200:
            return UpstreamResponse.whole(200, encode_events(entry["response"]), "text/event-stream")
        recorded = json.dumps(entry["response"]).encode()
        return UpstreamResponse.whole(int(entry["status"]), recorded, "application/json")

    def _check(self, path: str, request: dict[str, Any]) -> str | None:
        name, count = self.path.name, len(self._entries)
        if self._next >= count:
            return f"request {self._next + 1} is beyond the end of {name} ({count} exchanges)"
        entry = self._entries[self._next]
        if entry["path"] != path or entry["request_digest"] != digest(request):
            messages = normalise(request)["messages"]
            got = json.dumps(messages[-1] if messages else None, sort_keys=True)
            want = json.dumps(entry.get("last_message"), sort_keys=True)
            where = (
                f"its last message is {got[:300]}, recorded {want[:300]}"
                if got != want
                else "before its last message (model, system text, tools or an earlier message)"
            )
            return f"request {self._next + 1} ({path}) differs from the recording in {name}: {where}"
        self._next += 1
        return None
