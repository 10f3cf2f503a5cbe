"""The model gateway: an HTTP server on a unix socket, one per generating sample, and the only way model
traffic leaves a sandbox. The socket's folder is bind-mounted into the workspace container; the sandbox has
no network and no key.

What it does with each request:
- only `HEAD /` (the CLI's pre-connect), `POST /v1/messages` and `POST /v1/messages/count_tokens` pass;
  anything else gets 403, and so does a model outside the allowlist;
- every credential the sandbox sends is dropped; the upstream adds the real key on the host;
- `/v1/messages` must be admitted by the sample's ledger (requests, tokens, dollars, wall time): past a
  budget the answer is an API-shaped 400 naming it (also in the `x-crucible-budget` header);
- the answer streams back chunk by chunk as it arrives (chunked encoding, never buffered whole), while
  the SSE events are assembled to account the usage and to record the exchange.
Every decision is one line of ``gateway.jsonl``; every forwarded exchange one line of ``exchanges.jsonl``."""

from __future__ import annotations

import contextlib
import json
import os
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from harness.agents.gateway.ledger import Ledger
from harness.agents.gateway.sse import MessageAssembler
from harness.agents.gateway.upstream import Upstream, UpstreamError, UpstreamResponse
from harness.agents.providers import BUDGET_HEADER
from harness.records import utc_now
from harness.records.gateway import Decision, Exchange, GatewayLogLine

MESSAGES, COUNT = "/v1/messages", "/v1/messages/count_tokens"
CREDENTIALS = ("x-api-key", "authorization", "anthropic-api-key", "cookie", "proxy-authorization")
DROPPED = frozenset(CREDENTIALS)
NOT_FORWARDED = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive"}
)
NOT_RETURNED = frozenset(
    {"content-length", "connection", "transfer-encoding", "keep-alive", "content-encoding"}
)
MAX_BODY = 64_000_000


