"""Bad input: each is refused with one line that names the file, field or option and the fix, exit
code 2, and nothing written (no run folder, no report)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import PROJECT, run_crucible

GOOD_VARIANT = (PROJECT / "agents" / "backend-engineer.md").read_text()


def refused(tmp_path: Path, *args: str, project: Path = PROJECT) -> str:
    """Run `crucible ARGS`; assert the refusal; its one line."""
    reports = tmp_path / "reports"
    result = run_crucible(*args, reports=reports, project=project, env={"ANTHROPIC_API_KEY": ""})
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stdout[-1000:] + result.stderr[-1000:]
    assert len(lines) == 1 and lines[0].startswith("crucible: error: "), result.stderr
    assert not reports.exists() or not any(reports.rglob("*")), "a refused command wrote something"
    return lines[0]


def variant_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "agents" / "candidate.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no front matter at all\n", "no YAML front matter"),
        ("---\nname: x\n---\nbody\n", "field 'description' is missing"),
        ("---\nname: Backend Engineer\ndescription: d\n---\nbody\n", "field 'name'"),
        ("---\nname: ok-name\ndescription: d\n---\n\n", "the prompt body is empty"),
    ],
    ids=["no-front-matter", "no-description", "bad-name", "empty-body"],
)
def test_malformed_variant(tmp_path: Path, text: str, expected: str) -> None:
    spec = variant_file(tmp_path, text)
    line = refused(tmp_path, "run", "--variants", spec, "--fixtures", "jwt-auth", "--replay")
    assert spec in line and expected in line


def test_unknown_model_alias(tmp_path: Path) -> None:
    spec = variant_file(tmp_path, GOOD_VARIANT.replace("model: sonnet", "model: sonnet-9000", 1))
    assert "model: sonnet-9000" in Path(spec).read_text()
    line = refused(tmp_path, "run", "--variants", spec, "--fixtures", "jwt-auth", "--replay")
    assert spec in line and "'sonnet-9000'" in line and "[agent.models]" in line


def test_unknown_fixture_and_variant(tmp_path: Path) -> None:
    line = refused(tmp_path, "run", "--fixtures", "no-such-fixture", "--replay")
    assert "unknown fixture 'no-such-fixture'" in line and "jwt-auth" in line
    line = refused(tmp_path, "run", "--variants", "agents/no-such-variant.md", "--replay")
    assert "no-such-variant" in line


def test_fixture_with_missing_files(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT / "agents", project / "agents", ignore=shutil.ignore_patterns("cassettes"))
    broken = project / "fixtures" / "broken"
    broken.mkdir(parents=True)
    (broken / "fixture.toml").write_text('id = "broken"\ntitle = "t"\nkind = "greenfield"\n')
    (broken / "spec.md").write_text("spec")
    line = refused(tmp_path, "run", "--fixtures", "broken", "--replay", project=project)
    assert str(broken) in line and "openapi.yaml, tests, reference" in line


def test_empty_and_oversized_workspaces(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "app").mkdir(parents=True)
    line = refused(tmp_path, "score", "--fixture", "jwt-auth", str(empty))
    assert str(empty) in line and "is empty" in line
    big = tmp_path / "big"
    big.mkdir()
    with (big / "data.bin").open("wb") as handle:  # sparse: large, but takes no disk
        handle.truncate(60_000_000)
    line = refused(tmp_path, "score", "--fixture", "jwt-auth", str(big))
    assert str(big) in line and "larger than 50 MB" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("run", "--replay", "--provider", "anthropic"), "--replay contradicts --provider anthropic"),
        (("run", "--record", "--replay"), "--record needs a live provider"),
        (("run", "--resume", "some-run", "--epochs", "2"), "--resume continues the run's own grid; --epochs"),
        (("run", "--provider", "openai"), "--provider openai is unknown"),
        (("score", "--only", "speed", "--fixture", "jwt-auth", "."), "--only speed is not a check"),
        (("score", "."), "--fixture is required to run hidden tests"),
        (("fixtures", "check", "-s", "reference"), "--subject needs one fixture"),
        (("run", "--runtime", "loop,codex"), "runtime loop,codex: unknown"),
    ],
    ids=[
        "replay-and-anthropic",
        "record-replay",
        "resume-with-grid",
        "unknown-provider",
        "unknown-check",
        "score-without-fixture",
        "subject-without-fixture",
        "unknown-runtime",
    ],
)
def test_invalid_option_combinations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], expected: str
) -> None:
    monkeypatch.chdir(PROJECT)  # `.` is then a real workspace: only the options are wrong
    assert expected in refused(tmp_path, *args)
