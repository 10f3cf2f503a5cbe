"""Helpers shared by the tests that run `crucible` as a user would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness.records import SampleRecord

PROJECT = Path(__file__).parent.parent


def run_crucible(
    *args: str,
    reports: Path,
    timeout: float = 1800,
    keep_api_key: bool = False,
    env: dict[str, str] | None = None,
    project: Path = PROJECT,
) -> subprocess.CompletedProcess[str]:
    """`crucible -C <project> --set reports_dir=<reports> ARGS` in a subprocess (``env`` added to ours)."""
    env = {k: v for k, v in os.environ.items() if keep_api_key or k != "ANTHROPIC_API_KEY"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "harness", "-C", str(project), "--set", f'reports_dir="{reports}"', *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def start_run(
    reports: Path, *args: str, settings: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`crucible [SETTINGS] run ARGS` in its own process group (so that a kill reaches all of it).

    SIGINT is reset to its default in the child: a suite started in the background by a
    non-interactive shell inherits SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    environ = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"} | (env or {})
    command = [sys.executable, "-m", "harness", "-C", str(PROJECT), "--set", f'reports_dir="{reports}"']
    return subprocess.Popen(
        [*command, *settings, "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=environ,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def records(run: Path) -> dict[str, SampleRecord]:
    """The stored sample records of the run folder ``run``, by sample id."""
    return {
        p.parent.name: SampleRecord.model_validate_json(p.read_text())
        for p in run.glob("samples/*/record.json")
    }
