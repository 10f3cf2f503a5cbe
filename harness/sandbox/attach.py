"""A running container's stdin and stdout as a byte stream, through the Docker engine's attach API (what
the gateway relay's tunnel rides on), and a long-running exec's, through its exec API."""

from __future__ import annotations

import contextlib
import queue
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from harness.errors import SandboxError
from harness.sandbox.base import Stdio, Stream


def attach_stdio(api: Any, container_id: str, name: str) -> Stdio:
    """Two attachments, one per direction (a TLS connection must not be read and written from two
    threads at once): stdout taken out of the engine's frames, stdin written raw. The frames are read
    here, not with the SDK's reader, which polls the socket before each read and so blocks forever on
    bytes a TLS connection has already decrypted."""
    try:
        out = _raw(api.attach_socket(container_id, params={"stdout": 1, "stream": 1}))
        into = _raw(api.attach_socket(container_id, params={"stdin": 1, "stream": 1}))
    except Exception as exc:
        raise SandboxError(f"attaching to {name} failed: {exc}") from exc
    frames = _stdout_frames(out)

    def close() -> None:
        for handle in (out, into):
            with contextlib.suppress(Exception):
                handle.close()

    return Stdio(read=lambda: next(frames, b""), write=into.sendall, close=close)


def _raw(attached: Any) -> Any:
    """The socket under what ``attach_socket`` returns (a SocketIO on a unix socket, else the socket)."""
    return attached._sock if isinstance(attached, socket.SocketIO) else attached  # type: ignore[attr-defined]


def _next_stdout(buffer: bytearray) -> bytes | None:
    """Take whole frames off the front of ``buffer`` (8-byte headers: stream, 3 zero bytes, length)
    up to the first non-empty stdout payload, which is returned; None when no whole one is there yet."""
    while len(buffer) >= 8:
        stream, size = struct.unpack_from(">BxxxL", buffer)
        if len(buffer) < 8 + size:
            return None
        data = bytes(buffer[8 : 8 + size])
        del buffer[: 8 + size]
        if stream == 1 and data:
            return data
    return None


def _stdout_frames(sock: Any) -> Iterator[bytes]:
    """The stdout payloads of an attached stream (8-byte headers: stream, 3 zero bytes, length)."""
    buffer = bytearray()
    while True:
        while (data := _next_stdout(buffer)) is not None:
            yield data
        try:
            chunk = sock.recv(65536)
        except OSError:
            return
        if not chunk:
            return
        buffer += chunk


def exec_stream(
    api: Any, container_id: str, name: str, argv: Sequence[str], env: Mapping[str, str], workdir: str | None
) -> Stream:
    """``argv`` started by the engine's exec API with stdin attached, on one connection used from the
    calling thread only (reads wait through the socket's own timeout, so no second thread touches a
    TLS connection)."""
    try:
        exec_id = api.exec_create(
            container_id, list(argv), stdin=True, environment=dict(env), workdir=workdir
        )["Id"]
        sock = _raw(api.exec_start(exec_id, socket=True))
    except Exception as exc:
        raise SandboxError(f"starting {argv[0]} in {name} failed: {exc}") from exc
    buffer = bytearray()
    receive = _receiver(sock, f"{argv[0]} in {name}")

    def read(timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if (data := _next_stdout(buffer)) is not None:
                return data
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"{argv[0]} in {name} said nothing for {timeout:g} s")
            chunk = receive(left)
            if not chunk:
                return b""
            buffer.extend(chunk)

    def write(data: bytes) -> None:
        if not hasattr(sock, "proc"):
            sock.settimeout(30)
        try:
            sock.sendall(data)
        except OSError as exc:
            raise SandboxError(f"writing to {argv[0]} in {name} failed: {exc}") from exc

    def close() -> None:
        with contextlib.suppress(Exception):
            sock.close()

    return Stream(read=read, write=write, close=close)


def _receiver(sock: Any, what: str) -> Callable[[float | None], bytes]:
    """``receive(timeout)``: the next bytes off the connection (b"" at its end), or TimeoutError. A
    socket waits through its own timeout. The SDK's ssh connection is an ssh client's pipes, whose
    ``recv`` blocks until it has all it asked for and ignores timeouts: a thread reads those pipes
    (no TLS there to share between threads) into a queue that is waited on instead."""
    if not hasattr(sock, "proc"):

        def from_socket(timeout: float | None) -> bytes:
            sock.settimeout(timeout)
            try:
                return bytes(sock.recv(65536))
            except TimeoutError as exc:
                raise TimeoutError(f"{what} said nothing for {timeout:g} s") from exc
            except OSError:
                return b""

        return from_socket
    chunks: queue.Queue[bytes] = queue.Queue()
    stdout = sock.proc.stdout

    def pump() -> None:
        while True:
            try:
                chunk = stdout.read1(65536)
            except (OSError, ValueError):
                chunk = b""
            chunks.put(chunk)
            if not chunk:
                return

    threading.Thread(target=pump, name="ssh-exec-reader", daemon=True).start()

    def from_pipe(timeout: float | None) -> bytes:
        try:
            return chunks.get(timeout=timeout)
        except queue.Empty as exc:
            raise TimeoutError(f"{what} said nothing for {timeout:g} s") from exc

    return from_pipe
