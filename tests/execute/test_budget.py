"""`crucible run --max-dollars`: once the run's generations have cost the cap, no cell starts (without
Docker: the cap stops the cell before any container exists)."""

from __future__ import annotations

from pathlib import Path

from harness.agents.factory import replay_factory
from harness.agents.variants import load_variant
from harness.execute.budget import Spend
from harness.execute.local import run_grid
from harness.fixtures import find_fixture
from harness.pipeline.cell import grid
from harness.records import BUDGET_ENDED, Reuse, RunManifest, SampleStatus
from harness.report.exports import summary_markdown
from harness.report.gate import GateSpec
from harness.store import RunStore
from tests.helpers import PROJECT
from tests.helpers import generated_record as generated
from tests.helpers import offline_engine as engine


def test_no_cell_starts_once_the_spend_reaches_the_cap(tmp_path: Path) -> None:
    cells = grid(
        [load_variant("agents/backend-engineer-checklist.md", PROJECT)],
        [find_fixture(PROJECT, "jwt-auth")],
        3,
    )
    run = RunStore(tmp_path / "reports").create(RunManifest(run_id="r1", kind="run", crucible_version="0"))
    spent = generated("r1", cells[0].sample_id).model_copy(update={"epoch": 1})  # $0.50, finished before
    run.write_record(f"samples/{cells[0].sample_id}/record.json", spent)
    providers = replay_factory(PROJECT / "agents/cassettes")
    found = run_grid(engine(PROJECT), cells, providers, run, max_dollars=0.5)
    assert found[0] == spent
    for record in found[1:]:
        assert record.status is SampleStatus.INFRA_FAILURE and record.attempts == 0
        assert record.reason.startswith(BUDGET_ENDED) and "$0.50 spent, cap $0.50" in record.reason
    assert "The budget ended the run (`--max-dollars`): 2 samples were not started." in summary_markdown(
        found, None, GateSpec()
    )


def test_reused_samples_cost_the_run_nothing() -> None:
    spend = Spend(1.0)
    made = generated("r2", "a")
    spend.add(made.model_copy(update={"reused": Reuse(run_id="r1", sample_id="a", evaluation=True)}))
    assert spend.dollars == 0 and spend.reason() == ""
    spend.add(made)
    spend.add(made)
    assert spend.dollars == 1.0 and spend.reason().startswith(BUDGET_ENDED)
    assert Spend(None).reason() == ""
