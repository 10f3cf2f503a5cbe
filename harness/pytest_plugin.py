"""The pytest plugin (entry point `crucible`): the eval grid variant x fixture x epoch as test items.

Hooks only: options in one `crucible` group, a marker, state in `config.stash`, the grid from
`pytest_generate_tests` for tests that take the `crucible_sample` fixture, and the report and comparison
at session end (written by the controller only, so `-n 2` with pytest-xdist yields one report). The work
itself is `harness.pipeline.cell` and `harness.report`.
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
    group.addoption("--crucible-baseline", default=None, help="variant label the others are compared with")
    group.addoption("--crucible-report", default=None, help="also copy the report files into this folder")
    group.addoption("--crucible-margin", type=float, default=0.05, help="non-inferiority margin")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "crucible_sample: one Crucible sample (variant x fixture x epoch)")


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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "crucible_cell" in metafunc.fixturenames:
        cells = _cells(metafunc.config)
        ids = [f"{c.variant.label}-{c.fixture.id}-e{c.epoch}" for c in cells]
        metafunc.parametrize("crucible_cell", cells, ids=ids)


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


@pytest.fixture
def crucible_sample(request: pytest.FixtureRequest, crucible_cell: Any) -> SampleRecord:
    """Generate and evaluate one cell of the grid; the stored record."""
    from harness.pipeline.cell import finished, run_cell
    from harness.pipeline.engine import Engine

    config = request.config
    settings = _project(config)
    if ENGINE_KEY not in config.stash:
        config.stash[ENGINE_KEY] = Engine.start(settings)
    run = _session_run(config)
    done = finished(run, crucible_cell)
    return done or run_cell(config.stash[ENGINE_KEY], crucible_cell, _providers(config, settings), run)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or RUN_KEY not in config.stash:
        return
    from harness.report import write_report

    run = config.stash[RUN_KEY]
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    run.mark(RunStatus.INTERRUPTED if interrupted else RunStatus.COMPLETE)
    if not (run.path / "samples").is_dir():
        return
    files = write_report(
        [run], run, config.getoption("crucible_baseline"), config.getoption("crucible_margin")
    )
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
    run = config.stash[RUN_KEY]
    summary = run.path / "summary.md"
    if summary.is_file():
        terminalreporter.section("crucible")
        terminalreporter.write_line(summary.read_text())
        terminalreporter.write_line(f"report: {run.path / 'index.html'}")
