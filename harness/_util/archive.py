"""The one tar pack and unpack of Crucible. Archives cross the sandbox boundary in both directions,
and what comes out of a sandbox is untrusted: :func:`safe_extract` is the only way Crucible unpacks an
archive onto the host. It refuses absolute names, ``..``, links that point out of the tree, devices and
FIFOs, member by member (a link made by an earlier member is checked before a later member goes through
it), and says what it left out."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path

Select = Callable[[tarfile.TarInfo], bool]


def tar_files(files: Mapping[str, bytes | str], mode: int = 0o644, uid: int = 0) -> bytes:
    """A tar archive of ``{relative path: content}``; parent directories are added as needed."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        seen: set[str] = set()
        for name in sorted(files):
            parts = name.strip("/").split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in seen:
                    seen.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, uid, uid
                    tar.addfile(info)
            content = files[name]
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo("/".join(parts))
            info.size, info.mode, info.uid, info.gid = len(data), mode, uid, uid
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def tar_tree(source: Path, arcname: str) -> bytes:
    """``source`` (a file or a folder, links stored as links) as a tar archive under ``arcname``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(str(source), arcname=arcname, recursive=True)
    return buffer.getvalue()


def untar_files(data: bytes) -> dict[str, bytes]:
    """The regular files of a tar archive as ``{member name: content}``, in memory; links are ignored."""
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        for member in tar.getmembers():
            if member.isfile():
                extracted = tar.extractfile(member)
                if extracted is not None:
                    files[member.name] = extracted.read()
    return files


def reroot(data: bytes, dest: str) -> bytes:
    """The archive with every member (and hard-link target) moved under the absolute folder ``dest``,
    for an engine that unpacks at ``/``; ValueError for a member that climbs out with ``..``."""
    prefix = dest.strip("/")

    def rebased(name: str) -> str:
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise ValueError(f"archive member {name!r} escapes {dest}")
        return "/".join([prefix, *parts]) if prefix else "/".join(parts)

    buffer = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(data), mode="r") as source,
        tarfile.open(fileobj=buffer, mode="w") as target,
    ):
        for member in source.getmembers():
            member.name = rebased(member.name)
            if member.islnk():
                member.linkname = rebased(member.linkname)
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
    return buffer.getvalue()


def _strip(name: str, components: int) -> str:
    parts = name.split("/")
    return "/".join(parts[components:]) if len(parts) > components else ""


def _unsafe(member: tarfile.TarInfo) -> str:
    """Why a member may not be unpacked anywhere, or ""."""
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "not a file, folder or link"
    parts = member.name.split("/")
    if member.name.startswith("/") or ".." in parts:
        return "absolute or climbing name"
    return ""


def safe_extract(
    data: bytes, dest: Path, strip_components: int = 0, select: Select | None = None
) -> list[str]:
    """Unpack the archive ``data`` into the folder ``dest`` (made when missing). ``strip_components``
    drops leading path parts (as tar's option of that name); ``select`` picks members (after
    stripping). Returns one line per member left out as unsafe: ``name (why)``."""
    dest.mkdir(parents=True, exist_ok=True)
    dropped: list[str] = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        for member in tar.getmembers():
            member.name = _strip(member.name, strip_components)
            if member.islnk():
                member.linkname = _strip(member.linkname, strip_components)
            if not member.name.strip("/.") or (select is not None and not select(member)):
                continue
            why = _unsafe(member)
            if not why:
                try:
                    tar.extract(member, dest, filter="data")
                    continue
                except tarfile.FilterError as exc:
                    why = str(exc)
            link = f" -> {member.linkname}" if member.issym() or member.islnk() else ""
            dropped.append(f"{member.name}{link} ({why})")
    return dropped
