"""The pytest plugin, driven through pytester in a copy of the project (agents, cassettes, jwt-auth)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.records import RunManifest, RunStatus

pytest_plugins = ["pytester"]
PROJECT = Path(__file__).parent.parent
TEST = """
import pytest
from harness.records import SampleStatus

def test_backend(crucible_sample):
    record = crucible_sample
    problems = [] if record.status is SampleStatus.OK else [record.reason]
    if record.security and not record.security.secure:
        problems.append("exploited probes: " + ", ".join(p.probe for p in record.security.exploited))
    if record.migrations and record.migrations.failing():
        problems.append("migration checks failing: " + ", ".join(record.migrations.failing()))
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(PROJECT / "agents", pytester.path / "agents")
    (pytester.path / "fixtures").mkdir()
    shutil.copytree(
        PROJECT / "fixtures" / "jwt-auth",
        pytester.path / "fixtures" / "jwt-auth",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (pytester.path / "crucible.toml").write_text('reports_dir = "reports"\n')
    pytester.makepyfile(test_evals=TEST)
    return pytester


def test_options_are_in_one_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = result.stdout.str()
    assert "Crucible: evaluate coding-agent prompt variants" in text
    for option in (
        "--crucible-variants",
        "--crucible-fixtures",
        "--crucible-epochs",
        "--crucible-provider",
        "--crucible-baseline",
        "--crucible-report",
        "--crucible-margin",
    ):
        assert option in text


def test_grid_ids_and_selection(project: pytest.Pytester) -> None:
    result = project.runpytest("test_evals.py", "--collect-only", "-q", "--crucible-epochs", "2")
    ids = [line for line in result.stdout.lines if "::test_backend[" in line]
    assert len(ids) == 6
    assert "test_evals.py::test_backend[backend-engineer-checklist-jwt-auth-e2]" in ids
    selected = project.runpytest(
        "test_evals.py", "--collect-only", "-q", "--crucible-epochs", "2", "-k", "terse and e1"
    )
    chosen = [line for line in selected.stdout.lines if "::test_backend[" in line]
    assert chosen == ["test_evals.py::test_backend[backend-engineer-terse-jwt-auth-e1]"]


@pytest.mark.docker
def test_failing_threshold_shows_the_reason_and_the_report_is_written(
    project: pytest.Pytester, images: Any
) -> None:
    out = project.path / "out"
    result = project.runpytest(
        "test_evals.py",
        "--crucible-variants",
        "agents/backend-engineer-terse.md",
        "--crucible-provider",
        "replay",
        "--crucible-report",
        str(out),
    )
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "hidden tests failed: test_storage.py::test_passwords_are_stored_as_salted_slow_hashes" in text
    assert "exploited probes: test_plaintext_password_in_database" in text
    assert "crucible" in text and "| backend-engineer-terse | 1 |" in text  # the terminal summary
    assert (project.path / "reports" / "latest" / "index.html").is_file()
    assert (out / "index.html").is_file() and (out / "summary.md").is_file()


@pytest.mark.docker
def test_xdist_workers_share_one_run_and_one_report(project: pytest.Pytester, images: Any) -> None:
    result = project.runpytest_subprocess(
        "test_evals.py",
        "-n",
        "2",
        "--crucible-variants",
        "agents/backend-engineer-checklist.md,agents/backend-engineer.md",
        "--crucible-provider",
        "replay",
        "--crucible-baseline",
        "backend-engineer-checklist",
    )
    result.assert_outcomes(passed=1, failed=1)
    runs = list((project.path / "reports" / "runs").iterdir())
    assert len(runs) == 1, runs
    samples = sorted(p.name for p in (runs[0] / "samples").iterdir())
    assert samples == ["backend-engineer-checklist.jwt-auth.e1", "backend-engineer.jwt-auth.e1"]
    summary = (runs[0] / "summary.md").read_text()
    assert (
        "backend-engineer-checklist" in summary
        and "## backend-engineer vs backend-engineer-checklist" in summary
    )
    assert "migrations: FAILS" in summary
    manifest = RunManifest.model_validate_json((runs[0] / "run.json").read_text())
    assert manifest.kind == "pytest" and manifest.status is RunStatus.COMPLETE and manifest.finished_at
    assert manifest.grid is not None and manifest.grid.provider == "replay"
