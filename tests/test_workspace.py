"""Workspaces and requirements: what is accepted, what is a model failure, what is packed."""

import io
import os
import tarfile
from pathlib import Path

import pytest

from harness.errors import SubmissionError
from harness.pipeline.build import check_requirements
from harness.workspace import load_workspace, pack

SERVICE = '[service]\nstart = "python -m app"\n[migrations]\ntool = "alembic"\n'


def make(tmp_path: Path, service: str | None = SERVICE) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("x = 1\n")
    if service is not None:
        (tmp_path / "service.toml").write_text(service)
    (tmp_path / "requirements.txt").write_text("fastapi==0.121.0\n")
    return tmp_path


def names(archive: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_load_reads_contract_and_requirements(tmp_path: Path) -> None:
    workspace = load_workspace(make(tmp_path))
    assert workspace.service.service.start == "python -m app"
    assert workspace.service.migrations.tool == "alembic"
    assert workspace.requirements == "fastapi==0.121.0\n"
    assert workspace.files == 3 and len(workspace.digest) == 16


def test_missing_or_broken_service_toml_is_a_model_failure(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match=r"no service\.toml"):
        load_workspace(make(tmp_path / "a", service=None))
    with pytest.raises(SubmissionError, match="not valid TOML"):
        load_workspace(make(tmp_path / "b", service="[service\n"))
    with pytest.raises(SubmissionError, match=r"service\.start"):
        load_workspace(make(tmp_path / "c", service="[service]\n"))
    with pytest.raises(SubmissionError, match=r"migrations\.tool"):
        load_workspace(make(tmp_path / "d", service='[service]\nstart="x"\n[migrations]\ntool="flyway"\n'))


def test_pack_skips_caches_and_owns_files_as_the_sandbox_user(tmp_path: Path) -> None:
    root = make(tmp_path)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "junk.pyc").write_bytes(b"x")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    archive, _, _ = pack(root)
    members = names(archive)
    assert "app/__init__.py" in members and not any("pycache" in n or n.startswith(".git") for n in members)
    assert {m.uid for m in members.values()} == {1000}


def test_symlinks_are_kept_as_links_never_followed(tmp_path: Path) -> None:
    root = make(tmp_path)
    os.symlink("/etc/passwd", root / "passwd")
    os.symlink("../../..", root / "up")
    archive, _, _ = pack(root)
    members = names(archive)
    assert members["passwd"].issym() and members["passwd"].linkname == "/etc/passwd"
    assert members["up"].issym() and members["passwd"].size == 0
    assert b"root:" not in archive


def test_digest_follows_content_only(tmp_path: Path) -> None:
    first = pack(make(tmp_path / "a"))[1]
    second = pack(make(tmp_path / "b"))[1]
    assert first == second
    (tmp_path / "b" / "app" / "__init__.py").write_text("x = 2\n")
    assert pack(tmp_path / "b")[1] != first


def test_oversized_workspace_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.workspace as module

    monkeypatch.setattr(module, "MAX_WORKSPACE_BYTES", 100)
    root = make(tmp_path)
    (root / "big.bin").write_bytes(b"0" * 1000)
    with pytest.raises(SubmissionError, match="larger than"):
        pack(root)


@pytest.mark.parametrize(
    "line",
    [
        "-e /etc",
        "--index-url http://127.0.0.1/simple",
        "./local-package",
        "/abs/path",
        "pkg @ file:///etc/x",
        "https://127.0.0.1/pkg.whl",
        "not a requirement !!",
    ],
)
def test_requirements_must_be_plain_packages(line: str) -> None:
    with pytest.raises(SubmissionError, match=r"requirements\.txt line 2"):
        check_requirements(f"fastapi==0.121.0\n{line}\n")


def test_plain_requirements_pass() -> None:
    check_requirements(
        "# comment\nfastapi==0.121.0\npsycopg[binary]>=3.1 ; python_version >= '3.8'\n\nbcrypt\n"
    )


def test_contract_files_that_are_links_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text('[service]\nstart = "true"\n')
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "app.py").write_text("print('hi')\n")
    (workspace / "service.toml").symlink_to(outside)
    with pytest.raises(SubmissionError, match=r"service\.toml is a symbolic link"):
        load_workspace(workspace)


def test_generated_links_out_of_the_workspace_are_dropped(tmp_path: Path) -> None:
    from harness.pipeline.generate import _extract_workspace

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"print('ok')\n"
        info = tarfile.TarInfo("workspace/app.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for name, target in (("passwd", "/etc/passwd"), ("up", "../../.."), ("inside", "app.py")):
            link = tarfile.TarInfo(f"workspace/{name}")
            link.type, link.linkname = tarfile.SYMTYPE, target
            tar.addfile(link)
    dropped = _extract_workspace(buffer.getvalue(), tmp_path / "out")
    assert [line.split(" (", 1)[0] for line in dropped] == ["passwd -> /etc/passwd", "up -> ../../.."]
    assert (tmp_path / "out" / "inside").is_symlink() and (
        tmp_path / "out" / "app.py"
    ).read_text() == "print('ok')\n"
    assert not (tmp_path / "out" / "passwd").exists() and not (tmp_path / "out" / "up").exists()
