"""Stage `run`: one eval pod (holder, PostgreSQL, migrate, app, tester) for one workspace.

The workspace's migrations run through its runtime contract, the app starts with the fixture's
environment and must answer ``GET /health``; only then do the hidden tests, and after them the
security probes, enter the tester container and run against the app over the pod's loopback. Then
the migration history is checked on fresh databases of the same PostgreSQL. Problems of the
workspace end the pod with a ``failure`` (a model failure); problems of Docker or the harness raise
InfraError.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from harness.backfill import prepare_existing, run_backfill
from harness.crashlog import summarise_failure
from harness.errors import SandboxError
from harness.fixtures import Fixture
from harness.images import ImageSet
from harness.migration_tools import DRIVERS
from harness.pod_steps import PodResult, collect_logs, run_hidden_tests, run_probes, wait_healthy
from harness.probe import Probe
from harness.sandbox import Container, ContainerSpec, Limits, Pod, SandboxBackend
from harness.sandbox.pool import PodPool
from harness.sandbox.services import DATABASE_URL, Postgres, start_postgres
from harness.score.migrations.report import MigrationReport
from harness.score.migrations.snapshot import diff
from harness.stairway import run_stairway
from harness.workspace import Workspace

APP_LIMITS = Limits(memory_mb=1024, cpus=1.0, pids=256, exec_timeout_s=120, output_cap_bytes=1_000_000)
MIGRATION_COMMANDS = {
    "alembic": "alembic upgrade head",
    "django": "python manage.py migrate --noinput",
}
ALL_CHECKS = frozenset({"tests", "migrations", "security"})
APP_URL_BASE, APP_DATABASE = DATABASE_URL.rsplit("/", 1)


class _Clock:
    def __init__(self, result: PodResult) -> None:
        self.result = result
        self.mark = time.monotonic()

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self.result.seconds[stage] = round(now - self.mark, 3)
        self.mark = now


def run_pod(
    backend: SandboxBackend,
    images: ImageSet,
    app_image: str,
    workspace: Workspace,
    fixture: Fixture,
    run_id: str,
    sample_id: str,
    checks: frozenset[str] = ALL_CHECKS,
    pool: PodPool | None = None,
) -> PodResult:
    """Evaluate ``workspace`` in a fresh pod (a warm one from ``pool`` when given: its PostgreSQL is
    already up); ``checks`` picks among `tests`, `migrations` and `security`."""
    result = PodResult()
    clock = _Clock(result)
    warm = pool.take() if pool is not None else None
    pod = warm.pod if warm is not None else backend.create_pod(run_id, sample_id)
    try:
        clock.lap("pod")
        database = warm.database if warm is not None else start_postgres(pod, images.postgres.tag)
        clock.lap("postgres")
        _evaluate(pod, database, images, app_image, workspace, fixture, checks, result, clock)
        if not pod.intact():
            raise SandboxError(f"pod {pod.pod_id} was stopped from outside (was the engine restarted?)")
    finally:
        collect_logs(pod, result)
        pod.close()
        clock.lap("teardown")
    return result


def _evaluate(
    pod: Pod,
    database: Postgres,
    images: ImageSet,
    app_image: str,
    workspace: Workspace,
    fixture: Fixture,
    checks: frozenset[str],
    result: PodResult,
    clock: _Clock,
) -> None:
    spec = fixture.spec
    tester_env = {
        **spec.env,
        "BASE_URL": f"http://127.0.0.1:{spec.port}",
        "DATABASE_URL": database.superuser_url,
        "APP_DATABASE_URL": DATABASE_URL,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    tester = pod.add(
        ContainerSpec(
            name="tester", image=images.runtime.tag, user="sandbox", workdir="/hidden", env=tester_env
        )
    )
    probe = Probe(tester, database.superuser_url)
    clock.lap("tester")
    app_env = {**spec.env, "DATABASE_URL": DATABASE_URL, "PORT": str(spec.port)}
    code = ContainerSpec(
        name="migrate",
        image=app_image,
        user="sandbox",
        workdir="/app",
        env=app_env,
        limits=APP_LIMITS,
        files={"/app": workspace.archive},
    )
    migrate = pod.add(code)
    tool = workspace.service.migrations.tool
    command = MIGRATION_COMMANDS.get(tool)
    if fixture.spec.brownfield is not None:
        result.failure = _prepare_existing(migrate, probe, tool, fixture)
        if result.failure:
            clock.lap("migrate")
            return
    if command:
        done = migrate.exec(command, timeout=spec.timeouts.migrate_s)
        result.logs["migrate"] = done.out + done.err
        if not done.ok:
            gist = "timed out" if done.timed_out else summarise_failure(done.out + done.err)
            result.failure = f"migrations failed ({command}): {gist}"
            clock.lap("migrate")
            return
    clock.lap("migrate")
    stairway = None
    with ThreadPoolExecutor(max_workers=1) as background:
        if "migrations" in checks and tool in DRIVERS:
            # The stairway works on databases of its own, so it runs while the app is being tested.
            stairway = background.submit(_check_migrations, migrate, probe, tool, fixture)
        runtime_changes = _exercise_app(pod, code, workspace, fixture, checks, tester, probe, result, clock)
        if stairway is not None:
            report = stairway.result()
            result.migrations = report.model_copy(update={"runtime_changes": runtime_changes})
            result.seconds["migrations"] = report.seconds
            clock.lap("migrations_wait")
    if "migrations" in checks and tool == "none":
        result.migrations = MigrationReport(
            tool="none",
            error="no migrations: the runtime contract needs them",
            runtime_changes=runtime_changes,
        )


def _prepare_existing(migrate: Container, probe: Probe, tool: str, fixture: Fixture) -> str:
    """Brownfield: the app's database at the starter's revision, holding the existing data."""
    if tool not in DRIVERS:
        return (
            f"service.toml names migrations tool {tool!r}, but the existing data needs the starter's "
            "migration history"
        )
    timeout = fixture.spec.timeouts.migrate_s
    driver = DRIVERS[tool](migrate, timeout)
    return prepare_existing(
        driver, probe.on(APP_DATABASE), lambda argv: migrate.exec(argv, timeout=timeout), fixture
    )


def _check_migrations(migrate: Container, probe: Probe, tool: str, fixture: Fixture) -> MigrationReport:
    timeout = fixture.spec.timeouts.migrate_s
    driver = DRIVERS[tool](migrate, timeout)
    report = run_stairway(driver, probe, APP_URL_BASE, timeout)
    if fixture.spec.brownfield is None:
        return report
    return report.model_copy(update={"backfill": run_backfill(driver, probe, APP_URL_BASE, timeout, fixture)})


def _exercise_app(
    pod: Pod,
    code: ContainerSpec,
    workspace: Workspace,
    fixture: Fixture,
    checks: frozenset[str],
    tester: Container,
    probe: Probe,
    result: PodResult,
    clock: _Clock,
) -> list[str] | None:
    """Start the app and run the hidden tests and probes against it; what the app changed in its own
    schema while running (None when the app was not started, or never became healthy)."""
    spec = fixture.spec
    probes_dir = fixture.root / "probes"
    wants_probes = "security" in checks and probes_dir.is_dir()
    if "tests" not in checks and not wants_probes:
        return None
    migrated = probe.on(APP_DATABASE).snapshot()
    app = pod.add(replace(code, name="app", command=["sh", "-c", workspace.service.service.start]))
    healthy = wait_healthy(app, tester, spec.port, spec.timeouts.ready_s, result)
    clock.lap("ready")
    if not healthy:
        return None
    if "tests" in checks:
        run_hidden_tests(tester, fixture.tests_dir, spec.timeouts.tests_s, result)
        clock.lap("tests")
    if wants_probes:
        run_probes(app, tester, probes_dir, spec.timeouts.tests_s, result)
        clock.lap("probes")
    changed = diff(migrated, probe.on(APP_DATABASE).snapshot())
    return [line.replace("left behind", "created by the running app") for line in changed]
