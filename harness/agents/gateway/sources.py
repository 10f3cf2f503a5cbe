"""Where a sample's gateway gets its answers, the same for both runtimes: the live Messages API (the real
key added on the host), a recorded cassette, or a script (tests and the hand-made demo cassettes). With
`--record`, a live source also writes every exchange into the cell's cassette."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from harness.agents.gateway.cassette import CassetteUpstream, CassetteWriter, read_cassette
from harness.agents.gateway.sse import encode_events
from harness.agents.gateway.upstream import HttpUpstream, Upstream, UpstreamResponse
from harness.agents.providers import ProviderError
from harness.errors import UserError
from harness.records.gateway import Exchange

ExchangeSink = Callable[[Exchange], None]


class ModelSource(Protocol):
    name: str

    def upstream(self) -> Upstream:
        """A fresh upstream for one sample's gateway."""
        ...

    def recorder(self) -> ExchangeSink | None:
        """What receives the sample's exchanges for a cassette, if the run records."""
        ...

    def identity(self) -> str:
        """What decides its answers, for a sample's generation key: the service, or the recording's or
        the script's content."""
        ...

    def known_usage(self) -> list[dict[str, Any]] | None:
        """The usage of every answer it will give, when that is known before the run (a recording, a
        script); None for a live service."""
        ...


class LiveSource:
    """The Messages API (or a server speaking it at ``base_url``) with the key from the environment."""

    name = "anthropic"

    def __init__(
        self,
        base_url: str | None = None,
        max_retries: int = 4,
        timeout: float = 600.0,
        api_key: str | None = None,
    ) -> None:
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise UserError("ANTHROPIC_API_KEY is not set", "export it, or use --provider replay")
        import anthropic

        self._key, self._retries, self._timeout = key, max_retries, timeout
        # the SDK's own default service (or ANTHROPIC_BASE_URL), so that both runtimes reach the same one
        self._base_url = base_url or str(anthropic.Anthropic(api_key=key).base_url)

    def upstream(self) -> HttpUpstream:
        return HttpUpstream(self._base_url, self._key, self._retries, self._timeout)

    def recorder(self) -> None:
        return None

    def identity(self) -> str:
        return f"anthropic {self._base_url}"

    def known_usage(self) -> None:
        return None


class ReplaySource:
    name = "replay"

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise ProviderError(
                f"no cassette at {path}", "record one with --record, or use --provider anthropic"
            )
        self.path = path

    def upstream(self) -> CassetteUpstream:
        return CassetteUpstream(self.path)

    def recorder(self) -> None:
        return None

    def identity(self) -> str:
        return f"replay {hashlib.sha256(self.path.read_bytes()).hexdigest()}"

    def known_usage(self) -> list[dict[str, Any]]:
        entries = read_cassette(self.path)[1]
        answers = [e["response"] for e in entries if int(e.get("status", 0)) == 200]
        return [a.get("usage") or {} for a in answers if isinstance(a, dict)]


class RecordingSource:
    """``inner``'s answers, each exchange also written to a new cassette at ``path`` (kept as ``writer``,
    to annotate once the sample is done)."""

    def __init__(self, inner: ModelSource, path: Path, meta: dict[str, Any]) -> None:
        self.inner, self.path, self.meta = inner, path, meta
        self.name = inner.name
        self.writer: CassetteWriter | None = None

    def upstream(self) -> Upstream:
        return self.inner.upstream()

    def recorder(self) -> CassetteWriter:
        self.writer = CassetteWriter(self.path, self.meta)
        return self.writer

    def identity(self) -> str:
        return self.inner.identity()

    def known_usage(self) -> None:
        return None  # recording: the live answers are not known yet


class ScriptedSource:
    """A test double for the model: answers with the given messages in order, whatever is asked (as an
    event stream when the request streams). ``requests`` keeps what was asked."""

    name = "scripted"

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = list(messages)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        script = json.dumps(messages, sort_keys=True).encode()
        self._identity = f"scripted {hashlib.sha256(script).hexdigest()}"

    def upstream(self) -> ScriptedSource:
        return self

    def recorder(self) -> None:
        return None

    def identity(self) -> str:
        return self._identity

    def known_usage(self) -> list[dict[str, Any]]:
        return [m.get("usage") or {} for m in self.messages]

    key_added = False
    secrets: tuple[str, ...] = ()

    def send(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        request = json.loads(body)
        with self._lock:
            self.requests.append(request)
            answer = self.messages.pop(0) if self.messages else None
        if answer is None:
            error = {
                "type": "error",
                "error": {"type": "api_error", "message": "the script ran out of answers"},
            }
            return UpstreamResponse.whole(500, json.dumps(error).encode(), "application/json")
        if request.get("stream"):
            return UpstreamResponse.whole(200, encode_events(answer), "text/event-stream")
        return UpstreamResponse.whole(200, json.dumps(answer).encode(), "application/json")