def api_error(kind: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    gateway: Gateway


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the gateway writes its own log."""

    def address_string(self) -> str:
        return "sandbox"

    def do_HEAD(self) -> None:
        if self.path.split("?", 1)[0] == "/":
            self.server.gateway.log(self, 200, "forwarded", reason="pre-connect answered by the gateway")
            self._answer(200, b"", "text/plain")
        else:
            self._refuse_path()

    def do_GET(self) -> None:
        self._refuse_path()

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in (MESSAGES, COUNT):
            self._drain()
            self._refuse_path()
            return
        self.server.gateway.handle(self, path)

    def _refuse_path(self) -> None:
        self.server.gateway.log(self, 403, "refused:path")
        self._answer(
            403, api_error("permission_error", f"crucible gateway: {self.command} {self.path} is not allowed")
        )

    def _drain(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if 0 < length <= MAX_BODY:
            self.rfile.read(length)
        elif self.headers.get("transfer-encoding", "").lower() == "chunked":
            self.read_body()

    def read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
                if len(out) > MAX_BODY:
                    raise ValueError("request body too large")
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length)

    def _answer(
        self, status: int, body: bytes, kind: str = "application/json", extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Gateway:
    """Serve ``socket_path`` until closed (a context manager). ``models``: the allowlist."""

    def __init__(
        self,
        socket_path: Path,
        upstream: Upstream,
        ledger: Ledger,
        models: frozenset[str],
        folder: Path,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.socket_path, self.upstream, self.ledger, self.models = socket_path, upstream, ledger, models
        self.log_path, self.exchanges_path = folder / "gateway.jsonl", folder / "exchanges.jsonl"
        self._on_exchange = on_exchange
        self._lock = threading.Lock()
        self._index = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Gateway:
        self.socket_path.unlink(missing_ok=True)
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        server = _Server(str(self.socket_path), _Handler)
        server.gateway = self
        os.chmod(self.socket_path, 0o666)  # noqa: S103 - the sandbox user must be able to connect
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="crucible-gateway", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.socket_path.unlink(missing_ok=True)

    def log(self, handler: _Handler, status: int, decision: Decision, **fields: Any) -> None:
        line = GatewayLogLine(
            at=utc_now().isoformat(),
            method=handler.command,
            path=handler.path,
            status=status,
            decision=decision,
            **fields,
        )
        with self._lock, self.log_path.open("a") as out:
            out.write(line.model_dump_json() + "\n")

    def handle(self, handler: _Handler, path: str) -> None:
        dropped = [h for h in CREDENTIALS if h in handler.headers]
        try:
            body = handler.read_body()
            request = json.loads(body)
            model = str(request["model"])
        except (ValueError, KeyError, TypeError) as exc:
            self.log(handler, 400, "refused:body", credentials_dropped=dropped, reason=str(exc))
            handler._answer(
                400, api_error("invalid_request_error", f"crucible gateway: unreadable request ({exc})")
            )
            return
        call = _Call(handler, path, body, request, model, dropped)
        if model not in self.models:
            self.log(handler, 403, "refused:model", model=model, credentials_dropped=dropped)
            handler._answer(
                403, api_error("permission_error", f"crucible gateway: model {model} is not allowed")
            )
            return
        if path == MESSAGES and (stop := self.ledger.admit()):
            message = f"crucible gateway: the sample's budget is used up ({stop})"
            self.log(handler, 400, "refused:budget", model=model, credentials_dropped=dropped, reason=stop)
            handler._answer(400, api_error("invalid_request_error", message), extra={BUDGET_HEADER: stop})
            return
        self._forward(call)

    def _forward(self, call: _Call) -> None:
        handler = call.handler
        headers = {
            k.lower(): v for k, v in handler.headers.items() if k.lower() not in NOT_FORWARDED | DROPPED
        }
        try:
            response = self.upstream.send("POST", handler.path, headers, call.body)
        except UpstreamError as exc:
            self.log(
                handler, 502, "failed", model=call.model, credentials_dropped=call.dropped, reason=str(exc)
            )
            handler._answer(502, api_error("api_error", f"crucible gateway: {exc}"))
            return
        streamed, answer, complete = _relay(handler, response)
        dollars = self.ledger.charge(call.model, answer.get("usage") or {}) if call.path == MESSAGES else 0.0
        self.log(
            handler,
            response.status,
            "forwarded" if complete else "failed",
            model=call.model,
            credentials_dropped=call.dropped,
            key_added=self.upstream.key_added,
            reason="" if complete else "the sandbox hung up mid-answer",
        )
        self._record(call, streamed, response.status, answer, dollars)
        if complete:  # the last chunk only once the exchange is on record
            with contextlib.suppress(OSError):
                handler.wfile.write(b"0\r\n\r\n")
                handler.wfile.flush()

    def _record(
        self, call: _Call, streamed: bool, status: int, answer: dict[str, Any], dollars: float
    ) -> None:
        with self._lock:
            self._index += 1
            exchange = Exchange(
                index=self._index,
                path=call.path,
                stream=streamed,
                request=call.request,
                status=status,
                response=answer,
                dollars=dollars,
                seconds=round(time.monotonic() - call.started, 3),
                agent_id=call.handler.headers.get("x-claude-code-agent-id"),
            )
            with self.exchanges_path.open("a") as out:
                out.write(exchange.model_dump_json() + "\n")
        if self._on_exchange is not None:
            self._on_exchange(exchange)


@dataclass
class _Call:
    """One admitted-so-far request: who asked, for what, and which credentials it carried."""

    handler: _Handler
    path: str
    body: bytes
    request: dict[str, Any]
    model: str
    dropped: list[str]
    started: float = field(default_factory=time.monotonic)


def _relay(handler: _Handler, response: UpstreamResponse) -> tuple[bool, dict[str, Any], bool]:
    """Pass the upstream's answer to the sandbox chunk by chunk, all but the closing chunk; whether it
    streamed, the answer it carried (SSE events assembled), and whether the sandbox took all of it."""
    streamed = "text/event-stream" in response.headers.get("content-type", "")
    assembler, plain, complete = MessageAssembler(), b"", True
    try:
        handler.send_response(response.status)
        for key, value in response.headers.items():
            if key.lower() not in NOT_RETURNED:
                handler.send_header(key, value)
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()
        for chunk in response.chunks:
            if not chunk:
                continue
            if streamed:
                assembler.feed(chunk)
            elif len(plain) < MAX_BODY:
                plain += chunk
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            handler.wfile.flush()
    except OSError:
        handler.close_connection, complete = True, False
    finally:
        response.close()
    answer = assembler.message if streamed else _json_or_text(plain)
    if streamed and assembler.error:
        answer = {**answer, "error": assembler.error}
    return streamed, answer, complete


def _json_or_text(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except ValueError:
        return {"text": data.decode(errors="replace")[:10_000]}
    return parsed if isinstance(parsed, dict) else {"value": parsed}
