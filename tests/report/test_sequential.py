"""The sequential boundaries against published values, and a pinned cell of their calibration."""

from __future__ import annotations

import pytest

from benchmarks.calibration import Scenario, simulate_sequential
from harness.report.sequential import boundaries, look_levels, spent


def test_obrien_fleming_type_spending_gives_the_published_boundaries() -> None:
    # Lan-DeMets O'Brien-Fleming-type spending, one-sided 0.025, equally spaced looks (as tabled by
    # Jennison and Turnbull, and computed by gsDesign / ldbounds): 5 looks and 2 looks
    assert boundaries([0.2, 0.4, 0.6, 0.8, 1.0]) == pytest.approx(
        [4.877, 3.357, 2.680, 2.290, 2.031], abs=2e-3
    )
    assert boundaries([0.5, 1.0]) == pytest.approx([2.963, 1.969], abs=2e-3)
    assert spent(1.0) == pytest.approx(0.025) and spent(0.0) == 0.0


def test_levels_by_epoch_and_bad_looks() -> None:
    levels = look_levels(2, 5)
    assert list(levels) == [2, 3, 4, 5] and all(0.95 < v < 1 for v in levels.values())
    with pytest.raises(ValueError, match="must increase"):
        boundaries([0.5, 0.5])


def test_a_pinned_cell_of_the_sequential_calibration() -> None:
    # 3 fixtures, looks after epochs 2..6, binary outcomes near 0.9: the gate's type-I error at the margin
    # over all looks stays at the nominal 0.025 (within the Monte Carlo error of 600 runs)
    cell = simulate_sequential(Scenario("logit", 3, 6, "binary", 0.9, 0.2), runs=600, margin=0.1, seed=7)
    assert cell.type_one <= 0.045
    assert cell.epochs_worse < 6  # a clearly worse candidate stops before the maximum on average
