"""Floors a team sets on a variant's metrics ("tests at least 0.9"), checked on a run's samples: on the
whole suite, or on one fixture where its fixture.toml sets its own. A floor is met when the metric's 95%
lower bound (or its mean, as the team chooses) reaches it; for metrics where lower is better (cost,
tokens) the floor is a ceiling, met by the upper bound (or the mean)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from harness.errors import ConfigError
from harness.report.stats import METRICS, interval

FloorOn = Literal["lower", "mean"]


@dataclass(frozen=True)
class Floor:
    metric: str
    value: float
    fixture: str | None = None  # None: over every fixture of the run

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.metric][1]

    @property
    def label(self) -> str:
        where = f"{self.fixture}-" if self.fixture else ""
        return f"{where}{self.metric}{'>=' if self.higher_is_better else '<='}{self.value:g}"


@dataclass(frozen=True)
class FloorResult:
    variant: str
    floor: Floor
    passed: bool
    message: str


def floors_from(table: dict[str, float], where: str, fixture: str | None = None) -> list[Floor]:
    """Floors from a mapping of metric to value; ``where`` names its source for the error."""
    made = []
    for metric, value in table.items():
        if metric not in METRICS:
            raise ConfigError(
                f"{where}: unknown metric {metric!r} for a floor", f"use one of: {', '.join(METRICS)}"
            )
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise ConfigError(f"{where}: the floor of {metric!r} is {value!r}", "give a number, e.g. 0.9")
        made.append(Floor(metric, float(value), fixture))
    return made


def parse_floor(text: str, where: str) -> Floor:
    """``METRIC=VALUE`` from the command line."""
    metric, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not sep or not math.isfinite(number):
        raise ConfigError(f"{where}: {text!r} is not METRIC=VALUE", "write it as, e.g., tests=0.9")
    return floors_from({metric.strip(): number}, where)[0]


def check_floor(df: pd.DataFrame, variant: str, floor: Floor, on: FloorOn = "lower") -> FloorResult:
    """Whether ``variant``'s samples in ``df`` (a stats frame) meet ``floor``."""
    chosen = df[df["variant"] == variant]
    if floor.fixture is not None:
        chosen = chosen[chosen["fixture"] == floor.fixture]
    column = METRICS[floor.metric][0]
    counted = chosen[column].notna().sum() if column in chosen else 0
    count = chosen["fixture"].nunique()
    scope = f"on {floor.fixture}" if floor.fixture else f"on {count} fixture{'s' if count != 1 else ''}"
    head = f"{variant}: {floor.metric}"
    if counted == 0:
        return FloorResult(
            variant, floor, False, f"{head}: no samples {scope} to hold against its floor {floor.value:g}"
        )
    mean, low, high = interval(chosen, floor.metric)
    if on == "mean":
        bound, named = mean, "mean"
    else:
        bound, named = (low, "95% lower bound") if floor.higher_is_better else (high, "95% upper bound")
    met = math.isfinite(bound) and (bound >= floor.value if floor.higher_is_better else bound <= floor.value)
    kind = "floor" if floor.higher_is_better else "ceiling"
    samples = f"{counted} sample{'s' if counted != 1 else ''}"
    facts = f"{mean:.3f} (95% CI {low:.3f} to {high:.3f}, {samples} {scope})"
    verb = "meets" if met else ("is below" if floor.higher_is_better else "is above")
    return FloorResult(
        variant, floor, met, f"{head} {facts}: its {named} {bound:.3f} {verb} the {kind} {floor.value:g}"
    )
