"""Faults during a run, against the real engine: kill -9 then resume, Ctrl-C, a full disk, a model
provider that is down, and the Docker engine restarting in the middle of a sample."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.records import RunManifest, RunStatus, SampleRecord, SampleStatus
from harness.sandbox.labels import labelled_containers
from tests.agents.fake_anthropic import FakeServer
from tests.helpers import PROJECT, records, run_crucible, start_run, wait_for

pytestmark = pytest.mark.docker
CHECKLIST = "agents/backend-engineer-checklist.md"


def the_run(reports: Path) -> Path:
    (run,) = (reports / "runs").iterdir()
    return run


def containers_of(docker_client: Any, run_id: str) -> list[dict[str, Any]]:
    return labelled_containers(docker_client, {"crucible.run": run_id})


def test_kill_9_then_resume_redoes_nothing_and_leaves_nothing(
    tmp_path: Path, images: Any, docker_client: Any
) -> None:
    grid = (
        "--variants",
        CHECKLIST,
        "--fixtures",
        "jwt-auth",
        "--epochs",
        "2",
        "--provider",
        "replay",
    )
    serial = (
        "--set",
        "run.generate_concurrency=1",
        "--set",
        "run.evaluate_concurrency=1",
        "--set",
        "run.warm_pods=0",
    )
    process = start_run(tmp_path, *grid, settings=serial)  # one sample at a time: the kill lands mid-run
    wait_for(lambda: (tmp_path / "runs").is_dir() and any((tmp_path / "runs").iterdir()), "the run to start")
    run = the_run(tmp_path)
    # one at a time, but in either order: whichever finishes first, the other is then in flight
    wait_for(lambda: any(run.glob("samples/*/record.json")), "the first sample to finish")
    first = next(run.glob("samples/*/record.json"))
    wait_for(lambda: bool(containers_of(docker_client, run.name)), "the second sample's pod")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    before = {p: p.read_bytes() for p in run.glob("samples/*/record.json")}
    assert first in before and len(before) < 2, "the kill came too late to leave anything undone"
    again = run_crucible("run", "--resume", run.name, reports=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    # its output went to a pipe: a line for every image and for every sample's start and end
    stamped = [line for line in again.stderr.splitlines() if re.match(r"\[\s*\d+s\] \w+: ", line)]
    said = [line.split("] ", 1)[1] for line in stamped]
    # never silent for long: within each step (images, run), no two lines more than 25 s apart
    for step in ("images", "run"):
        seconds = [
            int(line[1:].split("s]", 1)[0])
            for line in stamped
            if line.split("] ", 1)[1].startswith(f"{step}: ")
        ]
        assert seconds and max(b - a for a, b in zip([0, *seconds], seconds, strict=False)) <= 25, (
            again.stderr
        )
    for role in ("base", "runtime", "postgres", "workspace"):
        assert any(line.startswith(f"images: {role} image reused in ") for line in said), again.stderr
    assert any(
        line.startswith("run: backend-engineer-checklist.jwt-auth.e") and line.endswith(" started")
        for line in said
    )
    assert any(
        line.startswith("run: backend-engineer-checklist.jwt-auth.e1 done: ok, tests ") for line in said
    )
    assert any(
        line.startswith("run: backend-engineer-checklist.jwt-auth.e2 done: ok, tests ") for line in said
    )
    found = records(run)
    assert sorted(found) == [f"backend-engineer-checklist.jwt-auth.e{e}" for e in (1, 2)]
    assert all(r.status is SampleStatus.OK for r in found.values()), {n: r.reason for n, r in found.items()}
    assert all(p.read_bytes() == data for p, data in before.items()), "a finished sample was redone"
    assert len(list((run / "samples").iterdir())) == 2 and not list(run.rglob("*.tmp"))
    assert RunManifest.model_validate_json((run / "run.json").read_text()).status is RunStatus.COMPLETE
    assert containers_of(docker_client, run.name) == []


def test_ctrl_c_stops_the_samples_in_flight_and_marks_the_run_resumable(
    tmp_path: Path, images: Any, docker_client: Any
) -> None:
    process = start_run(tmp_path, "--variants", CHECKLIST, "--fixtures", "jwt-auth", "--provider", "replay")
    wait_for(lambda: (tmp_path / "runs").is_dir() and any((tmp_path / "runs").iterdir()), "the run to start")
    run = the_run(tmp_path)
    wait_for(lambda: bool(containers_of(docker_client, run.name)), "a pod of the sample")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert f"crucible run --resume {run.name}" in stderr
    assert RunManifest.model_validate_json((run / "run.json").read_text()).status is RunStatus.INTERRUPTED
    assert containers_of(docker_client, run.name) == []
    again = run_crucible("run", "--resume", run.name, reports=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    (record,) = records(run).values()
    assert record.status is SampleStatus.OK


def test_a_provider_down_for_the_whole_run_is_reported_once(
    tmp_path: Path, images: Any, docker_client: Any
) -> None:
    with FakeServer([]).running() as api:  # answers every request with 500
        result = run_crucible(
            "--set",
            f'agent.base_url="{api.url}"',
            "--set",
            "agent.max_retries=0",
            "--set",
            "run.generate_concurrency=1",
            "run",
            "--provider",
            "anthropic",
            "--fixtures",
            "jwt-auth,order-management",
            reports=tmp_path,
            env={"ANTHROPIC_API_KEY": "sk-ant-fake-key-for-the-outage-test"},
        )
    assert result.returncode == 0, result.stderr[-2000:]
    found = records(the_run(tmp_path))
    assert len(found) == 6 and all(r.status is SampleStatus.INFRA_FAILURE for r in found.values())
    assert sum("not attempted: generation failed 3 times in a row" in r.reason for r in found.values()) == 3
    assert result.stderr.count("generation failed for every sample") == 1
    assert len(api.requests) == 6  # three samples, each tried twice; the other three never call the API


def test_a_full_disk_is_one_clear_error_and_no_half_record(
    tmp_path: Path, images: Any, docker_client: Any
) -> None:
    reports = tmp_path / "small"
    reports.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(reports)], check=True)
    try:
        (reports / "filler").write_bytes(b"\0" * (256 * 1024 - 48 * 1024))
        workspace = PROJECT / "fixtures" / "jwt-auth" / "reference"
        result = run_crucible("score", "--only", "security", str(workspace), reports=reports)
        assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "No space left on device" in lines[0] and "free disk space" in lines[0]
        assert not list(reports.rglob("*.tmp")) and not list(reports.rglob(".*.tmp"))
        for record in reports.rglob("record.json"):
            SampleRecord.model_validate_json(record.read_text())  # whole, or not there at all
        run_id = next((reports / "runs").iterdir()).name
        assert containers_of(docker_client, run_id) == []
    finally:
        subprocess.run(["umount", str(reports)], check=True)


def restart_engine() -> None:
    """Stop dockerd (its containers die with it) and start it again the way CI started it."""
    pid = int(subprocess.check_output(["pgrep", "-o", "-x", "dockerd"]).split()[0])
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), "dockerd to stop", timeout=90)
    subprocess.run(["bash", str(PROJECT / "scripts" / "start-docker.sh")], check=True, timeout=120)


@pytest.mark.engine_restart
def test_an_engine_restart_mid_sample_is_retried_and_the_run_completes(
    tmp_path: Path, images: Any, docker_client: Any
) -> None:
    grid = ("--variants", CHECKLIST, "--fixtures", "jwt-auth", "--epochs", "2", "--provider", "replay")
    process = start_run(tmp_path, *grid)
    wait_for(lambda: (tmp_path / "runs").is_dir() and any((tmp_path / "runs").iterdir()), "the run to start")
    run = the_run(tmp_path)

    def evaluating() -> bool:
        pods = containers_of(docker_client, run.name)
        return any(c["Labels"].get("crucible.role") == "tester" for c in pods)

    wait_for(evaluating, "the first sample's eval pod")
    restart_engine()
    _, stderr = process.communicate(timeout=1200)
    assert process.returncode == 0, stderr[-3000:]
    found = records(run)
    assert len(found) == 2 and all(r.status is SampleStatus.OK for r in found.values()), {
        n: r.reason for n, r in found.items()
    }
    retried = [r for r in found.values() if r.attempts == 2]
    assert retried, "no sample was retried after the restart"
    assert all(len(r.retries) == 1 and "attempt 1: " in r.retries[0] for r in retried), retried
    assert containers_of(docker_client, run.name) == []
