"""Shared fixtures. Docker tests run against the real engine; under CI=true they may never skip."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from harness.config import CrucibleConfig, load_config
from harness.errors import DockerUnavailable
from harness.sandbox.labels import labelled_containers

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SESSION = uuid.uuid4().hex[:6]  # run ids of this session start with test-<SESSION>-


def new_run_id() -> str:
    return f"test-{SESSION}-{uuid.uuid4().hex[:8]}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The cold image build removes and rebuilds every image; it must run before anything uses them.
    # The engine restart disturbs every pod on the machine: it runs last.
    def order(item: pytest.Item) -> int:
        if item.get_closest_marker("cold_images"):
            return 0
        return 2 if item.get_closest_marker("engine_restart") else 1

    items.sort(key=order)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cold_images: removes and rebuilds Crucible's images (runs first)")
    config.addinivalue_line("markers", "engine_restart: restarts the Docker engine (runs last)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and item.get_closest_marker("docker"):
        report.outcome = "failed"
        report.longrepr = f"Docker test {item.nodeid} skipped under CI=true: that is a failure"


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory) -> CrucibleConfig:
    root = tmp_path_factory.mktemp("project")
    return load_config(root).model_copy(update={"reports_dir": root / "reports"})


@pytest.fixture(scope="session")
def docker_client(config: CrucibleConfig) -> Any:
    from harness.sandbox.engine import connect

    try:
        return connect(config.sandbox.docker_host)
    except DockerUnavailable as exc:
        message = f"Docker engine needed: {exc.one_line()}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def images(docker_client: Any, config: CrucibleConfig) -> Any:
    from harness.images import ensure_images

    return ensure_images(docker_client, config.images, lambda _line: None)


@pytest.fixture
def run_id() -> str:
    return new_run_id()


@pytest.fixture(scope="session")
def docker_backend(docker_client: Any, images: Any) -> Any:
    from harness.sandbox.base import Limits
    from harness.sandbox.docker_backend import DockerBackend

    return DockerBackend(docker_client, images.base.tag, Limits(exec_timeout_s=60), ttl_s=900)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Nothing may outlive the suite: under CI any container with a crucible.run label fails the
    session (it is listed, then removed); elsewhere only this session's leftovers are removed."""
    if not session.items or not any(item.get_closest_marker("docker") for item in session.items):
        return
    try:
        from harness.sandbox.engine import connect

        client = connect(timeout=10)
    except DockerUnavailable:
        return
    leftovers = [
        c
        for c in labelled_containers(client, {"crucible.run": None})
        if IN_CI or str(c["Labels"].get("crucible.run", "")).startswith(f"test-{SESSION}-")
    ]
    for container in leftovers:
        with contextlib.suppress(Exception):  # removed meanwhile
            client.api.remove_container(container["Id"], force=True)
    if leftovers and IN_CI:
        names = ", ".join(sorted(c["Names"][0].lstrip("/") for c in leftovers))
        print(f"\nFAILED: {len(leftovers)} containers outlived the test suite: {names}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
