"""What a hostile body costs the gateway, measured on a gateway in a process of its own (its peak resident
memory and CPU time from /proc) in front of the scripted Messages API: a negative Content-Length followed by
500 MB, a chunk declared at 1 GiB, a 16 MB request sent in 1 kB chunks. Each is refused or bounded, and
costs the gateway less than 100 MB of memory and 2 CPU-seconds."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.records.gateway import GatewayLogLine
from tests.fake_api import fake_api, text_message

PROJECT = Path(__file__).parents[2]
MB = 1_000_000


@dataclass
class Cost:
    peak_growth_mb: float
    cpu_s: float


class GatewayProcess:
    def __init__(self, process: subprocess.Popen[bytes], socket_path: Path, folder: Path) -> None:
        self.process, self.socket_path, self.folder = process, socket_path, folder

    def _now(self) -> tuple[int, int, float]:
        status = Path(f"/proc/{self.process.pid}/status").read_text().splitlines()
        fields = {
            line.split(":")[0]: line.split()[1] for line in status if line.startswith(("VmRSS", "VmHWM"))
        }
        stat = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
        return int(fields["VmRSS"]) * 1000, int(fields["VmHWM"]) * 1000, cpu

    def cost(self, attack: Callable[[socket.socket], bytes]) -> tuple[Cost, bytes]:
        """What ``attack`` (given a connection to the gateway) cost it, and what it answered."""
        rss, _, cpu = self._now()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(60)
            conn.connect(str(self.socket_path))
            answer = attack(conn)
        _, peak, cpu_after = self._now()
        return Cost(round((peak - rss) / MB, 1), round(cpu_after - cpu, 2)), answer

    def log(self) -> list[GatewayLogLine]:
        lines = (self.folder / "gateway.jsonl").read_text().splitlines()
        return [GatewayLogLine.model_validate_json(line) for line in lines]


@contextmanager
def gateway_process(tmp_path: Path) -> Iterator[GatewayProcess]:
    with fake_api() as api:
        api.then = lambda _seen: text_message("ok")
        socket_path, folder = tmp_path / "gw" / "api.sock", tmp_path / "log"
        command = [
            sys.executable,
            "-m",
            "tests.agents.gateway_process",
            str(socket_path),
            str(folder),
            api.url,
        ]
        process = subprocess.Popen(command, cwd=PROJECT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            assert process.stdout is not None and process.stdout.readline() == b"ready\n"
            yield GatewayProcess(process, socket_path, folder)
        finally:
            process.kill()
            process.wait(30)


def send_then_read(head: bytes, body: Iterator[bytes]) -> Callable[[socket.socket], bytes]:
    def attack(conn: socket.socket) -> bytes:
        try:
            conn.sendall(head)
            for piece in body:
                conn.sendall(piece)
        except OSError:
            pass  # refused: the gateway closed before all of it was sent
        out = b""
        try:
            while data := conn.recv(65536):
                out += data
        except OSError:
            pass
        return out

    return attack


def megabytes(count: int) -> Iterator[bytes]:
    block = b"x" * MB
    for _ in range(count):
        yield block


def in_chunks(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` as chunked transfer coding, 64 chunks a piece."""
    piece = bytearray()
    for start in range(0, len(data), size):
        chunk = data[start : start + size]
        piece += b"%x\r\n%s\r\n" % (len(chunk), chunk)
        if len(piece) > 64 * size:
            yield bytes(piece)
            piece.clear()
    yield bytes(piece) + b"0\r\n\r\n"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    with gateway_process(tmp_path_factory.mktemp("resources")) as running:
        yield running


def test_a_negative_content_length_with_500_mb_behind_it_is_refused_unread(gateway: GatewayProcess) -> None:
    head = b"POST /v1/messages HTTP/1.1\r\ncontent-length: -1\r\n\r\n"
    cost, answer = gateway.cost(send_then_read(head, megabytes(500)))
    assert answer.startswith(b"HTTP/1.1 400") and gateway.log()[-1].decision == "refused:http"
    assert cost.peak_growth_mb < 100 and cost.cpu_s < 2, cost


def test_a_chunk_declared_at_1_gib_is_refused_before_it_is_read(gateway: GatewayProcess) -> None:
    head = b"POST /v1/messages HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n40000000\r\n"
    cost, answer = gateway.cost(send_then_read(head, megabytes(1024)))
    assert answer.startswith(b"HTTP/1.1 413") and gateway.log()[-1].decision == "refused:limit"
    assert cost.peak_growth_mb < 100 and cost.cpu_s < 2, cost


def test_a_16_mb_request_in_1_kb_chunks_is_read_forwarded_and_bounded(gateway: GatewayProcess) -> None:
    request = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "y" * 16_000_000}],
    }
    head = b"POST /v1/messages HTTP/1.1\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    cost, answer = gateway.cost(send_then_read(head, in_chunks(json.dumps(request).encode(), 1000)))
    assert answer.startswith(b"HTTP/1.1 200") and gateway.log()[-1].decision == "forwarded"
    assert cost.peak_growth_mb < 100 and cost.cpu_s < 2, cost
