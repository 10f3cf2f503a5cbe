"""What CI decides on: every variant's floors, and with a baseline every candidate's gate. These are the
items that fail the session; each waits for the samples it needs."""

from __future__ import annotations

from typing import Any

import pytest


def test_threshold(crucible_floor: Any) -> None:
    if not crucible_floor.passed:
        pytest.fail(crucible_floor.message, pytrace=False)


def test_gate(crucible_gate: Any) -> None:
    if not crucible_gate.passed:
        pytest.fail(crucible_gate.message, pytrace=False)
