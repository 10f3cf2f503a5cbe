"""A workspace under evaluation: its runtime contract (``service.toml``), requirements and files."""

from __future__ import annotations

import hashlib
import io
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import SubmissionError

SKIP_DIRS = {
    ".git",
    "__pycache__",
    ".venv",
    "venv",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
}
MAX_WORKSPACE_BYTES = 50_000_000
APP_UID = 1000


class ServiceSection(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    start: str = Field(min_length=1)


class MigrationsSection(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    tool: Literal["alembic", "django", "none"] = "none"


class ServiceConfig(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    service: ServiceSection
    migrations: MigrationsSection = MigrationsSection()


@dataclass(frozen=True)
class Workspace:
    path: Path
    service: ServiceConfig
    requirements: str
    archive: bytes
    digest: str
    files: int


def _contract_file(path: Path, name: str) -> Path:
    """A file of the runtime contract; refused when it is a link (it would be read on the host)."""
    file = path / name
    if file.is_symlink():
        raise SubmissionError(f"{name} is a symbolic link; the runtime contract needs a regular file")
    return file


def check_size(path: Path) -> int:
    """The number of files in the workspace (links not followed); SubmissionError when it holds no
    file or more than the size limit."""
    files = total = 0
    for item in path.rglob("*"):
        if any(part in SKIP_DIRS for part in item.relative_to(path).parts) or item.is_symlink():
            continue
        if item.is_file():
            files += 1
            total += item.stat().st_size
            if total > MAX_WORKSPACE_BYTES:
                raise SubmissionError(f"the workspace is larger than {MAX_WORKSPACE_BYTES // 1_000_000} MB")
    if files == 0:
        raise SubmissionError("the workspace is empty: it holds no file")
    return files


def _service(path: Path) -> ServiceConfig:
    file = _contract_file(path, "service.toml")
    if not file.is_file():
        raise SubmissionError(
            "the workspace has no service.toml (the runtime contract needs one at its root)"
        )
    try:
        return ServiceConfig.model_validate(tomllib.loads(file.read_text(errors="replace")))
    except tomllib.TOMLDecodeError as exc:
        raise SubmissionError(f"service.toml is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SubmissionError(f"service.toml field {field!r}: {first['msg']}") from exc


def pack(path: Path) -> tuple[bytes, str, int]:
    """The workspace as a tar archive owned by the sandbox user, its content digest and file count.
    Symbolic links are stored as links, never followed on the host."""
    buffer = io.BytesIO()
    digest = hashlib.sha256()
    count = 0
    total = 0
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for item in sorted(path.rglob("*")):
            relative = item.relative_to(path)
            if any(part in SKIP_DIRS for part in relative.parts):
                continue
            info = tar.gettarinfo(str(item), arcname=str(relative))
            info.uid = info.gid = APP_UID
            info.uname = info.gname = ""
            info.mtime = 0
            if info.isfile():
                total += info.size
                if total > MAX_WORKSPACE_BYTES:
                    raise SubmissionError(
                        f"the workspace is larger than {MAX_WORKSPACE_BYTES // 1_000_000} MB"
                    )
                data = item.read_bytes()
                digest.update(str(relative).encode() + b"\0" + data + b"\0")
                tar.addfile(info, io.BytesIO(data))
                count += 1
            elif info.issym() or info.isdir():
                digest.update(str(relative).encode() + b"\0" + info.linkname.encode() + b"\1")
                tar.addfile(info)
    return buffer.getvalue(), digest.hexdigest()[:16], count


def load_workspace(path: Path) -> Workspace:
    if not path.is_dir():
        raise SubmissionError(f"workspace {path} is not a directory")
    check_size(path)
    service = _service(path)
    requirements_file = _contract_file(path, "requirements.txt")
    requirements = requirements_file.read_text(errors="replace") if requirements_file.is_file() else ""
    archive, digest, files = pack(path)
    return Workspace(path, service, requirements, archive, digest, files)
