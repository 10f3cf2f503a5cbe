"""The gateway relay's tunnel without Docker: relay_inside.py runs as a local process whose stdin and
stdout stand for the engine's attach streams; the loop's SDK connects to the relay's socket and reaches a
real gateway on another socket through the tunnel. (tests/execute/test_scale.py runs it on a second engine.)"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.agents.gateway import Budgets, Gateway, Ledger, relay_inside
from harness.agents.gateway.relay import Tunnel
from harness.agents.gateway.sources import ScriptedSource
from harness.agents.providers import GatewayClient
from harness.config import load_config
from harness.errors import SandboxError
from harness.sandbox import Stdio

SETTINGS = load_config(Path(__file__).parents[2]).agent
MODEL = "claude-sonnet-4-6"


def answer(text: str) -> dict[str, Any]:
    return {
        "id": f"msg_{text}",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def process_stdio(process: subprocess.Popen[bytes]) -> Stdio:
    assert process.stdin is not None and process.stdout is not None
    out, into = process.stdout, process.stdin

    def write(data: bytes) -> None:
        into.write(data)
        into.flush()

    def close() -> None:
        process.kill()
        process.wait()

    return Stdio(read=lambda: out.read1(65536), write=write, close=close)


@contextmanager
def relayed(tmp_path: Path, answers: list[dict[str, Any]]) -> Iterator[tuple[Path, Gateway, ScriptedSource]]:
    """A gateway on ``host/api.sock`` and, in front of it, the relay's socket ``sandbox/api.sock``."""
    with relay_process(tmp_path, answers) as (relay_socket, _pid, gateway, source):
        yield relay_socket, gateway, source


def ask(text: str, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": text}]}
    return {**body, "stream": True} if stream else body


def test_requests_through_the_relay_reach_the_gateway_and_come_back(tmp_path: Path) -> None:
    with relayed(tmp_path, [answer("one"), answer("two"), answer("three")]) as (relay, gateway, source):
        client = GatewayClient(relay, timeout=30)
        try:
            texts = [client.complete(ask(str(i)))["content"][0]["text"] for i in range(2)]
        finally:
            client.close()
        # a streamed answer comes through chunked, its events intact
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(relay)), base_url="http://gw") as raw:
            streamed = raw.post("/v1/messages", json=ask("s", stream=True))
        refused = httpx.Client(transport=httpx.HTTPTransport(uds=str(relay))).get("http://gw/v1/models")
    assert texts == ["one", "two"]
    assert (
        streamed.status_code == 200 and "event: message_stop" in streamed.text and '"three"' in streamed.text
    )
    assert refused.status_code == 403
    assert [r["messages"][0]["content"] for r in source.requests] == ["0", "1", "s"]
    assert gateway.ledger.requests == 3


def test_concurrent_connections_are_kept_apart(tmp_path: Path) -> None:
    answers = [answer(f"a{i}") for i in range(8)]
    got: list[str] = []
    with relayed(tmp_path, answers) as (relay, _gateway, source):

        def one() -> None:
            client = GatewayClient(relay, timeout=30)
            try:
                got.append(client.complete(ask("q"))["content"][0]["text"])
            finally:
                client.close()

        threads = [threading.Thread(target=one) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(got) == sorted(f"a{i}" for i in range(8)) and len(source.requests) == 8


def test_a_relay_that_never_answers_is_an_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.agents.gateway.relay.READY_TIMEOUT_S", 1.0)
    silent = subprocess.Popen(["sleep", "30"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    with (
        pytest.raises(SandboxError, match="did not listen"),
        Tunnel(process_stdio(silent), tmp_path / "x.sock"),
    ):
        pass
    assert silent.poll() is not None  # the tunnel let go of the relay


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@contextmanager
def relay_process(
    tmp_path: Path, answers: list[dict[str, Any]]
) -> Iterator[tuple[Path, int, Gateway, ScriptedSource]]:
    """The relay's socket, the relay process's pid (to count what it holds), the gateway behind it on
    ``host/api.sock`` and the scripted model behind that."""
    (tmp_path / "sandbox").mkdir()
    source = ScriptedSource(answers)
    ledger = Ledger(Budgets.of(SETTINGS), SETTINGS.prices, SETTINGS)
    relay_socket = tmp_path / "sandbox" / "api.sock"
    command = [sys.executable, relay_inside.__file__, str(relay_socket)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        with (
            Gateway(
                tmp_path / "host" / "api.sock", source, ledger, frozenset({MODEL}), tmp_path / "host"
            ) as gw,
            Tunnel(process_stdio(process), gw.socket_path),
        ):
            yield relay_socket, process.pid, gw, source
    finally:
        process.kill()
        process.wait()


def request_bytes(body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    return b"POST /v1/messages HTTP/1.1\r\ncontent-length: %d\r\n\r\n%s" % (len(data), data)


def settle(check: Any) -> bool:
    for _ in range(100):
        if check():
            return True
        time.sleep(0.05)
    return False


def test_connections_the_client_closes_first_leave_nothing_behind(tmp_path: Path) -> None:
    with relay_process(tmp_path, []) as (relay, pid, _gateway, _source):
        before = open_fds(pid)
        for _ in range(300):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(str(relay))
        assert settle(lambda: open_fds(pid) <= before), (open_fds(pid), before)


def test_held_connections_beyond_the_cap_do_not_stop_the_relay_for_good(tmp_path: Path) -> None:
    with relay_process(tmp_path, [answer("after")]) as (relay, pid, _gateway, _source):
        before = open_fds(pid)
        held = []
        for _ in range(80):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(str(relay))
            held.append(conn)
        assert settle(lambda: open_fds(pid) <= relay_inside.MAX_CONNECTIONS + 8)
        for conn in held:
            conn.close()
        assert settle(lambda: open_fds(pid) <= before), (open_fds(pid), before)
        client = GatewayClient(relay, timeout=30)
        try:
            assert client.complete(ask("81st"))["content"][0]["text"] == "after"
        finally:
            client.close()


def test_a_request_followed_by_a_half_close_is_answered(tmp_path: Path) -> None:
    with (
        relay_process(tmp_path, [answer("half")]) as (relay, _pid, gateway, _source),
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn,
    ):
        conn.settimeout(30)
        conn.connect(str(relay))
        conn.sendall(request_bytes(ask("q")))
        conn.shutdown(socket.SHUT_WR)
        out = b""
        while data := conn.recv(65536):
            out += data
    assert out.startswith(b"HTTP/1.1 200") and b'"half"' in out and gateway.ledger.requests == 1


def test_a_gateway_the_tunnel_cannot_reach_closes_the_client_at_once(tmp_path: Path) -> None:
    relay_socket = tmp_path / "api.sock"
    process = subprocess.Popen(
        [sys.executable, relay_inside.__file__, str(relay_socket)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        with (
            Tunnel(process_stdio(process), tmp_path / "nothing-listens.sock"),
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn,
        ):
            conn.settimeout(20)
            conn.connect(str(relay_socket))
            assert conn.recv(10) == b""  # closed, not left hanging until the relay's cap fills up
    finally:
        process.kill()
        process.wait()


def test_client_data_for_a_connection_the_host_just_closed_is_ignored() -> None:
    relay = relay_inside.Relay("/nonexistent/api.sock")
    relay.from_client(7)  # closed by a CLOSE frame earlier in the same round of events: no KeyError
    assert relay.conns == {}
