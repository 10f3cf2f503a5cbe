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


FIXTURES = [f.id for f in list_fixtures(PROJECT)]


def test_the_suite_has_greenfield_and_brownfield_fixtures() -> None:
    assert {"jwt-auth", "order-management", "contacts-split-name"} <= set(FIXTURES)
    assert {find_fixture(PROJECT, f).spec.kind for f in FIXTURES} == {"greenfield", "brownfield"}


@pytest.mark.parametrize("fixture_id", FIXTURES)
def test_fixture_is_complete(fixture_id: str) -> None:
    fixture = find_fixture(PROJECT, fixture_id)
    tests = sum(p.read_text().count("\ndef test_") for p in fixture.tests_dir.glob("test_*.py"))
    assert tests >= 30
    probes = sum(
        p.read_text().count("@pytest.mark.cwe(") for p in (fixture.root / "probes").glob("test_*.py")
    )
    assert probes >= 3
    mutants = fixture.mutants()
    assert len(mutants) >= 4
    kinds = {kind for m in mutants for kind in m.spec.expect.caught_by().split(", ")}
    assert {"tests", "security", "migrations"} <= kinds
    assert (fixture.root / "spec.md").stat().st_size > 2000
    assert (fixture.root / "openapi.yaml").stat().st_size > 2000
    assert FIXTURES.count(fixture_id) == 1


def test_brownfield_reference_keeps_the_starters_history() -> None:
    fixture = find_fixture(PROJECT, "contacts-split-name")
    assert fixture.spec.brownfield is not None and fixture.starter is not None
    starter = tree(fixture.starter / "migrations" / "versions")
    reference = tree(fixture.reference / "migrations" / "versions")
    assert starter and all(reference[name] == text for name, text in starter.items())
    assert set(reference) - set(starter), "the reference adds at least one revision"
    base = fixture.spec.brownfield.base_revision
    assert any(f"revision = {base!r}".replace("'", '"') in text.decode() for text in starter.values())
    checks = fixture.backfill_checks()
    assert checks[0].name == "names_split" and len(checks[0].expected_rows()) == 16


def test_brownfield_settings_are_checked(tmp_path: Path) -> None:
    root = tmp_path / "bf"
    root.mkdir()
    for name in ("spec.md", "openapi.yaml"):
        (root / name).write_text("x")
    (root / "tests").mkdir()
    (root / "reference").mkdir()
    (root / "fixture.toml").write_text('id = "bf"\ntitle = "t"\nkind = "brownfield"\n')
    with pytest.raises(ConfigError, match="kind 'brownfield' and a \\[brownfield\\] section go together"):
        load_fixture(root)
    (root / "fixture.toml").write_text(
        'id = "bf"\ntitle = "t"\nkind = "brownfield"\n[brownfield]\nbase_revision = "r1"\n'
    )
    with pytest.raises(ConfigError, match=r"lacks starter, seed\.sql, backfill\.toml"):
        load_fixture(root)
    (root / "starter").mkdir()
    (root / "seed.sql").write_text("SELECT 1;")
    (root / "backfill.toml").write_text('[[check]]\nname = "n"\nsql = "SELECT 1"\nexpect = "[1, 2]"\n')
    with pytest.raises(ConfigError, match=r"backfill.toml: field 'check.0.expect'"):
        load_fixture(root)
    (root / "backfill.toml").write_text('[[check]]\nname = "n"\nsql = "SELECT 1"\nexpect = "[[1]]"\n')
    assert load_fixture(root).backfill_checks()[0].expected_rows() == [[1]]


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


def test_check_subjects_must_exist(tmp_path: Path) -> None:
    from tests.helpers import run_crucible

    unknown = run_crucible("fixtures", "check", "jwt-auth", "-s", "no-such-mutant", reports=tmp_path)
    assert unknown.returncode == 2
    assert "jwt-auth has no reference or mutant named no-such-mutant" in unknown.stderr
    assert "use one of:" in unknown.stderr and "plaintext-passwords" in unknown.stderr
    several = run_crucible("fixtures", "check", "-s", "reference", reports=tmp_path)
    assert several.returncode == 2 and "--subject needs one fixture" in several.stderr
    assert not (tmp_path / "runs").exists(), "a refused command writes nothing"
