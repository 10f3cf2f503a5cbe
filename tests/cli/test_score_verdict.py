"""`crucible score`'s exit code and the failing checks it names, on recorded outcomes: the same rule
whatever `--only` ran."""

from __future__ import annotations

from harness.cli.score import EXIT_FAILED, EXIT_INFRA, EXIT_PASSED, verdict
from harness.records import Check, SampleRecord, SampleStatus, Stage
from harness.records.migrations import MigrationReport, RevisionCheck
from harness.records.security import ProbeResult, SecurityReport
from tests.helpers import suite_score


def sample(checks: list[Check], **fields: object) -> SampleRecord:
    fields = {"status": SampleStatus.OK, **fields}
    return SampleRecord(run_id="r", sample_id="s", fixture_id="f", checks=checks, **fields)


def clean_migrations(**fields: object) -> MigrationReport:
    fields = {
        "tool": "alembic",
        "heads": ["b"],
        "single_head": True,
        "upgrade_from_empty": True,
        "base_clean": True,
        **fields,
    }
    return MigrationReport(**fields)


def test_every_check_passing_is_0() -> None:
    assert verdict(sample([Check.MIGRATIONS], migrations=clean_migrations())) == (EXIT_PASSED, [])


def test_a_failing_migration_check_is_3_and_named_although_the_sample_is_ok() -> None:
    left = RevisionCheck(
        revision="b",
        upgrade_ok=True,
        downgrade_ok=True,
        reupgrade_ok=True,
        downgrade_diff=["enum order_status left behind"],
    )
    record = sample([Check.MIGRATIONS], migrations=clean_migrations(revisions=[left], base_clean=False))
    code, named = verdict(record)
    assert code == EXIT_FAILED and "migrations: b:downgrade" in named and "migrations: base_clean" in named


def test_tests_and_security_are_named_only_when_they_ran() -> None:
    tests = suite_score(1, 2).model_copy(update={"cases": []})
    record = sample(
        [Check.TESTS, Check.SECURITY],
        tests=tests,
        security=SecurityReport(probes=[ProbeResult(probe="test_idor", cwe="CWE-639", result="exploited")]),
        migrations=clean_migrations(base_clean=False),  # not asked for: not judged
    )
    assert verdict(record) == (EXIT_FAILED, ["security: probe:test_idor"])


def test_a_submission_that_failed_early_is_3_with_its_reason_and_infra_is_1() -> None:
    broken = sample(
        [Check.TESTS], status=SampleStatus.MODEL_FAILURE, reason="no service.toml", failed_stage=Stage.BUILD
    )
    assert verdict(broken) == (EXIT_FAILED, ["build: no service.toml"])
    infra = sample([Check.TESTS], status=SampleStatus.INFRA_FAILURE, reason="engine gone")
    assert verdict(infra) == (EXIT_INFRA, [])
