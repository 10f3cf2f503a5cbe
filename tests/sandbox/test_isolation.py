"""What the Docker pods promise, proved against the real engine. Traffic goes to loopback only."""

from __future__ import annotations

import json
import socket
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from harness._util.archive import tar_files
from harness.sandbox import ContainerSpec, Limits

pytestmark = pytest.mark.docker
TESTER_PYTHON = "/opt/crucible/tester/bin/python"


@pytest.fixture
def pod(docker_backend: Any, run_id: str) -> Iterator[Any]:
    created = docker_backend.create_pod(run_id, "isolation")
    yield created
    created.close()


def box(pod: Any, images: Any, name: str = "box", **limits: Any) -> Any:
    spec = ContainerSpec(
        name=name, image=images.runtime.tag, user="sandbox", limits=Limits(**limits) if limits else None
    )
    return pod.add(spec)


def test_pod_has_only_loopback_and_no_route(pod: Any, images: Any) -> None:
    b = box(pod, images)
    devices = b.exec("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '").out.split()
    assert devices == ["lo"]
    routes = b.exec("tail -n +2 /proc/net/route").out.strip()
    assert routes == ""
    v6 = b.exec("cat /proc/net/ipv6_route").out.split("\n")
    assert all(line.split()[-1] == "lo" for line in v6 if line.strip())


def test_name_resolution_fails(pod: Any, images: Any) -> None:
    b = box(pod, images)
    script = (
        "import socket\n"
        "try:\n"
        "    socket.getaddrinfo('example.com', 80)\n"
        "    print('resolved')\n"
        "except OSError as exc:\n"
        "    print('failed', type(exc).__name__)\n"
    )
    result = b.exec([TESTER_PYTHON, "-c", script], timeout=30)
    assert result.out.startswith("failed"), result.out + result.err


def test_host_loopback_server_is_unreachable_from_the_pod(pod: Any, images: Any) -> None:
    accepted: list[Any] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept())
            except TimeoutError:
                continue

    worker = threading.Thread(target=serve, daemon=True)
    worker.start()
    try:
        # the host itself can reach it (the server works) ...
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        # ... the pod cannot: its 127.0.0.1 is its own loopback
        script = (
            "import socket, sys\n"
            f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    print('connected')\n"
            "except OSError as exc:\n    print('refused', exc.errno)\n"
        )
        result = box(pod, images).exec([TESTER_PYTHON, "-c", script], timeout=30)
    finally:
        stop.set()
        worker.join(5)
        server.close()
    assert result.out.startswith("refused"), result.out + result.err
    assert len(accepted) == 1  # only the host's own check connection


def test_fork_bomb_is_stopped_by_the_pids_limit(pod: Any, images: Any) -> None:
    b = box(pod, images, pids=48, exec_timeout_s=30)
    counter = (
        "import os, time, errno\n"
        "n = 0\n"
        "while True:\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError as exc:\n"
        "        print(n, errno.errorcode[exc.errno], flush=True); break\n"
        "    if pid == 0:\n"
        "        time.sleep(30); os._exit(0)\n"
        "    n += 1\n"
    )
    result = b.exec([TESTER_PYTHON, "-c", counter], timeout=20)
    forked, code = result.out.split()[:2]
    assert code == "EAGAIN" and 0 < int(forked) < 48
    bomb = b.exec("bomb() { bomb | bomb & }; bomb", timeout=5)
    assert bomb.timed_out or bomb.exit_code != 0
    # the host is untouched and, once the bomb's group is gone, the container works again
    for _ in range(50):
        after = b.exec("echo alive", timeout=10)
        if after.ok:
            break
    assert after.out == "alive\n"


def test_memory_hog_is_killed_and_reported(pod: Any, images: Any) -> None:
    b = box(pod, images, memory_mb=128)
    hog = "x = bytearray(512 * 1024 * 1024)\nfor i in range(0, len(x), 4096): x[i] = 1\nprint('survived')"
    result = b.exec([TESTER_PYTHON, "-c", hog], timeout=60)
    assert result.oom_killed and result.exit_code == 137 and not result.timed_out
    assert "survived" not in result.out
    assert "memory" in result.describe()
    fine = b.exec([TESTER_PYTHON, "-c", "x = bytearray(16 * 1024 * 1024); print('ok')"])
    assert fine.ok and not fine.oom_killed


def test_exec_past_its_timeout_is_killed_and_reported(pod: Any, images: Any) -> None:
    result = box(pod, images).exec("sleep 120", timeout=2)
    assert result.timed_out and 1.9 < result.seconds < 30
    assert "timeout" in result.describe()


def test_containers_cannot_read_each_others_files(pod: Any, images: Any) -> None:
    app = pod.add(
        ContainerSpec(name="app", image=images.runtime.tag, user="sandbox", command=["sleep", "7777"])
    )
    tester = pod.add(
        ContainerSpec(name="tester", image=images.runtime.tag, user="sandbox", command=["sleep", "8888"])
    )
    app.put_archive("/work", tar_files({"app-secret.txt": "APP-SECRET-41"}, uid=1000))
    tester.put_archive("/work", tar_files({"hidden_test.py": "TESTER-SECRET-42"}, uid=1000))
    probe = textwrap.dedent(
        """
        import os, json
        found = []
        for top in ["/work", "/tmp", "/home", "/opt", "/root"]:
            for root, dirs, files in os.walk(top):
                for name in files:
                    path = os.path.join(root, name)
                    try:
                        with open(path, "rb") as handle:
                            if SECRET in handle.read(65536):
                                found.append(path)
                    except OSError:
                        pass
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        cmdlines = []
        for pid in pids:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    cmdlines.append(handle.read().decode(errors="replace"))
            except OSError:
                pass
        print(json.dumps({"found": found, "cmdlines": cmdlines}))
        """
    )
    seen_by_tester = json.loads(tester.exec([TESTER_PYTHON, "-c", "SECRET=b'APP-SECRET-41'\n" + probe]).out)
    seen_by_app = json.loads(app.exec([TESTER_PYTHON, "-c", "SECRET=b'TESTER-SECRET-42'\n" + probe]).out)
    assert seen_by_tester["found"] == [] and seen_by_app["found"] == []
    assert not any("7777" in c for c in seen_by_tester["cmdlines"])
    assert not any("8888" in c for c in seen_by_app["cmdlines"])
    # each still sees its own file and process, so the probe itself works
    own = json.loads(app.exec([TESTER_PYTHON, "-c", "SECRET=b'APP-SECRET-41'\n" + probe]).out)
    assert own["found"] == ["/work/app-secret.txt"] and any("7777" in c for c in own["cmdlines"])
