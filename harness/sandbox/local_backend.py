"""A development backend made of plain subprocesses. It is NOT isolated: the code it runs sees the
host's network, files and processes. Use it for quick runs of trusted code, never for agent output.

Each container is a directory standing in for its filesystem root; absolute paths given to
``put_archive``/``get_archive`` and ``workdir`` are mapped below it. Commands run on the host with
that container's workdir as their working directory.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from harness._util.archive import safe_extract, tar_tree
from harness.errors import SandboxError
from harness.sandbox.base import ContainerSpec, ContainerState, ExecResult, Limits, Stdio, Stream

LOCAL_ROOT_PREFIX = "crucible-local-"
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def _limiter(limits: Limits) -> Callable[[], None]:
    def apply() -> None:
        memory = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return apply


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return


def _drain(stream: io.BufferedReader, buffer: bytearray, cap: int, flags: dict[str, bool]) -> None:
    while chunk := stream.read1(65536):
        room = cap - len(buffer)
        buffer.extend(chunk[: max(room, 0)])
        if room < len(chunk):
            flags["truncated"] = True


class LocalContainer:
    def __init__(self, pod: LocalPod, spec: ContainerSpec, limits: Limits) -> None:
        self.name = spec.name
        self.root = pod.root / "fs" / spec.name
        self._spec, self._limits = spec, limits
        self._env = {**BASE_ENV, "HOME": str(self.root), **spec.env}
        self.map(spec.workdir).mkdir(parents=True, exist_ok=True)
        for dest, archive in spec.files.items():
            self.put_archive(dest, archive)
        self._main: subprocess.Popen[bytes] | None = None
        self._log = pod.root / f"{spec.name}.log"
        if spec.command:
            with self._log.open("wb") as log:
                self._main = subprocess.Popen(
                    list(spec.command),
                    cwd=self.map(spec.workdir),
                    env=self._env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    preexec_fn=_limiter(limits),
                )
            pod.record_pid(self._main.pid)

    def map(self, path: str) -> Path:
        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise SandboxError(f"path {path!r} leaves container {self.name}")
        return target

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
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=self.map(workdir or self._spec.workdir),
                env={**self._env, **(env or {})},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_limiter(self._limits),
            )
        except OSError as exc:
            return ExecResult(exit_code=127, stdout=b"", stderr=str(exc).encode(), seconds=0.0)
        out, err, flags = bytearray(), bytearray(), {"truncated": False}
        readers = [
            threading.Thread(target=_drain, args=(stream, buffer, cap, flags), daemon=True)
            for stream, buffer in ((proc.stdout, out), (proc.stderr, err))
        ]
        for reader in readers:
            reader.start()
        timed_out = False
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill_group(proc)  # also stops anything the command left running in the background
        proc.wait()
        for reader in readers:
            reader.join(timeout=5)
        return ExecResult(
            exit_code=137 if timed_out else proc.returncode,
            stdout=bytes(out),
            stderr=bytes(err),
            seconds=time.monotonic() - started,
            timed_out=timed_out,
            truncated=flags["truncated"],
        )

    def put_archive(self, dest: str, data: bytes) -> None:
        if dropped := safe_extract(data, self.map(dest)):
            raise SandboxError(f"archive for {self.name}:{dest} is unsafe: {dropped[0]}")

    def get_archive(self, path: str, max_bytes: int = 50_000_000) -> bytes:
        source = self.map(path)
        if not source.exists() and not source.is_symlink():
            raise SandboxError(f"{self.name}:{path} does not exist")
        archive = tar_tree(source, source.name or "root")
        if len(archive) > max_bytes:
            raise SandboxError(f"{self.name}:{path} is larger than {max_bytes} bytes")
        return archive

    def logs(self, max_bytes: int = 1_000_000) -> str:
        if not self._log.exists():
            return ""
        with self._log.open("rb") as handle:
            handle.seek(max(0, self._log.stat().st_size - max_bytes))
            return handle.read().decode(errors="replace")

    def state(self) -> ContainerState:
        if self._main is None:
            return ContainerState(running=True, exit_code=None, oom_killed=False)
        code = self._main.poll()
        return ContainerState(running=code is None, exit_code=code, oom_killed=False)

    def attach(self) -> Stdio:
        raise SandboxError(f"the local backend cannot attach to {self.name!r}: use the docker backend")

    def spawn(
        self, command: Sequence[str], *, env: Mapping[str, str] | None = None, workdir: str | None = None
    ) -> Stream:
        try:
            proc = subprocess.Popen(
                list(command),
                cwd=self.map(workdir or self._spec.workdir),
                env={**self._env, **(env or {})},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_limiter(self._limits),
            )
        except OSError as exc:
            raise SandboxError(f"starting {command[0]} in {self.name} failed: {exc}") from exc
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout.fileno()

        def read(timeout: float | None) -> bytes:
            ready, _, _ = select.select([stdout], [], [], timeout)
            if not ready:
                raise TimeoutError(f"{command[0]} in {self.name} said nothing for {timeout:g} s")
            return os.read(stdout, 65536)

        def write(data: bytes) -> None:
            try:
                stdin.write(data)
                stdin.flush()
            except OSError as exc:
                raise SandboxError(f"writing to {command[0]} in {self.name} failed: {exc}") from exc

        def close() -> None:
            with contextlib.suppress(OSError):
                stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                proc.wait()
            with contextlib.suppress(OSError):
                proc.stdout.close()  # type: ignore[union-attr]

        return Stream(read=read, write=write, close=close)

    def stop(self) -> None:
        if self._main is not None:
            _kill_group(self._main)
            self._main.wait()


class LocalPod:
    def __init__(self, run_id: str, sample_id: str, limits: Limits, base_dir: Path) -> None:
        self.run_id, self.sample_id = run_id, sample_id
        self.pod_id = f"{sample_id}-{secrets.token_hex(4)}"
        self.limits = limits
        base_dir.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix=LOCAL_ROOT_PREFIX, dir=base_dir))
        self._labels = {"run": run_id, "sample": sample_id, "pod": self.pod_id, "pids": []}
        self._write_labels()
        self._containers: dict[str, LocalContainer] = {}

    def _write_labels(self) -> None:
        (self.root / "labels.json").write_text(json.dumps(self._labels))

    def record_pid(self, pid: int) -> None:
        pids = self._labels["pids"]
        assert isinstance(pids, list)
        pids.append(pid)
        self._write_labels()

    def add(self, spec: ContainerSpec) -> LocalContainer:
        if spec.name in self._containers:
            raise SandboxError(f"pod {self.pod_id} already has a container named {spec.name!r}")
        if spec.binds or spec.volumes:
            raise SandboxError(
                f"the local backend cannot mount folders into {spec.name!r}: use the docker backend"
            )
        container = LocalContainer(self, spec, spec.limits or self.limits)
        self._containers[spec.name] = container
        return container

    def container(self, name: str) -> LocalContainer:
        try:
            return self._containers[name]
        except KeyError:
            raise SandboxError(f"pod {self.pod_id} has no container {name!r}") from None

    def intact(self) -> bool:
        return True

    def close(self) -> None:
        for container in self._containers.values():
            container.stop()
        self._containers.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalPod:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class LocalBackend:
    name = "local"
    isolated = False

    def __init__(self, limits: Limits | None = None, base_dir: Path | None = None) -> None:
        self.limits = limits or Limits()
        self.base_dir = base_dir or Path(tempfile.gettempdir()) / "crucible-local"
        self.stopping = False

    def create_pod(self, run_id: str, sample_id: str, limits: Limits | None = None) -> LocalPod:
        if self.stopping:
            raise SandboxError("the backend is stopping: no new pods")
        return LocalPod(run_id, sample_id, limits or self.limits, self.base_dir)

    def stop(self) -> None:
        self.stopping = True

    def cleanup(self, run_id: str | None = None, sample_id: str | None = None) -> dict[str, int]:
        removed = 0
        for root in self.base_dir.glob(f"{LOCAL_ROOT_PREFIX}*") if self.base_dir.is_dir() else []:
            try:
                labels = json.loads((root / "labels.json").read_text())
            except (OSError, ValueError):
                labels = {}
            if run_id is not None and labels.get("run") != run_id:
                continue
            if sample_id is not None and labels.get("sample") != sample_id:
                continue
            for pid in labels.get("pids", []):
                with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                    os.killpg(int(pid), signal.SIGKILL)
            shutil.rmtree(root, ignore_errors=True)
            removed += 1
        return {"pods": removed}
