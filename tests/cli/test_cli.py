"""The `crucible` command as a user runs it, in a subprocess, against the real engine."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.records import SmokeRecord

CRUCIBLE = [sys.executable, "-m", "harness"]


def crucible(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 900
) -> Any:
    return subprocess.run(
        [*CRUCIBLE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_unknown_command_is_a_usage_error() -> None:
    result = crucible("frobnicate")
    assert result.returncode == 2 and "No such command" in result.stderr


def test_bad_setting_is_one_line_naming_the_field(tmp_path: Path) -> None:
    result = crucible("-C", str(tmp_path), "--set", "sandbox.cpus=-1", "doctor")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "sandbox.cpus" in lines[0] and "Traceback" not in result.stderr


def test_doctor_without_an_engine_says_how_to_start_one(tmp_path: Path) -> None:
    result = crucible("-C", str(tmp_path), "doctor", env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Docker engine not reachable" in lines[0] and "start it with" in lines[0]


def test_an_unreachable_remote_engine_says_what_to_check(tmp_path: Path) -> None:
    for url, check in (
        ("ssh://nobody@127.0.0.1:1", "`ssh -p 1 nobody@127.0.0.1 docker version` works without a prompt"),
        ("tcp://127.0.0.1:1", "the TLS files (tls_ca, tls_cert, tls_key)"),
    ):
        result = crucible("-C", str(tmp_path), "--set", f'sandbox.docker_host="{url}"', "doctor")
        assert result.returncode == 2, result.stdout + result.stderr
        # (the ssh client prints its own line first: the Docker SDK lets it write to our stderr)
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("crucible: error:") and url in last and check in last, result.stderr
        assert "Traceback" not in result.stderr


def remove_leftover_sandboxes(tmp_path: Path) -> None:
    """A container that an interrupted run left on the machine keeps its app image, and so every image
    under it: the cold tests start from a machine without Crucible's containers, as a user would after
    `crucible sandbox cleanup`."""
    cleaned = crucible("-C", str(tmp_path), "sandbox", "cleanup")
    assert cleaned.returncode == 0, cleaned.stderr[-2000:]


@pytest.mark.docker
@pytest.mark.cold_images
def test_images_build_from_nothing_then_reuse(docker_client: Any, tmp_path: Path) -> None:
    remove_leftover_sandboxes(tmp_path)
    pruned = crucible("-C", str(tmp_path), "images", "prune", "--all")
    assert pruned.returncode == 0, pruned.stderr[-2000:]
    assert not [i for i in docker_client.images.list() if any(t.startswith("crucible-") for t in i.tags)]
    started = time.monotonic()
    cold = crucible("-C", str(tmp_path), "images", "build", "--json")
    cold_s = time.monotonic() - started
    assert cold.returncode == 0, cold.stderr[-2000:]
    built = json.loads(cold.stdout)
    assert [r["role"] for r in built] == ["base", "runtime", "postgres", "workspace"]
    assert not any(r["reused"] for r in built)
    started = time.monotonic()
    warm = crucible("-C", str(tmp_path), "images", "build", "--json")
    warm_s = time.monotonic() - started
    assert warm.returncode == 0, warm.stderr[-2000:]
    again = json.loads(warm.stdout)
    assert all(r["reused"] for r in again) and [r["tag"] for r in again] == [r["tag"] for r in built]
    print(f"images build: cold {cold_s:.1f} s, warm {warm_s:.2f} s")


@pytest.mark.docker
@pytest.mark.cold_images
def test_images_prune_removes_app_images_no_container_uses(
    images: Any, docker_client: Any, tmp_path: Path
) -> None:
    repository = images.runtime.tag.split(":")[0].replace("crucible-runtime-", "crucible-app-")
    tags = [f"{repository}:test-prune-{n}-{os.getpid()}" for n in ("free", "used")]
    for tag in tags:  # two distinct images (an equal Dockerfile would give one image with two tags)
        dockerfile = f"FROM {images.runtime.image_id}\nLABEL crucible.test={tag.split(':')[1]}\n"
        docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    remove_leftover_sandboxes(tmp_path)
    holder = docker_client.containers.create(
        tags[1], ["true"], labels={"crucible.run": f"test-prune-{os.getpid()}"}
    )
    try:
        first = crucible("-C", str(tmp_path), "images", "prune")
        assert first.returncode == 0, first.stderr[-2000:]
        assert tags[0] in first.stdout and "kept 1 in use by containers" in first.stdout
        present = {t for i in docker_client.images.list() for t in i.tags}
        assert tags[0] not in present and tags[1] in present
        assert {r.tag for r in images.records()} <= present, "a pod image went with the app images"
    finally:
        holder.remove(force=True)
    second = crucible("-C", str(tmp_path), "images", "prune")
    assert second.returncode == 0 and tags[1] in second.stdout
    assert tags[1] not in {t for i in docker_client.images.list() for t in i.tags}


@pytest.mark.docker
def test_doctor_passes_with_engine_and_images(images: Any, tmp_path: Path) -> None:
    result = crucible("-C", str(tmp_path), "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("engine", "limits", "base image", "runtime image", "postgres image", "workspace image"):
        assert any(
            line.split()[1:2] == [name.split()[0]] and line.split()[0] == "ok"
            for line in result.stdout.splitlines()
        ), (name, result.stdout)


@pytest.mark.docker
def test_smoke_pod_runs_postgres_and_stores_a_record(images: Any, tmp_path: Path) -> None:
    result = crucible("-C", str(tmp_path), "smoke")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "100 rows round-tripped" in result.stdout
    latest = tmp_path / "reports" / "latest"
    record = SmokeRecord.model_validate_json((latest / "smoke.json").read_text())
    assert record.ok and record.postgres_version.startswith("15.") and record.rows_round_tripped == 100


VICTIM = """
import sys, time
from harness.sandbox import ContainerSpec
from harness.sandbox.docker_backend import DockerBackend
from harness.sandbox.engine import connect

