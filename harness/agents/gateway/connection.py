"""The gateway's HTTP connections, bounded: the sandbox on the other end is hostile, and several samples'
gateways share one process, so one sample must not be able to starve another.

- At most ``max_connections`` connections are held at once (one thread each); the listen backlog fits that
  cap, and a connection beyond it gets a 503 at once from the accepting thread and is closed.
- A connection idle for ``idle_timeout_s`` is closed; a request's head and body must arrive within the idle
  and read timeouts together (a watchdog thread shuts down the socket of one that does not); a write the
  sandbox does not take within the idle timeout counts as a hang-up.
- Bodies are bounded while they are read: a Content-Length that is not a plain number, a body or any chunk
  that would pass ``max_body``, too many chunks, or Content-Length and Transfer-Encoding together are
  refused before the rest is read, and the connection is closed; the bodies one gateway holds at once
  (read, being read or being forwarded) come to at most twice ``max_body``, beyond which a request gets 503.
- Every refusal, whatever layer refused it (the HTTP parser's 400/414/431/501/505 included), is answered
  API-shaped and written as one line of the gateway's log."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol

from harness.records.gateway import Decision

MAX_CHUNKS = 65_536
MAX_TRAILERS = 64
_DIGITS = re.compile(rb"[0-9]{1,15}")
_HEX = re.compile(rb"[0-9a-fA-F]{1,15}")


def api_error(kind: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def linger(conn: socket.socket, limit: int = 1_000_000, seconds: float = 1.0) -> None:
    """Before closing a connection whose input was not all read: say nothing more will be written, then
    read and drop what the client still sends (at most ``limit`` bytes and ``seconds``), so that the
    answer already written reaches it instead of a reset."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
        deadline, dropped = time.monotonic() + seconds, 0
        while dropped < limit:
            left = deadline - time.monotonic()
            conn.settimeout(max(left, 0.0))  # 0: only what has arrived already
            if not (data := conn.recv(65536)):
                return
            dropped += len(data)


class Refusal(Exception):
    """A request refused at the HTTP layer: its status, log decision and message."""

    def __init__(self, status: int, decision: Decision, message: str) -> None:
        super().__init__(message)
        self.status, self.decision = status, decision


