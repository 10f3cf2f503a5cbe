"""Stage `build`: the app image for a workspace = runtime image + the workspace's requirements, installed
offline from a host-resolved wheelhouse. The workspace's source is not baked in: it enters each pod as an
archive, so workspaces that share requirements share one image."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from harness.config import ImageSettings
from harness.errors import BuildStepFailed, ResolveError, SubmissionError
from harness.images import ImageSet, wheelhouse
from harness.images.layers import Layer, ensure_layer, find_image

APP_DOCKERFILE = """\
# Crucible app image: the runtime plus one workspace's third-party packages (offline install).
FROM {parent}
COPY wheels /tmp/wheels
COPY requirements.txt /opt/crucible/app-requirements.txt
RUN python3 -m venv /opt/app \\
 && /opt/app/bin/pip install --no-index --find-links /tmp/wheels -r /opt/crucible/app-requirements.txt; \\
    status=$?; rm -rf /tmp/wheels; exit $status
RUN mkdir -p /app && chown sandbox:sandbox /app
ENV PATH=/opt/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PYTHONPATH=/app
WORKDIR /app
"""


@dataclass(frozen=True)
class AppImage:
    tag: str
    reused: bool
    seconds: float
    log: str


def app_layer(images: ImageSet, requirements: str, settings: ImageSettings) -> Layer:
    text = wheelhouse.normalise(requirements)
    return Layer(
        role="app",
        repository=f"crucible-app-py{settings.python_version}",
        dockerfile=APP_DOCKERFILE.replace("{parent}", images.runtime.image_id),
        parent_id=images.runtime.image_id,
        files={"requirements.txt": text.encode()},
    )


def check_requirements(requirements: str) -> None:
    """Only plain ``name[extras] specifier`` lines: options, paths and URLs would make the host's pip
    read host files or fetch from the network on the workspace's behalf."""
    for number, line in enumerate(wheelhouse.normalise(requirements).splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith("-") or "://" in line or line.startswith((".", "/", "~")):
            raise SubmissionError(
                f"requirements.txt line {number} ({line[:80]!r}) is not a plain package requirement"
            )
        try:
            parsed = Requirement(line)
        except InvalidRequirement as exc:
            raise SubmissionError(f"requirements.txt line {number} is invalid: {exc}") from exc
        if parsed.url:
            raise SubmissionError(
                f"requirements.txt line {number} names a URL; only index packages are allowed"
            )


def build_app(client: Any, images: ImageSet, requirements: str, settings: ImageSettings) -> AppImage:
    """The app image for ``requirements``; SubmissionError when they cannot be resolved or installed."""
    check_requirements(requirements)
    started = time.monotonic()
    layer = app_layer(images, requirements, settings)
    with _lock_for(layer.tag):  # samples with the same requirements build their image once
        if find_image(client, layer.tag) is not None:
            return AppImage(layer.tag, True, time.monotonic() - started, f"reused {layer.tag}\n")
        return _build(client, layer, requirements, settings, started)


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(tag: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(tag, threading.Lock())


def _build(client: Any, layer: Layer, requirements: str, settings: ImageSettings, started: float) -> AppImage:
    try:
        house = wheelhouse.resolve(requirements, settings.python_version, settings.cache_dir)
    except ResolveError as exc:
        raise SubmissionError(
            f"requirements.txt cannot be installed offline (only wheels are used; sdists are never built): "
            f"{exc.message}"
        ) from exc
    lines: list[str] = []
    try:
        record = ensure_layer(client, replace(layer, directories={"wheels": house.path}), lines.append)
    except BuildStepFailed as exc:
        raise SubmissionError(f"installing requirements.txt failed: {_pip_error(exc.log)}") from exc
    return AppImage(record.tag, record.reused, time.monotonic() - started, "\n".join(lines) + "\n")


def _pip_error(log: str) -> str:
    lines = [line for line in log.splitlines() if "ERROR" in line or "error" in line.lower()]
    return " | ".join(lines[-3:])[:600] or log[-600:]
