"""Helpers shared by the tests that run `crucible` as a user would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from harness.config import load_config
from harness.images import ImageSet
from harness.pipeline.engine import Engine
from harness.records import ImageRecord, SampleRecord, SampleStatus
from harness.records.generation import AgentOutcome, Usage

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


def image(role: str, key: str = "k1") -> ImageRecord:
    return ImageRecord(
        role=role,
        tag=f"crucible-{role}:{key}",
        key=key,
        image_id="sha256:0",
        reused=True,
        seconds=0,
        how="reused",
    )


def offline_engine(project: Path, images: ImageSet | None = None, **agent: Any) -> Engine:
    """An engine record with made-up images and no engine behind it, for what needs only its keys."""
    config = load_config(project)
    config = config.model_copy(update={"agent": config.agent.model_copy(update=agent)})
    images = images or ImageSet(
        base=image("base"),
        runtime=image("runtime"),
        postgres=image("postgres"),
        workspace=image("workspace"),
        claude_code=image("claude-code"),
    )
    return Engine(config, client=None, images=images, backend=cast(Any, None))


def generated_record(
    run_id: str, sample_id: str, key: str = "g1", status: SampleStatus = SampleStatus.OK
) -> SampleRecord:
    outcome = AgentOutcome(
        model="m",
        stop="end_turn",
        turns=3,
        tool_calls=2,
        tool_errors=0,
        usage=Usage(input_tokens=10, output_tokens=5),
        dollars=0.5,
        seconds=40.0,
    )
    return SampleRecord(
        run_id=run_id,
        sample_id=sample_id,
        fixture_id="jwt-auth",
        variant="v",
        status=status,
        generation=outcome,
        generation_key=key,
        evaluation_key="e1",
        seconds={"generate": 40.0, "tests": 9.0},
    )


def suite_score(passed: int, total: int, cases: list[Any] | None = None) -> Any:
    """A hidden-test result of ``passed`` of ``total``."""
    from harness.records.tests import SuiteScore

    return SuiteScore(
        total=total,
        passed=passed,
        failed=total - passed,
        errors=0,
        skipped=0,
        pass_rate=passed / total,
        all_pass=passed == total,
        seconds=1.0,
        cases=cases or [],
    )
