"""The infrastructure one sample runs on: a Docker engine with Crucible's images on it and a sandbox
backend, optionally a pool of warm eval pods; and the one retry loop for infrastructure failures."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

from harness.config import CrucibleConfig, EngineSettings
from harness.errors import ConfigError, InfraError
from harness.images import ImageSet, ensure_images
from harness.images.claude_code import ensure_claude_code
from harness.sandbox import SandboxBackend, create_backend
from harness.sandbox.engine import connect, engine_url, wait_until_up
from harness.sandbox.pool import PodPool

INFRA_ATTEMPTS = 2  # an infra failure is retried once
ENGINE_WAIT_S = 120.0  # before that retry, how long the engine may take to come back
T = TypeVar("T")
GatewayRoute = Literal["mount", "relay"]


def on_this_machine(url: str) -> bool:
    """Whether an engine URL reaches this machine's engine ("" is the default one), so that a folder
    of this machine can be bind-mounted into its containers (the gateway's socket)."""
    if not url or url.startswith("unix://"):
        return True
    host = urlsplit(url).hostname or ""
    return host == "localhost" or host.startswith("127.")


def gateway_route(url: str, choice: str) -> GatewayRoute:
    """How Claude Code in this engine's containers reaches the gateway: `auto` mounts the socket's
    folder when the engine is on this machine and relays it otherwise."""
    if choice == "auto":
        return "mount" if on_this_machine(url) else "relay"
    if choice == "mount" and not on_this_machine(url):
        raise ConfigError(
            f'sandbox.engines: {url} is not on this machine, so gateway = "mount" cannot work',
            'set gateway = "relay" (or "auto") for it',
        )
    return "relay" if choice == "relay" else "mount"


@dataclass(frozen=True)
class Engine:
    config: CrucibleConfig
    client: Any  # docker.DockerClient (the SDK is untyped)
    images: ImageSet
    backend: SandboxBackend
    pods: PodPool | None = None  # warm eval pods, when the caller keeps a pool
    url: str = ""  # the engine's URL as configured ("" for the default engine)
    gateway: GatewayRoute = "mount"  # how the claude-code runtime's containers reach the gateway

    @classmethod
    def start(
        cls,
        config: CrucibleConfig,
        progress: Callable[[str], None] = lambda _l: None,
        settings: EngineSettings | None = None,
    ) -> Engine:
        """The engine at ``settings`` (default: `sandbox.docker_host`), with every image ready on it."""
        if settings is None:
            client = connect(config.sandbox.docker_host)
            route = gateway_route(engine_url(config.sandbox.docker_host), "auto")
        else:
            route = gateway_route(settings.url, settings.gateway)
            files = None
            if settings.tls_ca and settings.tls_cert and settings.tls_key:
                files = (settings.tls_ca, settings.tls_cert, settings.tls_key)
            client = connect(settings.url, tls=files)
        images = ensure_images(client, config.images, progress)
        if "claude-code" in config.agent.runtimes():
            version = config.agent.claude_code.version
            layer = ensure_claude_code(client, config.images, version, images.workspace.image_id, progress)
            images = replace(images, claude_code=layer)
        backend = create_backend(config, images.base.tag, client, name="docker")
        return cls(config, client, images, backend, gateway=route)

    @classmethod
    def start_all(
        cls, config: CrucibleConfig, progress: Callable[[str], None] = lambda _l: None
    ) -> list[Engine]:
        """Every configured engine (`sandbox.engines`), or the one engine of `sandbox.docker_host`."""
        if not config.sandbox.engines:
            return [cls.start(config, progress)]
        engines = []
        for settings in config.sandbox.engines:

            def tagged(line: str, url: str = settings.url) -> None:
                progress(f"{url}: {line}")

            engines.append(replace(cls.start(config, tagged, settings), url=settings.url))
        return engines


def recover(engine: Engine, run_id: str, sample_id: str) -> None:
    """Before an infra failure is retried: wait for the engine, then remove what the failed attempt
    left behind (its pods could not be removed while the engine was away)."""
    if wait_until_up(engine.client, ENGINE_WAIT_S):
        with contextlib.suppress(Exception):
            engine.backend.cleanup(run_id, sample_id)


@dataclass
class Attempts(Generic[T]):
    """What :func:`retry_infra` got: the value, or the last infrastructure error; and why each earlier
    attempt was abandoned, oldest first."""

    value: T | None = None
    error: InfraError | None = None
    attempts: int = 0
    retries: list[str] = field(default_factory=list)


def retry_infra(engine: Engine, run_id: str, scope: str, work: Callable[[int], T]) -> Attempts[T]:
    """Call ``work(attempt)`` until it returns, at most INFRA_ATTEMPTS times; after an InfraError the
    engine gets time to come back and what the attempt left under ``scope`` (a sample id) is removed."""
    tried: Attempts[T] = Attempts()
    for attempt in range(1, INFRA_ATTEMPTS + 1):
        tried.attempts = attempt
        try:
            tried.value, tried.error = work(attempt), None
            return tried
        except InfraError as exc:
            tried.error = exc
            if attempt < INFRA_ATTEMPTS:
                tried.retries.append(f"attempt {attempt}: {exc.one_line()}")
                recover(engine, run_id, scope)
    return tried
