"""The eval suite's own declarations for the bundled demo. The floors are the project's
([tool.crucible.evals] in pyproject.toml, and [thresholds] in a fixture.toml); this file adds what only
replay needs:
- replayed epochs copy one recording and count once, so no lower bound can reach a floor: under replay
  the floors are held against the mean;
- the bundled cassettes make the checklist variant write the reference and the two others write known
  defects; on the default grid (no variants, fixtures or baseline given) the suite gates both against the
  checklist and expects exactly the floors and gates below to fail, each for its defect (strict: an
  expected failure that passes fails the session)."""

from __future__ import annotations

import os

import pytest

DEMO_BASELINE = "backend-engineer-checklist"
# decision item -> what the bundled cassettes' backends get wrong there
DEMO_CAUGHT = {
    "test_threshold[backend-engineer-migrations>=0.9]": (
        "its downgrades leave the enum type behind (jwt-auth) and lose every family name (contacts)"
    ),
    "test_threshold[backend-engineer-order-management-tests>=0.95]": (
        "its backend ignores the Idempotency-Key header"
    ),
    "test_threshold[backend-engineer-contacts-split-name-migrations>=1]": (
        "its downgrade loses every family name"
    ),
    "test_threshold[backend-engineer-terse-secure>=1]": (
        "it stores passwords in plain text (jwt-auth) and oversells stock without a lock (order-management)"
    ),
    "test_threshold[backend-engineer-terse-contacts-split-name-migrations>=1]": (
        "its backfill splits names at the first space"
    ),
    "test_gate[backend-engineer-vs-backend-engineer-checklist]": (
        "its migrations fail where the reference's pass"
    ),
    "test_gate[backend-engineer-terse-vs-backend-engineer-checklist]": "its backends are insecure",
}


def _replay(config: pytest.Config) -> bool:
    provider = config.getoption("crucible_provider")
    return (provider or ("anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "replay")) == "replay"


def _default_grid(config: pytest.Config) -> bool:
    chosen = ("crucible_variants", "crucible_fixtures", "crucible_baseline", "crucible_run_id")
    return not any(config.getoption(name) for name in chosen)


def pytest_configure(config: pytest.Config) -> None:
    if not _replay(config):
        return
    if config.getoption("crucible_floor_on") is None:
        config.option.crucible_floor_on = "mean"
    if _default_grid(config):
        config.option.crucible_demo = True
        config.option.crucible_baseline = DEMO_BASELINE


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "crucible_demo", False):
        return
    for item in items:
        defect = DEMO_CAUGHT.get(item.name)
        if defect:
            item.add_marker(pytest.mark.xfail(reason=f"demo cassettes: {defect}", strict=True))
