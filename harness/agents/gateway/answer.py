"""The upstream's answers on their way to the sandbox, sanitised: only a few response headers pass (no
cookies, no organisation ids, no rate-limit details); every secret of the upstream (its key, credentials in
its URL) is masked in whatever reaches the sandbox or a file; error bodies are rebuilt as a plain API error
(type and masked message) so that an upstream that echoes the request's headers hands nothing over.

Streams pass event by event (an SSE event is the unit a client acts on), masked, as they arrive. When the
sandbox hangs up mid-answer, the rest of the stream is still read (within ``TAIL_BYTES`` and ``TAIL_S``)
for the answer's final usage, which is what the sample is charged; if that cannot be had either, the usage
is unknown and the caller charges the request's whole reservation."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from harness.agents.gateway.connection import Handler, api_error
from harness.agents.gateway.sse import MessageAssembler
from harness.agents.gateway.upstream import UpstreamResponse

RETURNED = frozenset({"content-type", "request-id", "retry-after", "x-should-retry"})
ERROR_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "rate_limit_error",
        "api_error",
        "overloaded_error",
        "billing_error",
        "timeout_error",
    }
)
MAX_PLAIN = 16_000_000  # a whole (not streamed) answer: a message of the largest output fits many times
MAX_PENDING = 1_000_000  # bytes of a stream without an event boundary before they pass anyway
TAIL_BYTES, TAIL_S = 64_000_000, 300.0
MASK = b"<redacted>"


class Masker:
    """Replaces each secret (at least 8 characters long) with ``MASK``, in bytes and in text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s.encode() for s in secrets if len(s) >= 8}, key=len, reverse=True)
        self.longest = max((len(s) for s in self.secrets), default=0)

    def bytes(self, data: bytes) -> bytes:
        for secret in self.secrets:
            data = data.replace(secret, MASK)
        return data

    def text(self, text: str) -> str:
        return self.bytes(text.encode(errors="replace")).decode(errors="replace")


@dataclass
class Relayed:
    streamed: bool
    answer: dict[str, Any]
    complete: bool  # the sandbox took all of it
    usage: dict[str, Any] | None  # None: the final usage is unknown


class _Events:
    """Splits a stream into whole SSE events, masked; what is held back never holds a whole secret."""

    def __init__(self, masker: Masker) -> None:
        self.masker, self.pending = masker, b""

    def feed(self, chunk: bytes) -> bytes:
        self.pending = self.masker.bytes(self.pending + chunk)
        cut = max(self.pending.rfind(b"\n\n") + 2, self.pending.rfind(b"\r\n\r\n") + 4, 0)
        if cut == 0 and len(self.pending) > MAX_PENDING:
            cut = len(self.pending) - max(self.masker.longest - 1, 0)
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        return ready

    def end(self) -> bytes:
        rest, self.pending = self.pending, b""
        return rest


def relay(handler: Handler, response: UpstreamResponse, masker: Masker) -> Relayed:
    """Pass the upstream's answer to the sandbox as it arrives, all but the closing chunk (the caller
    writes it once the exchange is on record)."""
    streamed = response.status == 200 and "text/event-stream" in response.headers.get("content-type", "")
    try:
        if streamed:
            return _stream(handler, response, masker)
        return _whole(handler, response, masker)
    finally:
        response.close()


def _head(handler: Handler, response: UpstreamResponse) -> None:
    handler.send_response(response.status)
    for key, value in response.headers.items():
        if key.lower() in RETURNED:
            handler.send_header(key, value)
    handler.send_header("transfer-encoding", "chunked")
    handler.end_headers()


def _stream(handler: Handler, response: UpstreamResponse, masker: Masker) -> Relayed:
    assembler, events = MessageAssembler(), _Events(masker)
    alive = _write(handler, lambda: _head(handler, response))
    ended, tail, give_up = False, 0, time.monotonic() + TAIL_S
    try:
        for chunk in response.chunks:
            ready = events.feed(chunk)
            assembler.feed(ready)
            if alive:
                alive = not ready or _write(handler, lambda data=ready: _chunk(handler, data))  # type: ignore[misc]
                give_up = time.monotonic() + TAIL_S
                continue
            tail += len(chunk)
            if tail > TAIL_BYTES or time.monotonic() > give_up:
                break
        else:
            ended = True
    except Exception:  # the upstream broke mid-stream: the usage is unknown
        ended = False
    rest = events.end()
    assembler.feed(rest + b"\n\n" if rest else b"")
    if alive and rest:
        alive = _write(handler, lambda: _chunk(handler, rest))
    answer = dict(assembler.message)
    if assembler.error:
        answer["error"] = assembler.error
    final = ended and assembler.settled  # a stream cut short carries only message_start's usage
    usage = answer.get("usage") if final and isinstance(answer.get("usage"), dict) else None
    if not alive:
        handler.close_connection = True
    return Relayed(True, answer, alive, usage)


def _whole(handler: Handler, response: UpstreamResponse, masker: Masker) -> Relayed:
    data, ended = bytearray(), True
    try:
        for chunk in response.chunks:
            data += chunk
            if len(data) > MAX_PLAIN:
                ended = False
                break
    except Exception:  # the upstream broke: the usage is unknown
        ended = False
    answer = _json_or_text(masker.bytes(bytes(data)))
    if response.status >= 400 or not ended:
        answer = _error(answer, masker, response.status if ended else 502)
    body = json.dumps(answer).encode() if response.status >= 400 or not ended else masker.bytes(bytes(data))
    alive = _write(handler, lambda: _head(handler, response)) and _write(
        handler, lambda: _chunk(handler, body)
    )
    if not alive:
        handler.close_connection = True
    usage = answer.get("usage") if ended and isinstance(answer.get("usage"), dict) else None
    return Relayed(False, answer, alive, usage if response.status < 400 else {})


def _error(answer: dict[str, Any], masker: Masker, status: int) -> dict[str, Any]:
    """A plain API error from whatever the upstream said: its type if it is one of the API's, and its
    message masked and cut short; nothing else it carried."""
    given = answer.get("error")
    error: dict[str, Any] = given if isinstance(given, dict) else {}
    kind = str(error.get("type")) if error.get("type") in ERROR_TYPES else "api_error"
    said = error.get("message")
    message = said if isinstance(said, str) else f"upstream answered {status}"
    rebuilt: dict[str, Any] = json.loads(api_error(kind, masker.text(message)[:2000]))
    return rebuilt


def _chunk(handler: Handler, data: bytes) -> None:
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
    handler.wfile.flush()


def _write(handler: Handler, action: Callable[[], object]) -> bool:
    """Whether the sandbox took what ``action`` wrote (False: it hung up or stopped reading)."""
    try:
        action()
    except OSError:
        return False
    return True


def finish(handler: Handler) -> None:
    """The closing chunk of an answer the sandbox took whole."""
    with contextlib.suppress(OSError):
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()


def _json_or_text(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        return {"text": data.decode(errors="replace")[:10_000]}
    return parsed if isinstance(parsed, dict) else {"value": parsed}
