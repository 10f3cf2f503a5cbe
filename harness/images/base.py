"""The base image: the configured one when present or pullable, else one built here with debootstrap
from the host's own apt mirror and ``docker import``."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from harness.config import ImageSettings
from harness.errors import ImageBuildError, MissingTool
from harness.images.apt import host_mirror
from harness.images.layers import LABEL_KEY, Progress, content_key, find_image
from harness.records import ImageRecord

BASE_REPOSITORY = "crucible-base"
DEBOOTSTRAP_PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def local_base_tag(settings: ImageSettings, mirror: str) -> str:
    arch = DEBIAN_ARCH.get(platform.machine(), platform.machine())
    key = content_key(settings.debian_suite, mirror, arch, ",".join(DEBOOTSTRAP_PACKAGES))
    return f"{BASE_REPOSITORY}:py{settings.python_version}-{settings.debian_suite}-{key}"


def _try_pull(client: Any, name: str, timeout: float) -> Any | None:
    """Pull ``name`` in a thread, giving up after ``timeout`` s; None when it cannot be had."""
    result: list[Any] = []

    def pull() -> None:
        try:
            result.append(client.images.pull(name))
        except Exception:  # any failure means: not available from a registry here
            return

    worker = threading.Thread(target=pull, daemon=True)
    worker.start()
    worker.join(timeout)
    return result[0] if result else None


def _debootstrap(settings: ImageSettings, mirror: str, tag: str, client: Any, progress: Progress) -> str:
    if shutil.which("debootstrap") is None:
        raise MissingTool(
            "debootstrap is not installed (needed to build the base image offline)",
            "run `sudo apt-get install -y debootstrap` or `sudo scripts/setup.sh`",
        )
    if os.geteuid() != 0:
        raise MissingTool(
            "building the base image with debootstrap needs root",
            f"run `sudo crucible images build`, or provide the image {settings.base_image_name}",
        )
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="rootfs-", dir=settings.cache_dir))
    rootfs, archive, log = scratch / "rootfs", scratch / "rootfs.tar", settings.cache_dir / "debootstrap.log"
    try:
        arch = DEBIAN_ARCH.get(platform.machine(), platform.machine())
        command = [
            "debootstrap",
            "--variant=minbase",
            f"--arch={arch}",
            "--include=" + ",".join(DEBOOTSTRAP_PACKAGES),
            settings.debian_suite,
            str(rootfs),
            mirror,
        ]
        progress(f"debootstrap {settings.debian_suite} from the host's apt mirror (about a minute)")
        with log.open("w") as out:
            proc = subprocess.run(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=settings.build_timeout_s,
            )
        if proc.returncode != 0:
            tail = " | ".join(log.read_text(errors="replace").splitlines()[-5:])
            raise ImageBuildError(f"debootstrap failed (log: {log}): {tail}")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (rootfs / cache).glob("*"):
                if entry.is_file():
                    entry.unlink()
        progress(f"docker import {tag}")
        subprocess.run(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(archive), "."],
            check=True,
            stdin=subprocess.DEVNULL,
            timeout=settings.build_timeout_s,
        )
        repository, _, version = tag.partition(":")
        client.api.import_image_from_file(
            str(archive),
            repository=repository,
            tag=version,
            changes=[
                "ENV LANG=C.UTF-8",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                f"LABEL {LABEL_KEY}={tag.rsplit('-', 1)[-1]}",
                'CMD ["/bin/sh"]',
            ],
        )
    except subprocess.SubprocessError as exc:
        raise ImageBuildError(f"building the base image failed: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    image = find_image(client, tag)
    if image is None:
        raise ImageBuildError(f"docker import produced no image {tag}")
    return str(image.id)


def check_python(client: Any, image: str, expected: str) -> None:
    """Fail when ``image``'s python3 is not the configured version."""
    out = client.containers.run(
        image,
        ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        remove=True,
        network_mode="none",
    )
    found = out.decode().strip()
    if found != expected:
        raise ImageBuildError(
            f"base image {image} has Python {found}, images.python_version is {expected}",
            "set images.python_version to match, or images.base_image to another image",
        )


def ensure_base(
    client: Any, settings: ImageSettings, progress: Progress, pull_timeout: float = 30
) -> ImageRecord:
    started = time.monotonic()
    name = settings.base_image_name

    def record(tag: str, image_id: str, how: str) -> ImageRecord:
        return ImageRecord(
            role="base",
            tag=tag,
            key=image_id.split(":")[-1][:16],
            image_id=image_id,
            reused=how == "reused",
            seconds=time.monotonic() - started,
            how=how,
        )

    image = find_image(client, name)
    if image is not None:
        return record(name, image.id, "reused")
    mirror = host_mirror(settings.debian_suite, settings.apt_mirror)
    fallback = local_base_tag(settings, mirror)
    image = find_image(client, fallback)
    if image is not None:
        return record(fallback, image.id, "reused")
    progress(f"{name} is not present; trying to pull it")
    image = _try_pull(client, name, pull_timeout)
    if image is not None:
        check_python(client, name, settings.python_version)
        return record(name, image.id, "pulled")
    progress(f"{name} cannot be pulled; building {fallback} locally")
    image_id = _debootstrap(settings, mirror, fallback, client, progress)
    check_python(client, fallback, settings.python_version)
    return record(fallback, image_id, "debootstrap")
