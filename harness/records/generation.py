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
    cache_write_1h_tokens: int = Field(0, description="of cache_write_tokens, those cached for an hour")
    server_tools: dict[str, int] = Field(
        default_factory=dict, description="server-side tool uses by kind (web_search_requests, ...)"
    )

    def plus(self, usage: dict[str, Any]) -> Usage:
        """This usage and one answer's ``usage`` object (as the API reports it; hostile values count 0)."""
        tools = dict(self.server_tools)
        creation = usage.get("cache_creation")
        hour = creation.get("ephemeral_1h_input_tokens") if isinstance(creation, dict) else 0
        used = usage.get("server_tool_use")
        for kind, count in used.items() if isinstance(used, dict) else []:
            tools[str(kind)[:64]] = tools.get(str(kind)[:64], 0) + _count(count)
        return Usage(
            input_tokens=self.input_tokens + _count(usage.get("input_tokens")),
            output_tokens=self.output_tokens + _count(usage.get("output_tokens")),
            cache_read_tokens=self.cache_read_tokens + _count(usage.get("cache_read_input_tokens")),
            cache_write_tokens=self.cache_write_tokens + _count(usage.get("cache_creation_input_tokens")),
            cache_write_1h_tokens=self.cache_write_1h_tokens + _count(hour),
            server_tools={k: v for k, v in tools.items() if v},
        )

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens

    def dollars(self, price: Price, settings: AgentSettings) -> float:
        per_token_in, per_token_out = price.input / 1e6, price.output / 1e6
        return round(
            self.input_tokens * per_token_in
            + self.cache_write_tokens * per_token_in * settings.cache_write_multiplier
            + self.cache_write_1h_tokens
            * per_token_in
            * (settings.cache_write_1h_multiplier - settings.cache_write_multiplier)
            + self.cache_read_tokens * per_token_in * settings.cache_read_multiplier
            + self.output_tokens * per_token_out
            + sum(
                n * settings.server_tool_prices.get(k, UNLISTED_TOOL_PRICE)
                for k, n in self.server_tools.items()
            ),
            6,
        )


UNLISTED_TOOL_PRICE = 0.01  # dollars a use of a server tool the price table does not list


def _count(value: Any) -> int:
    """A token count from an answer: a non-negative int, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


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
    server_tools: list[str] = Field(
        default_factory=list,
        description="server-side tools the gateway let the API run for this sample (none: no egress)",
    )

    @property
    def budget_hit(self) -> bool:
        return self.stop.startswith("budget:")
