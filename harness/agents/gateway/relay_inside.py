"""The gateway relay's program, run by the relay container on an engine that is not on this machine (the
standard library only; it runs in the workspace image's Python). It listens on the unix socket the
workspace container sees, in a volume the two containers share and nothing else, and carries every
connection over its own stdin and stdout, which the host reaches through the engine's API and joins to the
sample's gateway there. So the key, the budgets and the recording stay on the host; the relay has no
network either.

One thread and one selector for every connection (the container's process limit is small), at most
``MAX_CONNECTIONS`` at once (one more is closed at once), and each connection closed on both sides when
either ends: a client's end of input becomes EOF (the host half-closes towards the gateway, whose answer
still comes back), the host's CLOSE closes the client, a client that stops reading is dropped.

Frames both ways: connection id (4 bytes), kind (1 byte), length (4 bytes), then the payload. Kinds:
OPEN (a connection came in), DATA, CLOSE (either side is done), READY (the host's first frame says it is
attached; the relay's answers once it listens, so no frame is written before anyone reads), EOF (the client
will send nothing more)."""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import struct
import sys

HEADER = struct.Struct(">IBI")
OPEN, DATA, CLOSE, READY, EOF = 0, 1, 2, 3, 4
MAX_CONNECTIONS = 64
WRITE_TIMEOUT_S = 30.0
STDIN = 0


class Relay:
    def __init__(self, path: str) -> None:
        self.path = path
        self.out = sys.stdout.buffer
        self.selector = selectors.DefaultSelector()
        self.conns: dict[int, socket.socket] = {}
        self.pending = bytearray()
        self.last_id = 0

    def send(self, cid: int, kind: int, data: bytes = b"") -> None:
        self.out.write(HEADER.pack(cid, kind, len(data)) + data)
        self.out.flush()

    def close(self, cid: int, tell_host: bool) -> None:
        conn = self.conns.pop(cid, None)
        if conn is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn)
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()
        if tell_host:
            self.send(cid, CLOSE)

    def serve(self) -> None:
        first = os.read(STDIN, HEADER.size)
        if len(first) < HEADER.size or HEADER.unpack(first)[1] != READY:
            return
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(self.path):
            os.unlink(self.path)
        server.bind(self.path)
        os.chmod(self.path, 0o666)  # noqa: S103 - the sandbox user connects
        server.listen(MAX_CONNECTIONS)
        server.setblocking(False)
        self.selector.register(server, selectors.EVENT_READ, "listen")
        self.selector.register(STDIN, selectors.EVENT_READ, "host")
        self.send(0, READY)
        while True:
            for key, _ in self.selector.select():
                if key.data == "listen":
                    self.accept(server)
                elif key.data == "host":
                    if not self.from_host():
                        return
                else:
                    self.from_client(key.data)

    def accept(self, server: socket.socket) -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        if len(self.conns) >= MAX_CONNECTIONS:
            conn.close()  # over the cap: the client sees its connection end at once
            return
        conn.settimeout(WRITE_TIMEOUT_S)
        self.last_id += 1
        self.conns[self.last_id] = conn
        self.selector.register(conn, selectors.EVENT_READ, self.last_id)
        self.send(self.last_id, OPEN)

    def from_client(self, cid: int) -> None:
        conn = self.conns.get(cid)
        if conn is None:  # closed by the host earlier in the same round of events
            return
        try:
            data = conn.recv(65536)
        except OSError:
            self.close(cid, tell_host=True)
            return
        if data:
            self.send(cid, DATA, data)
            return
        self.selector.unregister(conn)  # the client is done sending; its answer may still come
        self.send(cid, EOF)

    def from_host(self) -> bool:
        data = os.read(STDIN, 65536)
        if not data:
            return False
        self.pending += data
        while len(self.pending) >= HEADER.size:
            cid, kind, size = HEADER.unpack_from(self.pending)
            if len(self.pending) < HEADER.size + size:
                break
            payload = bytes(self.pending[HEADER.size : HEADER.size + size])
            del self.pending[: HEADER.size + size]
            conn = self.conns.get(cid)
            if conn is None:
                continue
            if kind == CLOSE:
                self.close(cid, tell_host=False)
            elif kind == DATA:
                try:
                    conn.sendall(payload)
                except OSError:  # gone, or not reading
                    self.close(cid, tell_host=True)
        return True


if __name__ == "__main__":
    Relay(sys.argv[1]).serve()
