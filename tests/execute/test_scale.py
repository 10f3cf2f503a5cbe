"""Throughput and scale-out against real engines: concurrent runs give the serial verdicts; a warm pod
is ready when taken; a second engine on a loopback TCP port with mutual TLS shares the samples; a local
Ray cluster (a head and a second node whose tasks use that second engine) runs them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import DockerUnavailable
from harness.records import SampleRecord, SampleStatus
from harness.sandbox.engine import connect
from harness.sandbox.labels import labelled_containers, remove_labelled
from tests.engines import SecondEngine, free_port, second_engine
from tests.helpers import records, run_crucible, start_run, wait_for
from tests.sshd import ssh_server

pytestmark = pytest.mark.docker
# 4 samples: 2 variants (one passes, one fails) x 2 epochs, enough for three concurrent slots, two engines
# and two Ray nodes to share the work; these tests compare verdicts, and benchmarks/ measures speed
VARIANTS = "agents/backend-engineer-checklist.md,agents/backend-engineer-terse.md"
GRID = ("--variants", VARIANTS, "--fixtures", "jwt-auth", "--epochs", "2", "--provider", "replay")
RAY = Path(sys.executable).parent / "ray"
HEAD_IP, NODE_IP = "127.0.0.3", "127.0.0.2"


def concurrency(level: int, warm: int) -> list[str]:
    return [
        "--set",
        f"run.generate_concurrency={level}",
        "--set",
        f"run.evaluate_concurrency={level}",
        "--set",
        f"run.warm_pods={warm}",
    ]


def verdicts(reports: Path) -> dict[str, tuple[Any, ...]]:
    out = {}
    for path in sorted((reports / "latest" / "samples").glob("*/record.json")):
        r = SampleRecord.model_validate_json(path.read_text())
        out[r.sample_id] = (
            r.status,
            r.tests.passed if r.tests else None,
            tuple(r.migrations.failing()) if r.migrations else None,
            tuple(r.security.failing()) if r.security else None,
        )
    return out


def engines_used(reports: Path) -> set[str]:
    paths = (reports / "latest" / "samples").glob("*/record.json")
    return {SampleRecord.model_validate_json(p.read_text()).engine for p in paths}


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory, images: Any) -> dict[str, tuple[Any, ...]]:
    """The verdicts of the grid run one sample at a time, without warm pods."""
    reports = tmp_path_factory.mktemp("serial")
    result = run_crucible(*concurrency(1, 0), "run", *GRID, reports=reports)
    assert result.returncode == 0, result.stderr[-2000:]
    found = verdicts(reports)
    assert len(found) == 4 and {v[0] for v in found.values()} == {
        SampleStatus.OK,
        SampleStatus.MODEL_FAILURE,
    }
    return found


def test_a_concurrent_run_with_warm_pods_gives_the_serial_verdicts(
    tmp_path: Path, serial: dict[str, tuple[Any, ...]]
) -> None:
    result = run_crucible(*concurrency(3, 2), "run", *GRID, reports=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert verdicts(tmp_path) == serial
    seconds = [
        SampleRecord.model_validate_json(p.read_text()).seconds
        for p in (tmp_path / "latest" / "samples").glob("*/record.json")
    ]
    assert all(s.get("postgres", 1.0) < 0.05 for s in seconds), "a sample waited for PostgreSQL to boot"


def test_a_warm_pod_is_ready_when_taken_and_serves_once(
    images: Any, docker_backend: Any, docker_client: Any
) -> None:
    from harness.sandbox.pool import PodPool

    run_id = f"test-pool-{os.getpid()}"
    pool = PodPool(docker_backend, images.postgres.tag, run_id, 2)
    try:
        first, second = pool.take(), pool.take()
        assert first.pod.pod_id != second.pod.pod_id
        for warm in (first, second):
            ready = warm.database.container.exec(["pg_isready", "-q", "-h", "127.0.0.1"], timeout=10)
            assert ready.exit_code == 0
            warm.pod.close()
    finally:
        pool.close()
    left = labelled_containers(docker_client, {"crucible.run": run_id})
    # the two replacements started by take() remove themselves once the pool is closed
    for container in left:
        with contextlib.suppress(Exception):  # the pool may be removing it right now
            docker_client.api.remove_container(container["Id"], force=True)


@pytest.fixture(scope="module")
def engine2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondEngine]:
    with second_engine(tmp_path_factory.mktemp("engine2")) as engine:
        yield engine


def test_the_second_engine_needs_its_client_certificate(engine2: SecondEngine) -> None:
    with pytest.raises(DockerUnavailable, match=engine2.url):
        connect(engine2.url, timeout=10)
    client = connect(engine2.url, timeout=10, tls=(engine2.ca, engine2.cert, engine2.key))
    assert client.info()["Name"]


def test_two_engines_share_the_samples_with_the_same_verdicts(
    tmp_path: Path, engine2: SecondEngine, serial: dict[str, tuple[Any, ...]]
) -> None:
    engines = f'sandbox.engines=[{{url="unix:///var/run/docker.sock"}}, {engine2.toml()}]'
    result = run_crucible("--set", engines, *concurrency(1, 1), "run", *GRID, reports=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert verdicts(tmp_path) == serial
    assert engines_used(tmp_path) == {"unix:///var/run/docker.sock", engine2.url}
    client = connect(engine2.url, timeout=10, tls=(engine2.ca, engine2.cert, engine2.key))
    run_id = (tmp_path / "latest").resolve().name
    assert labelled_containers(client, {"crucible.run": run_id}) == []


def test_claude_code_on_the_second_engine_reaches_the_host_gateway_through_a_relay(
    tmp_path: Path, engine2: SecondEngine
) -> None:
    """The second engine stands for one elsewhere (`gateway = "relay"`): no folder of this machine is
    mounted; a relay container in the pod, with no network and only the socket's volume in common with
    the workspace container, carries the CLI's requests over the engine's TLS API to the gateway here."""
    engines = f"sandbox.engines=[{engine2.toml(gateway='relay')}]"
    grid = ("--variants", "agents/backend-engineer.md", "--runtime", "claude-code", "--fixtures", "jwt-auth")
    started = int(time.time())
    result = run_crucible("--set", engines, "run", *grid, "--provider", "replay", reports=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    client = connect(engine2.url, timeout=10, tls=(engine2.ca, engine2.cert, engine2.key))
    window = {"since": started, "until": int(time.time()) + 1, "decode": True}
    created = list(client.events(**window, filters={"event": "create"}))
    relays = [e for e in created if e["Actor"]["Attributes"].get("crucible.role") == "gateway-relay"]
    volumes = sorted({e["Actor"]["ID"] for e in created if e["Type"] == "volume"})
    # one relay container, and one volume of the pod's own for the socket it shares with the workspace
    assert len(relays) == 1 and len(volumes) == 1 and volumes[0].endswith("-gateway"), created
    (path,) = (tmp_path / "latest" / "samples").glob("*/record.json")
    record = SampleRecord.model_validate_json(path.read_text())
    cassette = Path(__file__).parents[2] / "agents/cassettes/backend-engineer/jwt-auth/e1.claude-code.jsonl"
    recorded = json.loads(cassette.read_text().splitlines()[0])["workspace_digest"]
    assert record.engine == engine2.url and record.workspace_digest == recorded, record.reason
    assert record.generation is not None and record.generation.delegated and record.generation.turns > 2
    log = [json.loads(line) for line in (path.parent / "gateway.jsonl").read_text().splitlines()]
    assert {line["decision"] for line in log} == {"forwarded"}
    run_id = (tmp_path / "latest").resolve().name
    assert labelled_containers(client, {"crucible.run": run_id}) == []
    assert client.volumes.list(filters={"label": f"crucible.run={run_id}"}) == []


def test_an_ssh_engine_runs_samples_with_the_same_verdicts(
    tmp_path: Path, serial: dict[str, tuple[Any, ...]], docker_client: Any
) -> None:
    """This machine's engine again, but reached as ssh://root@127.0.0.1:PORT through a real sshd and
    the host's ssh client (key authentication, host key checked)."""
    with ssh_server(tmp_path / "ssh", free_port()) as server:
        path = {"PATH": f"{server.bin_dir}:{os.environ['PATH']}"}
        one = ("--variants", "agents/backend-engineer-terse.md", "--fixtures", "jwt-auth", "--epochs", "1")
        engines = f'sandbox.engines=[{{url="{server.url}"}}]'
        result = run_crucible(
            "--set", engines, "run", *one, "--provider", "replay", reports=tmp_path / "reports", env=path
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert verdicts(tmp_path / "reports") == {
        "backend-engineer-terse.jwt-auth.e1": serial["backend-engineer-terse.jwt-auth.e1"]
    }
    assert engines_used(tmp_path / "reports") == {server.url}
    run_id = (tmp_path / "reports" / "latest").resolve().name
    assert labelled_containers(docker_client, {"crucible.run": run_id}) == []


@pytest.fixture(scope="module")
def ray_cluster(engine2: SecondEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A head (tasks use this machine's engine) and a second node whose tasks use the second engine.

    Both on loopback: the head on 127.0.0.3, because Ray replaces 127.0.0.1 by the host's outward
    address, and the second node on 127.0.0.2."""
    port = free_port()
    temp = tmp_path_factory.mktemp("ray")
    common = ["--num-cpus", "1", "--resources", '{"crucible_slots": 1}', "--disable-usage-stats"]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "RAY_"))}
    subprocess.run(
        [
            str(RAY),
            "start",
            "--head",
            "--node-ip-address",
            HEAD_IP,
            "--port",
            str(port),
            "--include-dashboard",
            "false",
            "--temp-dir",
            str(temp),
            *common,
        ],
        check=True,
        capture_output=True,
        env=base_env,
        timeout=180,
    )
    worker_env = base_env | {
        "DOCKER_HOST": engine2.url,
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(engine2.ca.parent),
    }
    ports = [str(free_port()) for _ in range(6)]
    subprocess.run(
        [
            str(RAY),
            "start",
            "--address",
            f"{HEAD_IP}:{port}",
            "--node-ip-address",
            NODE_IP,
            "--node-manager-port",
            ports[0],
            "--object-manager-port",
            ports[1],
            "--metrics-export-port",
            ports[2],
            "--dashboard-agent-listen-port",
            ports[3],
            "--dashboard-agent-grpc-port",
            ports[4],
            "--runtime-env-agent-port",
            ports[5],
            "--min-worker-port",
            "21000",
            "--max-worker-port",
            "21999",
            *common,
        ],
        check=True,
        capture_output=True,
        env=worker_env,
        timeout=180,
    )
    # A second `ray start` on one host overwrites the session's cached node address, and a driver attaches
    # to the node named there: it must be the head, or losing the second node takes the driver with it.
    (temp / "session_latest" / "node_ip_address.json").write_text(json.dumps({"node_ip_address": HEAD_IP}))
    try:
        yield {"address": f"{HEAD_IP}:{port}", "env": worker_env}
    finally:
        subprocess.run([str(RAY), "stop", "--force"], capture_output=True, timeout=120, check=False)


def ray_settings(cluster: dict[str, Any]) -> list[str]:
    return ["--set", 'run.executor="ray"', "--set", f'run.ray_address="{cluster["address"]}"']


def test_a_ray_cluster_runs_the_samples_with_the_same_verdicts(
    tmp_path: Path, ray_cluster: dict[str, Any], engine2: SecondEngine, serial: dict[str, tuple[Any, ...]]
) -> None:
    result = run_crucible(*ray_settings(ray_cluster), "run", *GRID, reports=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert verdicts(tmp_path) == serial
    assert engines_used(tmp_path) == {"unix:///var/run/docker.sock", engine2.url}


def kill_ray_node(ip: str) -> int:
    """SIGKILL every process of the Ray node at ``ip`` (raylet, agents and the workers it started), as if
    its machine had gone; the node's Docker engine stays up. The number of processes killed."""
    processes = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (proc / "stat").read_text()
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                processes[int(proc.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), command)
    node = {pid for pid, (_, command) in processes.items() if ip in command and "ray" in command}
    node |= {pid for pid, (parent, _) in processes.items() if parent in node}
    for pid in node:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(node)


def test_a_lost_ray_node_costs_its_sample_one_more_attempt_on_another_node(
    tmp_path: Path,
    ray_cluster: dict[str, Any],
    engine2: SecondEngine,
    serial: dict[str, tuple[Any, ...]],
    docker_client: Any,
) -> None:
    """Kills the second node: it runs after the other tests that use the cluster."""
    client2 = connect(engine2.url, timeout=10, tls=(engine2.ca, engine2.cert, engine2.key))
    process = start_run(tmp_path, *GRID, settings=tuple(ray_settings(ray_cluster)))
    lost: list[str] = []

    def evaluating_on_the_second_engine() -> bool:
        assert process.poll() is None, process.communicate()[1][-3000:]
        runs = list((tmp_path / "runs").glob("*")) if (tmp_path / "runs").is_dir() else []
        for run in runs:
            pods = labelled_containers(client2, {"crucible.run": run.name, "crucible.role": "tester"})
            lost.extend(c["Labels"]["crucible.sample"] for c in pods)
        return bool(lost)

    wait_for(evaluating_on_the_second_engine, "a sample under test on the second node", timeout=600)
    assert kill_ray_node(NODE_IP) > 0
    _, stderr = process.communicate(timeout=1200)
    assert process.returncode == 0, stderr[-3000:]
    assert verdicts(tmp_path) == serial
    run_id = (tmp_path / "latest").resolve().name
    victim = records(tmp_path / "latest")[lost[0]]
    assert victim.attempts >= 2 and victim.engine == "unix:///var/run/docker.sock", victim
    assert victim.retries and "ray" in victim.retries[0], victim.retries
    # the lost node's pods outlive it on its engine (until their holder's time limit); the other
    # engine has nothing left of the run
    assert labelled_containers(docker_client, {"crucible.run": run_id}) == []
    remove_labelled(client2, {"crucible.run": run_id})
