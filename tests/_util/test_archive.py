"""The one archive extraction, fed hostile archives: nothing lands outside the destination, nothing
special is made, links out are left out and named, and the ordinary members still arrive."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from harness._util.archive import reroot, safe_extract, tar_files, tar_tree, untar_files


def _archive(*members: tuple[str, str, str | bytes]) -> bytes:
    """(kind, name, data or link target) with kind file, dir, sym, hard, fifo, chr, blk."""
    types = {"sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE}
    types |= {"chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "dir": tarfile.DIRTYPE}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for kind, name, value in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                data = value.encode() if isinstance(value, str) else value
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = types[kind]
            if kind in ("sym", "hard"):
                info.linkname = str(value)
            tar.addfile(info)
    return buffer.getvalue()


def _names(dropped: list[str]) -> list[str]:
    return [line.split(" -> ")[0].split(" (")[0] for line in dropped]


@pytest.mark.parametrize(
    "hostile",
    [
        ("file", "/etc/crucible-absolute", "x"),
        ("file", "../escaped", "x"),
        ("file", "a/../../escaped", "x"),
        ("sym", "to-etc", "/etc"),
        ("sym", "up", "../../.."),
        ("hard", "hard-passwd", "/etc/passwd"),
        ("hard", "hard-up", "../outside"),
        ("fifo", "pipe", ""),
        ("chr", "null", ""),
        ("blk", "disk", ""),
    ],
    ids=[
        "absolute",
        "dotdot",
        "nested-dotdot",
        "symlink-absolute",
        "symlink-up",
        "hardlink-absolute",
        "hardlink-up",
        "fifo",
        "char-device",
        "block-device",
    ],
)
def test_hostile_members_are_left_out_and_named(tmp_path: Path, hostile: tuple[str, str, str]) -> None:
    dest = tmp_path / "dest"
    archive = _archive(("file", "ok.txt", "fine"), hostile, ("file", "after.txt", "still here"))
    dropped = safe_extract(archive, dest)
    assert _names(dropped) == [hostile[1]]
    assert (dest / "ok.txt").read_text() == "fine" and (dest / "after.txt").read_text() == "still here"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]  # nothing beside the destination
    assert not any(
        stat.S_ISFIFO(p.lstat().st_mode) or stat.S_ISCHR(p.lstat().st_mode) for p in dest.rglob("*")
    )


def test_a_file_written_through_an_earlier_link_cannot_escape(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    archive = _archive(("sym", "door", str(outside)), ("file", "door/planted", "gotcha"))
    dest = tmp_path / "dest"
    assert _names(safe_extract(archive, dest)) == ["door"]
    assert list(outside.iterdir()) == []
    assert not (dest / "door").is_symlink() and (dest / "door" / "planted").read_text() == "gotcha"
    # the same through a link that climbs out relatively
    archive = _archive(("sym", "up", "../outside"), ("file", "up/planted", "gotcha"))
    assert _names(safe_extract(archive, tmp_path / "dest2")) == ["up"]
    assert list(outside.iterdir()) == []


def test_links_inside_the_tree_are_kept_as_links(tmp_path: Path) -> None:
    archive = _archive(
        ("file", "app.py", "print(1)"), ("sym", "alias.py", "app.py"), ("hard", "copy.py", "app.py")
    )
    assert safe_extract(archive, tmp_path) == []
    assert (tmp_path / "alias.py").is_symlink() and os.readlink(tmp_path / "alias.py") == "app.py"
    assert (tmp_path / "copy.py").read_text() == "print(1)"


def test_strip_components_also_strips_hard_link_targets(tmp_path: Path) -> None:
    archive = _archive(
        ("dir", "workspace", ""),
        ("file", "workspace/app.py", "x = 1"),
        ("hard", "workspace/same.py", "workspace/app.py"),
        ("sym", "workspace/out", "/etc/passwd"),
    )
    dropped = safe_extract(archive, tmp_path / "w", strip_components=1)
    assert _names(dropped) == ["out"]
    assert (tmp_path / "w" / "same.py").read_text() == "x = 1"
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["app.py", "same.py"]


def test_select_picks_members_after_stripping(tmp_path: Path) -> None:
    archive = _archive(("file", "a.py", "1"), ("file", "b.txt", "2"), ("sym", "c.py", "/etc/passwd"))
    dropped = safe_extract(archive, tmp_path, select=lambda m: m.isfile() and m.name.endswith(".py"))
    assert dropped == [] and sorted(p.name for p in tmp_path.iterdir()) == ["a.py"]


def test_pack_and_unpack_round_trip(tmp_path: Path) -> None:
    archive = tar_files({"a/b.txt": "hello", "c.bin": b"\x00\x01"}, uid=1000)
    assert untar_files(archive) == {"a/b.txt": b"hello", "c.bin": b"\x00\x01"}
    safe_extract(archive, tmp_path / "out")
    again = tar_tree(tmp_path / "out", "root")
    assert untar_files(again) == {"root/a/b.txt": b"hello", "root/c.bin": b"\x00\x01"}


def test_reroot_moves_members_and_hard_link_targets_under_the_folder() -> None:
    archive = _archive(("file", "./a.txt", "1"), ("hard", "b.txt", "a.txt"), ("dir", "sub", ""))
    moved = reroot(archive, "/opt/x")
    with tarfile.open(fileobj=io.BytesIO(moved)) as tar:
        members = {m.name: m.linkname for m in tar.getmembers()}
    assert members == {"opt/x/a.txt": "", "opt/x/b.txt": "opt/x/a.txt", "opt/x/sub": ""}
    with pytest.raises(ValueError, match="escapes /opt/x"):
        reroot(_archive(("file", "../evil", "x")), "/opt/x")
