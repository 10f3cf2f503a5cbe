"""A scripted stand-in for the Messages API on 127.0.0.1: it answers each POST with the next scripted answer
(or, when the script has run out, with what ``then`` makes of the request), as SSE when the request asks to
stream and as JSON otherwise, and keeps what it was sent. The gateway's upstream in tests."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.agents.gateway.sse import encode_events


@dataclass
class Answer:
    message: dict[str, Any] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None  # streamed: wait for it after the first event
    cut_after: int | None = None  # streamed: drop the connection after this many events
    end_after: int | None = None  # streamed: end the answer cleanly after this many events
    echo_headers: bool = False  # put the request's headers into the answer's body (as some errors do)
    delay_s: float = 0.0  # wait this long before answering


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def text_message(text: str, model: str = "claude-sonnet-4-6", output_tokens: int = 10) -> dict[str, Any]:
    return message([{"type": "text", "text": text}], "end_turn", model, output_tokens)


def tool_message(
    name: str, tool_input: dict[str, Any], tool_id: str = "toolu_1", model: str = "claude-sonnet-4-6"
) -> dict[str, Any]:
    block = {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}
    return message([block], "tool_use", model, 20)


def message(content: list[dict[str, Any]], stop: str, model: str, output_tokens: int) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex[:20]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": output_tokens},
    }


@dataclass
class FakeApi:
    script: list[Answer] = field(default_factory=list)
    then: Callable[[Seen], dict[str, Any]] | None = None
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self, seen: Seen) -> Answer:
        with self.lock:
            if self.script:
                return self.script.pop(0)
        if self.then is None:
            return Answer(
                status=500,
                message={"type": "error", "error": {"type": "api_error", "message": "script ended"}},
            )
        return Answer(self.then(seen))


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            # each SSE event leaves at once, as from the real API (no Nagle delay on small writes)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            body = json.loads(raw or b"{}")
            seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with api.lock:
                api.seen.append(seen)
            if self.path.split("?")[0].endswith("/count_tokens"):
                self._send(200, json.dumps({"input_tokens": 42}).encode(), "application/json")
                return
            answer = api.next_answer(seen)
            time.sleep(answer.delay_s)
            payload = answer.message or {}
            if answer.echo_headers:
                payload = {**payload, "echo": dict(seen.headers)}
            if answer.status != 200 or not body.get("stream"):
                self._send(answer.status, json.dumps(payload).encode(), "application/json", answer.headers)
                return
            self.send_response(200)
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for index, event in enumerate(encode_events(payload).split(b"\n\n")[:-1]):
                if index == answer.cut_after:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if index == answer.end_after:
                    break
                chunk = event + b"\n\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
                if index == 0 and answer.hold is not None:
                    answer.hold.wait(30)
            self.wfile.write(b"0\r\n\r\n")

        def _send(self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def fake_api(api: FakeApi | None = None, host: str = "127.0.0.1") -> Iterator[FakeApi]:
    api = api or FakeApi()
    server = ThreadingHTTPServer((host, 0), _handler(api))
    server.daemon_threads = True
    api.url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


Step = tuple[str, dict[str, Any]]  # a tool call: the tool's name and its input


def writes(files: dict[str, str]) -> list[Step]:
    """Write calls that create ``files`` (path under /workspace -> text), in path order."""
    return [("Write", {"file_path": f"/workspace/{path}", "content": files[path]}) for path in sorted(files)]


def delegating_script(agent: str, model: str, steps: list[Step]) -> Callable[[Seen], dict[str, Any]]:
    """Plays the model for Claude Code in delegate mode: the main thread calls the sub-agent ``agent``
    through the CLI's delegation tool; the sub-agent makes the tool calls ``steps``, one a turn, then
    ends; the main thread then ends. Other calls get a short text."""

    def answer(seen: Seen) -> dict[str, Any]:
        body = seen.body
        tools = {t.get("name") for t in body.get("tools") or []}
        messages = body.get("messages") or []
        done = sum(  # tool calls made so far (the CLI merges the blocks of one message id)
            1
            for m in messages
            if m.get("role") == "assistant" and isinstance(m.get("content"), list)
            for b in m["content"]
            if b.get("type") == "tool_use"
        )
        if "x-claude-code-agent-id" in seen.headers and "Write" in tools:
            if done < len(steps):
                return tool_message(*steps[done], f"toolu_s{done}", model)
            return text_message("The backend is written.", model)
        delegate = next((name for name in ("Task", "Agent") if name in tools), None)
        if delegate is None:
            return text_message("ok", model)
        if done == 0:
            task = {
                "description": "Build the backend",
                "prompt": "Build the backend the task describes.",
                "subagent_type": agent,
            }
            return tool_message(delegate, task, "toolu_delegate", model)
        return text_message("The sub-agent built the backend.", model)

    return answer


def runaway_script(model: str) -> Callable[[Seen], dict[str, Any]]:
    """The main thread delegates; the sub-agent never stops calling tools."""
    delegate = delegating_script("backend-engineer", model, [])
    calls = iter(range(10**9))

    def answer(seen: Seen) -> dict[str, Any]:
        if "x-claude-code-agent-id" in seen.headers:
            return tool_message("Bash", {"command": "true"}, f"toolu_r{next(calls)}", model)
        return delegate(seen)

    return answer
