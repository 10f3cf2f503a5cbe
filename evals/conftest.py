"""The eval suite's settings. The bundled demo cassettes deliberately replay defective backends for two
variants (to show that the scorers catch them); under replay those samples are expected failures."""

from __future__ import annotations

import os

import pytest

# variant label -> what its bundled cassette's backend gets wrong
DEMO_DEFECTS = {
    "backend-engineer": "the demo cassette's backend leaves its enum type behind on downgrade",
    "backend-engineer-terse": "the demo cassette's backend stores passwords in plain text",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    provider = config.getoption("crucible_provider") or (
        "anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "replay"
    )
    if provider != "replay":
        return
    for item in items:
        cell = getattr(item, "callspec", None) and item.callspec.params.get("crucible_cell")
        if cell is not None and cell.variant.label in DEMO_DEFECTS:
            item.add_marker(pytest.mark.xfail(reason=DEMO_DEFECTS[cell.variant.label], strict=True))
