"""The gateway's socket on an engine that is not on this machine. A host folder cannot be mounted there,
so the sample's pod gets a trusted relay container (the workspace image running relay_inside.py; no
network, a little memory) that shares one volume with the workspace container and nothing else: the relay
listens on the socket in it, and carries each connection over its stdin and stdout, which the engine's
API (the same TLS or ssh connection Crucible already uses) brings here, where ``Tunnel`` joins it to the
sample's gateway. The key, the budgets, the logs and the recording never leave this machine."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

from harness._util.archive import tar_files
from harness.agents.gateway import relay_inside
from harness.agents.gateway.relay_inside import CLOSE, DATA, EOF, HEADER, OPEN, READY
from harness.errors import SandboxError
from harness.sandbox import ContainerSpec, Limits, Pod, Stdio

VOLUME = "gateway"
PROGRAM_DIR = "/opt/crucible-relay"
RELAY_LIMITS = Limits(memory_mb=128, cpus=0.5, pids=64, exec_timeout_s=30, output_cap_bytes=100_000)
READY_TIMEOUT_S = 60.0
MAX_FRAME = 1_000_000  # the relay sends at most 64 kB a frame; a larger one means a broken stream


class Tunnel:
    """Joins every connection the relay reports to a new connection to the gateway at ``socket_path``."""

    def __init__(self, stdio: Stdio, socket_path: Path) -> None:
        self.stdio, self.socket_path = stdio, socket_path
        self._lock = threading.Lock()
        self._conns: dict[int, socket.socket] = {}
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, name="crucible-relay-tunnel", daemon=True)

    def __enter__(self) -> Tunnel:
        self._reader.start()
        self.stdio.write(HEADER.pack(0, READY, 0))
        if not self._ready.wait(READY_TIMEOUT_S):
            self.close()
            raise SandboxError(f"the gateway relay did not listen within {READY_TIMEOUT_S:.0f} s")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.stdio.close()
        with self._lock:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            _shut(conn)
        self._reader.join(timeout=10)

    def _send(self, cid: int, kind: int, data: bytes = b"", always: bool = False) -> None:
        with self._lock:
            if kind == CLOSE and self._conns.pop(cid, None) is None and not always:
                return  # already closed from the relay's side
            with contextlib.suppress(OSError):
                self.stdio.write(HEADER.pack(cid, kind, len(data)) + data)

    def _read(self) -> None:
        buffer = bytearray()
        with contextlib.suppress(OSError, ValueError):
            while chunk := self.stdio.read():
                buffer += chunk
                while len(buffer) >= HEADER.size:
                    cid, kind, size = HEADER.unpack_from(buffer)
                    if size > MAX_FRAME:
                        raise ValueError(f"a frame of {size} bytes from the relay")
                    if len(buffer) < HEADER.size + size:
                        break
                    data = bytes(buffer[HEADER.size : HEADER.size + size])
                    del buffer[: HEADER.size + size]
                    self._frame(cid, kind, data)

    def _frame(self, cid: int, kind: int, data: bytes) -> None:
        if kind == READY:
            self._ready.set()
        elif kind == OPEN:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                conn.connect(str(self.socket_path))
            except OSError:
                conn.close()
                self._send(cid, CLOSE, always=True)  # the relay must let go of its client too
                return
            with self._lock:
                self._conns[cid] = conn
            threading.Thread(target=self._pump, args=(cid, conn), daemon=True).start()
        elif kind == DATA:
            with self._lock:
                target = self._conns.get(cid)
            if target is not None:
                try:
                    target.sendall(data)
                except OSError:
                    self._send(cid, CLOSE)
        elif kind == EOF:  # the client sent all it will: the gateway's answer may still come back
            with self._lock:
                target = self._conns.get(cid)
            if target is not None:
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_WR)
        elif kind == CLOSE:
            with self._lock:
                closing = self._conns.pop(cid, None)
            if closing is not None:
                _shut(closing)

    def _pump(self, cid: int, conn: socket.socket) -> None:
        """The gateway's answers on connection ``cid``, back to the relay as they come; once the gateway
        ends the connection, the relay closes the client's."""
        with contextlib.suppress(OSError):
            while data := conn.recv(65536):
                self._send(cid, DATA, data)
        self._send(cid, CLOSE)
        _shut(conn)


def _shut(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def relay_spec(image: str, socket_dir: str) -> ContainerSpec:
    """The relay container: the program, the shared volume (writable here), no network, stdin open."""
    program = Path(relay_inside.__file__).read_bytes()
    return ContainerSpec(
        name="gateway-relay",
        image=image,
        command=["python3", f"{PROGRAM_DIR}/relay.py", f"{socket_dir}/api.sock"],
        user="root",
        workdir="/",
        limits=RELAY_LIMITS,
        files={PROGRAM_DIR: tar_files({"relay.py": program})},
        volumes={VOLUME: (socket_dir, False)},
        own_network=True,
        stdin=True,
    )


def start_relay(pod: Pod, image: str, socket_dir: str, gateway_socket: Path) -> Tunnel:
    """The relay in ``pod``, to be entered (it then listens, joined to the gateway at ``gateway_socket``).
    Containers that mount the pod volume ``VOLUME`` at ``socket_dir`` reach the gateway through it."""
    container = pod.add(relay_spec(image, socket_dir))
    return Tunnel(container.attach(), gateway_socket)
