"""Sequencing one sample through the stages: workspace -> build -> run -> score, with triage.

Every artifact lands in ``samples/<sample_id>/`` of the run, so a sample can be re-scored from its
artifacts alone (:func:`rescore_sample`) or re-evaluated from its stored workspace.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.build import build_app
from harness.config import CrucibleConfig, EngineSettings
from harness.errors import InfraError, SubmissionError
from harness.fixtures import Fixture
from harness.images import ImageSet, ensure_images
from harness.pod_steps import PodResult
from harness.records import SampleRecord, SampleStatus, utc_now
from harness.run import ALL_CHECKS, run_pod
from harness.sandbox import SandboxBackend, create_backend
from harness.sandbox.engine import connect, wait_until_up
from harness.sandbox.pool import PodPool
from harness.score.migrations.report import MigrationReport
from harness.score.security.findings import SecurityReport
from harness.score.security.static import cached_static_scan
from harness.score.tests import SuiteScore, parse_junit
from harness.store import RunDir
from harness.workspace import load_workspace

INFRA_ATTEMPTS = 2  # an infra failure is retried once
ENGINE_WAIT_S = 120.0  # before that retry, how long the engine may take to come back


@dataclass(frozen=True)
class Engine:
    config: CrucibleConfig
    client: Any
    images: ImageSet
    backend: SandboxBackend
    pods: PodPool | None = None  # warm eval pods, when the caller keeps a pool
    url: str = ""  # the engine's URL as configured ("" for the default engine)

    @classmethod
    def start(
        cls,
        config: CrucibleConfig,
        progress: Callable[[str], None] = lambda _l: None,
        settings: EngineSettings | None = None,
    ) -> Engine:
        """The engine at ``settings`` (default: `sandbox.docker_host`), with every image ready on it."""
        if settings is None:
            client = connect(config.sandbox.docker_host)
        else:
            files = None
            if settings.tls_ca and settings.tls_cert and settings.tls_key:
                files = (settings.tls_ca, settings.tls_cert, settings.tls_key)
            client = connect(settings.url, tls=files)
        images = ensure_images(client, config.images, progress)
        return cls(config, client, images, create_backend(config, images.base.tag, client, name="docker"))

    @classmethod
    def start_all(
        cls, config: CrucibleConfig, progress: Callable[[str], None] = lambda _l: None
    ) -> list[Engine]:
        """Every configured engine (`sandbox.engines`), or the one engine of `sandbox.docker_host`."""
        if not config.sandbox.engines:
            return [cls.start(config, progress)]
        engines = []
        for settings in config.sandbox.engines:

            def tagged(line: str, url: str = settings.url) -> None:
                progress(f"{url}: {line}")

            engines.append(replace(cls.start(config, tagged, settings), url=settings.url))
        return engines


def recover(engine: Engine, run_id: str, sample_id: str) -> None:
    """Before an infra failure is retried: wait for the engine, then remove what the failed attempt
    left behind (its pods could not be removed while the engine was away)."""
    if wait_until_up(engine.client, ENGINE_WAIT_S):
        with contextlib.suppress(Exception):
            engine.backend.cleanup(run_id, sample_id)


def triage(pod_failure: str, tests: SuiteScore | None) -> tuple[SampleStatus, str]:
    """How a sample that was evaluated (no infra failure) ends, and why."""
    if pod_failure:
        return SampleStatus.MODEL_FAILURE, pod_failure
    if tests is None or tests.total == 0:
        return SampleStatus.MODEL_FAILURE, "no hidden test results"
    if not tests.all_pass:
        failing = tests.failing()
        shown = ", ".join(failing[:3]) + (" ..." if len(failing) > 3 else "")
        return (
            SampleStatus.MODEL_FAILURE,
            f"{len(failing)} of {tests.total - tests.skipped} hidden tests failed: {shown}",
        )
    return SampleStatus.OK, ""


def _attempt(
    engine: Engine, fixture: Fixture, path: Path, run: RunDir, record: SampleRecord, checks: frozenset[str]
) -> SampleRecord:
    folder = f"samples/{record.sample_id}"
    seconds: dict[str, float] = {}
    try:
        workspace = load_workspace(path)
    except SubmissionError as exc:
        return record.model_copy(update={"status": SampleStatus.MODEL_FAILURE, "reason": exc.message})
    run.write_bytes(f"{folder}/workspace.tar", workspace.archive)
    record = record.model_copy(update={"workspace_digest": workspace.digest})
    try:
        app = build_app(engine.client, engine.images, workspace.requirements, engine.config.images)
    except SubmissionError as exc:
        run.write_text(f"{folder}/build.log", exc.message + "\n")
        return record.model_copy(update={"status": SampleStatus.MODEL_FAILURE, "reason": exc.message})
    run.write_text(f"{folder}/build.log", app.log)
    seconds["build"] = round(app.seconds, 3)
    with ThreadPoolExecutor(max_workers=1) as lint:
        cache = engine.config.images.cache_dir
        static = lint.submit(cached_static_scan, workspace.archive, cache) if "security" in checks else None
        pod = run_pod(
            engine.backend,
            engine.images,
            app.tag,
            workspace,
            fixture,
            run.run_id,
            record.sample_id,
            checks,
            engine.pods,
        )
        security = _security(static.result(), pod) if static else None
    _store_pod(run, folder, pod, security)
    tests = parse_junit(pod.junit) if pod.junit else None
    status, reason = triage(pod.failure, tests) if "tests" in checks else _triage_without_tests(pod.failure)
    return record.model_copy(
        update={
            "status": status,
            "reason": reason,
            "tests": tests,
            "migrations": pod.migrations,
            "security": security,
            "app_image": app.tag,
            "seconds": {
                **seconds,
                **pod.seconds,
                **({"static": security.seconds["static"]} if security else {}),
            },
        }
    )


def _security(static: SecurityReport, pod: PodResult) -> SecurityReport:
    return static.model_copy(update={"probes": pod.probes})


def _triage_without_tests(pod_failure: str) -> tuple[SampleStatus, str]:
    return (SampleStatus.MODEL_FAILURE, pod_failure) if pod_failure else (SampleStatus.OK, "")


def _store_pod(run: RunDir, folder: str, pod: PodResult, security: SecurityReport | None) -> None:
    for name, text in pod.logs.items():
        run.write_text(f"{folder}/logs/{name}.log", text)
    if pod.junit:
        run.write_bytes(f"{folder}/junit.xml", pod.junit)
    if pod.probes_junit:
        run.write_bytes(f"{folder}/probes.xml", pod.probes_junit)
    run.write_text(f"{folder}/pytest.txt", pod.pytest_output)
    run.write_text(
        f"{folder}/pod.json", json.dumps({"failure": pod.failure, "seconds": pod.seconds}, indent=2)
    )
    if pod.migrations is not None:
        run.write_text(f"{folder}/migrations.json", pod.migrations.model_dump_json(indent=2))
    if security is not None:
        run.write_text(f"{folder}/security.json", security.model_dump_json(indent=2))


def evaluate_workspace(
    engine: Engine,
    fixture: Fixture,
    path: Path,
    run: RunDir,
    sample_id: str,
    *,
    variant: str | None = None,
    epoch: int = 1,
    checks: frozenset[str] = ALL_CHECKS,
) -> SampleRecord:
    """Evaluate the workspace at ``path``; the record is stored and returned. Never raises for the
    workspace's own faults (model_failure) nor for infrastructure (infra_failure after one retry)."""
    started = time.monotonic()
    base = SampleRecord(
        run_id=run.run_id,
        sample_id=sample_id,
        fixture_id=fixture.id,
        variant=variant,
        epoch=epoch,
        status=SampleStatus.INFRA_FAILURE,
        checks=sorted(checks),
    )
    record = base
    retries: list[str] = []
    for attempt in range(1, INFRA_ATTEMPTS + 1):
        try:
            record = _attempt(
                engine, fixture, path, run, base.model_copy(update={"attempts": attempt}), checks
            )
            break
        except InfraError as exc:
            record = base.model_copy(
                update={"attempts": attempt, "reason": f"infrastructure: {exc.one_line()}"}
            )
            if attempt < INFRA_ATTEMPTS:
                retries.append(f"attempt {attempt}: {exc.one_line()}")
                recover(engine, run.run_id, sample_id)
    record = record.model_copy(update={"retries": retries})
    seconds = {**record.seconds, "total": round(time.monotonic() - started, 3)}
    record = record.model_copy(update={"seconds": seconds, "finished_at": utc_now()})
    run.write_record(f"samples/{sample_id}/record.json", record)
    return record


def rescore_sample(run: RunDir, sample_id: str) -> SampleRecord:
    """Recompute a stored sample's scores from its artifacts alone (no Docker, no model)."""
    folder = f"samples/{sample_id}"
    record = run.read_record(f"{folder}/record.json", SampleRecord)
    if record.status is SampleStatus.INFRA_FAILURE or not run.exists(f"{folder}/pod.json"):
        return record
    pod = json.loads((run.path / folder / "pod.json").read_text())
    junit = run.path / folder / "junit.xml"
    tests = parse_junit(junit.read_bytes()) if junit.is_file() else None
    failure = str(pod.get("failure", ""))
    status, reason = triage(failure, tests) if "tests" in record.checks else _triage_without_tests(failure)
    report = run.path / folder / "migrations.json"
    migrations = MigrationReport.model_validate_json(report.read_bytes()) if report.is_file() else None
    lint = run.path / folder / "security.json"
    security = SecurityReport.model_validate_json(lint.read_bytes()) if lint.is_file() else None
    updated = record.model_copy(
        update={
            "status": status,
            "reason": reason,
            "tests": tests,
            "migrations": migrations,
            "security": security,
        }
    )
    run.write_record(f"{folder}/record.json", updated)
    return updated
