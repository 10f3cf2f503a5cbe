"""The gateway relay's program, run by the relay container on an engine that is not on this machine (the
standard library only; it runs in the workspace image's Python). It listens on the unix socket the
workspace container sees, in a volume the two containers share and nothing else, and carries every
connection over its own stdin and stdout, which the host reaches through the engine's API and joins to the
sample's gateway there. So the key, the budgets and the recording stay on the host; the relay has no
network either.

Frames both ways: connection id (4 bytes), kind (1 byte), length (4 bytes), then the payload. Kinds:
OPEN (a connection came in), DATA, CLOSE (either side is done), READY (the host's first frame says it is
attached; the relay's answers once it listens, so no frame is written before anyone reads)."""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading

HEADER = struct.Struct(">IBI")
OPEN, DATA, CLOSE, READY = 0, 1, 2, 3


class Relay:
    def __init__(self, path: str) -> None:
        self.path = path
        self.out = sys.stdout.buffer
        self.lock = threading.Lock()
        self.conns: dict[int, socket.socket] = {}

    def send(self, cid: int, kind: int, data: bytes = b"") -> None:
        with self.lock:
            self.out.write(HEADER.pack(cid, kind, len(data)) + data)
            self.out.flush()

    def pump(self, cid: int, conn: socket.socket) -> None:
        try:
            while data := conn.recv(65536):
                self.send(cid, DATA, data)
        except OSError:
            pass
        self.send(cid, CLOSE)

    def listen(self) -> None:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(self.path):
            os.unlink(self.path)
        server.bind(self.path)
        os.chmod(self.path, 0o666)  # noqa: S103 - the sandbox user connects
        server.listen(64)
        self.send(0, READY)
        cid = 0
        while True:
            conn, _ = server.accept()
            cid += 1
            self.conns[cid] = conn
            self.send(cid, OPEN)
            threading.Thread(target=self.pump, args=(cid, conn), daemon=True).start()

    def serve(self) -> None:
        source = sys.stdin.buffer
        first = source.read(HEADER.size)
        if len(first) < HEADER.size or HEADER.unpack(first)[1] != READY:
            return
        threading.Thread(target=self.listen, daemon=True).start()
        while header := source.read(HEADER.size):
            if len(header) < HEADER.size:
                break
            cid, kind, size = HEADER.unpack(header)
            data = source.read(size) if size else b""
            conn = self.conns.get(cid)
            if conn is None:
                continue
            try:
                if kind == DATA:
                    conn.sendall(data)
                elif kind == CLOSE:
                    self.conns.pop(cid, None)
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()
            except OSError:
                self.conns.pop(cid, None)


if __name__ == "__main__":
    Relay(sys.argv[1]).serve()