class Owner(Protocol):
    """What the connection layer reports to: the gateway."""

    def log(self, method: str, path: str, status: int, decision: Decision, **fields: Any) -> None: ...

    def handle(self, handler: Handler, path: str) -> None: ...


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self, path: str, owner: Owner, max_connections: int, idle_s: float, read_s: float, max_body: int
    ) -> None:
        self.request_queue_size = max_connections
        self.owner, self.cap, self.idle_s, self.read_s, self.max_body = (
            owner,
            max_connections,
            idle_s,
            read_s,
            max_body,
        )
        self._lock = threading.Lock()
        self._active = 0
        self._deadlines: dict[Handler, float] = {}
        self._sockets: set[socket.socket] = set()
        self._bodies = 0  # bytes of request bodies held at once, read or being read
        self._closed = threading.Event()
        super().__init__(path, Handler)
        self._watchdog = threading.Thread(target=self._watch, name="crucible-gateway-watchdog", daemon=True)
        self._watchdog.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            busy = self._active >= self.cap
            if not busy:
                self._active += 1
                self._sockets.add(request)
        if busy:
            self._busy(request)
            return
        try:
            super().process_request(request, client_address)
        except RuntimeError:  # no thread could be started
            with self._lock:
                self._active -= 1
                self._sockets.discard(request)
            self._busy(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._active -= 1
                self._sockets.discard(request)

    def drop_connections(self) -> None:
        """End every connection still open (the sample is over); their threads finish on their own."""
        with self._lock:
            sockets = list(self._sockets)
        for conn in sockets:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _busy(self, request: socket.socket) -> None:
        message = f"crucible gateway: more than {self.cap} connections at once"
        body = api_error("overloaded_error", message)
        head = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
        with contextlib.suppress(OSError):
            request.setblocking(False)
            request.send(head + b"content-length: %d\r\n\r\n" % len(body) + body)
        linger(request, limit=65_536, seconds=0)  # what has arrived already: this thread must accept
        self.shutdown_request(request)
        self.owner.log("-", "-", 503, "refused:limit", reason=message)

    def take(self, handler: Handler, size: int) -> None:
        """Count ``size`` more bytes of ``handler``'s body against what the gateway holds at once (twice
        the largest body); a 503 Refusal beyond it."""
        with self._lock:
            if self._bodies + size > 2 * self.max_body:
                raise Refusal(503, "refused:limit", "too many large request bodies at once; try again")
            self._bodies += size
        handler.taken += size

    def give_back(self, handler: Handler) -> None:
        with self._lock:
            self._bodies -= handler.taken
        handler.taken = 0

    def arm(self, handler: Handler, seconds: float) -> None:
        with self._lock:
            self._deadlines[handler] = time.monotonic() + seconds

    def disarm(self, handler: Handler) -> None:
        with self._lock:
            self._deadlines.pop(handler, None)

    def _watch(self) -> None:
        while not self._closed.wait(0.5):
            now = time.monotonic()
            with self._lock:  # expired under the lock: a handler cannot be disarmed meanwhile
                for handler in [h for h, deadline in self._deadlines.items() if deadline < now]:
                    del self._deadlines[handler]
                    handler.expire()

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.1"  # even a refusal of a malformed request line gets a status line
    server: Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_s)
        self.expired = False
        self.taken = 0

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the gateway writes its own log."""

    def address_string(self) -> str:
        return "sandbox"

    def handle_one_request(self) -> None:
        self.command, self.path = "", ""
        self.server.arm(self, self.server.idle_s + self.server.read_s)
        try:
            super().handle_one_request()
        finally:
            self.server.disarm(self)
            self.server.give_back(self)

    def expire(self) -> None:
        """The watchdog's call: the request did not arrive in time."""
        self.expired = True
        self.close_connection = True
        message = f"the request did not arrive within {self.server.idle_s + self.server.read_s:.0f} s"
        self.server.owner.log(self.command or "-", self.path or "-", 408, "refused:limit", reason=message)
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The parser's refusals (malformed request line or headers, unknown methods): API-shaped, logged."""
        reason = message or explain or self.responses.get(code, ("",))[0]
        self.server.owner.log(
            self.command or "-", (self.path or "-")[:200], code, "refused:http", reason=reason
        )
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.answer(code, api_error("invalid_request_error", f"crucible gateway: {reason}"), close=True)
        linger(self.connection)

    def do_HEAD(self) -> None:
        if self.path.split("?", 1)[0] == "/":
            self.server.owner.log(
                "HEAD", self.path, 200, "forwarded", reason="pre-connect answered by the gateway"
            )
            self.answer(200, b"", "text/plain")
        else:
            self.refuse(Refusal(403, "refused:path", f"HEAD {self.path} is not allowed"))

    def do_GET(self) -> None:
        self.refuse(Refusal(403, "refused:path", f"{self.command} {self.path} is not allowed"))

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def do_POST(self) -> None:
        self.server.owner.handle(self, self.path.split("?", 1)[0])

    def refuse(
        self, refusal: Refusal, close: bool = True, headers: dict[str, str] | None = None, **fields: Any
    ) -> None:
        """Log and answer a refusal; the connection closes unless the body was read (``close``)."""
        fields.setdefault("reason", str(refusal))
        self.server.owner.log(self.command, self.path, refusal.status, refusal.decision, **fields)
        kind = "permission_error" if refusal.status == 403 else "invalid_request_error"
        if refusal.status in (408, 413, 503):
            kind = {408: "timeout_error", 413: "request_too_large", 503: "overloaded_error"}[refusal.status]
        self.close_connection = self.close_connection or close
        with contextlib.suppress(OSError):
            self.answer(
                refusal.status, api_error(kind, f"crucible gateway: {refusal}"), extra=headers, close=close
            )
        if close:
            linger(self.connection)

    def answer(
        self,
        status: int,
        body: bytes,
        kind: str = "application/json",
        extra: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if close:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def read_body(self) -> bytes | bytearray:
        """The request's body, bounded while it is read; Refusal (and the rest left unread) otherwise."""
        try:
            body = self._read_body()
        except (OSError, ValueError) as exc:
            if self.expired:
                raise Refusal(408, "refused:limit", "the request did not arrive in time") from None
            raise Refusal(400, "refused:http", f"the body could not be read ({exc})") from None
        self.server.disarm(self)
        return body

    def _read_body(self) -> bytes | bytearray:
        encodings = self.headers.get_all("transfer-encoding") or []
        lengths = self.headers.get_all("content-length") or []
        if encodings and lengths:
            raise Refusal(400, "refused:http", "Content-Length and Transfer-Encoding together")
        if encodings:
            if [e.strip().lower() for e in encodings] != ["chunked"]:
                raise Refusal(
                    400, "refused:http", f"transfer-encoding {', '.join(encodings)} is not supported"
                )
            return self._read_chunks()
        if len(set(lengths)) > 1:
            raise Refusal(400, "refused:http", "several different Content-Length headers")
        if not lengths:
            return b""
        raw = lengths[0].strip().encode()
        if not _DIGITS.fullmatch(raw):
            raise Refusal(400, "refused:http", f"Content-Length {lengths[0][:40]!r} is not a length")
        length = int(raw)
        if length > self.server.max_body:
            raise self._too_large()
        self.server.take(self, length)
        body = self.rfile.read(length)
        if len(body) != length:
            raise ValueError("the body ended early")
        return body

    def _read_chunks(self) -> bytearray:
        out = bytearray()
        for _ in range(MAX_CHUNKS):
            line = self.rfile.readline(256)
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _HEX.fullmatch(size_text):
                raise ValueError(f"bad chunk size line {line[:40]!r}")
            size = int(size_text, 16)
            if size == 0:
                for _ in range(MAX_TRAILERS):
                    if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                        return out
                raise ValueError("too many trailer lines")
            if len(out) + size > self.server.max_body:
                raise self._too_large()
            self.server.take(self, size)
            data = self.rfile.read(size)
            if len(data) != size or self.rfile.readline(4) not in (b"\r\n", b"\n"):
                raise ValueError("a chunk ended early")
            out += data
        raise Refusal(413, "refused:limit", f"more than {MAX_CHUNKS} chunks")

    def _too_large(self) -> Refusal:
        return Refusal(413, "refused:limit", f"the body is larger than {self.server.max_body} bytes")
