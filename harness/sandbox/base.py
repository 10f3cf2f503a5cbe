"""What every sandbox backend provides: pods of containers, execs with limits, archive copy, logs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from harness._util.crashlog import summarise_failure

# Labels carried by every container, network and volume Crucible creates, so cleanup finds them all.
LABEL_RUN = "crucible.run"
LABEL_SAMPLE = "crucible.sample"
LABEL_POD = "crucible.pod"
LABEL_ROLE = "crucible.role"
LABEL_OWNER = "crucible.owner"


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 1024
    cpus: float = 1.0
    pids: int = 512
    exec_timeout_s: float = 120.0
    output_cap_bytes: int = 2_000_000


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a pod. ``command`` None means an idle container that only serves execs.
    ``files`` maps a directory to a tar archive unpacked there before the command starts; ``binds`` maps
    a host folder to where it is mounted, read-only; ``volumes`` maps a volume of the pod's own (made on
    first use, removed with the pod) to where it is mounted and whether read-only, so that two containers
    can share one folder and nothing else. ``own_network``: a network namespace of its own with no
    interface but ``lo``, instead of the pod's; ``stdin``: stdin kept open, for ``attach``."""

    name: str
    image: str
    command: Sequence[str] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str = "/work"
    user: str | None = None
    limits: Limits | None = None
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)
    # host folder -> path in the container, mounted read-only (the model gateway's socket folder)
    binds: Mapping[str, str] = field(default_factory=dict)
    volumes: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    own_network: bool = False
    stdin: bool = False


@dataclass(frozen=True)
class Stdio:
    """A running container's main process as a byte stream: ``read`` gives the next chunk of its stdout
    (b"" once it ends), ``write`` feeds its stdin, ``close`` lets go of both."""

    read: Callable[[], bytes]
    write: Callable[[bytes], None]
    close: Callable[[], None]


@dataclass(frozen=True)
class Stream:
    """A process started in a container, kept running: ``write`` feeds its stdin; ``read(timeout)`` gives
    the next chunk of its stdout (b"" once it has ended), waiting at most ``timeout`` seconds (None: no
    limit) and raising TimeoutError after that; ``close`` lets go of both (the process then reads EOF)."""

    read: Callable[[float | None], bytes]
    write: Callable[[bytes], None]
    close: Callable[[], None]


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes
    seconds: float
    timed_out: bool = False
    truncated: bool = False
    oom_killed: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    @property
    def out(self) -> str:
        return self.stdout.decode(errors="replace")

    @property
    def err(self) -> str:
        return self.stderr.decode(errors="replace")

    def describe(self) -> str:
        """One line for a log or an error: how the exec ended."""
        if self.timed_out:
            return f"killed after its {self.seconds:.1f} s timeout"
        if self.oom_killed:
            return "killed by the out-of-memory killer (memory limit reached)"
        tail = (self.err.strip() or self.out.strip()).splitlines()[-1:] or [""]
        return f"exit {self.exit_code}: {tail[0][:200]}"

    def gist(self) -> str:
        """Why a command of the code under evaluation failed, for a person: "timed out", or the last
        exception of its output and where it was raised."""
        return "timed out" if self.timed_out else summarise_failure(self.out + self.err)


@dataclass(frozen=True)
class ContainerState:
    running: bool
    exit_code: int | None
    oom_killed: bool


@runtime_checkable
class Container(Protocol):
    name: str

    def exec(
        self,
        command: str | Sequence[str],
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        output_cap: int | None = None,
    ) -> ExecResult:
        """Run ``command`` (a string goes to ``sh -c``) and wait, under a timeout and an output cap."""
        ...

    def put_archive(self, dest: str, data: bytes) -> None:
        """Unpack a tar archive into directory ``dest`` (created when missing)."""
        ...

    def get_archive(self, path: str, max_bytes: int = 50_000_000) -> bytes:
        """A tar archive of ``path``; its members are named from the basename of ``path``."""
        ...

    def logs(self, max_bytes: int = 1_000_000) -> str:
        """The tail of the main process's output (stdout and stderr)."""
        ...

    def state(self) -> ContainerState: ...

    def attach(self) -> Stdio:
        """The main process's stdin and stdout (a container started with ``stdin``)."""
        ...

    def spawn(
        self, command: Sequence[str], *, env: Mapping[str, str] | None = None, workdir: str | None = None
    ) -> Stream:
        """Start ``command`` beside the main process and keep it running, its stdin and stdout open
        (stderr is discarded); the caller ends it by closing its stdin."""
        ...


@runtime_checkable
class Pod(Protocol):
    """Containers that share one loopback-only network namespace."""

    pod_id: str
    run_id: str
    sample_id: str

    def add(self, spec: ContainerSpec) -> Container: ...

    def container(self, name: str) -> Container: ...

    def intact(self) -> bool:
        """Whether the pod itself is still up: False when something outside stopped it (an engine
        restart), so that what ran in it cannot be blamed on the code under test."""
        ...

    def close(self) -> None:
        """Stop and remove every container of the pod; safe to call twice."""
        ...


@runtime_checkable
class SandboxBackend(Protocol):
    name: str
    isolated: bool

    def create_pod(self, run_id: str, sample_id: str, limits: Limits | None = None) -> Pod: ...

    def stop(self) -> None:
        """From now on refuse new pods and containers (SandboxError): a run that is being interrupted
        must not start anything its clean-up would miss."""
        ...

    def cleanup(self, run_id: str | None = None, sample_id: str | None = None) -> dict[str, int]:
        """Remove what this backend left for ``run_id`` (all runs when None), or for one sample of it;
        counts by kind."""
        ...
