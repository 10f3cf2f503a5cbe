"""Stage `pod`: one eval pod (holder, PostgreSQL, migrate, app, tester) for one workspace.

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
from dataclasses import dataclass, replace

from harness.errors import SandboxError
from harness.fixtures import Fixture
from harness.pipeline.engine import Engine
from harness.pipeline.pod_steps import (
    PodResult,
    collect_logs,
    run_hidden_tests,
    run_probes,
    scan_app_log,
    wait_healthy,
)
from harness.records import ALL_CHECKS, Check, Stage
from harness.records.migrations import MigrationReport
from harness.sandbox import Container, ContainerSpec, Limits, Pod
from harness.sandbox.services import DATABASE_URL, Postgres, start_postgres
from harness.score.migrations.check import check_migrations, prepare_existing
from harness.score.migrations.drivers import DRIVERS
from harness.score.migrations.pgclient import PgClient
from harness.score.migrations.snapshot import diff
from harness.workspace import Workspace

APP_LIMITS = Limits(memory_mb=1024, cpus=1.0, pids=256, exec_timeout_s=120, output_cap_bytes=1_000_000)
MIGRATION_COMMANDS = {
    "alembic": "alembic upgrade head",
    "django": "python manage.py migrate --noinput",
}
APP_URL_BASE, APP_DATABASE = DATABASE_URL.rsplit("/", 1)


class _Clock:
    def __init__(self, result: PodResult) -> None:
        self.result = result
        self.mark = time.monotonic()

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self.result.seconds[stage] = round(now - self.mark, 3)
        self.mark = now


@dataclass
class _Evaluation:
    """One workspace in one pod: what every step reads, and where it writes."""

    pod: Pod
    workspace: Workspace
    fixture: Fixture
    checks: frozenset[Check]
    result: PodResult
    clock: _Clock
    tester: Container
    pg: PgClient
    code: ContainerSpec  # the app's container, as the migrate step runs it

    @property
    def tool(self) -> str:
        return self.workspace.service.migrations.tool


def run_pod(
    engine: Engine,
    app_image: str,
    workspace: Workspace,
    fixture: Fixture,
    run_id: str,
    sample_id: str,
    checks: frozenset[Check] = ALL_CHECKS,
) -> PodResult:
    """Evaluate ``workspace`` in a fresh pod (a warm one from the engine's pool when it keeps one: its
    PostgreSQL is already up); ``checks`` picks among tests, migrations and security."""
    result = PodResult()
    clock = _Clock(result)
    warm = engine.pods.take() if engine.pods is not None else None
    pod = warm.pod if warm is not None else engine.backend.create_pod(run_id, sample_id)
    evaluation = None
    try:
        clock.lap("pod")
        database = warm.database if warm is not None else start_postgres(pod, engine.images.postgres.tag)
        clock.lap("postgres")
        evaluation = _start(pod, database, engine, app_image, workspace, fixture, checks, result, clock)
        _evaluate(evaluation)
        if not pod.intact():
            raise SandboxError(f"pod {pod.pod_id} was stopped from outside (was the engine restarted?)")
    finally:
        if evaluation is not None:
            evaluation.pg.close()
        collect_logs(pod, result)
        pod.close()
        clock.lap("teardown")
    return result


def _start(
    pod: Pod,
    database: Postgres,
    engine: Engine,
    app_image: str,
    workspace: Workspace,
    fixture: Fixture,
    checks: frozenset[Check],
    result: PodResult,
    clock: _Clock,
) -> _Evaluation:
    """The tester (with the PostgreSQL client) in the pod, and the spec of the app's container."""
    spec = fixture.spec
    tester_env = {
        **spec.env,
        "BASE_URL": f"http://127.0.0.1:{spec.port}",
        "DATABASE_URL": database.superuser_url,
        "APP_DATABASE_URL": DATABASE_URL,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    runtime = engine.images.runtime.tag
    tester = pod.add(
        ContainerSpec(name="tester", image=runtime, user="sandbox", workdir="/hidden", env=tester_env)
    )
    pg = PgClient(tester, database.superuser_url)
    clock.lap("tester")
    code = ContainerSpec(
        name="migrate",
        image=app_image,
        user="sandbox",
        workdir="/app",
        env={**spec.env, "DATABASE_URL": DATABASE_URL, "PORT": str(spec.port)},
        limits=APP_LIMITS,
        files={"/app": workspace.archive},
    )
    return _Evaluation(pod, workspace, fixture, checks, result, clock, tester, pg, code)


def _evaluate(ev: _Evaluation) -> None:
    migrate = ev.pod.add(ev.code)
    if not _migrate(ev, migrate):
        return
    stairway = None
    runtime_changes = None
    with ThreadPoolExecutor(max_workers=1) as background:
        if Check.MIGRATIONS in ev.checks and ev.tool in DRIVERS:
            # The stairway works on databases of its own, so it runs while the app is being tested.
            stairway = background.submit(check_migrations, migrate, ev.pg, ev.tool, ev.fixture, APP_URL_BASE)
        runtime_changes = _exercise_app(ev)
        if stairway is not None:
            report = stairway.result()
            ev.result.migrations = report.model_copy(update={"runtime_changes": runtime_changes})
            ev.result.seconds["migrations"] = report.seconds
            ev.clock.lap("migrations_wait")
    if Check.MIGRATIONS in ev.checks and ev.tool == "none":
        ev.result.migrations = MigrationReport(
            tool="none",
            error="no migrations: the runtime contract needs them",
            runtime_changes=runtime_changes,
        )


def _migrate(ev: _Evaluation, migrate: Container) -> bool:
    """Brownfield: the existing data first; then the workspace's own `upgrade head`. False when the
    workspace failed there."""
    timeout = ev.fixture.spec.timeouts.migrate_s
    if ev.fixture.spec.brownfield is not None:
        failure = prepare_existing(migrate, ev.pg.on(APP_DATABASE), ev.tool, ev.fixture)
        if failure:
            ev.result.fail(Stage.MIGRATE, failure)
            ev.clock.lap("migrate")
            return False
    command = MIGRATION_COMMANDS.get(ev.tool)
    if command:
        done = migrate.exec(command, timeout=timeout)
        ev.result.logs["migrate"] = done.out + done.err
        if not done.ok:
            ev.result.fail(Stage.MIGRATE, f"migrations failed ({command}): {done.gist()}")
            ev.clock.lap("migrate")
            return False
    ev.clock.lap("migrate")
    return True


def _exercise_app(ev: _Evaluation) -> list[str] | None:
    """Start the app and run the hidden tests and probes against it; what the app changed in its own
    schema while running (None when the app was not started, or never became healthy)."""
    spec = ev.fixture.spec
    probes_dir = ev.fixture.root / "probes"
    wants_probes = Check.SECURITY in ev.checks and probes_dir.is_dir()
    if Check.TESTS not in ev.checks and not wants_probes:
        return None
    app_db = ev.pg.on(APP_DATABASE)
    migrated = app_db.snapshot()
    app = ev.pod.add(replace(ev.code, name="app", command=["sh", "-c", ev.workspace.service.service.start]))
    healthy = wait_healthy(app, ev.tester, spec.port, spec.timeouts.ready_s, ev.result)
    ev.clock.lap("ready")
    if not healthy:
        return None
    if Check.TESTS in ev.checks:
        run_hidden_tests(ev.tester, ev.fixture.tests_dir, spec.timeouts.tests_s, ev.result)
        ev.clock.lap("tests")
    if wants_probes:
        run_probes(app, ev.tester, probes_dir, spec.timeouts.tests_s, ev.result)
        scan_app_log(app, ev.tester, dict(ev.code.env), ev.result)
        ev.clock.lap("probes")
    changed = diff(migrated, app_db.snapshot())
    return [line.replace("left behind", "created by the running app") for line in changed]
