"""The migration command lines of one database, run by one long-lived process in the pod's migrate
container (``inpod/stepper.py``) instead of one process per step: the workspace's app, Alembic or
Django are imported once per database, not once per revision and direction.

Each step keeps the isolation that matters (see the stepper): its own output, fresh connections, env.py
loaded anew, and its own timeout. A step that hangs is answered as timed out and ends its process; one
that crashes the process is reported with what it printed. Either way the next command on the same
database starts a new process, so the checks after it still run."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from importlib import resources

from harness._util.archive import tar_files
from harness.errors import SandboxError
from harness.sandbox import Container, ExecResult
from harness.score.migrations.channel import Channel, ChannelClosed, ChannelTimeout

STEPPER_DIR = "/opt/crucible-stepper"
STEP_OUTPUT = "/tmp/crucible-step"  # the stepper's OUTPUT
GRACE_S = 15.0  # beyond a step's own timeout, before the process counts as unresponsive
CRASHED = "the migration process ended during this step"


def install_stepper(migrate: Container) -> None:
    script = (resources.files("harness.score.migrations") / "inpod" / "stepper.py").read_bytes()
    migrate.put_archive(STEPPER_DIR, tar_files({"stepper.py": script}, uid=1000))


def crash_summary(stderr: str) -> str:
    """The closing lines for a step whose process died: the innermost frame of the crashing thread in a
    fatal error's dump (faulthandler lists every thread, the most recent call first) and the error, in
    the shape of a traceback's end."""
    lines = [line.strip() for line in stderr.splitlines()]
    fatal = next((line for line in lines if line.startswith("Fatal Python error:")), "")
    current = next((i for i, line in enumerate(lines) if line.startswith("Current thread")), 0)
    frames = (line for line in lines[current:] if line.startswith('File "'))
    frame = next((line for line in frames if STEPPER_DIR not in line), "")
    said = f"{CRASHED} ({fatal})" if fatal else CRASHED
    return f"\n{frame.split(' in ')[0] if frame else ''}\nProcessExit: {said}\n"


class Steps:
    """A ``Command`` for one database: runs each argv in the stepper that serves that database."""

    def __init__(self, migrate: Container, env: Mapping[str, str], timeout: float, label: str) -> None:
        self.migrate, self.env, self.timeout, self.label = migrate, dict(env), timeout, label
        self.channel: Channel | None = None
        self.processes = 0  # how many stepper processes this database needed

    def _channel(self) -> Channel:
        if self.channel is None or not self.channel.alive:
            self.channel = Channel.start(
                self.migrate,
                ["python", f"{STEPPER_DIR}/stepper.py"],
                f"the migration stepper of {self.label}",
                env=self.env,
                workdir="/app",
            )
            self.processes += 1
        return self.channel

    def __call__(self, argv: Sequence[str]) -> ExecResult:
        started = time.monotonic()
        try:
            channel = self._channel()
        except SandboxError as exc:  # the workspace's Python cannot even start it
            return ExecResult(1, b"", str(exc).encode(), time.monotonic() - started)
        try:
            answer = channel.ask({"argv": list(argv), "timeout": self.timeout}, self.timeout + GRACE_S)
        except ChannelTimeout:
            return ExecResult(124, b"", b"", time.monotonic() - started, timed_out=True)
        except ChannelClosed:
            return self._crashed(channel.pid, time.monotonic() - started)
        timed_out = bool(answer.get("timed_out"))
        if timed_out:
            channel.alive = False  # its watchdog ended it
        return ExecResult(
            exit_code=int(answer.get("exit", 1)),
            stdout=str(answer.get("stdout", "")).encode(),
            stderr=str(answer.get("stderr", "")).encode(),
            seconds=float(answer.get("seconds", time.monotonic() - started)),
            timed_out=timed_out,
        )

    def _crashed(self, pid: int, seconds: float) -> ExecResult:
        """What the step printed before its process ended, from the files the stepper wrote it to,
        ending in a line that says so (with a fatal error's name and innermost frame, when the
        interpreter left them), so that the failure's gist names the crash."""
        outputs = []
        for name in ("out", "err"):
            done = self.migrate.exec(["tail", "-c", "100000", f"{STEP_OUTPUT}.{pid}.{name}"], timeout=30)
            outputs.append(done.out if done.ok else "")
        return ExecResult(1, outputs[0].encode(), (outputs[1] + crash_summary(outputs[1])).encode(), seconds)

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
