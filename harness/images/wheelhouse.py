"""Resolve Python requirements on the host into a content-addressed wheelhouse.

Sandboxes have no network, so their packages are downloaded here, with the host's own pip
configuration, as binary wheels for the sandbox's Python, and installed in images with
``pip install --no-index``.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.errors import MissingTool, ResolveError

MANYLINUX = ("manylinux2014", "manylinux_2_17", "manylinux_2_28", "manylinux_2_31", "manylinux_2_34")


@dataclass(frozen=True)
class Wheelhouse:
    path: Path
    key: str
    reused: bool

    def wheels(self) -> list[Path]:
        return sorted(self.path.glob("*.whl"))


def normalise(requirements: str) -> str:
    """Requirement lines without comments, blanks and surrounding space, in their order."""
    lines = (line.split("#", 1)[0].strip() for line in requirements.splitlines())
    return "\n".join(line for line in lines if line) + "\n"


def wheelhouse_key(requirements: str, python_version: str, machine: str | None = None) -> str:
    text = f"{python_version}\n{machine or platform.machine()}\n{normalise(requirements)}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def pip_download_command(requirements_file: Path, dest: Path, python_version: str) -> list[str]:
    arch = platform.machine()
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-input",
        "--only-binary=:all:",
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "-d",
        str(dest),
        "-r",
        str(requirements_file),
    ]
    for tag in MANYLINUX:
        command += ["--platform", f"{tag}_{arch}"]
    return command


def resolve(requirements: str, python_version: str, cache_dir: Path, timeout: float = 600) -> Wheelhouse:
    """The wheelhouse for ``requirements``, downloaded once and reused by key afterwards."""
    key = wheelhouse_key(requirements, python_version)
    dest = cache_dir / "wheels" / key
    if (dest / ".complete").is_file():
        return Wheelhouse(dest, key, reused=True)
    if shutil.which(sys.executable) is None:  # pragma: no cover - we are running under it
        raise MissingTool("no Python interpreter for pip", "install python3-pip")
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=dest.parent))
    try:
        req_file = scratch / "requirements.txt"
        req_file.write_text(normalise(requirements))
        wheels = scratch / "wheels"
        try:
            proc = subprocess.run(
                pip_download_command(req_file, wheels, python_version),
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise ResolveError(f"pip download did not finish in {timeout:.0f} s") from exc
        if proc.returncode != 0:
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and "is ignored" not in ln]
            raise ResolveError("pip could not resolve the requirements: " + " | ".join(lines[-6:]))
        wheels.mkdir(exist_ok=True)
        (wheels / ".complete").write_text(key + "\n")
        try:
            wheels.rename(dest)
        except OSError:
            if not (dest / ".complete").is_file():
                raise
        return Wheelhouse(dest, key, reused=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
