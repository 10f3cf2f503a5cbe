"""Fixture files, mutants and the verdicts of `fixtures check` (no Docker)."""

from pathlib import Path

import pytest

from harness.errors import ConfigError, UserError
from harness.fixture_check import judge_mutant, judge_reference
from harness.fixtures import find_fixture, list_fixtures, load_fixture
from harness.records import SampleRecord, SampleStatus
from harness.score.migrations.report import MigrationReport
from harness.score.tests import CaseResult, SuiteScore

PROJECT = Path(__file__).parent.parent


def scored(failing: list[str], status: SampleStatus = SampleStatus.OK, reason: str = "") -> SampleRecord:
    cases = [CaseResult(nodeid=n, outcome="failed", seconds=0.1) for n in failing]
    cases.append(CaseResult(nodeid="test_x.py::test_fine", outcome="passed", seconds=0.1))
    tests = SuiteScore(
        total=len(cases),
        passed=1,
        failed=len(failing),
        errors=0,
        skipped=0,
        pass_rate=1 / len(cases),
        all_pass=not failing,
        seconds=1.0,
        cases=cases,
    )
    return SampleRecord(
        run_id="r", sample_id="s", fixture_id="jwt-auth", status=status, reason=reason, tests=tests
    )


def test_jwt_auth_is_complete() -> None:
    fixture = find_fixture(PROJECT, "jwt-auth")
    assert fixture.spec.kind == "greenfield" and fixture.spec.env["JWT_SECRET"]
    tests = sum(p.read_text().count("\ndef test_") for p in fixture.tests_dir.glob("test_*.py"))
    assert tests >= 30
    assert len(fixture.mutants()) >= 4
    assert (fixture.root / "spec.md").stat().st_size > 2000
    assert (fixture.root / "openapi.yaml").stat().st_size > 2000
    assert [f.id for f in list_fixtures(PROJECT)].count("jwt-auth") == 1


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_every_mutant_applies_to_the_reference_and_changes_it(tmp_path: Path) -> None:
    fixture = find_fixture(PROJECT, "jwt-auth")
    reference = tree(fixture.reference)
    for mutant in fixture.mutants():
        copy = tree(mutant.materialise(fixture.reference, tmp_path / mutant.name))
        assert copy != reference, mutant.name
        for edit in mutant.spec.edits:
            assert copy[edit.file] != reference[edit.file], (mutant.name, edit.file)
        for removed in mutant.spec.remove:
            assert removed in reference and removed not in copy


def test_an_edit_that_does_not_match_once_is_a_config_error(tmp_path: Path) -> None:
    fixture = find_fixture(PROJECT, "jwt-auth")
    mutant = fixture.mutants()[0]
    broken = mutant.spec.model_copy(
        update={"edits": [mutant.spec.edits[0].model_copy(update={"find": "zzz-no"})]}
    )
    from harness.fixtures import Mutant

    with pytest.raises(ConfigError, match="finds its text 0 times"):
        Mutant(mutant.name, mutant.path, broken).materialise(fixture.reference, tmp_path / "x")


def test_unknown_fixture_lists_the_known_ones() -> None:
    with pytest.raises(UserError, match=r"use one of: .*jwt-auth"):
        find_fixture(PROJECT, "no-such-fixture")


def test_broken_fixture_files_name_file_and_field(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    root.mkdir()
    with pytest.raises(ConfigError, match=r"lacks fixture\.toml, spec\.md"):
        load_fixture(root)
    for name in ("spec.md", "openapi.yaml"):
        (root / name).write_text("x")
    (root / "tests").mkdir()
    (root / "reference").mkdir()
    (root / "fixture.toml").write_text('id = "demo"\ntitle = "t"\nkind = "sideways"\n')
    with pytest.raises(ConfigError, match=r"fixture.toml: field 'kind'"):
        load_fixture(root)
    (root / "fixture.toml").write_text('id = "other"\ntitle = "t"\nkind = "greenfield"\n')
    with pytest.raises(ConfigError, match="differs from its folder"):
        load_fixture(root)


def test_judging_reference_and_mutants() -> None:
    fixture = find_fixture(PROJECT, "jwt-auth")
    assert judge_reference(fixture, scored([])).ok
    assert not judge_reference(fixture, scored(["test_a.py::test_b"], SampleStatus.MODEL_FAILURE)).ok
    mutant = next(m for m in fixture.mutants() if m.name == "email-case-sensitive")
    wanted = mutant.spec.expect.tests
    assert judge_mutant(fixture, mutant, scored(wanted, SampleStatus.MODEL_FAILURE)).ok
    missed = judge_mutant(fixture, mutant, scored(wanted[:1], SampleStatus.MODEL_FAILURE))
    assert not missed.ok and "tests not caught by" in missed.observed
    extra = judge_mutant(fixture, mutant, scored([*wanted, "test_z.py::test_q"], SampleStatus.MODEL_FAILURE))
    assert not extra.ok and "tests also failing: test_z.py::test_q" in extra.observed
    infra = scored([], SampleStatus.INFRA_FAILURE, "engine gone")
    assert not judge_mutant(fixture, mutant, infra).ok
    health = next(m for m in fixture.mutants() if m.name == "health-route-renamed")
    reason = "the app did not answer GET /health with 200 within 20 s"
    never_ready = SampleRecord(
        run_id="r", sample_id="s", fixture_id="jwt-auth", status=SampleStatus.MODEL_FAILURE, reason=reason
    )
    assert judge_mutant(fixture, health, never_ready).ok
    assert not judge_mutant(fixture, health, scored([])).ok


def test_a_tests_mutant_must_leave_the_migrations_clean() -> None:
    fixture = find_fixture(PROJECT, "jwt-auth")
    mutant = next(m for m in fixture.mutants() if m.name == "plaintext-passwords")
    record = scored(mutant.spec.expect.tests, SampleStatus.MODEL_FAILURE)
    broken = MigrationReport(
        tool="alembic", heads=["a"], single_head=True, upgrade_from_empty=True, base_clean=False, revisions=[]
    )
    verdict = judge_mutant(fixture, mutant, record.model_copy(update={"migrations": broken}))
    assert not verdict.ok and "migrations also failing: base_clean" in verdict.observed


def test_a_mutant_must_be_caught_somewhere(tmp_path: Path) -> None:
    from harness.fixtures import MutantExpectation

    with pytest.raises(ValueError, match="must name a failing check"):
        MutantExpectation()
    with pytest.raises(ValueError, match="must name a failing check"):
        MutantExpectation(status="ok")
