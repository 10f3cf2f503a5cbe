"""The hidden acceptance tests' results as the run store keeps them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Outcome = Literal["passed", "failed", "error", "skipped"]


class CaseResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    nodeid: str
    outcome: Outcome
    seconds: float
    message: str = ""


class SuiteScore(BaseModel):
    model_config = ConfigDict(frozen=True)
    total: int
    passed: int
    failed: int
    errors: int
    skipped: int
    pass_rate: float
    all_pass: bool
    seconds: float
    cases: list[CaseResult]

    def failing(self) -> list[str]:
        return [case.nodeid for case in self.cases if case.outcome in ("failed", "error")]
