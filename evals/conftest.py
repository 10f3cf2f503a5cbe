"""The eval suite's settings. The bundled demo cassettes deliberately replay defective backends for two
variants on every fixture (to show that the scorers catch them); under replay those samples are expected
failures."""

from __future__ import annotations

import os

import pytest

# (variant label, fixture) -> what its bundled cassette's backend gets wrong
DEMO_DEFECTS = {
    ("backend-engineer", "jwt-auth"): "its backend leaves its enum type behind on downgrade",
    ("backend-engineer-terse", "jwt-auth"): "its backend stores passwords in plain text",
    ("backend-engineer", "order-management"): "its backend ignores the Idempotency-Key header",
    ("backend-engineer-terse", "order-management"): "its backend checks stock without a lock and oversells",
    ("backend-engineer", "contacts-split-name"): "its downgrade loses every family name",
    ("backend-engineer-terse", "contacts-split-name"): "its backfill splits names at the first space",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    provider = config.getoption("crucible_provider") or (
        "anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "replay"
    )
    if provider != "replay":
        return
    for item in items:
        callspec = getattr(item, "callspec", None)
        cell = callspec.params.get("crucible_cell") if callspec is not None else None
        defect = cell and DEMO_DEFECTS.get((cell.variant.label, cell.fixture.id))
        if defect:
            item.add_marker(pytest.mark.xfail(reason=f"demo cassette: {defect}", strict=True))
