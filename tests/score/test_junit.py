"""JUnit scoring and triage on recorded outputs of real eval pods (no Docker)."""

from pathlib import Path

from harness._util.crashlog import summarise_failure
from harness.pipeline.evaluate import triage
from harness.records import ALL_CHECKS, Check, PodSummary, SampleStatus, Stage
from harness.score.tests import parse_junit

RECORDED = Path(__file__).parent.parent / "data" / "recorded"


def test_reference_run_scores_full_marks() -> None:
    score = parse_junit((RECORDED / "junit-reference.xml").read_bytes())
    assert (score.total, score.passed, score.failed, score.errors) == (51, 51, 0, 0)
    assert score.all_pass and score.pass_rate == 1.0 and score.failing() == []
    assert "test_register.py::test_health" in {c.nodeid for c in score.cases}
    assert score.seconds > 0


def test_mutant_run_names_the_failing_tests_and_why() -> None:
    score = parse_junit((RECORDED / "junit-admin-role-unchecked.xml").read_bytes())
    assert score.total == 51 and score.failed == 3 and not score.all_pass
    assert score.pass_rate == 48 / 51
    assert set(score.failing()) == {
        "test_admin.py::test_users_may_not_list_users",
        "test_admin.py::test_users_may_not_set_roles",
        "test_me.py::test_role_cannot_be_changed_through_the_profile",
    }
    messages = {c.nodeid: c.message for c in score.cases if c.outcome == "failed"}
    assert "expected 403, got 200" in messages["test_admin.py::test_users_may_not_list_users"]


def test_skips_errors_and_classes() -> None:
    xml = b"""<testsuites><testsuite>
      <testcase classname="tests.test_a" name="test_ok" time="0.5"/>
      <testcase classname="tests.test_a.TestGroup" name="test_in_class" time="0.1">
        <failure message="boom">trace</failure></testcase>
      <testcase classname="tests.test_b" name="test_setup_broke" time="0">
        <error message="fixture failed"/></testcase>
      <testcase classname="tests.test_b" name="test_skipped" time="0">
        <skipped message="not today"/></testcase>
    </testsuite></testsuites>"""
    score = parse_junit(xml)
    assert (score.total, score.passed, score.failed, score.errors, score.skipped) == (4, 1, 1, 1, 1)
    assert score.pass_rate == 1 / 3  # skips are not counted against the sample
    assert score.failing() == ["test_a.py::TestGroup::test_in_class", "test_b.py::test_setup_broke"]
    assert [c.message for c in score.cases][1:3] == ["boom", "fixture failed"]


def test_no_tests_is_never_a_pass() -> None:
    score = parse_junit(b"<testsuites><testsuite/></testsuites>")
    assert score.total == 0 and not score.all_pass and score.pass_rate == 0.0
    assert triage(PodSummary(), score, ALL_CHECKS)[0] is SampleStatus.MODEL_FAILURE


def test_triage() -> None:
    full = parse_junit((RECORDED / "junit-reference.xml").read_bytes())
    partial = parse_junit((RECORDED / "junit-admin-role-unchecked.xml").read_bytes())
    clean = PodSummary()
    assert triage(clean, full, ALL_CHECKS) == (SampleStatus.OK, "", None)
    status, reason, stage = triage(clean, partial, ALL_CHECKS)
    assert status is SampleStatus.MODEL_FAILURE and stage is Stage.TESTS
    assert reason.startswith("3 of 51 hidden tests failed: test_admin.py::")
    crashed = PodSummary(failure="the app exited", failed_stage=Stage.START)
    assert triage(crashed, None, ALL_CHECKS) == (SampleStatus.MODEL_FAILURE, "the app exited", Stage.START)
    assert triage(clean, None, ALL_CHECKS)[1:] == ("no hidden test results", Stage.TESTS)
    # without the hidden tests, a sample that failed nowhere in the pod is ok
    assert triage(clean, None, frozenset({Check.MIGRATIONS}))[0] is SampleStatus.OK


def test_crash_summary_names_the_exception_and_the_line() -> None:
    log = (RECORDED / "app-syntax-error.log").read_text()
    assert summarise_failure(log) == "SyntaxError: invalid syntax (/app/app/main.py, line 49)"


def test_crash_summary_falls_back_to_the_last_lines() -> None:
    assert (
        summarise_failure("starting\nlistening on 8000\nkilled\n") == "starting | listening on 8000 | killed"
    )
    log = (
        "Traceback (most recent call last):\n"
        '  File "/app/x.py", line 3, in <module>\n'
        "KeyError: 'DATABASE_URL'\n"
    )
    assert summarise_failure(log) == "KeyError: 'DATABASE_URL' (/app/x.py, line 3)"
