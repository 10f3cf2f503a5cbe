"""What a generation used and how it ended: records that the run store keeps with each sample."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.config import AgentSettings, Price

Stop = Literal[
    "end_turn",
    "refusal",
    "stop_sequence",
    "context_window",
    "budget:turns",
    "budget:requests",
    "budget:tokens",
    "budget:dollars",
    "budget:time",
]


class Usage(BaseModel):
    model_config = ConfigDict(frozen=True)
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def plus(self, usage: dict[str, Any]) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + int(usage.get("input_tokens") or 0),
            output_tokens=self.output_tokens + int(usage.get("output_tokens") or 0),
            cache_read_tokens=self.cache_read_tokens + int(usage.get("cache_read_input_tokens") or 0),
            cache_write_tokens=self.cache_write_tokens + int(usage.get("cache_creation_input_tokens") or 0),
        )

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens

    def dollars(self, price: Price, settings: AgentSettings) -> float:
        per_token_in, per_token_out = price.input / 1e6, price.output / 1e6
        return round(
            self.input_tokens * per_token_in
            + self.cache_write_tokens * per_token_in * settings.cache_write_multiplier
            + self.cache_read_tokens * per_token_in * settings.cache_read_multiplier
            + self.output_tokens * per_token_out,
            6,
        )


class AgentOutcome(BaseModel):
    """How a generation ended and what it cost."""

    model_config = ConfigDict(frozen=True)
    model: str
    stop: Stop
    turns: int
    tool_calls: int
    tool_errors: int
    usage: Usage
    dollars: float
    seconds: float
    runtime: Literal["loop", "claude-code"] = "loop"
    provider: str | None = Field(None, description="where the answers came from: anthropic or replay")
    runtime_version: str | None = Field(None, description="the Claude Code CLI's version, for claude-code")
    delegated: bool | None = Field(
        None, description="claude-code: whether the main thread called the sub-agent"
    )
    reported_dollars: float | None = Field(None, description="claude-code: the CLI's own total, beside ours")
    exit_code: int | None = Field(
        None, description="claude-code: the CLI's exit status (None: killed at the limit)"
    )

    @property
    def budget_hit(self) -> bool:
        return self.stop.startswith("budget:")
