"""The pytest plugin (entry point `crucible`): the eval grid as test items, at the level CI decides on.

- Tests that take `crucible_floor` get one item per variant and floor (`test_threshold[v-tests>=0.9]`),
  tests that take `crucible_gate` one per candidate when a baseline is set (`test_gate[b-vs-a]`); they run
  after the samples, wait for (or make) the samples they need, and fail with the floor's or the gate's
  reasons. The session fails exactly when one of them fails.
- Tests that take `crucible_sample` get one item per variant x fixture x epoch; a sample that misses the
  bar is reported as an expected failure with its reason (`--crucible-strict-samples`: a failure).

Hooks only: options in one `crucible` group, state in `config.stash`, cases from `cases.py`, and the
report at session end (written by the controller only, so `-n 2` with pytest-xdist yields one run and one
report; a lock per sample keeps two workers from making the same one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.records import Grid, RunStatus, SampleRecord
from harness.store import RunDir, RunStore

RUN_KEY = pytest.StashKey[RunDir]()
ENGINE_KEY = pytest.StashKey[Any]()
RUN_ID_INPUT = "crucible_run_id"
DECISION = "crucible_decision"  # user property of floor and gate items
FAILED = "crucible-failed-decisions"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("crucible", "Crucible: evaluate coding-agent prompt variants")
    group.addoption(
        "--crucible-variants",
        default="",
        help="variant files, PATH or PATH@REV, comma-separated (default: agents/*.md)",
    )
    group.addoption("--crucible-fixtures", default="", help="fixture ids, comma-separated (default: all)")
    group.addoption("--crucible-epochs", type=int, default=1, help="samples per variant and fixture")
    group.addoption(
        "--crucible-provider",
        default=None,
        choices=["anthropic", "replay"],
        help="model provider (default: anthropic with ANTHROPIC_API_KEY, else replay)",
    )
    group.addoption(
        "--crucible-runtime",
        default="",
        help="loop, claude-code, or both, comma-separated: each variant in each (default: agent.runtime)",
    )
    group.addoption(
        "--crucible-baseline",
        default=None,
        help="variant label the others are gated against (evals.baseline)",
    )
    group.addoption("--crucible-report", default=None, help="also copy the report files into this folder")
    group.addoption("--crucible-margin", type=float, default=None, help="the gate's margin (evals.margin)")
    group.addoption(
        "--crucible-mode",
        default=None,
        choices=["non-inferiority", "no-regression"],
        help="the gate's mode: no-regression for a pull request, non-inferiority for a release (evals.mode)",
    )
    group.addoption(
        "--crucible-allow-partial",
        action="store_true",
        help="a gate may judge a metric on fewer fixtures than the grid runs it on (evals.allow_partial)",
    )
    group.addoption(
        "--crucible-threshold",
        action="append",
        default=[],
        metavar="METRIC=FLOOR",
        help="a floor for every variant, e.g. tests=0.9 (repeatable; adds to evals.thresholds)",
    )
    group.addoption(
        "--crucible-floor-on",
        default=None,
        choices=["lower", "mean"],
        help="a floor is met by the 95%% lower bound or by the mean (evals.floor_on, lower)",
    )
    group.addoption(
        "--crucible-strict-samples",
        action="store_true",
        help="a sample that misses the bar fails its item (default: an expected failure with the reason)",
    )
    group.addoption(
        "--crucible-fresh",
        action="store_true",
        help="generate every sample anew (default: reuse an earlier run's sample of the same generation key)",
    )
    group.addoption(
        "--crucible-run-id",
        default=None,
        help="continue this stored run: its finished samples are kept, the others made",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "crucible_sample: one Crucible sample (variant x fixture x epoch)")
    config.pluginmanager.register(_Failed(), FAILED)


def _project(config: pytest.Config) -> Any:
    from harness.config import load_config, with_runtimes

    return with_runtimes(load_config(Path(config.rootpath)), _listed(config, "crucible_runtime"))


def _listed(config: pytest.Config, option: str) -> list[str]:
    """A comma-separated option's values."""
    return [item.strip() for item in config.getoption(option).split(",") if item.strip()]


