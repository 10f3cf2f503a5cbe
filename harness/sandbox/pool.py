"""Warm eval pods: a holder with PostgreSQL already accepting connections, started ahead of the samples
that will use them, so that no sample waits for a database to boot. Each pod still serves exactly one
sample and is then discarded; only its start-up moves off the sample's critical path."""

from __future__ import annotations

import contextlib
import queue
import threading
from dataclasses import dataclass

from harness.errors import InfraError, SandboxError
from harness.sandbox.base import Pod, SandboxBackend
from harness.sandbox.services import Postgres, start_postgres

WARM_SAMPLE = "warm-pod"  # the sample label of a pod started before its sample was known


@dataclass(frozen=True)
class WarmPod:
    pod: Pod
    database: Postgres


class PodPool:
    """Keeps up to ``size`` ready pods for ``run_id``. :meth:`take` hands one out (waiting for the
    next when none is ready) and starts a replacement in the background."""

    def __init__(self, backend: SandboxBackend, postgres_image: str, run_id: str, size: int) -> None:
        self.backend, self.image, self.run_id = backend, postgres_image, run_id
        self._ready: queue.Queue[WarmPod | InfraError] = queue.Queue()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        for _ in range(size):
            self._refill()

    def _refill(self) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            thread = threading.Thread(target=self._start_one, name="warm-pod", daemon=True)
            self._threads.append(thread)
        thread.start()

    def _fresh(self) -> WarmPod:
        pod = self.backend.create_pod(self.run_id, WARM_SAMPLE)
        try:
            return WarmPod(pod, start_postgres(pod, self.image))
        except BaseException:
            with contextlib.suppress(SandboxError):
                pod.close()
            raise

    def _start_one(self) -> None:
        try:
            item: WarmPod | InfraError = self._fresh()
        except InfraError as exc:
            item = exc
        if self._closed.is_set() and isinstance(item, WarmPod):
            with contextlib.suppress(SandboxError):
                item.pod.close()
            return
        self._ready.put(item)

    def take(self) -> WarmPod:
        """A ready pod; a replacement starts meanwhile. A pod that failed to start, or that something
        outside stopped while it waited (an engine restart), is replaced by one started now, so the
        pool never fails a sample that would have run without it."""
        item = self._ready.get()
        self._refill()
        if isinstance(item, WarmPod) and item.pod.intact():
            return item
        if isinstance(item, WarmPod):
            with contextlib.suppress(SandboxError):
                item.pod.close()
        return self._fresh()

    def close(self, wait_s: float = 90.0) -> None:
        """Remove the pods nobody took, after the ones still starting are up (or have failed)."""
        self._closed.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=wait_s)
        while True:
            try:
                item = self._ready.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, WarmPod):
                with contextlib.suppress(SandboxError):
                    item.pod.close()
