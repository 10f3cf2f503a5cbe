"""One JSON line out, one JSON line back: how the migration checks talk to the long-lived processes
they start in a pod (the stepper in the migrate container, the catalog reader in the tester). The
process says hello first (its pid, so that a hung one can be killed by a second exec); a process that
goes quiet past a request's deadline, or ends, is reported as such and never asked again."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import SandboxError
from harness.sandbox import Container, Stream

HELLO_TIMEOUT_S = 60.0


class ChannelTimeout(SandboxError):
    """The process gave no answer within the request's deadline (it has been killed)."""


class ChannelClosed(SandboxError):
    """The process ended before it answered."""


class Channel:
    """A process in ``container`` that answers JSON requests one line each, from one thread at a time."""

    def __init__(self, container: Container, stream: Stream, label: str) -> None:
        self.container, self.stream, self.label = container, stream, label
        self.pid = 0
        self.alive = True
        self._pending = bytearray()
        self._lock = threading.Lock()

    @classmethod
    def start(
        cls,
        container: Container,
        argv: Sequence[str],
        label: str,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
    ) -> Channel:
        channel = cls(container, container.spawn(argv, env=env, workdir=workdir), label)
        try:
            hello = channel._answer(HELLO_TIMEOUT_S)
        except SandboxError:
            channel.close()
            raise
        channel.pid = int(hello.get("pid", 0))
        return channel

    def ask(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``request`` and wait up to ``timeout`` seconds for its answer."""
        with self._lock:
            if not self.alive:
                raise ChannelClosed(f"{self.label} has ended")
            self.stream.write(json.dumps(request).encode() + b"\n")
            return self._answer(timeout)

    def _answer(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            try:
                chunk = self.stream.read(max(deadline - time.monotonic(), 0.01))
            except TimeoutError as exc:
                self._kill()
                raise ChannelTimeout(f"{self.label} gave no answer within {timeout:g} s") from exc
            if not chunk:
                self.alive = False
                raise ChannelClosed(f"{self.label} ended before it answered")
            self._pending.extend(chunk)
        line, _, rest = bytes(self._pending).partition(b"\n")
        self._pending = bytearray(rest)
        try:
            answer = json.loads(line)
        except ValueError as exc:
            self._kill()
            raise SandboxError(f"{self.label} answered something that is not JSON: {line[:200]!r}") from exc
        if not isinstance(answer, dict):
            raise SandboxError(f"{self.label} answered {line[:200]!r}, not an object")
        return answer

    def _kill(self) -> None:
        self.alive = False
        if self.pid:
            with contextlib.suppress(SandboxError):
                self.container.exec(["kill", "-KILL", str(self.pid)], timeout=10)
        self.stream.close()

    def close(self) -> None:
        """Close its stdin (it then exits) and let go of the connection."""
        self.alive = False
        self.stream.close()
