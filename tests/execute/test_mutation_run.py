"""Which automatic mutants a fixture kills, judged from fabricated records (no Docker), and the
report's sums."""

from __future__ import annotations

from pathlib import Path

from harness.execute.mutation_run import MutantResult, MutationReport, Outcome, classify, stored_record
from harness.fixtures import Edit
from harness.records import RunManifest, SampleRecord, SampleStatus, Stage
from harness.records.migrations import MigrationReport
from harness.records.security import ProbeResult, SecurityReport
from harness.records.tests import CaseResult, SuiteScore
from harness.store import RunStore
from harness.workspace import pack

PASSING = ["test_a.py::test_one", "test_a.py::test_two"]


def record(
    failing: tuple[str, ...] = (),
    *,
    exploited: tuple[str, ...] = (),
    base_clean: bool = True,
    status: SampleStatus | None = None,
    stage: Stage | None = None,
    reason: str = "",
    ran: bool = True,
) -> SampleRecord:
    """A sample whose tests `failing` fail, whose probes `exploited` got through, and whose
    migrations leave a clean base or not; `ran=False` for one that stopped before the pod's checks."""
    if not ran:
        status = status or SampleStatus.MODEL_FAILURE
        return SampleRecord(
            run_id="r", sample_id="s", fixture_id="f", status=status, reason=reason, failed_stage=stage
        )
    cases = [
        CaseResult(nodeid=n, outcome="failed" if n in failing else "passed", seconds=0.1) for n in PASSING
    ]
    passed = len(PASSING) - len(failing)
    tests = SuiteScore(
        total=len(PASSING),
        passed=passed,
        failed=len(failing),
        errors=0,
        skipped=0,
        pass_rate=passed / len(PASSING),
        all_pass=not failing,
        seconds=1.0,
        cases=cases,
    )
    probes = [ProbeResult(probe=name, cwe="CWE-1", result="exploited") for name in exploited]
    probes.append(ProbeResult(probe="test_fine", cwe="CWE-2", result="resisted"))
    migrations = MigrationReport(
        tool="alembic", heads=["a"], single_head=True, upgrade_from_empty=True, base_clean=base_clean
    )
    return SampleRecord(
        run_id="r",
        sample_id="s",
        fixture_id="f",
        status=status or (SampleStatus.MODEL_FAILURE if failing else SampleStatus.OK),
        reason=reason,
        failed_stage=stage or (Stage.TESTS if failing else None),
        tests=tests,
        migrations=migrations,
        security=SecurityReport(probes=probes),
    )


REFERENCE = record()


def test_a_mutant_that_passes_everything_survives() -> None:
    assert classify(REFERENCE, record()) == ("survived", {})


def test_each_kind_of_check_kills_by_name() -> None:
    outcome, killers = classify(
        REFERENCE, record(("test_a.py::test_two",), exploited=("test_idor",), base_clean=False)
    )
    assert outcome == "killed"
    assert killers == {
        "tests": ["test_a.py::test_two"],
        "migrations": ["base_clean"],
        "security": ["probe:test_idor"],
    }
    assert list(killers) == ["tests", "migrations", "security"]


def test_an_app_that_never_starts_is_killed_by_startup() -> None:
    reason = "the app did not answer GET /health with 200 within 20 s"
    outcome, killers = classify(REFERENCE, record(ran=False, stage=Stage.START, reason=reason))
    assert outcome == "killed" and killers == {"startup": [reason]}


def test_hidden_tests_without_results_kill_as_tests() -> None:
    silent = record(ran=False, stage=Stage.TESTS, reason="no hidden test results")
    assert classify(REFERENCE, silent) == ("killed", {"tests": ["no hidden test results"]})


def test_infrastructure_decides_nothing() -> None:
    infra = record(ran=False, status=SampleStatus.INFRA_FAILURE, reason="infrastructure: engine gone")
    assert classify(REFERENCE, infra) == ("infra", {})
    assert classify(infra, record(("test_a.py::test_one",))) == ("infra", {})


def test_what_the_reference_fails_itself_kills_no_mutant() -> None:
    broken = record(("test_a.py::test_one",), exploited=("test_idor",))
    assert classify(broken, record(("test_a.py::test_one",), exploited=("test_idor",))) == ("survived", {})
    outcome, killers = classify(broken, record(tuple(PASSING), exploited=("test_idor",)))
    assert outcome == "killed" and killers == {"tests": ["test_a.py::test_two"]}


def result(
    number: int, operator: str, killed_by: dict[str, list[str]], outcome: Outcome | None = None
) -> MutantResult:
    return MutantResult(
        id=f"m{number:02d}",
        key=f"{operator}@app/x.py:{number}-{number + 1}:abcdef",
        operator=operator,
        file="app/x.py",
        line=number,
        change="== -> !=",
        diff="",
        edit=Edit(file="app/x.py", find="==", replace="!="),
        sample_id=f"f.auto.m{number:02d}",
        status=SampleStatus.OK,
        outcome=outcome or ("killed" if killed_by else "survived"),
        killed_by=killed_by,
    )


def test_the_report_sums_kills_by_kind_and_operator(tmp_path: Path) -> None:
    report = MutationReport(
        fixture="f",
        run_id="r",
        seed=1,
        count=4,
        operators=["flip-compare", "drop-where"],
        sites={"flip-compare": 9, "drop-where": 3},
        reference_status=SampleStatus.OK,
        mutants=[
            result(1, "flip-compare", {"tests": ["t1"], "security": ["probe:p"]}),
            result(2, "flip-compare", {}),
            result(3, "drop-where", {"startup": ["never ready"]}),
            result(4, "drop-where", {}, outcome="infra"),
        ],
    )
    assert report.reference_clean
    assert [m.id for m in report.killed()] == ["m01", "m03"] and [m.id for m in report.survivors()] == ["m02"]
    assert report.kill_rate() == 2 / 3  # the infrastructure failure is not counted
    assert report.kills_by_kind() == {"startup": 1, "tests": 1, "migrations": 0, "security": 1}
    assert report.by_operator() == {"drop-where": (1, 1), "flip-compare": (1, 2)}
    assert report.mutants[0].killers() == "tests: t1; security: probe:p"
    again = MutationReport.model_validate_json(report.model_dump_json())
    assert again == report
    failing = report.model_copy(update={"reference_failing": {"tests": ["t1"]}})
    assert not failing.reference_clean


def test_a_resumed_run_reuses_only_what_it_scored_for_the_same_workspace(tmp_path: Path) -> None:
    run = RunStore(tmp_path / "reports").create(
        RunManifest(run_id="r1", kind="fixtures-mutate", crucible_version="0")
    )
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "app.py").write_text("LIMIT = 3\n")
    assert stored_record(run, "f.auto.m01", workspace) is None  # nothing stored yet
    done = record().model_copy(update={"workspace_digest": pack(workspace)[1]})
    run.write_record("samples/f.auto.m01/record.json", done)
    assert stored_record(run, "f.auto.m01", workspace) == done
    infra = done.model_copy(update={"status": SampleStatus.INFRA_FAILURE})
    run.write_record("samples/f.auto.m02/record.json", infra)
    assert stored_record(run, "f.auto.m02", workspace) is None  # an infra failure is tried again
    (workspace / "app.py").write_text("LIMIT = 4\n")
    assert stored_record(run, "f.auto.m01", workspace) is None  # another mutant under the same id
