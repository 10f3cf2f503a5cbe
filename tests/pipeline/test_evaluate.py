"""The evaluation engine end to end against the real engine: the jwt-auth fixture proves itself, and
broken workspaces end as model failures with a reason a person understands."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.errors import SandboxError
from harness.fixtures import Fixture, Timeouts, find_fixture, list_fixtures
from harness.pipeline.engine import Engine
from harness.pipeline.evaluate import evaluate_workspace
from harness.records import RunManifest, SampleStatus
from harness.sandbox.labels import labelled_containers
from harness.store import RunStore
from tests.helpers import run_crucible

pytestmark = pytest.mark.docker
PROJECT = Path(__file__).parents[2]
REFERENCE = PROJECT / "fixtures" / "jwt-auth" / "reference"


def crucible(*args: str, reports: Path) -> subprocess.CompletedProcess[str]:
    return run_crucible(*args, reports=reports)


@pytest.fixture(scope="module")
def engine(config: Any, images: Any, docker_backend: Any, docker_client: Any) -> Engine:
    return Engine(config, docker_client, images, docker_backend)


@pytest.fixture(scope="module")
def fixture() -> Fixture:
    found = find_fixture(PROJECT, "jwt-auth")
    return Fixture(found.root, found.spec.model_copy(update={"timeouts": Timeouts(ready_s=6, migrate_s=60)}))


@pytest.fixture
def run(tmp_path: Path, run_id: str) -> Any:
    return RunStore(tmp_path).create(RunManifest(run_id=run_id, kind="test", crucible_version="0"))


def broken_copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(REFERENCE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


# CI proves one fixture whole (the smallest: the machinery end to end); every fixture's proof is a
# `proof` test, run by scripts/prove.sh whenever fixtures/ changes (see the README's Tests section)
IN_CI = "contacts-split-name"


@pytest.mark.parametrize(
    "fixture_id",
    [pytest.param(f.id, marks=() if f.id == IN_CI else pytest.mark.proof) for f in list_fixtures(PROJECT)],
)
def test_fixtures_check(fixture_id: str, tmp_path: Path, images: Any) -> None:
    result = crucible("fixtures", "check", fixture_id, reports=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    mutants = len(find_fixture(PROJECT, fixture_id).mutants())
    # the spec coverage map, the reference and every mutant
    assert f"{mutants + 2} of {mutants + 2} as expected" in result.stdout
    assert "spec coverage" in result.stdout
    assert "SURPRISE" not in result.stdout


def test_fixtures_check_one_subject(tmp_path: Path, images: Any) -> None:
    result = crucible(
        "fixtures", "check", "contacts-split-name", "-s", "starter-history-rewritten", reports=tmp_path
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 of 1 as expected" in result.stdout
    assert "mutant starter-history-rewritten" in result.stdout and "│ reference" not in result.stdout


def test_score_prints_the_full_table_and_rescore_reads_it_back(tmp_path: Path, images: Any) -> None:
    result = crucible("score", "--fixture", "jwt-auth", str(REFERENCE), reports=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    total = sum(p.read_text().count("\ndef test_") for p in (REFERENCE.parent / "tests").glob("test_*.py"))
    for expected in (
        "status",
        "ok",
        f"{total}/{total} passed (100.0%)",
        "stages",
        "build",
        "tests",
        "record",
    ):
        assert expected in result.stdout
    sample = tmp_path / "latest" / "samples" / "jwt-auth.score"
    for artifact in (
        "record.json",
        "junit.xml",
        "workspace.tar",
        "build.log",
        "logs/app.log",
        "logs/postgres.log",
    ):
        assert (sample / artifact).is_file(), artifact
    record = json.loads((sample / "record.json").read_text())
    assert record["status"] == "ok" and record["tests"]["passed"] == total
    again = crucible("rescore", "latest", reports=tmp_path)
    assert again.returncode == 0 and "jwt-auth.score" in again.stdout and f"{total}/{total}" in again.stdout


def test_score_of_broken_workspaces_via_the_cli(tmp_path: Path, images: Any) -> None:
    syntax = broken_copy(tmp_path, "syntax")
    with (syntax / "app" / "routes_users.py").open("a") as handle:
        handle.write("\ndef oops(:\n")
    missing = broken_copy(tmp_path, "missing")
    (missing / "service.toml").unlink()
    unresolvable = broken_copy(tmp_path, "unresolvable")
    with (unresolvable / "requirements.txt").open("a") as handle:
        handle.write("crucible-no-such-package-zz9==1.0\n")
    cases = {
        syntax: "SyntaxError: invalid syntax (/app/app/routes_users.py, line",
        missing: "no service.toml",
        unresolvable: "crucible-no-such-package-zz9",
    }
    for workspace, reason in cases.items():
        result = crucible(
            "score", "--fixture", "jwt-auth", str(workspace), "--json", reports=tmp_path / workspace.name
        )
        assert result.returncode == 3, result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        record = json.loads(result.stdout)
        assert record["status"] == "model_failure" and reason in record["reason"], record["reason"]


def test_app_that_never_becomes_healthy(engine: Engine, fixture: Fixture, run: Any, tmp_path: Path) -> None:
    silent = broken_copy(tmp_path, "silent")
    (silent / "service.toml").write_text('[service]\nstart = "sleep 600"\n[migrations]\ntool = "alembic"\n')
    record = evaluate_workspace(engine, fixture, silent, run, "silent")
    assert record.status is SampleStatus.MODEL_FAILURE
    assert "did not answer GET /health with 200 within 6 s" in record.reason
    assert record.tests is None


def test_migration_that_fails(engine: Engine, fixture: Fixture, run: Any, tmp_path: Path) -> None:
    bad = broken_copy(tmp_path, "badmigration")
    version = next((bad / "migrations" / "versions").glob("b2e4*.py"))
    version.write_text(
        version.read_text().replace(
            'op.create_index("ix_refresh_tokens_user_id", "refresh_tokens"',
            'op.create_index("ix_refresh_tokens_user_id", "no_such_table"',
        )
    )
    record = evaluate_workspace(engine, fixture, bad, run, "badmigration")
    assert record.status is SampleStatus.MODEL_FAILURE
    assert record.reason.startswith("migrations failed (alembic upgrade head):")
    assert "no_such_table" in record.reason
    log = run.path / "samples" / "badmigration" / "logs" / "migrate.log"
    assert "no_such_table" in log.read_text()


class FlakyBackend:
    """The real Docker backend, except that the first ``failures`` pods fail to start."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real, self.failures = real, failures
        self.name, self.isolated = real.name, real.isolated

    def create_pod(self, run_id: str, sample_id: str, limits: Any = None) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise SandboxError("simulated: the engine dropped the connection")
        return self.real.create_pod(run_id, sample_id, limits)

    def cleanup(self, run_id: str | None = None, sample_id: str | None = None) -> dict[str, int]:
        return dict(self.real.cleanup(run_id, sample_id))


