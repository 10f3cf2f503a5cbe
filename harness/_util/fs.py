"""The one atomic write: readers see the old file (or link) or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.errors import StoreError


def _publish(scratch: Path, path: Path, make: Callable[[], None], what: str, fix: str) -> None:
    """``make`` the scratch entry beside ``path``, then rename it over ``path``; no scratch is left."""
    try:
        make()
        os.replace(scratch, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(scratch)
        raise StoreError(f"cannot {what} {path}: {exc.strerror or exc}", fix) from exc


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, fsync'd, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)

    def write() -> None:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    _publish(Path(tmp), path, write, "write", "free disk space or fix permissions")


def atomic_symlink(target: Path, link: Path) -> None:
    """Point ``link`` at ``target`` (a relative target stays relative): readers see the old link or the
    new one, never none."""
    scratch = link.with_name(f".{link.name}.{secrets.token_hex(4)}")
    _publish(
        scratch, link, lambda: os.symlink(target, scratch), "update", "fix permissions of the reports dir"
    )
