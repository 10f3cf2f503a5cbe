"""What `crucible run --until-decided` decided after each round: the run store keeps it as
``sequential.json`` beside the samples."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.records import Record


class Look(BaseModel):
    """The gate after one round, with intervals at the look's own level."""

    model_config = ConfigDict(frozen=True)
    epoch: int = Field(description="epochs done when it looked")
    level: float = Field(description="two-sided level of this look's intervals (the boundary's)")
    outcomes: dict[str, str] = Field(description="per gated metric: passes, worse, too small or no data")
    reasons: list[str]
    passed: bool
    decided: bool = Field(description="every gated metric passes, or one is shown worse")


class SequentialRun(Record):
    baseline: str
    candidate: str
    margin: float
    min_epochs: int
    max_epochs: int
    looks: list[Look] = Field(default_factory=list)
    ended: Literal["decided", "maximum", "budget", "running"] = "running"

    epochs: int = Field(0, description="epochs made before it stopped")