def _cells(config: pytest.Config) -> list[Any]:
    from harness.agents.variants import load_variant
    from harness.fixtures import find_fixture, list_fixtures
    from harness.pipeline.cell import grid

    project = _project(config)
    root = project.project_root
    specs = _listed(config, "crucible_variants")
    specs = specs or sorted(f"agents/{p.name}" for p in (root / "agents").glob("*.md"))
    names = _listed(config, "crucible_fixtures")
    fixtures = [find_fixture(root, n) for n in names] or list_fixtures(root)
    variants = [load_variant(s, root) for s in specs]
    return grid(variants, fixtures, config.getoption("crucible_epochs"), project.agent.runtimes())


def _evals(config: pytest.Config) -> Any:
    from harness.pytest_plugin.cases import settings

    return settings(config, _project(config).evals)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    from harness.pytest_plugin.cases import floor_cases, gate_cases

    names = metafunc.fixturenames
    if not {"crucible_cell", "crucible_floor_case", "crucible_gate_case"} & set(names):
        return
    cells = _cells(metafunc.config)
    if "crucible_cell" in names:
        ids = [f"{c.variant.label}-{c.fixture.id}-e{c.epoch}" for c in cells]
        metafunc.parametrize("crucible_cell", cells, ids=ids)
    if "crucible_floor_case" in names:
        floors = floor_cases(cells, _evals(metafunc.config))
        metafunc.parametrize("crucible_floor_case", floors, ids=[f.id for f in floors])
    if "crucible_gate_case" in names:
        gates = gate_cases(cells, _evals(metafunc.config))
        metafunc.parametrize("crucible_gate_case", gates, ids=[g.id for g in gates])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Floors and gates after every sample (each still waits for the samples it needs); a test that takes
    them is left out when there are none (no floors set, no baseline)."""
    decisions: list[pytest.Item] = []
    empty: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        for kind in ("floor", "gate"):
            name = f"crucible_{kind}_case"
            if name in getattr(item, "fixturenames", ()):
                case = callspec.params.get(name) if callspec is not None else None
                (decisions if hasattr(case, "judge") else empty).append(item)
                item.user_properties.append((DECISION, kind))
    if empty:
        config.hook.pytest_deselected(items=empty)
    items[:] = [i for i in items if i not in decisions and i not in empty] + decisions


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker writes its samples into the controller's run."""
    node.workerinput[RUN_ID_INPUT] = _session_run(node.config).run_id


def _session_run(config: pytest.Config) -> RunDir:
    """The session's run: opened by the controller (or a lone process), joined by xdist workers."""
    if RUN_KEY not in config.stash:
        store = RunStore(_project(config).reports_path)
        worker = getattr(config, "workerinput", None)
        if worker and RUN_ID_INPUT in worker:
            config.stash[RUN_KEY] = store.open(worker[RUN_ID_INPUT])
        elif config.getoption("crucible_run_id"):
            config.stash[RUN_KEY] = store.open(config.getoption("crucible_run_id"))
        else:
            grid = Grid(
                variants=_listed(config, "crucible_variants"),
                fixtures=_listed(config, "crucible_fixtures"),
                epochs=config.getoption("crucible_epochs"),
                provider=config.getoption("crucible_provider"),
                runtimes=_project(config).agent.runtimes(),
            )
            config.stash[RUN_KEY] = store.start("pytest", grid=grid)
    return config.stash[RUN_KEY]


def _providers(config: pytest.Config, settings: Any) -> Any:
    from harness.agents.factory import choose_provider, provider_factory

    return provider_factory(choose_provider(config.getoption("crucible_provider"), settings), settings)


