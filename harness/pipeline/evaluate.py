"""Stage `evaluate`: one workspace through build -> eval pod -> scores, with triage.

Every artifact lands in ``samples/<sample_id>/`` of the run, so a sample can be re-scored from its
artifacts alone (:func:`rescore_sample`) or re-evaluated from its stored workspace.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.errors import SubmissionError
from harness.fixtures import Fixture
from harness.pipeline.build import build_app
from harness.pipeline.engine import Engine, retry_infra
from harness.pipeline.pod import run_pod
from harness.pipeline.pod_steps import PodResult
from harness.records import ALL_CHECKS, Check, PodSummary, SampleRecord, SampleStatus, Stage, utc_now
from harness.records.migrations import MigrationReport
from harness.records.security import SecurityReport
from harness.records.tests import SuiteScore
from harness.score.security.static import cached_static_scan
from harness.score.tests import parse_junit
from harness.store import RunDir
from harness.workspace import Workspace, load_workspace


def triage(
    pod: PodSummary, tests: SuiteScore | None, checks: frozenset[Check]
) -> tuple[SampleStatus, str, Stage | None]:
    """How a sample that was evaluated (no infra failure) ends, why, and at which stage it failed."""
    if pod.failure:
        return SampleStatus.MODEL_FAILURE, pod.failure, pod.failed_stage
    if Check.TESTS not in checks:
        return SampleStatus.OK, "", None
    if tests is None or tests.total == 0:
        return SampleStatus.MODEL_FAILURE, "no hidden test results", Stage.TESTS
    if not tests.all_pass:
        failing = tests.failing()
        shown = ", ".join(failing[:3]) + (" ..." if len(failing) > 3 else "")
        reason = f"{len(failing)} of {tests.total - tests.skipped} hidden tests failed: {shown}"
        return SampleStatus.MODEL_FAILURE, reason, Stage.TESTS
    return SampleStatus.OK, "", None


def _failed(record: SampleRecord, stage: Stage, reason: str) -> SampleRecord:
    update = {"status": SampleStatus.MODEL_FAILURE, "reason": reason, "failed_stage": stage}
    return record.model_copy(update=update)


def _attempt(
    engine: Engine, fixture: Fixture, path: Path, run: RunDir, record: SampleRecord, checks: frozenset[Check]
) -> SampleRecord:
    folder = f"samples/{record.sample_id}"
    try:
        workspace = load_workspace(path)
    except SubmissionError as exc:
        return _failed(record, Stage.WORKSPACE, exc.message)
    run.write_bytes(f"{folder}/workspace.tar", workspace.archive)
    record = record.model_copy(update={"workspace_digest": workspace.digest})
    try:
        app = build_app(engine.client, engine.images, workspace.requirements, engine.config.images)
    except SubmissionError as exc:
        run.write_text(f"{folder}/build.log", exc.message + "\n")
        return _failed(record, Stage.BUILD, exc.message)
    run.write_text(f"{folder}/build.log", app.log)
    pod, security = _pod_and_lint(engine, fixture, run, record.sample_id, workspace, app.tag, checks)
    summary = _store_pod(run, folder, pod, security)
    tests = parse_junit(pod.junit) if pod.junit else None
    status, reason, stage = triage(summary, tests, checks)
    static = {"static": security.seconds["static"]} if security else {}
    return record.model_copy(
        update={
            "status": status,
            "reason": reason,
            "failed_stage": stage,
            "tests": tests,
            "migrations": pod.migrations,
            "security": security,
            "app_image": app.tag,
            "seconds": {"build": round(app.seconds, 3), **pod.seconds, **static},
        }
    )


def _pod_and_lint(
    engine: Engine,
    fixture: Fixture,
    run: RunDir,
    sample_id: str,
    workspace: Workspace,
    app_image: str,
    checks: frozenset[Check],
) -> tuple[PodResult, SecurityReport | None]:
    """The eval pod, with the static lint beside it when security is checked."""
    with ThreadPoolExecutor(max_workers=1) as lint:
        cache = engine.config.images.cache_dir
        wants_lint = Check.SECURITY in checks
        static = lint.submit(cached_static_scan, workspace.archive, cache) if wants_lint else None
        pod = run_pod(engine, app_image, workspace, fixture, run.run_id, sample_id, checks)
        security = static.result().model_copy(update={"probes": pod.probes}) if static else None
    return pod, security


def _store_pod(run: RunDir, folder: str, pod: PodResult, security: SecurityReport | None) -> PodSummary:
    for name, text in pod.logs.items():
        run.write_text(f"{folder}/logs/{name}.log", text)
    if pod.junit:
        run.write_bytes(f"{folder}/junit.xml", pod.junit)
    if pod.probes_junit:
        run.write_bytes(f"{folder}/probes.xml", pod.probes_junit)
    run.write_text(f"{folder}/pytest.txt", pod.pytest_output)
    summary = PodSummary(failure=pod.failure, failed_stage=pod.failed_stage, seconds=pod.seconds)
    run.write_record(f"{folder}/pod.json", summary)
    if pod.migrations is not None:
        run.write_text(f"{folder}/migrations.json", pod.migrations.model_dump_json(indent=2))
    if security is not None:
        run.write_text(f"{folder}/security.json", security.model_dump_json(indent=2))
    return summary


def evaluate_workspace(
    engine: Engine,
    fixture: Fixture,
    path: Path,
    run: RunDir,
    sample_id: str,
    *,
    variant: str | None = None,
    epoch: int = 1,
    checks: frozenset[Check] = ALL_CHECKS,
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

    def attempt(number: int) -> SampleRecord:
        return _attempt(engine, fixture, path, run, base.model_copy(update={"attempts": number}), checks)

    tried = retry_infra(engine, run.run_id, sample_id, attempt)
    record = tried.value or base.model_copy(
        update={"reason": f"infrastructure: {tried.error.one_line() if tried.error else 'unknown'}"}
    )
    seconds = {**record.seconds, "total": round(time.monotonic() - started, 3)}
    update = {
        "attempts": tried.attempts,
        "retries": tried.retries,
        "seconds": seconds,
        "finished_at": utc_now(),
    }
    record = record.model_copy(update=update)
    run.write_record(f"samples/{sample_id}/record.json", record)
    return record


def rescore_sample(run: RunDir, sample_id: str) -> SampleRecord:
    """Recompute a stored sample's scores from its artifacts alone (no Docker, no model)."""
    folder = f"samples/{sample_id}"
    record = run.read_record(f"{folder}/record.json", SampleRecord)
    if record.status is SampleStatus.INFRA_FAILURE or not run.exists(f"{folder}/pod.json"):
        return record
    pod = run.read_record(f"{folder}/pod.json", PodSummary)
    junit = run.path / folder / "junit.xml"
    tests = parse_junit(junit.read_bytes()) if junit.is_file() else None
    status, reason, stage = triage(pod, tests, frozenset(record.checks))
    report = run.path / folder / "migrations.json"
    migrations = MigrationReport.model_validate_json(report.read_bytes()) if report.is_file() else None
    lint = run.path / folder / "security.json"
    security = SecurityReport.model_validate_json(lint.read_bytes()) if lint.is_file() else None
    updated = record.model_copy(
        update={
            "status": status,
            "reason": reason,
            "failed_stage": stage,
            "tests": tests,
            "migrations": migrations,
            "security": security,
        }
    )
    run.write_record(f"{folder}/record.json", updated)
    return updated