run_id, holder, image = sys.argv[1:4]
client = connect()
pod = DockerBackend(client, holder).create_pod(run_id, "victim")
pod.add(ContainerSpec(name="app", image=image, command=["sleep", "600"]))
pod.add(ContainerSpec(name="tester", image=image))
client.volumes.create(labels={"crucible.run": run_id})
client.networks.create(f"crucible-{run_id}", internal=True, labels={"crucible.run": run_id})
print("READY", flush=True)
time.sleep(600)
"""


@pytest.mark.docker
def test_cleanup_after_the_orchestrator_is_killed(docker_client: Any, images: Any, run_id: str) -> None:
    victim = subprocess.Popen(
        [sys.executable, "-c", VICTIM, run_id, images.base.tag, images.runtime.tag],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert victim.stdout is not None
    line = victim.stdout.readline()
    assert line.strip() == "READY", victim.stderr.read() if victim.stderr else ""
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    label = {"label": [f"crucible.run={run_id}"]}

    def leftovers() -> tuple[int, int, int]:
        return (
            len(docker_client.containers.list(all=True, filters=label)),
            len(docker_client.networks.list(filters=label)),
            len(docker_client.volumes.list(filters=label)),
        )

    assert leftovers() == (3, 1, 1)  # holder, app, tester; the network; the volume
    result = crucible("sandbox", "cleanup", "--run", run_id)
    assert result.returncode == 0, result.stderr
    assert "3 containers, 1 networks, 1 volumes" in result.stdout
    assert leftovers() == (0, 0, 0)


def test_until_decided_needs_two_of_the_runs_variants(tmp_path: Path) -> None:
    missing = crucible("-C", str(tmp_path), "run", "--until-decided", "--baseline", "a")
    assert missing.returncode == 2 and "needs --baseline and --candidate" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    unknown = crucible(
        "run",
        "--until-decided",
        "--baseline",
        "backend-engineer-checklist",
        "--candidate",
        "nobody",
        "--variants",
        "agents/backend-engineer-checklist.md,agents/backend-engineer-terse.md",
        "--replay",
        cwd=Path(__file__).parents[2],
    )
    assert unknown.returncode == 2, unknown.stderr
    assert (
        "must be two of the run's variants" in unknown.stderr and "backend-engineer-terse" in unknown.stderr
    )
