"""The real backend: pods of Docker containers joined to one holder's network namespace.

The holder runs with ``--network none``, so a pod has a loopback interface and nothing else: no
route out, no DNS. Every other container joins it with ``--network container:<holder>``, has its own
filesystem and process namespace, no capabilities, and limits on memory, CPU and processes. Every
exec runs under ``timeout`` inside the container and under a host-side watchdog.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from harness._util.archive import reroot
from harness.errors import SandboxError
from harness.sandbox.attach import attach_stdio, exec_stream
from harness.sandbox.base import (
    LABEL_OWNER,
    LABEL_POD,
    LABEL_ROLE,
    LABEL_RUN,
    LABEL_SAMPLE,
    ContainerSpec,
    ContainerState,
    ExecResult,
    Limits,
    Stdio,
    Stream,
)
from harness.sandbox.labels import remove_labelled

WATCHDOG_GRACE_S = 15.0
LOG_CONFIG = {"type": "json-file", "config": {"max-size": "20m", "max-file": "1"}}
_OOM_COUNTER = re.compile(rb"^oom_kill (\d+)$", re.MULTILINE)


def _safe(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", text)[:60] or "x"


def owner_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _read_capped(chunks: Any, cap: int) -> tuple[bytes, bytes, bool]:
    out, err = bytearray(), bytearray()
    truncated = False
    for item in chunks:
        stdout, stderr = item if isinstance(item, tuple) else (item, None)
        for buffer, data in ((out, stdout), (err, stderr)):
            if not data:
                continue
            room = cap - len(buffer)
            if room >= len(data):
                buffer.extend(data)
            else:
                buffer.extend(data[: max(room, 0)])
                truncated = True
    return bytes(out), bytes(err), truncated


class DockerContainer:
    def __init__(self, pod: DockerPod, name: str, container: Any, limits: Limits) -> None:
        self.name = name
        self._pod = pod
        self._container = container
        self._limits = limits
        self._oom_seen = 0

    @property
    def id(self) -> str:
        return str(self._container.id)

    def exec(
        self,
        command: str | Sequence[str],
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        output_cap: int | None = None,
    ) -> ExecResult:
        limit = timeout or self._limits.exec_timeout_s
        cap = output_cap or self._limits.output_cap_bytes
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        wrapped = ["timeout", "-s", "TERM", "-k", "3", f"{limit:g}", *argv]
        api = self._pod.client.api
        started = time.monotonic()
        try:
            exec_id = api.exec_create(self.id, wrapped, environment=dict(env or {}), workdir=workdir)["Id"]
            chunks = api.exec_start(exec_id, stream=True, demux=True)
        except Exception as exc:
            raise SandboxError(f"exec in {self.name} failed to start: {exc}") from exc
        fired = threading.Event()

        def watchdog() -> None:
            fired.set()
            self._kill_quietly()

        timer = threading.Timer(limit + WATCHDOG_GRACE_S, watchdog)
        timer.daemon = True
        timer.start()
        try:
            stdout, stderr, truncated = _read_capped(chunks, cap)
            code = api.exec_inspect(exec_id).get("ExitCode")
        except Exception as exc:
            raise SandboxError(f"exec in {self.name} broke off: {type(exc).__name__}: {exc}") from exc
        finally:
            timer.cancel()
        seconds = time.monotonic() - started
        exit_code = 137 if code is None else int(code)
        timed_out = fired.is_set() or (exit_code in (124, 137) and seconds >= limit * 0.98)
        oom = exit_code == 137 and not timed_out and self._oom_killed_since_last()
        return ExecResult(
            exit_code=exit_code,
            stdout=stdout,
            stderr=stderr,
            seconds=seconds,
            timed_out=timed_out,
            truncated=truncated,
            oom_killed=oom,
        )

    def _oom_killed_since_last(self) -> bool:
        """Whether the container's memory cgroup killed a process since the last look (v1 or v2)."""
        try:
            result = self._container.exec_run(
                [
                    "sh",
                    "-c",
                    "cat /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events 2>/dev/null",
                ],
                user="0",
            )
        except Exception:
            return False
        match = _OOM_COUNTER.search(result.output or b"")
        count = int(match.group(1)) if match else 0
        killed, self._oom_seen = count > self._oom_seen, max(count, self._oom_seen)
        return killed

    def _kill_quietly(self) -> None:
        try:
            self._container.kill()
        except Exception:  # already gone: nothing left to stop
            return

    def put_archive(self, dest: str, data: bytes) -> None:
        try:
            done = self._pod.client.api.put_archive(self.id, "/", _rerooted(data, dest))
        except Exception as exc:
            raise SandboxError(f"copying files into {self.name}:{dest} failed: {exc}") from exc
        if not done:
            raise SandboxError(f"copying files into {self.name}:{dest} failed")

    def get_archive(self, path: str, max_bytes: int = 50_000_000) -> bytes:
        from docker.errors import NotFound

        buffer = bytearray()
        try:
            stream, _ = self._pod.client.api.get_archive(self.id, path)
            for chunk in stream:
                buffer.extend(chunk)
                if len(buffer) > max_bytes:
                    raise SandboxError(f"{self.name}:{path} is larger than {max_bytes} bytes")
        except NotFound as exc:
            raise SandboxError(f"{self.name}:{path} does not exist") from exc
        except SandboxError:
            raise
        except Exception as exc:
            raise SandboxError(f"reading {self.name}:{path} failed: {exc}") from exc
        return bytes(buffer)

    def logs(self, max_bytes: int = 1_000_000) -> str:
        try:
            data: bytes = self._container.logs(stdout=True, stderr=True)
        except Exception as exc:
            raise SandboxError(f"reading the logs of {self.name} failed: {exc}") from exc
        return data[-max_bytes:].decode(errors="replace")

    def attach(self) -> Stdio:
        return attach_stdio(self._pod.client.api, self._container.id, self.name)

    def spawn(
        self, command: Sequence[str], *, env: Mapping[str, str] | None = None, workdir: str | None = None
    ) -> Stream:
        return exec_stream(self._pod.client.api, self.id, self.name, command, env or {}, workdir)

    def state(self) -> ContainerState:
        try:
            self._container.reload()
        except Exception as exc:
            raise SandboxError(f"container {self.name} is gone: {exc}") from exc
        state = self._container.attrs.get("State", {})
        running = bool(state.get("Running"))
        return ContainerState(
            running=running,
            exit_code=None if running else state.get("ExitCode"),
            oom_killed=bool(state.get("OOMKilled")),
        )


