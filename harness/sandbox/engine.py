"""Connecting to the Docker engine, with an error that says what to do when it is not there."""

from __future__ import annotations

import os
import time
from typing import Any

from harness.errors import DockerUnavailable

START_HINT = "start it with `sudo scripts/start-docker.sh` (installs docker.io and runs dockerd when missing)"


def engine_url(docker_host: str | None = None) -> str:
    return docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def connect(docker_host: str | None = None, timeout: float = 60.0) -> Any:
    """A ``docker.DockerClient`` that has answered a ping, or :class:`DockerUnavailable`."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:  # pragma: no cover - docker is a hard dependency
        raise DockerUnavailable("the `docker` Python package is missing", "pip install -e .") from exc
    url = engine_url(docker_host)
    try:
        client = docker.DockerClient(base_url=url, timeout=int(timeout))
        client.ping()
    except (DockerException, OSError) as exc:
        raise DockerUnavailable(f"Docker engine not reachable at {url}", START_HINT) from exc
    return client


def wait_until_up(client: Any, timeout: float = 120.0) -> bool:
    """Whether the engine answers a ping within ``timeout`` (polled with backoff): used before an
    infra failure is retried, so that a restarting engine does not fail the retry too."""
    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        try:
            if client.ping():
                return True
        except Exception:  # noqa: S110 - any failure means "not up yet"
            pass
        if time.monotonic() + delay > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