def _sample(config: pytest.Config, cell: Any) -> SampleRecord:
    """The cell's stored record, made first if there is none; a lock per sample in the run keeps two
    xdist workers (a sample item and a gate that needs it) from making the same one."""
    import fcntl

    from harness.pipeline.cell import finished, run_cell
    from harness.pipeline.engine import Engine
    from harness.pipeline.reuse import SampleCache

    run = _session_run(config)
    locks = run.path / "locks"
    locks.mkdir(exist_ok=True)
    with (locks / f"{cell.sample_id}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        done = finished(run, cell)
        if done is not None:
            return done
        settings = _project(config)
        if ENGINE_KEY not in config.stash:
            config.stash[ENGINE_KEY] = Engine.start(settings)
        cache = None if config.getoption("crucible_fresh") else SampleCache(settings.reports_path)
        return run_cell(config.stash[ENGINE_KEY], cell, _providers(config, settings), run, cache=cache)


@pytest.fixture
def crucible_sample(request: pytest.FixtureRequest, crucible_cell: Any) -> SampleRecord:
    """Generate and evaluate one cell of the grid; the stored record."""
    return _sample(request.config, crucible_cell)


def _decide(config: pytest.Config, case: Any) -> Any:
    records = [_sample(config, cell) for cell in case.needs(_cells(config))]
    return case.judge(records)


@pytest.fixture
def crucible_floor(request: pytest.FixtureRequest, crucible_floor_case: Any) -> Any:
    """Whether a variant meets one floor (``.passed``, ``.message``), once its samples are made."""
    return _decide(request.config, crucible_floor_case)


@pytest.fixture
def crucible_gate(request: pytest.FixtureRequest, crucible_gate_case: Any) -> Any:
    """Whether a candidate passes the gate against the baseline (``.passed``, ``.message``)."""
    return _decide(request.config, crucible_gate_case)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A sample that misses the bar is an expected failure that carries its reason, unless strict."""
    report = yield
    sample = "crucible_cell" in getattr(item, "fixturenames", ())
    if (
        sample
        and call.when == "call"
        and report.failed
        and not item.config.getoption("crucible_strict_samples")
    ):
        reason = str(call.excinfo.value) if call.excinfo is not None else "failed"
        report.outcome = "skipped"
        report.wasxfail = f"sample misses the bar: {' '.join(reason.split())}"
    return report


class _Failed:
    """The controller's record of failed floors and gates, for the terminal summary."""

    def __init__(self) -> None:
        self.failed: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and any(key == DECISION for key, _ in report.user_properties):
            self.failed.append((report.nodeid, report.longreprtext))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or RUN_KEY not in config.stash:
        return
    from harness.pytest_plugin.cases import gate_spec_of
    from harness.report import write_report

    run = config.stash[RUN_KEY]
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    run.mark(RunStatus.INTERRUPTED if interrupted else RunStatus.COMPLETE)
    if not (run.path / "samples").is_dir():
        return
    evals = _evals(config)
    files = write_report([run], run, evals.baseline, gate_spec_of(evals))
    target = config.getoption("crucible_report")
    if target:
        import shutil

        dest = Path(target)
        dest.mkdir(parents=True, exist_ok=True)
        for path in (files.html, files.summary, files.junit, files.parquet):
            shutil.copy2(path, dest / path.name)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or RUN_KEY not in config.stash:
        return
    failed = config.pluginmanager.get_plugin(FAILED)
    if failed is not None and failed.failed:
        terminalreporter.section("crucible: failed floors and gates", red=True)
        for nodeid, text in failed.failed:
            terminalreporter.write_line(f"{nodeid}:")
            for line in text.splitlines():
                terminalreporter.write_line(f"    {line}")
    run = config.stash[RUN_KEY]
    summary = run.path / "summary.md"
    if summary.is_file():
        terminalreporter.section("crucible")
        terminalreporter.write_line(summary.read_text())
        terminalreporter.write_line(f"report: {run.path / 'index.html'}")
