"""What `crucible run --until-decided` decided after each round: the run store keeps it as
``sequential.json`` beside the samples."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.config import GateMode
from harness.records import Record


class Look(BaseModel):
    """The gate after one round, with intervals at the look's own level."""

    model_config = ConfigDict(frozen=True)
    epoch: int = Field(description="epochs done when it looked")
    level: float = Field(description="two-sided level of this look's intervals (the boundary's)")
    outcomes: dict[str, str] = Field(
        description="per gated metric: passes, worse, too small, partial or no data"
    )
    reasons: list[str]
    passed: bool
    decided: bool = Field(
        description="shown worse, or (non-inferiority) every gated metric passes, or (no-regression) every "
        "one is shown within the margin or the last look passed"
    )


class SequentialRun(Record):
    baseline: str
    candidate: str
    margin: float
    mode: GateMode = "non-inferiority"
    allow_partial: bool = False
    min_epochs: int
    max_epochs: int
    looks: list[Look] = Field(default_factory=list)
    ended: Literal["decided", "maximum", "budget", "running"] = "running"

    epochs: int = Field(0, description="epochs made before it stopped")
