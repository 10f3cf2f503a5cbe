"""A running container's stdin and stdout as a byte stream, through the Docker engine's attach API (what
the gateway relay's tunnel rides on)."""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator
from typing import Any

from harness.errors import SandboxError
from harness.sandbox.base import Stdio


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


def _stdout_frames(sock: Any) -> Iterator[bytes]:
    """The stdout payloads of an attached stream (8-byte headers: stream, 3 zero bytes, length)."""
    buffer = bytearray()
    while True:
        while len(buffer) >= 8:
            stream, size = struct.unpack_from(">BxxxL", buffer)
            if len(buffer) < 8 + size:
                break
            data = bytes(buffer[8 : 8 + size])
            del buffer[: 8 + size]
            if stream == 1 and data:
                yield data
        try:
            chunk = sock.recv(65536)
        except OSError:
            return
        if not chunk:
            return
        buffer += chunk
