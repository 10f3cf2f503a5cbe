"""Hostile workspaces scored through the real pipeline and the real engine. Each must end with the right
verdict, leave nothing behind, and leave the harness healthy (the reference still scores right after)."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.fixtures import load_fixture
from harness.pipeline.engine import Engine
from harness.pipeline.evaluate import evaluate_workspace
from harness.records import RunManifest, SampleRecord, SampleStatus
from harness.sandbox.labels import labelled_containers
from harness.store import RunDir, RunStore

pytestmark = pytest.mark.docker
HERE = Path(__file__).parent
ECHO = load_fixture(HERE / "echo")
TESTS_ONLY = frozenset({"tests"})
API_KEY_CANARY = f"sk-ant-canary-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def engine(config: Any, images: Any, docker_backend: Any, docker_client: Any) -> Engine:
    return Engine(config, docker_client, images, docker_backend)


@pytest.fixture
def run(tmp_path: Path, run_id: str) -> RunDir:
    return RunStore(tmp_path / "reports").create(
        RunManifest(run_id=run_id, kind="test", crucible_version="0")
    )


def hostile(tmp_path: Path, overlay: str | None, files: dict[str, str] | None = None) -> Path:
    """The echo reference (its app.py also importable as reference_app) with an overlay on top."""
    dest = tmp_path / (overlay or "workspace")
    shutil.copytree(ECHO.reference, dest)
    shutil.copyfile(dest / "app.py", dest / "reference_app.py")
    if overlay:
        shutil.copytree(HERE / "overlays" / overlay, dest, dirs_exist_ok=True)
    for name, text in (files or {}).items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(text)
    return dest


def score(
    engine: Engine, run: RunDir, path: Path, name: str, checks: frozenset[str] = TESTS_ONLY
) -> SampleRecord:
    record = evaluate_workspace(engine, ECHO, path, run, name, checks=checks)
    left = labelled_containers(engine.client, {"crucible.run": run.run_id})
    assert not left, f"containers left behind: {[c.name for c in left]}"
    assert engine.client.ping()
    return record


def app_log(run: RunDir, name: str) -> str:
    path = run.path / "samples" / name / "logs" / "app.log"
    return path.read_text(errors="replace") if path.is_file() else ""


def test_the_echo_reference_passes(engine: Engine, run: RunDir, tmp_path: Path) -> None:
    record = score(engine, run, hostile(tmp_path, None), "reference")
    assert record.status is SampleStatus.OK and record.tests is not None and record.tests.passed == 4


@pytest.mark.parametrize(
    ("overlay", "reason"),
    [
        ("fork-bomb", "did not answer GET /health"),
        ("memory-hog", "(out of memory)"),
        ("never-answers", "did not answer GET /health"),
        ("migration-sleeper", "migrations failed (alembic upgrade head): timed out"),
    ],
)
def test_hostile_apps_are_model_failures(
    engine: Engine, run: RunDir, tmp_path: Path, overlay: str, reason: str
) -> None:
    record = score(engine, run, hostile(tmp_path, overlay), overlay)
    assert record.status is SampleStatus.MODEL_FAILURE, record.reason
    assert reason in record.reason
    again = score(engine, run, hostile(tmp_path, None), f"{overlay}.after")
    assert again.status is SampleStatus.OK, f"the harness is not healthy after {overlay}: {again.reason}"


def test_a_gigabyte_on_stdout_is_capped_and_the_verdict_stands(
    engine: Engine, run: RunDir, tmp_path: Path
) -> None:
    record = score(engine, run, hostile(tmp_path, "gigabyte-stdout"), "flood")
    assert record.status is SampleStatus.OK, record.reason
    log = run.path / "samples" / "flood" / "logs" / "app.log"
    assert 0 < log.stat().st_size <= 1_100_000
    assert sum(p.stat().st_size for p in run.path.rglob("*") if p.is_file()) < 20_000_000


def test_the_network_is_out_of_reach(engine: Engine, run: RunDir, tmp_path: Path) -> None:
    record = score(engine, run, hostile(tmp_path, "network-prober"), "network")
    assert record.status is SampleStatus.OK, record.reason
    line = next(x for x in app_log(run, "network").splitlines() if x.startswith("NETWORK-REPORT "))
    report = json.loads(line.removeprefix("NETWORK-REPORT "))
    assert report["interfaces"] == ["lo"]
    assert report["routes"] == [] and report["routes6_not_loopback"] == []
    for capability in ("raw_socket", "packet_socket"):
        assert report[capability].startswith("refused"), (capability, report[capability])


def test_planted_verdicts_are_ignored(engine: Engine, run: RunDir, tmp_path: Path) -> None:
    record = score(
        engine, run, hostile(tmp_path, "verdict-forger"), "forger", frozenset({"tests", "security"})
    )
    assert record.status is SampleStatus.MODEL_FAILURE
    assert record.tests is not None and record.tests.total == 4
    assert record.tests.failing() == [
        "test_echo.py::test_echo_returns_the_body",
        "test_echo.py::test_invalid_json_is_422",
    ]
    assert "PLANTED" in app_log(run, "forger")


def test_a_snooping_app_finds_no_secret(
    engine: Engine, run: RunDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY_CANARY)
    other = f"OTHER-SAMPLE-CANARY-{uuid.uuid4().hex}"
    victim = hostile(
        tmp_path,
        None,
        {"secret.txt": other, "app.py": (ECHO.reference / "app.py").read_text() + f"\n# {other}\n"},
    )
    assert score(engine, run, victim, "victim").status is SampleStatus.OK
    record = score(engine, run, hostile(tmp_path, "snoop"), "snoop")
    assert record.status is SampleStatus.OK, record.reason
    log = app_log(run, "snoop")
    assert "SNOOP-DONE" in log and "ENV PORT=8000" in log, "the snoop must have run"
    for secret in (
        API_KEY_CANARY,
        other,
        "HIDDEN-TEST-MARKER-5d1c9e",
        str(tmp_path),
        str(Path.cwd()),
        os.environ.get("HOME", "/root") + "/",
    ):
        assert secret not in log, f"the app could read {secret[:40]!r}"


def test_bad_requirements_are_model_failures_without_host_side_effects(
    engine: Engine, run: RunDir, tmp_path: Path
) -> None:
    marker = tmp_path / f"host-side-effect-{uuid.uuid4().hex}"
    setup = f"from pathlib import Path\nPath({str(marker)!r}).write_text('pip ran me on the host')\nfrom setuptools import setup\nsetup(name='evil', version='1')\n"
    cases = {
        "missing": ("crucible-no-such-package-3f9a==1.0\n", "cannot be installed offline"),
        "sdist-only": ("pycrypto==2.6.1\n", "cannot be installed offline"),
        "local-path": ("./vendor/evil\n", "is not a plain package requirement"),
        "url": ("evil @ https://packages.invalid/evil-1.tar.gz\n", "is not a plain package requirement"),
        "option": (
            "--extra-index-url http://127.0.0.1:9/simple\nevil\n",
            "is not a plain package requirement",
        ),
        "editable": ("-e ./vendor/evil\n", "is not a plain package requirement"),
    }
    for name, (requirements, reason) in cases.items():
        workspace = hostile(
            tmp_path / name, None, {"requirements.txt": requirements, "vendor/evil/setup.py": setup}
        )
        record = score(engine, run, workspace, f"requirements-{name}")
        assert record.status is SampleStatus.MODEL_FAILURE, (name, record.reason)
        assert reason in record.reason, (name, record.reason)
    assert not marker.exists(), "a requirement ran code on the host"


def test_links_out_of_the_workspace_are_never_followed_on_the_host(
    engine: Engine, run: RunDir, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    canary = f"HOST-FILE-CANARY-{uuid.uuid4().hex}"
    (outside / "secret.py").write_text(
        f"password = 'x'  # {canary}\nimport os\nos.system('echo ' + '{canary}')\n"
    )
    workspace = hostile(tmp_path, None)
    (workspace / "passwd").symlink_to("/etc/passwd")
    (workspace / "up").symlink_to("../../")
    (workspace / "secret.py").symlink_to(outside / "secret.py")
    (workspace / "lib").mkdir()
    (workspace / "lib" / "more.py").symlink_to("../../outside/secret.py")
    record = score(engine, run, workspace, "links", frozenset({"tests", "security"}))
    assert record.status is SampleStatus.OK, record.reason
    assert record.security is not None and not any(
        "secret.py" in f.file or "more.py" in f.file for f in record.security.findings
    )
    for path in run.path.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert canary.encode() not in path.read_bytes(), f"{path} holds the host file's content"
    (workspace / "requirements.txt").symlink_to(outside / "secret.py")
    linked = score(engine, run, workspace, "linked-requirements")
    assert linked.status is SampleStatus.MODEL_FAILURE
    assert "requirements.txt is a symbolic link" in linked.reason
