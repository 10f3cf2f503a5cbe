from pathlib import Path

import pytest

from harness.config import load_config, parse_override
from harness.errors import ConfigError


def test_defaults_without_any_file(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.project_root == tmp_path
    assert config.sandbox.backend == "docker"
    assert config.images.base_image_name == "python:3.11-slim-bookworm"
    assert config.reports_path == tmp_path / "reports"


def test_pyproject_then_crucible_toml_then_set(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.crucible]\nreports_dir = "out"\n[tool.crucible.sandbox]\nmemory_mb = 256\ncpus = 0.5\n'
    )
    (tmp_path / "crucible.toml").write_text("[sandbox]\nmemory_mb = 512\n")
    config = load_config(tmp_path, ["sandbox.pids=99", 'images.base_image="x:y"'])
    assert config.reports_path == tmp_path / "out"
    assert config.sandbox.memory_mb == 512  # crucible.toml beats pyproject
    assert config.sandbox.cpus == 0.5
    assert config.sandbox.pids == 99  # --set beats both
    assert config.images.base_image_name == "x:y"


def test_project_root_found_from_a_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "crucible.toml").write_text('reports_dir = "r"\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert load_config(sub).reports_path == tmp_path / "r"


def test_unknown_field_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "crucible.toml").write_text("[sandbox]\nmemroy_mb = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    line = info.value.one_line()
    assert "crucible.toml" in line and "sandbox.memroy_mb" in line and "\n" not in line


def test_bad_override_names_the_override(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--set sandbox.memory_mb=lots"):
        load_config(tmp_path, ["sandbox.memory_mb=lots"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("nonsense")


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "crucible.toml").write_text("[sandbox\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(tmp_path)


def test_unsupported_python_version(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"3\.9.*use one of 3\.11, 3\.13"):
        load_config(tmp_path, ['images.python_version="3.9"'])


def test_override_values_parse_as_toml() -> None:
    assert parse_override("a.b=3") == {"a": {"b": 3}}
    assert parse_override("a=true") == {"a": True}
    assert parse_override("a=plain words") == {"a": "plain words"}
