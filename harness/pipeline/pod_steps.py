"""Steps inside an eval pod: waiting for the app, running a pytest suite in the tester (the hidden
tests, the security probes), collecting logs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from harness._util.archive import tar_files, untar_files
from harness._util.crashlog import summarise_failure
from harness.errors import SandboxError
from harness.images import TESTER_PYTHON
from harness.records import Stage
from harness.records.migrations import MigrationReport
from harness.records.security import ProbeResult
from harness.sandbox import Container, ExecResult, Pod
from harness.score.security.logscan import environment_secrets, scan_log, sent_secrets
from harness.score.security.probes import crash_result, parse_probes

PLUGIN_DIR = "/opt/crucible-plugins"
SENT_SECRETS = "/tmp/crucible-sent-secrets.jsonl"

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


@dataclass
class PodResult:
    """What one eval pod produced. ``failure`` set means the workspace is at fault."""

    failure: str = ""
    failed_stage: Stage | None = None
    junit: bytes | None = None
    pytest_output: str = ""
    logs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    migrations: MigrationReport | None = None
    probes: list[ProbeResult] | None = None
    probes_junit: bytes | None = None

    def fail(self, stage: Stage, why: str) -> None:
        """The workspace failed at ``stage``: the sample will be a model failure for ``why``."""
        self.failure, self.failed_stage = why, stage


def wait_healthy(app: Container, tester: Container, port: int, timeout: float, result: PodResult) -> bool:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/health"
    last = ""
    while time.monotonic() < deadline:
        state = app.state()
        if not state.running:
            killed = " (out of memory)" if state.oom_killed else ""
            result.fail(
                Stage.START,
                f"the app exited with code {state.exit_code}{killed} before it answered GET /health: "
                f"{summarise_failure(app.logs(20_000))}",
            )
            return False
        window = min(2.0, max(0.1, deadline - time.monotonic()))
        probe = tester.exec([TESTER_PYTHON, "-c", HEALTH_PROBE, url, f"{window:.2f}"], timeout=window + 10)
        last = probe.out.strip().splitlines()[-1] if probe.out.strip() else last
        if probe.exit_code == 0:
            return True
    result.fail(
        Stage.START,
        f"the app did not answer GET /health with 200 within {timeout:.0f} s (last: {last or 'nothing'})",
    )
    return False


def run_suite(tester: Container, source: Path, name: str, timeout: float) -> tuple[bytes | None, ExecResult]:
    """Copy ``source`` into the tester as /hidden/<name>, run it with pytest; its JUnit report, if any."""
    files = {
        f"{name}/{p.relative_to(source)}": p.read_bytes()
        for p in sorted(source.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    tester.put_archive("/hidden", tar_files(files, uid=1000))
    plugin = (resources.files("harness.score.security") / "inpod" / "sent_secrets.py").read_bytes()
    tester.put_archive(PLUGIN_DIR, tar_files({"sent_secrets.py": plugin}, uid=1000))
    report = f"/tmp/crucible-{name}.xml"
    command = [
        TESTER_PYTHON,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "sent_secrets",
        "--rootdir=/hidden",
        f"--junitxml={report}",
        "-o",
        "junit_family=xunit1",
        name,
    ]
    env = {"PYTHONPATH": PLUGIN_DIR, "CRUCIBLE_SENT_SECRETS": SENT_SECRETS}
    done = tester.exec(command, timeout=timeout, workdir="/hidden", env=env)
    if done.exit_code not in (0, 1) and not done.timed_out:
        raise SandboxError(f"the {name} could not run (pytest exit {done.exit_code}): {done.gist()}")
    try:
        return next(iter(untar_files(tester.get_archive(report)).values())), done
    except (SandboxError, StopIteration):
        return None, done


def run_hidden_tests(tester: Container, tests_dir: Path, timeout: float, result: PodResult) -> None:
    result.junit, done = run_suite(tester, tests_dir, "tests", timeout)
    result.pytest_output = (done.out + done.err)[-200_000:]
    if done.timed_out:
        result.fail(Stage.TESTS, f"the hidden tests did not finish within {timeout:.0f} s")
    elif result.junit is None:
        raise SandboxError("pytest wrote no JUnit report for the hidden tests")


def run_probes(
    app: Container, tester: Container, probes_dir: Path, timeout: float, result: PodResult
) -> None:
    junit, done = run_suite(tester, probes_dir, "probes", timeout)
    result.probes_junit = junit
    result.logs["probes"] = (done.out + done.err)[-200_000:]
    probes = parse_probes(junit) if junit else []
    if not app.state().running:
        probes.append(crash_result(summarise_failure(app.logs(20_000))))
    result.probes = probes


def scan_app_log(app: Container, tester: Container, env: dict[str, str], result: PodResult) -> None:
    """After the tests and probes: the app's log searched for the secrets they sent and the environment's
    (:mod:`harness.score.security.logscan`), one more live check among the probes."""
    try:
        sent = b"".join(untar_files(tester.get_archive(SENT_SECRETS)).values()).decode(errors="replace")
    except SandboxError:
        sent = ""
    secrets = {**environment_secrets(env), **sent_secrets(sent)}
    result.probes = [*(result.probes or []), scan_log(app.logs(1_000_000), secrets)]


def collect_logs(pod: Pod, result: PodResult) -> None:
    for name in ("app", "postgres"):
        try:
            result.logs[name] = pod.container(name).logs(1_000_000)
        except SandboxError:
            continue
