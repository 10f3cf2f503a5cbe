"""Sandboxes: pods of containers that run untrusted code. Backends register by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness._util.registry import Registry
from harness.config import CrucibleConfig
from harness.errors import ConfigError
from harness.sandbox.base import (
    Container,
    ContainerSpec,
    ContainerState,
    ExecResult,
    Limits,
    Pod,
    SandboxBackend,
    Stdio,
    Stream,
)

__all__ = [
    "BACKENDS",
    "Container",
    "ContainerSpec",
    "ContainerState",
    "ExecResult",
    "Limits",
    "Pod",
    "SandboxBackend",
    "Stdio",
    "Stream",
    "create_backend",
    "limits_from",
]


def limits_from(config: CrucibleConfig) -> Limits:
    s = config.sandbox
    return Limits(
        memory_mb=s.memory_mb,
        cpus=s.cpus,
        pids=s.pids,
        exec_timeout_s=s.exec_timeout_s,
        output_cap_bytes=s.output_cap_bytes,
    )


def _docker(config: CrucibleConfig, holder_image: str | None, client: Any | None) -> SandboxBackend:
    from harness.sandbox.docker_backend import DockerBackend
    from harness.sandbox.engine import connect

    if holder_image is None:
        raise ConfigError(
            "the docker backend needs a holder image", "build images with `crucible images build`"
        )
    return DockerBackend(
        client or connect(config.sandbox.docker_host),
        holder_image,
        limits_from(config),
        config.sandbox.pod_ttl_s,
    )


def _local(config: CrucibleConfig, holder_image: str | None, client: Any | None) -> SandboxBackend:
    from harness.sandbox.local_backend import LocalBackend

    return LocalBackend(limits_from(config))


BACKENDS: Registry[Callable[[CrucibleConfig, str | None, Any | None], SandboxBackend]] = Registry(
    "sandbox backend", "sandbox.backend"
)
BACKENDS.add("docker", _docker)
BACKENDS.add("local", _local)


def create_backend(
    config: CrucibleConfig,
    holder_image: str | None = None,
    client: Any | None = None,
    name: str | None = None,
) -> SandboxBackend:
    """The backend called ``name`` (default `sandbox.backend`). The docker backend runs pods of
    ``holder_image`` on ``client`` (default: the engine of `sandbox.docker_host`)."""
    return BACKENDS.get(name or config.sandbox.backend)(config, holder_image, client)
