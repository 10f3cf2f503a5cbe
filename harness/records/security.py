"""The one schema every security result is expressed in, and the sample's security report.

Score (in [0, 1]) = probe score x static score. The probe score is the fraction of conclusive probes
the app resisted (1.0 when none was conclusive). The static score is 1 / (1 + penalty), the penalty
being the sum over de-duplicated static findings of severity weight (high 1.0, medium 0.5, low 0.1)
times confidence weight (high 1.0, medium 0.7, low 0.4). A sample with any exploited probe is
insecure, whatever its score.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["low", "medium", "high"]
Verdict = Literal["resisted", "exploited", "inconclusive"]
SEVERITY_WEIGHT = {"high": 1.0, "medium": 0.5, "low": 0.1}
CONFIDENCE_WEIGHT = {"high": 1.0, "medium": 0.7, "low": 0.4}


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)
    tool: str
    rule: str
    cwe: str
    severity: Level
    confidence: Level
    file: str
    line: int
    message: str
    snippet: str = ""
    also: list[str] = Field(default_factory=list, description="other tools that reported the same place")


class ProbeResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    probe: str
    cwe: str
    result: Verdict
    evidence: str = ""
    seconds: float = 0.0


class SecurityReport(BaseModel):
    model_config = ConfigDict(frozen=True)
    findings: list[Finding] = Field(default_factory=list)
    suppressed: int = 0
    probes: list[ProbeResult] | None = Field(default=None, description="None when the app was not probed")
    tool_errors: list[str] = Field(default_factory=list)
    seconds: dict[str, float] = Field(default_factory=dict)

    @property
    def exploited(self) -> list[ProbeResult]:
        return [p for p in self.probes or [] if p.result == "exploited"]

    @property
    def secure(self) -> bool:
        return not self.exploited

    def static_penalty(self) -> float:
        return sum(SEVERITY_WEIGHT[f.severity] * CONFIDENCE_WEIGHT[f.confidence] for f in self.findings)

    def score(self) -> float:
        conclusive = [p for p in self.probes or [] if p.result != "inconclusive"]
        resisted = sum(p.result == "resisted" for p in conclusive)
        probe_score = resisted / len(conclusive) if conclusive else 1.0
        return round(probe_score / (1.0 + self.static_penalty()), 4)

    def failing(self) -> list[str]:
        """Exploited probes (`probe:<id>`) and medium- or high-severity static rules (`static:<rule>`)."""
        names = {f"probe:{p.probe}" for p in self.exploited}
        names |= {f"static:{f.rule}" for f in self.findings if f.severity != "low"}
        return sorted(names)

    def per_cwe(self) -> dict[str, dict[str, int]]:
        static = Counter(f.cwe for f in self.findings)
        exploited = Counter(p.cwe for p in self.exploited)
        return {
            cwe: {"static": static[cwe], "exploited": exploited[cwe]} for cwe in sorted(static | exploited)
        }
