"""The Claude Code layer: the workspace image plus one pinned Claude Code binary. The binary is the
platform package's self-contained executable, fetched on the host with `npm pack` (through the host's own
npm configuration), kept in the cache by version, and copied into the image offline. The version is part
of the layer's key."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from harness._util.archive import untar_files
from harness._util.fs import atomic_write_bytes
from harness.config import ImageSettings
from harness.errors import ImageBuildError
from harness.images.layers import Layer, Progress, ensure_layer, find_image
from harness.records import ImageRecord

PLATFORM_PACKAGE = "@anthropic-ai/claude-code-linux-x64"
BINARY = "package/claude"
NPM_TIMEOUT_S = 900


def _dockerfile(parent_id: str) -> str:
    from importlib import resources

    text = (resources.files("harness.images") / "context/claude-code.Dockerfile").read_text()
    return text.replace("{parent}", parent_id)


def claude_code_layer(version: str, workspace_id: str, binary: Path | None = None) -> Layer:
    """The layer for ``version`` over the workspace image; ``binary`` joins the context when building."""
    pin = json.dumps({"package": PLATFORM_PACKAGE, "version": version}, sort_keys=True).encode()
    return Layer(
        role="claude-code",
        repository="crucible-claude-code",
        dockerfile=_dockerfile(workspace_id),
        parent_id=workspace_id,
        files={"claude-code.json": pin},
        directories={"claude": binary} if binary is not None else {},
    )


def fetch_binary(version: str, cache_dir: Path, progress: Progress) -> Path:
    """The Claude Code executable of ``version``, from the cache or fetched with `npm pack` (npm checks
    the package's integrity against the registry's record)."""
    dest = cache_dir / "claude-code" / version / "claude"
    if dest.is_file():
        return dest
    npm = shutil.which("npm")
    if npm is None:
        raise ImageBuildError(
            "npm is not installed: it fetches the pinned Claude Code binary",
            "install it (apt-get install npm; scripts/setup.sh does)",
        )
    progress(f"fetching {PLATFORM_PACKAGE}@{version}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as scratch:
        done = subprocess.run(
            [npm, "pack", f"{PLATFORM_PACKAGE}@{version}", "--pack-destination", scratch, "--silent"],
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
            check=False,
        )
        tarballs = list(Path(scratch).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ImageBuildError(
                f"npm pack {PLATFORM_PACKAGE}@{version} failed: {last}",
                "check the version in [agent.claude_code] and the host's npm configuration (npm config list)",
            )

        files = untar_files(gzip.decompress(tarballs[0].read_bytes()))
        if BINARY not in files:
            raise ImageBuildError(f"{tarballs[0].name} holds no {BINARY}", "pin another version")
        atomic_write_bytes(dest, files[BINARY])
        os.chmod(dest, 0o755)  # noqa: S103 - an executable everyone may run
    return dest


def ensure_claude_code(
    client: Any, settings: ImageSettings, version: str, workspace_id: str, progress: Progress
) -> ImageRecord:
    """Build or reuse the Claude Code layer of ``version`` over the workspace image ``workspace_id``."""
    layer = claude_code_layer(version, workspace_id)
    if find_image(client, layer.tag) is None:
        binary = fetch_binary(version, settings.cache_dir, progress)
        layer = claude_code_layer(version, workspace_id, binary)
    return ensure_layer(client, layer, progress, settings.build_timeout_s)