def test_infra_failure_is_retried_once(engine: Engine, fixture: Fixture, run: Any) -> None:
    once = replace(engine, backend=FlakyBackend(engine.backend, failures=1))
    record = evaluate_workspace(once, fixture, REFERENCE, run, "flaky-once")
    assert record.status is SampleStatus.OK and record.attempts == 2
    always = replace(engine, backend=FlakyBackend(engine.backend, failures=99))
    record = evaluate_workspace(always, fixture, REFERENCE, run, "flaky-always")
    assert record.status is SampleStatus.INFRA_FAILURE and record.attempts == 2
    assert "simulated: the engine dropped the connection" in record.reason


def test_pods_leave_nothing_behind(engine: Engine, fixture: Fixture, run: Any, docker_client: Any) -> None:
    evaluate_workspace(engine, fixture, REFERENCE, run, "tidy")
    left = labelled_containers(docker_client, {"crucible.run": run.run_id})
    assert left == []


def test_only_security_probes_without_hidden_tests(engine: Engine, fixture: Fixture, run: Any) -> None:
    record = evaluate_workspace(
        engine, fixture, REFERENCE, run, "security-only", checks=frozenset({"security"})
    )
    assert record.status is SampleStatus.OK and record.tests is None and record.migrations is None
    assert record.security is not None and record.security.secure and record.security.failing() == []
    probes = record.security.probes or []
    assert len(probes) >= 10 and all(p.result == "resisted" for p in probes), probes
    assert all(p.cwe.startswith("CWE-") for p in probes)
