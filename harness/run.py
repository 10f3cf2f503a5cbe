"""Stage `run`: one eval pod (holder, PostgreSQL, migrate, app, tester) for one workspace.

The workspace's migrations run through its runtime contract, the app starts with the fixture's
environment and must answer ``GET /health``; only then do the hidden tests enter the tester
container and run against the app over the pod's loopback. Problems of the workspace end the pod
with a ``failure`` (a model failure); problems of Docker or the harness raise InfraError.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.crashlog import summarise_failure
from harness.errors import SandboxError
from harness.fixtures import Fixture
from harness.images import ImageSet
from harness.migration_tools import DRIVERS
from harness.probe import Probe
from harness.sandbox import Container, ContainerSpec, Limits, Pod, SandboxBackend, tar_files, untar_files
from harness.sandbox.services import DATABASE_URL, start_postgres
from harness.score.migrations.report import MigrationReport
from harness.score.migrations.snapshot import diff
from harness.stairway import run_stairway
from harness.workspace import Workspace

TESTER_PYTHON = "/opt/crucible/tester/bin/python"
JUNIT_PATH = "/tmp/crucible-junit.xml"
APP_LIMITS = Limits(memory_mb=1024, cpus=1.0, pids=256, exec_timeout_s=120, output_cap_bytes=1_000_000)
MIGRATION_COMMANDS = {
    "alembic": "alembic upgrade head",
    "django": "python manage.py migrate --noinput",
}
HEALTH_PROBE = """
import sys, time, httpx
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        r = httpx.get(sys.argv[1], timeout=1.0)
        print(r.status_code, r.text[:200].replace("\\n", " "), flush=True)
        if r.status_code == 200:
            sys.exit(0)
    except httpx.HTTPError as exc:
        print("no answer:", type(exc).__name__, flush=True)
    time.sleep(0.1)
sys.exit(1)
"""


ALL_CHECKS = frozenset({"tests", "migrations"})
APP_DATABASE = DATABASE_URL.rsplit("/", 1)[1]


@dataclass
class PodResult:
    """What one eval pod produced. ``failure`` set means the workspace is at fault."""

    failure: str = ""
    junit: bytes | None = None
    pytest_output: str = ""
    logs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    migrations: MigrationReport | None = None


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
) -> PodResult:
    """Evaluate ``workspace`` in a fresh pod; ``checks`` picks among `tests` and `migrations`."""
    result = PodResult()
    clock = _Clock(result)
    pod = backend.create_pod(run_id, sample_id)
    try:
        clock.lap("pod")
        _evaluate(pod, images, app_image, workspace, fixture, checks, result, clock)
    finally:
        _collect_logs(pod, result)
        pod.close()
        clock.lap("teardown")
    return result


def _evaluate(
    pod: Pod,
    images: ImageSet,
    app_image: str,
    workspace: Workspace,
    fixture: Fixture,
    checks: frozenset[str],
    result: PodResult,
    clock: _Clock,
) -> None:
    spec = fixture.spec
    database = start_postgres(pod, images.postgres.tag)
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
    clock.lap("postgres")
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
    if command:
        done = migrate.exec(command, timeout=spec.timeouts.migrate_s)
        result.logs["migrate"] = done.out + done.err
        if not done.ok:
            gist = "timed out" if done.timed_out else summarise_failure(done.out + done.err)
            result.failure = f"migrations failed ({command}): {gist}"
            clock.lap("migrate")
            return
    clock.lap("migrate")
    runtime_changes: list[str] | None = None
    if "tests" in checks:
        migrated = probe.on(APP_DATABASE).snapshot()
        app = pod.add(replace(code, name="app", command=["sh", "-c", workspace.service.service.start]))
        if not _wait_healthy(app, tester, spec.port, spec.timeouts.ready_s, result):
            clock.lap("ready")
            return
        clock.lap("ready")
        _run_hidden_tests(tester, fixture.tests_dir, spec.timeouts.tests_s, result)
        clock.lap("tests")
        changed = diff(migrated, probe.on(APP_DATABASE).snapshot())
        runtime_changes = [line.replace("left behind", "created by the running app") for line in changed]
    if "migrations" in checks and tool in DRIVERS:
        driver = DRIVERS[tool](migrate, spec.timeouts.migrate_s)
        report = run_stairway(driver, probe, DATABASE_URL.rsplit("/", 1)[0], spec.timeouts.migrate_s)
        result.migrations = report.model_copy(update={"runtime_changes": runtime_changes})
        clock.lap("migrations")
    elif "migrations" in checks and tool == "none":
        result.migrations = MigrationReport(
            tool="none",
            error="no migrations: the runtime contract needs them",
            runtime_changes=runtime_changes,
        )


def _wait_healthy(app: Container, tester: Container, port: int, timeout: float, result: PodResult) -> bool:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/health"
    last = ""
    while time.monotonic() < deadline:
        state = app.state()
        if not state.running:
            killed = " (out of memory)" if state.oom_killed else ""
            result.failure = (
                f"the app exited with code {state.exit_code}{killed} before it answered GET /health: "
                f"{summarise_failure(app.logs(20_000))}"
            )
            return False
        window = min(2.0, max(0.1, deadline - time.monotonic()))
        probe = tester.exec([TESTER_PYTHON, "-c", HEALTH_PROBE, url, f"{window:.2f}"], timeout=window + 10)
        last = probe.out.strip().splitlines()[-1] if probe.out.strip() else last
        if probe.exit_code == 0:
            return True
    result.failure = (
        f"the app did not answer GET /health with 200 within {timeout:.0f} s (last: {last or 'nothing'})"
    )
    return False


def _run_hidden_tests(tester: Container, tests_dir: Path, timeout: float, result: PodResult) -> None:
    files = {
        f"tests/{p.relative_to(tests_dir)}": p.read_bytes()
        for p in sorted(tests_dir.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    tester.put_archive("/hidden", tar_files(files, uid=1000))
    command = [
        TESTER_PYTHON,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir=/hidden",
        f"--junitxml={JUNIT_PATH}",
        "-o",
        "junit_family=xunit1",
        "tests",
    ]
    done = tester.exec(command, timeout=timeout, workdir="/hidden")
    result.pytest_output = (done.out + done.err)[-200_000:]
    if done.timed_out:
        result.failure = f"the hidden tests did not finish within {timeout:.0f} s"
    if done.exit_code not in (0, 1) and not done.timed_out:
        gist = summarise_failure(result.pytest_output)
        raise SandboxError(f"the hidden tests could not run (pytest exit {done.exit_code}): {gist}")
    try:
        result.junit = next(iter(untar_files(tester.get_archive(JUNIT_PATH)).values()))
    except (SandboxError, StopIteration):
        if not result.failure:
            raise SandboxError("pytest wrote no JUnit report") from None


def _collect_logs(pod: Pod, result: PodResult) -> None:
    for name in ("app", "postgres"):
        try:
            result.logs[name] = pod.container(name).logs(1_000_000)
        except SandboxError:
            continue
