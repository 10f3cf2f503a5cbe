"""Image keys, wheelhouses and apt sources: no Docker needed."""

from pathlib import Path

import pytest

from harness.errors import ConfigError, ResolveError
from harness.images import wheelhouse
from harness.images.apt import host_mirror, mirror_candidates
from harness.images.layers import Layer, content_key


def test_content_key_is_stable_and_unambiguous() -> None:
    assert content_key("a", "bc") == content_key("a", "bc")
    assert content_key("a", "bc") != content_key("ab", "c")
    assert len(content_key("x")) == 16


def test_layer_key_changes_with_parent_dockerfile_and_files(tmp_path: Path) -> None:
    layer = Layer(role="r", repository="repo", dockerfile="FROM x", parent_id="sha256:1", files={"a": b"1"})
    same = Layer(role="r", repository="repo", dockerfile="FROM x", parent_id="sha256:1", files={"a": b"1"})
    assert layer.key == same.key and layer.tag == f"repo:{layer.key}"
    variants = [
        Layer(role="r", repository="repo", dockerfile="FROM x", parent_id="sha256:2", files={"a": b"1"}),
        Layer(role="r", repository="repo", dockerfile="FROM y", parent_id="sha256:1", files={"a": b"1"}),
        Layer(role="r", repository="repo", dockerfile="FROM x", parent_id="sha256:1", files={"a": b"2"}),
    ]
    assert len({layer.key, *(v.key for v in variants)}) == 4
    (tmp_path / "w.whl").write_bytes(b"wheel")
    with_dir = Layer(
        role="r",
        repository="repo",
        dockerfile="FROM x",
        parent_id="sha256:1",
        files={"a": b"1"},
        directories={"wheels": tmp_path},
    )
    assert with_dir.key == layer.key  # derived directories are not hashed
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(with_dir.context())) as tar:
        names = tar.getnames()
    assert {"Dockerfile", "a", "wheels/w.whl"} <= set(names)


def test_wheelhouse_key_ignores_comments_and_blank_lines() -> None:
    a = wheelhouse.wheelhouse_key("# hi\nrequests==2\n\n", "3.11", "x86_64")
    b = wheelhouse.wheelhouse_key("requests==2  # pinned\n", "3.11", "x86_64")
    assert a == b
    assert a != wheelhouse.wheelhouse_key("requests==2\n", "3.13", "x86_64")


def test_wheelhouse_resolves_once_then_reuses(tmp_path: Path) -> None:
    first = wheelhouse.resolve("iniconfig==2.3.1\n", "3.11", tmp_path)
    assert not first.reused and [w.name for w in first.wheels()] == ["iniconfig-2.3.1-py3-none-any.whl"]
    second = wheelhouse.resolve("iniconfig==2.3.1  # same\n", "3.11", tmp_path)
    assert second.reused and second.path == first.path


def test_unresolvable_requirement_reports_pips_words(tmp_path: Path) -> None:
    with pytest.raises(ResolveError) as info:
        wheelhouse.resolve("crucible-no-such-package-zz9==1.0\n", "3.11", tmp_path)
    assert "crucible-no-such-package-zz9" in info.value.message
    assert not list((tmp_path / "wheels").glob("*"))  # nothing half-made is kept


def test_mirror_read_from_deb822_and_classic_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.test/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb deb-src\n# comment\nURIs: http://mirror.test/debian/\nSuites: bookworm bookworm-updates\n"
    )
    (tmp_path / "sources.list").write_text("deb [arch=amd64] http://other.test/debian trixie main\n")
    assert ("http://other.test/debian", ["trixie"]) in mirror_candidates(tmp_path)
    assert host_mirror("bookworm", apt_dir=tmp_path) == "http://mirror.test/debian"
    assert host_mirror("trixie", apt_dir=tmp_path) == "http://other.test/debian"
    assert host_mirror("bookworm", override="http://set.test/d/", apt_dir=tmp_path) == "http://set.test/d"


def test_no_mirror_says_how_to_set_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"images\.apt_mirror"):
        host_mirror("bookworm", apt_dir=tmp_path)