class DockerPod:
    def __init__(
        self,
        client: Any,
        run_id: str,
        sample_id: str,
        limits: Limits,
        holder_image: str,
        ttl_s: int,
        stopping: threading.Event | None = None,
    ) -> None:
        self.client = client
        self._stopping = stopping or threading.Event()
        self.run_id, self.sample_id = run_id, sample_id
        self.pod_id = f"{_safe(sample_id)[:40]}-{secrets.token_hex(4)}"
        self.limits = limits
        self._ttl = ttl_s
        self._containers: dict[str, DockerContainer] = {}
        self._volumes: set[str] = set()
        self._labels = {
            LABEL_RUN: run_id,
            LABEL_SAMPLE: sample_id,
            LABEL_POD: self.pod_id,
            LABEL_OWNER: owner_label(),
        }
        self._holder = self._run(
            holder_image, ["sleep", str(ttl_s)], "holder", network_mode="none", mem_limit="32m", pids_limit=16
        )

    def _run(
        self,
        image: str,
        command: Sequence[str],
        role: str,
        files: Mapping[str, bytes] | None = None,
        **options: Any,
    ) -> Any:
        if self._stopping.is_set():
            raise SandboxError(f"the backend is stopping: no new {role} container")
        try:
            container = self.client.containers.create(
                image,
                list(command),
                name=f"crucible-{self.pod_id}-{_safe(role)}",
                labels={**self._labels, LABEL_ROLE: role},
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                init=True,
                log_config=LOG_CONFIG,
                **options,
            )
            for dest, archive in (files or {}).items():
                if not self.client.api.put_archive(container.id, "/", _rerooted(archive, dest)):
                    raise SandboxError(f"copying files into {role}:{dest} failed")
            container.start()
            return container
        except Exception as exc:
            with contextlib.suppress(SandboxError):
                self.close()
            raise SandboxError(f"starting the {role} container of pod {self.pod_id} failed: {exc}") from exc

    def add(self, spec: ContainerSpec) -> DockerContainer:
        if spec.name in self._containers or spec.name == "holder":
            raise SandboxError(f"pod {self.pod_id} already has a container named {spec.name!r}")
        limits = spec.limits or self.limits
        memory = f"{limits.memory_mb}m"
        mounts = {host: {"bind": inside, "mode": "ro"} for host, inside in spec.binds.items()}
        for volume, (inside, read_only) in spec.volumes.items():
            mounts[self._volume(volume)] = {"bind": inside, "mode": "ro" if read_only else "rw"}
        container = self._run(
            spec.image,
            spec.command or ["sleep", str(self._ttl)],
            spec.name,
            network_mode="none" if spec.own_network else f"container:{self._holder.id}",
            stdin_open=spec.stdin,
            environment=dict(spec.env),
            working_dir=spec.workdir,
            user=spec.user or "",
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            tmpfs=dict(spec.tmpfs),
            volumes=mounts,
            files=spec.files,
        )
        handle = DockerContainer(self, spec.name, container, limits)
        self._containers[spec.name] = handle
        return handle

    def _volume(self, name: str) -> str:
        """The engine's name of the pod's volume ``name``, made with the pod's labels on first use."""
        full = f"crucible-{self.pod_id}-{_safe(name)}"
        if full not in self._volumes:
            try:
                self.client.volumes.create(name=full, labels=self._labels)
            except Exception as exc:
                raise SandboxError(f"creating volume {name!r} of pod {self.pod_id} failed: {exc}") from exc
            self._volumes.add(full)
        return full

    def container(self, name: str) -> DockerContainer:
        try:
            return self._containers[name]
        except KeyError:
            raise SandboxError(f"pod {self.pod_id} has no container {name!r}") from None

    def intact(self) -> bool:
        """The holder only sleeps, in namespaces no code under test can reach: if it is not running,
        the engine or someone else stopped the pod."""
        try:
            self._holder.reload()
        except Exception:
            return False
        return bool(self._holder.attrs.get("State", {}).get("Running"))

    def close(self) -> None:
        """Remove the pod; SandboxError when the engine cannot be reached (the pod's labels let a later
        cleanup find what is left)."""
        self._containers.clear()
        try:
            remove_labelled(self.client, {LABEL_POD: self.pod_id})
        except Exception as exc:
            raise SandboxError(f"removing pod {self.pod_id} failed: {type(exc).__name__}: {exc}") from exc

    def __enter__(self) -> DockerPod:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class DockerBackend:
    name = "docker"
    isolated = True

    def __init__(
        self, client: Any, holder_image: str, limits: Limits | None = None, ttl_s: int = 21600
    ) -> None:
        self.client = client
        self.holder_image = holder_image
        self.limits = limits or Limits()
        self.ttl_s = ttl_s
        self.stopping = threading.Event()

    def create_pod(self, run_id: str, sample_id: str, limits: Limits | None = None) -> DockerPod:
        return DockerPod(
            self.client,
            run_id,
            sample_id,
            limits or self.limits,
            self.holder_image,
            self.ttl_s,
            self.stopping,
        )

    def stop(self) -> None:
        self.stopping.set()

    def cleanup(self, run_id: str | None = None, sample_id: str | None = None) -> dict[str, int]:
        labels = {LABEL_RUN: run_id} if sample_id is None else {LABEL_RUN: run_id, LABEL_SAMPLE: sample_id}
        return remove_labelled(self.client, labels)


def _rerooted(data: bytes, dest: str) -> bytes:
    """The archive re-rooted under ``dest``, so that the engine unpacks it at ``/``."""
    try:
        return reroot(data, dest)
    except ValueError as exc:
        raise SandboxError(str(exc)) from exc
