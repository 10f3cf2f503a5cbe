"""`crucible doctor`: is this machine ready to run evaluations, and if not, what exactly to do."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.config import CrucibleConfig
from harness.errors import ConfigError
from harness.images import postgres_layer, runtime_layer, workspace_layer
from harness.images.apt import host_mirror
from harness.images.base import local_base_tag
from harness.images.layers import find_image
from harness.sandbox.base import LABEL_RUN
from harness.sandbox.engine import connect, engine_url
from harness.sandbox.labels import labelled_containers

Level = Literal["ok", "warn", "fail"]
MIN_FREE_GIB, WARN_FREE_GIB = 2.0, 10.0


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str
    fix: str = ""


def _disk(name: str, path: Path) -> Check:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free / 2**30
    detail = f"{free:.1f} GiB free at {probe}"
    if free < MIN_FREE_GIB:
        return Check(name, "fail", detail, f"free at least {MIN_FREE_GIB:.0f} GiB there")
    if free < WARN_FREE_GIB:
        return Check(name, "warn", detail, f"image builds and runs want {WARN_FREE_GIB:.0f} GiB")
    return Check(name, "ok", detail)


def _engine(client: Any, docker_host: str | None) -> list[Check]:
    info = client.info()
    version = client.version().get("Version", "?")
    checks = [
        Check(
            "engine",
            "ok",
            f"Docker {version} at {engine_url(docker_host)}, cgroup v{info.get('CgroupVersion', '?')}",
        )
    ]
    missing = [flag for flag in ("MemoryLimit", "PidsLimit") if info.get(flag) is False]
    if missing:
        checks.append(
            Check(
                "limits",
                "fail",
                f"engine cannot enforce {', '.join(missing)}",
                "enable the memory and pids cgroups",
            )
        )
    else:
        checks.append(Check("limits", "ok", "memory, CPU and pids limits supported"))
    root = Path(str(info.get("DockerRootDir", "/var/lib/docker")))
    if root.exists():
        checks.append(_disk("docker disk", root))
    return checks


def _images(client: Any, config: CrucibleConfig) -> list[Check]:
    settings = config.images
    base = find_image(client, settings.base_image_name)
    if base is None:
        try:
            mirror = host_mirror(settings.debian_suite, settings.apt_mirror)
        except ConfigError as exc:
            return [Check("base image", "fail", exc.message, exc.fix or "")]
        base = find_image(client, local_base_tag(settings, mirror))
    if base is None:
        checks = [Check("base image", "warn", "not built yet", "run `crucible images build`")]
        if shutil.which("debootstrap") is None:
            checks.append(
                Check(
                    "debootstrap",
                    "warn",
                    f"missing; needed because {settings.base_image_name} cannot be pulled here",
                    "run `sudo apt-get install -y debootstrap`",
                )
            )
        return checks
    checks = [Check("base image", "ok", f"{base.tags[0] if base.tags else base.id[:19]}")]
    runtime = find_image(client, runtime_layer(settings, base.id).tag)
    layers = [runtime_layer(settings, base.id), postgres_layer(settings, base.id)]
    if runtime is not None:
        layers.append(workspace_layer(settings, runtime.id))
    for layer in layers:
        if find_image(client, layer.tag) is None:
            checks.append(
                Check(f"{layer.role} image", "warn", f"{layer.tag} not built", "run `crucible images build`")
            )
        else:
            checks.append(Check(f"{layer.role} image", "ok", layer.tag))
    return checks


def _leftovers(client: Any) -> Check:
    found = labelled_containers(client, {LABEL_RUN: None})
    if found:
        return Check(
            "leftovers",
            "warn",
            f"{len(found)} Crucible container(s) still exist",
            "run `crucible sandbox cleanup`",
        )
    return Check("leftovers", "ok", "no Crucible containers left behind")


def run_checks(config: CrucibleConfig) -> list[Check]:
    """Every check in order; raises DockerUnavailable when the engine cannot be reached at all."""
    client = connect(config.sandbox.docker_host, timeout=15)
    checks = _engine(client, config.sandbox.docker_host)
    checks.append(_disk("reports disk", config.reports_path))
    checks += _images(client, config)
    checks.append(_leftovers(client))
    return checks
