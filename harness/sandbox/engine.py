"""Connecting to the Docker engine, with an error that says what to do when it is not there."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.errors import DockerUnavailable

TLS_FIRST_API = "1.24"  # the oldest API every current engine still answers
START_HINT = "start it with `sudo scripts/start-docker.sh` (installs docker.io and runs dockerd when missing)"


def engine_url(docker_host: str | None = None) -> str:
    return docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def _tls(url: str, files: tuple[Path, Path, Path] | None) -> Any:
    """TLS for a tcp engine: the given (ca, cert, key), else DOCKER_TLS_VERIFY + DOCKER_CERT_PATH."""
    from docker.tls import TLSConfig

    if not url.startswith("tcp://"):
        return None
    if files is None and os.environ.get("DOCKER_TLS_VERIFY") and os.environ.get("DOCKER_CERT_PATH"):
        folder = Path(os.environ["DOCKER_CERT_PATH"])
        files = (folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    if files is None:
        return None
    ca, cert, key = files
    return TLSConfig(client_cert=(str(cert), str(key)), ca_cert=str(ca), verify=True)


def connect(
    docker_host: str | None = None, timeout: float = 60.0, tls: tuple[Path, Path, Path] | None = None
) -> Any:
    """A ``docker.DockerClient`` that has answered a ping, or :class:`DockerUnavailable`. ``tls`` is
    (CA, client certificate, client key) for a tcp engine; ssh:// URLs use the host's ssh client."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:  # pragma: no cover - docker is a hard dependency
        raise DockerUnavailable("the `docker` Python package is missing", "pip install -e .") from exc
    url = engine_url(docker_host)
    try:
        tls_config = _tls(url, tls)
        client = docker.DockerClient(
            base_url=url,
            timeout=int(timeout),
            tls=tls_config,
            use_ssh_client=url.startswith("ssh://"),
            max_pool_size=32,
            # with TLS, the API version is asked for below, once requests trusts the engine's CA
            version=TLS_FIRST_API if tls_config is not None else None,
        )
        if tls_config is not None:
            # requests would let REQUESTS_CA_BUNDLE (set on many machines) replace the engine's CA
            client.api.trust_env = False
            client.api._version = client.api.version(api_version=False)["ApiVersion"]
        client.ping()
    except (DockerException, OSError) as exc:
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise DockerUnavailable(f"Docker engine not reachable at {url} ({why})", _hint(url)) from exc
    return client


def _hint(url: str) -> str:
    if url.startswith("tcp://"):
        return "check that the engine listens there and the TLS files (tls_ca, tls_cert, tls_key) are its"
    if url.startswith("ssh://"):
        parts = urlsplit(url)
        port = f"-p {parts.port} " if parts.port else ""
        who = f"{parts.username}@{parts.hostname}" if parts.username else parts.hostname
        return f"check that `ssh {port}{who} docker version` works without a prompt"
    return START_HINT


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
