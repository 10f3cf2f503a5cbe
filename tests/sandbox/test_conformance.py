"""One behaviour, two backends: every test here runs on `docker` (real engine) and on `local`."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness._util.archive import tar_files, untar_files
from harness.errors import SandboxError
from harness.sandbox import ContainerSpec, Limits, SandboxBackend
from harness.sandbox.local_backend import LocalBackend
from tests.conftest import new_run_id


@pytest.fixture(params=["docker", "local"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> SandboxBackend:
    if request.param == "docker":
        request.applymarker(pytest.mark.docker)
        return request.getfixturevalue("docker_backend")  # type: ignore[no-any-return]
    return LocalBackend(Limits(exec_timeout_s=60), base_dir=tmp_path / "local")


@pytest.fixture
def image(request: pytest.FixtureRequest, backend: SandboxBackend) -> str:
    return request.getfixturevalue("images").runtime.tag if backend.name == "docker" else "host"  # type: ignore[no-any-return]


@pytest.fixture
def pod(backend: SandboxBackend, run_id: str) -> Iterator[Any]:
    created = backend.create_pod(run_id, "conformance")
    yield created
    created.close()


def test_exec_captures_stdout_stderr_and_exit_code(pod: Any, image: str) -> None:
    box = pod.add(ContainerSpec(name="box", image=image))
    result = box.exec("echo out; echo err >&2; exit 3")
    assert (result.exit_code, result.out, result.err) == (3, "out\n", "err\n")
    assert not result.ok and not result.timed_out and not result.truncated
    listed = box.exec(["printf", "%s|", "a b", "c"])
    assert listed.ok and listed.out == "a b|c|"


def test_env_and_workdir(pod: Any, image: str) -> None:
    box = pod.add(ContainerSpec(name="box", image=image, env={"FROM_SPEC": "1"}, workdir="/work"))
    result = box.exec('echo "$FROM_SPEC $FROM_EXEC"; basename "$(pwd)"', env={"FROM_EXEC": "2"})
    assert result.out.split("\n")[:2] == ["1 2", "work"]


def test_timeout_kills_the_command_and_its_children(pod: Any, image: str) -> None:
    box = pod.add(ContainerSpec(name="box", image=image))
    started = time.monotonic()
    result = box.exec("sleep 60 & sleep 60; echo never", timeout=1.5)
    assert result.timed_out and not result.ok
    assert "never" not in result.out
    assert time.monotonic() - started < 20
    assert "timeout" in result.describe()
    assert box.exec("echo alive").out == "alive\n"


def test_output_beyond_the_cap_is_truncated_and_marked(pod: Any, image: str) -> None:
    box = pod.add(ContainerSpec(name="box", image=image))
    result = box.exec("head -c 3000000 /dev/zero; head -c 50 /dev/zero >&2", output_cap=100_000)
    assert result.ok and result.truncated
    assert len(result.stdout) == 100_000 and len(result.stderr) == 50
    small = box.exec("echo fits", output_cap=100_000)
    assert not small.truncated


def test_archive_round_trip(pod: Any, image: str) -> None:
    box = pod.add(ContainerSpec(name="box", image=image))
    files = {"app/main.py": "print('hi')\n", "app/pkg/data.bin": bytes(range(256)), ".env": "A=1\n"}
    box.put_archive("/work/project", tar_files(files, uid=1000))
    listed = box.exec("cd project && find . -type f | sort && cat .env")
    assert listed.out == "./.env\n./app/main.py\n./app/pkg/data.bin\nA=1\n"
    back = untar_files(box.get_archive("/work/project"))
    assert back == {f"project/{name}": (v.encode() if isinstance(v, str) else v) for name, v in files.items()}


def test_archive_members_cannot_escape_their_destination(pod: Any, image: str) -> None:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    box = pod.add(ContainerSpec(name="box", image=image))
    with pytest.raises(SandboxError):
        box.put_archive("/work/in", buffer.getvalue())


def test_missing_path_is_a_sandbox_error(pod: Any, image: str) -> None:
    box = pod.add(ContainerSpec(name="box", image=image))
    with pytest.raises(SandboxError, match="does not exist"):
        box.get_archive("/work/nothing-here")


def test_main_process_logs_and_exit_state(pod: Any, image: str) -> None:
    box = pod.add(
        ContainerSpec(name="svc", image=image, command=["sh", "-c", "echo started; echo oops >&2; exit 3"])
    )
    deadline = time.monotonic() + 20
    while box.state().running and time.monotonic() < deadline:
        time.sleep(0.1)
    state = box.state()
    assert not state.running and state.exit_code == 3
    logs = box.logs()
    assert "started" in logs and "oops" in logs


def test_duplicate_and_unknown_container_names(pod: Any, image: str) -> None:
    pod.add(ContainerSpec(name="box", image=image))
    with pytest.raises(SandboxError, match="already has"):
        pod.add(ContainerSpec(name="box", image=image))
    with pytest.raises(SandboxError, match="no container"):
        pod.container("ghost")
    assert pod.container("box").name == "box"


def test_close_is_idempotent_and_cleanup_finds_unclosed_pods(backend: SandboxBackend, image: str) -> None:

    run = new_run_id()
    closed = backend.create_pod(run, "a")
    closed.add(ContainerSpec(name="box", image=image, command=["sleep", "300"]))
    closed.close()
    closed.close()
    forgotten = backend.create_pod(run, "b")
    forgotten.add(ContainerSpec(name="box", image=image, command=["sleep", "300"]))
    counts = backend.cleanup(run)
    assert sum(counts.values()) >= 1
    assert sum(backend.cleanup(run).values()) == 0


def test_files_are_in_place_before_the_command_starts(pod: Any, image: str) -> None:
    archive = tar_files({"hello.txt": "before start\n"})
    svc = pod.add(
        ContainerSpec(
            name="svc", image=image, command=["sh", "-c", "cat in/hello.txt"], files={"/work/in": archive}
        )
    )
    deadline = time.monotonic() + 20
    while svc.state().running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert svc.state().exit_code == 0
    assert svc.logs() == "before start\n"


def test_spawned_process_streams_both_ways_and_ends_with_its_stdin(pod: Any, image: str) -> None:
    box = pod.add(ContainerSpec(name="box", image=image))
    # A marker of its own: the local backend's `ps` sees every process on the host, containers' included.
    marker = f"spawned-{secrets.token_hex(6)}"
    loop = f': {marker}; while read -r line; do echo "got $line"; done; echo bye >&2'
    stream = box.spawn(["sh", "-c", loop])
    stream.write(b"one\n")
    assert stream.read(30) == b"got one\n"
    with pytest.raises(TimeoutError):
        stream.read(0.5)  # nothing asked, nothing said
    stream.write(b"two\n")
    assert stream.read(30) == b"got two\n"
    stream.close()
    deadline = time.monotonic() + 20  # the loop ends once its stdin is closed
    while box.exec(f"ps -eo args | grep -c '[{marker[0]}]{marker[1:]}'").out.strip() != "0":
        assert time.monotonic() < deadline, "the spawned process outlived its closed stdin"
        time.sleep(0.2)
