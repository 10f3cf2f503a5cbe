"""Content-addressed image layers built with Dockerfiles: a layer is reused while its key matches."""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import BuildStepFailed, ImageBuildError
from harness.records import ImageRecord

Progress = Callable[[str], None]
LABEL_KEY = "crucible.image.key"
LABEL_ROLE = "crucible.image.role"


def content_key(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Layer:
    """An image made of a Dockerfile on top of ``parent_id`` plus a build context.

    The key hashes the parent, the Dockerfile and ``files``. ``directories`` join the build context
    without being hashed: they must be derived from inputs already in the key (a wheelhouse is keyed
    by the requirements it was resolved from), so they need not be read on every call.
    """

    role: str
    repository: str
    dockerfile: str
    parent_id: str
    files: Mapping[str, bytes] = field(default_factory=dict)
    directories: Mapping[str, Path] = field(default_factory=dict)

    @property
    def key(self) -> str:
        parts: list[bytes | str] = [self.role, self.parent_id, self.dockerfile]
        for name in sorted(self.files):
            parts += [name, self.files[name]]
        return content_key(*parts)

    @property
    def tag(self) -> str:
        return f"{self.repository}:{self.key}"

    def context(self) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, data in {"Dockerfile": self.dockerfile.encode(), **self.files}.items():
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
            for name, directory in self.directories.items():
                tar.add(str(directory), arcname=name, recursive=True)
        return buffer.getvalue()


def find_image(client: Any, tag: str) -> Any | None:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(tag)
    except ImageNotFound:
        return None


def ensure_layer(client: Any, layer: Layer, progress: Progress, timeout: float = 1800) -> ImageRecord:
    """Reuse ``layer.tag`` when present; else build it, streaming the build's output to ``progress``."""
    started = time.monotonic()
    key = layer.key
    existing = find_image(client, layer.tag)
    if existing is not None:
        return ImageRecord(
            role=layer.role,
            tag=layer.tag,
            key=key,
            image_id=existing.id,
            reused=True,
            seconds=time.monotonic() - started,
            how="reused",
        )
    progress(f"building {layer.tag}")
    log: list[str] = []
    image_id = ""
    stream = client.api.build(
        fileobj=io.BytesIO(layer.context()),
        custom_context=True,
        tag=layer.tag,
        rm=True,
        forcerm=True,
        decode=True,
        labels={LABEL_KEY: key, LABEL_ROLE: layer.role},
        timeout=int(timeout),
        # our own Dockerfiles only: apt reaches the mirror the host reaches, whatever the engine's bridge
        network_mode="host",
    )
    for chunk in stream:
        if "error" in chunk:
            log.append(str(chunk["error"]).strip())
            raise BuildStepFailed(
                f"building {layer.role} image failed: " + " | ".join(log[-8:]), "\n".join(log)
            )
        text = str(chunk.get("stream", "")).rstrip()
        if text:
            log.extend(text.splitlines())
            progress(text.splitlines()[-1][:160])
        aux = chunk.get("aux")
        if isinstance(aux, dict) and "ID" in aux:
            image_id = str(aux["ID"])
    built = find_image(client, layer.tag)
    if built is None:
        raise ImageBuildError(f"building {layer.role} image left no {layer.tag}: " + " | ".join(log[-8:]))
    return ImageRecord(
        role=layer.role,
        tag=layer.tag,
        key=key,
        image_id=image_id or built.id,
        reused=False,
        seconds=time.monotonic() - started,
        how="dockerfile",
    )
