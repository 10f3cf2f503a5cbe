"""The pytest plugin, driven through pytester in a copy of the project (agents, cassettes, jwt-auth).

The floors and gates are tested on runs seeded with recorded records of the replayed demo (the real
plugin, statistics and pytest; no sample left to make, so no Docker), the sample items and xdist's shared
run on real samples."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.records import RunManifest, RunStatus, SampleRecord
from harness.store import RunStore

pytest_plugins = ["pytester"]
PROJECT = Path(__file__).parent.parent
TEST = """
import pytest
from harness.records import SampleStatus

def test_backend(crucible_sample):
    record = crucible_sample
    problems = [] if record.status is SampleStatus.OK else [record.reason]
    if record.security and not record.security.secure:
        problems.append("exploited probes: " + ", ".join(p.probe for p in record.security.exploited))
    if record.migrations and record.migrations.failing():
        problems.append("migration checks failing: " + ", ".join(record.migrations.failing()))
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
"""


DECISIONS = (PROJECT / "evals" / "test_decisions.py").read_text()
RECORDED = PROJECT / "tests" / "data" / "recorded" / "demo"
CHECKLIST, TERSE, PLAIN = "backend-engineer-checklist", "backend-engineer-terse", "backend-engineer"


def seed(project: pytest.Pytester, epochs: int, run_id: str = "seeded", **variants: str) -> str:
    """A stored run holding, for each variant label, ``epochs`` samples on jwt-auth copied from the demo's
    recorded sample of another variant (``label=recorded``), each a distinct sample; its run id."""
    store = RunStore(project.path / "reports")
    run = store.create(RunManifest(run_id=run_id, kind="pytest", crucible_version="0"))
    for label, source in variants.items():
        recorded = SampleRecord.model_validate_json((RECORDED / f"{source}.jwt-auth.json").read_text())
        for epoch in range(1, epochs + 1):
            sample_id = f"{label}.jwt-auth.e{epoch}"
            update = {
                "run_id": run.run_id,
                "sample_id": sample_id,
                "variant": label,
                "epoch": epoch,
                "workspace_digest": f"{recorded.workspace_digest}-{epoch}",
            }
            run.write_record(f"samples/{sample_id}/record.json", recorded.model_copy(update=update))
    return run.run_id


def decide(project: pytest.Pytester, run_id: str, variants: str, *extra: str, epochs: int = 1) -> Any:
    """``pytest`` on the seeded run: the floors and gates of ``variants`` (labels, comma-separated)."""
    files = ",".join(f"agents/{label}.md" for label in variants.split(","))
    return project.runpytest_subprocess(
        "test_decisions.py",
        "--crucible-run-id",
        run_id,
        "--crucible-variants",
        files,
        "--crucible-epochs",
        str(epochs),
        "--crucible-provider",
        "replay",
        *extra,
    )


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(PROJECT / "agents", pytester.path / "agents")
    (pytester.path / "fixtures").mkdir()
    shutil.copytree(
        PROJECT / "fixtures" / "jwt-auth",
        pytester.path / "fixtures" / "jwt-auth",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (pytester.path / "crucible.toml").write_text('reports_dir = "reports"\n')
    pytester.makepyfile(test_evals=TEST, test_decisions=DECISIONS)
    return pytester


def test_options_are_in_one_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = result.stdout.str()
    assert "Crucible: evaluate coding-agent prompt variants" in text
    for option in (
        "--crucible-variants",
        "--crucible-fixtures",
        "--crucible-epochs",
        "--crucible-provider",
        "--crucible-baseline",
        "--crucible-report",
        "--crucible-margin",
        "--crucible-threshold",
        "--crucible-floor-on",
        "--crucible-strict-samples",
        "--crucible-run-id",
    ):
        assert option in text


def test_grid_ids_and_selection(project: pytest.Pytester) -> None:
    result = project.runpytest("test_evals.py", "--collect-only", "-q", "--crucible-epochs", "2")
    ids = [line for line in result.stdout.lines if "::test_backend[" in line]
    assert len(ids) == 6
    assert "test_evals.py::test_backend[backend-engineer-checklist-jwt-auth-e2]" in ids
    selected = project.runpytest(
        "test_evals.py", "--collect-only", "-q", "--crucible-epochs", "2", "-k", "terse and e1"
    )
    chosen = [line for line in selected.stdout.lines if "::test_backend[" in line]
    assert chosen == ["test_evals.py::test_backend[backend-engineer-terse-jwt-auth-e1]"]


@pytest.mark.docker
def test_failing_threshold_shows_the_reason_and_the_report_is_written(
    project: pytest.Pytester, images: Any
) -> None:
    out = project.path / "out"
    result = project.runpytest(
        "test_evals.py",
        "--crucible-variants",
        "agents/backend-engineer-terse.md",
        "--crucible-provider",
        "replay",
        "--crucible-report",
        str(out),
        "--crucible-strict-samples",  # today's default is an expected failure with the reason
    )
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "hidden tests failed: test_storage.py::test_passwords_are_stored_as_salted_slow_hashes" in text
    assert "exploited probes: test_plaintext_password_in_database" in text
    assert "crucible" in text and "| backend-engineer-terse | 1 |" in text  # the terminal summary
    assert (project.path / "reports" / "latest" / "index.html").is_file()
    assert (out / "index.html").is_file() and (out / "summary.md").is_file()


@pytest.mark.docker
def test_xdist_workers_share_one_run_and_one_report(project: pytest.Pytester, images: Any) -> None:
    result = project.runpytest_subprocess(
        "test_evals.py",
        "test_decisions.py",
        "-ra",
        "-n",
        "2",
        "--crucible-variants",
        "agents/backend-engineer-checklist.md,agents/backend-engineer.md",
        "--crucible-provider",
        "replay",
        "--crucible-baseline",
        "backend-engineer-checklist",
    )
    # the baseline's sample passes, the other's misses the bar (an expected failure with its reason), and
    # the gate, on whichever worker, waits for both samples and fails on their migrations
    result.assert_outcomes(passed=1, xfailed=1, failed=1)
    text = result.stdout.str()
    assert "XFAIL test_evals.py::test_backend[backend-engineer-jwt-auth-e1] - sample misses the bar" in text
    assert "FAILED test_decisions.py::test_gate[backend-engineer-vs-backend-engineer-checklist]" in text
    runs = list((project.path / "reports" / "runs").iterdir())
    assert len(runs) == 1, runs
    samples = sorted(p.name for p in (runs[0] / "samples").iterdir())
    assert samples == ["backend-engineer-checklist.jwt-auth.e1", "backend-engineer.jwt-auth.e1"]
    summary = (runs[0] / "summary.md").read_text()
    assert (
        "backend-engineer-checklist" in summary
        and "## backend-engineer vs backend-engineer-checklist" in summary
    )
    assert "migrations: FAILS" in summary
    manifest = RunManifest.model_validate_json((runs[0] / "run.json").read_text())
    assert manifest.kind == "pytest" and manifest.status is RunStatus.COMPLETE and manifest.finished_at
    assert manifest.grid is not None and manifest.grid.provider == "replay"


def test_floors_met_and_missed_from_config_fixture_and_command_line(project: pytest.Pytester) -> None:
    (project.path / "crucible.toml").write_text(
        'reports_dir = "reports"\n[evals]\nfloor_on = "mean"\nthresholds = { secure = 1.0 }\n'
    )
    toml = project.path / "fixtures" / "jwt-auth" / "fixture.toml"
    toml.write_text(toml.read_text() + "\n[thresholds]\ntests = 0.99\n")
    run_id = seed(project, 1, **{CHECKLIST: CHECKLIST, TERSE: TERSE})
    result = decide(project, run_id, f"{CHECKLIST},{TERSE}", "--crucible-threshold", "migrations=0.5")
    assert result.ret == 1
    result.assert_outcomes(passed=4, failed=2)
    text = result.stdout.str()
    failed = [line.split(" - ")[0] for line in result.stdout.lines if line.startswith("FAILED")]
    assert sorted(failed) == [
        f"FAILED test_decisions.py::test_threshold[{TERSE}-jwt-auth-tests>=0.99]",
        f"FAILED test_decisions.py::test_threshold[{TERSE}-secure>=1]",
    ]
    assert (
        f"{TERSE}: secure 0.000 (95% CI 0.000 to " in text and "its mean 0.000 is below the floor 1" in text
    )
    assert (
        f"{TERSE}: tests 0.981 (95% CI" in text and "1 sample on jwt-auth): its mean 0.981 is below" in text
    )
    # the failed floors come first in the terminal summary, before the run's summary
    assert text.index("crucible: failed floors and gates") < text.index("# Crucible results")
    # on the lower bound (the default), one sample meets no floor
    strict = decide(project, run_id, CHECKLIST, "--crucible-floor-on", "lower")
    assert strict.ret == 1 and "its 95% lower bound 0." in strict.stdout.str()


def test_gate_passes_when_the_candidate_is_shown_within_the_margin(project: pytest.Pytester) -> None:
    run_id = seed(project, 30, **{CHECKLIST: CHECKLIST, PLAIN: CHECKLIST})
    both = (f"{CHECKLIST},{PLAIN}", "--crucible-baseline", CHECKLIST, "--crucible-margin", "0.15")
    result = decide(project, run_id, *both, epochs=30)
    result.assert_outcomes(passed=1)  # no floors set: the threshold test is left out
    assert result.ret == 0
    text = result.stdout.str()
    assert "crucible: failed floors and gates" not in text
    assert f"## {PLAIN} vs {CHECKLIST}: PASS" in text and "tests: passes: difference +0.000" in text


def test_an_unchanged_candidate_passes_no_regression_where_non_inferiority_is_too_small(
    project: pytest.Pytester,
) -> None:
    """The pull-request case as the example workflow runs it: the candidate's prompt unchanged, 5 epochs,
    margin 0.1. Non-inferiority cannot be established at this size; no-regression passes and says what
    the run could have seen."""
    run_id = seed(project, 5, **{CHECKLIST: CHECKLIST, PLAIN: CHECKLIST})
    both = (f"{CHECKLIST},{PLAIN}", "--crucible-baseline", CHECKLIST, "--crucible-margin", "0.1")
    strict = decide(project, run_id, *both, epochs=5)
    assert strict.ret == 1 and "cannot establish non-inferiority: the run is too small" in strict.stdout.str()
    loose = decide(project, run_id, *both, "--crucible-mode", "no-regression", epochs=5)
    assert loose.ret == 0
    text = loose.stdout.str()
    assert f"## {PLAIN} vs {CHECKLIST}: PASS (no-regression, margin 0.1)" in text
    assert "tests: passes: no regression shown; this run detects differences of" in text


def test_gate_tells_a_worse_candidate_from_a_run_too_small(project: pytest.Pytester) -> None:
    run_id = seed(project, 10, **{CHECKLIST: CHECKLIST, PLAIN: PLAIN})
    args = (f"{CHECKLIST},{PLAIN}", "--crucible-baseline", CHECKLIST)
    worse = decide(project, run_id, *args, epochs=10)
    assert worse.ret == 1
    worse.assert_outcomes(failed=1)
    text = worse.stdout.str()
    assert f"FAIL: {PLAIN} vs {CHECKLIST} (non-inferiority, margin 0.05)" in text
    assert (
        "migrations: FAILS: the candidate is shown worse by more than the margin: difference -1.000" in text
    )
    small = decide(project, seed(project, 1, "small", **{CHECKLIST: CHECKLIST, PLAIN: PLAIN}), *args)
    assert small.ret == 1
    text = small.stdout.str()
    assert "migrations: FAILS: cannot establish non-inferiority: the run is too small" in text
    assert "epochs a fixture would be needed to establish it at this margin" in text
    assert "shown worse" not in text


def test_a_metric_missing_for_the_candidate_fails_the_gate(project: pytest.Pytester) -> None:
    run_id = seed(project, 10, **{CHECKLIST: CHECKLIST, PLAIN: CHECKLIST})
    run = RunStore(project.path / "reports").open(run_id)
    for epoch in range(1, 11):
        path = f"samples/{PLAIN}.jwt-auth.e{epoch}/record.json"
        run.write_record(path, run.read_record(path, SampleRecord).model_copy(update={"migrations": None}))
    args = ("--crucible-baseline", CHECKLIST, "--crucible-mode", "no-regression")
    result = decide(project, run_id, f"{CHECKLIST},{PLAIN}", *args, epochs=10)
    assert result.ret == 1
    text = result.stdout.str()
    assert "migrations: FAILS: no samples of both variants on a shared fixture" in text
    # the other metrics are judged, the missing one is not passed over
    assert "security: passes: no regression shown" in text


def test_floors_and_gates_under_xdist(project: pytest.Pytester) -> None:
    run_id = seed(project, 10, **{CHECKLIST: CHECKLIST, PLAIN: PLAIN})
    files = f"agents/{CHECKLIST}.md,agents/{PLAIN}.md"
    result = project.runpytest_subprocess(
        "test_decisions.py",
        "-n",
        "2",
        "--crucible-run-id",
        run_id,
        "--crucible-variants",
        files,
        "--crucible-epochs",
        "10",
        "--crucible-provider",
        "replay",
        "--crucible-baseline",
        CHECKLIST,
        "--crucible-threshold",
        "migrations=0.5",
        "--crucible-floor-on",
        "mean",
    )
    assert result.ret == 1
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    assert text.index("crucible: failed floors and gates") < text.index("# Crucible results")
    assert (
        f"test_threshold[{PLAIN}-migrations>=0.5]" in text and "shown worse by more than the margin" in text
    )
