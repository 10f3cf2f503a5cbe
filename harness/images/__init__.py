"""Images, layered and content-addressed: base -> runtime (tester environment) and base -> postgres."""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from harness.config import ImageSettings
from harness.errors import ImageBuildError, ResolveError
from harness.images import wheelhouse
from harness.images.base import ensure_base
from harness.images.layers import Layer, Progress, ensure_layer, find_image
from harness.records import ImageRecord

# Where the runtime image installs the tester's Python environment (see context/runtime.Dockerfile).
TESTER_PYTHON = "/opt/crucible/tester/bin/python"
PG_MAJOR_FOR_SUITE = {"bookworm": "15", "trixie": "17"}


@dataclass(frozen=True)
class ImageSet:
    base: ImageRecord
    runtime: ImageRecord
    postgres: ImageRecord
    workspace: ImageRecord
    claude_code: ImageRecord | None = None  # the workspace plus the pinned CLI, for that runtime only

    def records(self) -> list[ImageRecord]:
        extra = [self.claude_code] if self.claude_code is not None else []
        return [self.base, self.runtime, self.postgres, self.workspace, *extra]


def _asset(name: str) -> bytes:
    return (resources.files("harness.images") / name).read_bytes()


def runtime_layer(settings: ImageSettings, base_id: str) -> Layer:
    requirements = _asset("tester-requirements.txt")
    dockerfile = _asset("context/runtime.Dockerfile").decode().replace("{parent}", base_id)
    return Layer(
        role="runtime",
        repository=f"crucible-runtime-py{settings.python_version}",
        dockerfile=dockerfile,
        parent_id=base_id,
        files={"tester-requirements.txt": requirements},
    )


def workspace_layer(settings: ImageSettings, runtime_id: str) -> Layer:
    dockerfile = _asset("context/workspace.Dockerfile").decode().replace("{parent}", runtime_id)
    return Layer(
        role="workspace",
        repository=f"crucible-workspace-py{settings.python_version}",
        dockerfile=dockerfile,
        parent_id=runtime_id,
        files={"workspace-requirements.txt": _asset("workspace-requirements.txt")},
    )


def postgres_layer(settings: ImageSettings, base_id: str) -> Layer:
    major = PG_MAJOR_FOR_SUITE[settings.debian_suite]
    dockerfile = (
        _asset("context/postgres.Dockerfile")
        .decode()
        .replace("{parent}", base_id)
        .replace("{pg_major}", major)
    )
    return Layer(
        role="postgres",
        repository=f"crucible-postgres{major}",
        dockerfile=dockerfile,
        parent_id=base_id,
        files={"pg-start.sh": _asset("context/pg-start.sh")},
    )


def _with_wheels(layer: Layer, requirements_asset: str, settings: ImageSettings) -> Layer:
    """``layer`` with its wheelhouse in the build context, resolved only when the image must be built."""
    try:
        house = wheelhouse.resolve(
            _asset(requirements_asset).decode(), settings.python_version, settings.cache_dir
        )
    except ResolveError as exc:
        raise ImageBuildError(
            f"resolving the wheels of the {layer.role} image failed: {exc.message}",
            "check the host's pip configuration (pip config list)",
        ) from exc
    return replace(layer, directories={"wheels": house.path})


def ensure_images(client: Any, settings: ImageSettings, progress: Progress) -> ImageSet:
    """Build or reuse every image a pod needs; cheap when all keys match."""
    base = ensure_base(client, settings, progress)
    runtime = runtime_layer(settings, base.image_id)
    if find_image(client, runtime.tag) is None:
        runtime = _with_wheels(runtime, "tester-requirements.txt", settings)
    runtime_record = ensure_layer(client, runtime, progress, settings.build_timeout_s)
    postgres_record = ensure_layer(
        client, postgres_layer(settings, base.image_id), progress, settings.build_timeout_s
    )
    workspace = workspace_layer(settings, runtime_record.image_id)
    if find_image(client, workspace.tag) is None:
        workspace = _with_wheels(workspace, "workspace-requirements.txt", settings)
    workspace_record = ensure_layer(client, workspace, progress, settings.build_timeout_s)
    return ImageSet(base=base, runtime=runtime_record, postgres=postgres_record, workspace=workspace_record)
