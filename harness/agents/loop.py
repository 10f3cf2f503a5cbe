"""The tool-use loop on the Messages API: the variant's body as system prompt, the fixture's task as the
first user message, tools run in the workspace container, budgets checked after every exchange.

Prompt caching: breakpoints on the last tool definition and on the system prompt (the stable prefix
that every epoch and fixture of a variant shares) and on the newest user turn (the conversation so far).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.agents.outcome import AgentOutcome, Stop, Usage
from harness.agents.providers import Provider
from harness.agents.tools import ToolRunner, definitions
from harness.config import AgentSettings, Price

EPHEMERAL = {"type": "ephemeral"}
FINAL_STOPS: dict[str, Stop] = {
    "refusal": "refusal",
    "stop_sequence": "stop_sequence",
    "model_context_window_exceeded": "context_window",
}
CONTINUE = "Your reply was cut off at the output limit. Continue exactly where you stopped."


@dataclass(frozen=True)
class AgentRequest:
    model: str
    system: str
    tools: tuple[str, ...] | None
    task: str


def _assistant_content(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The response's blocks as they must be sent back (only the fields the API takes)."""
    keep = {
        "text": ("type", "text"),
        "tool_use": ("type", "id", "name", "input"),
        "thinking": ("type", "thinking", "signature"),
        "redacted_thinking": ("type", "data"),
    }
    return [{k: b[k] for k in keep.get(b.get("type", ""), tuple(b)) if k in b} for b in blocks]


def _with_rolling_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``messages`` whose newest user turn carries a cache breakpoint (and no other does)."""
    out = []
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    for index, message in enumerate(messages):
        blocks = [dict(b) for b in message["content"]]
        for block in blocks:
            block.pop("cache_control", None)
        if index == last_user:
            blocks[-1]["cache_control"] = EPHEMERAL
        out.append({"role": message["role"], "content": blocks})
    return out


def run_agent(
    provider: Provider,
    request: AgentRequest,
    runner: ToolRunner,
    settings: AgentSettings,
    price: Price,
    record: Callable[[dict[str, Any]], None],
) -> AgentOutcome:
    """Run the conversation to its end or to a budget. ``record`` receives every event for the
    transcript. Provider failures (after retries) propagate as ProviderError."""
    started = time.monotonic()
    tools = definitions(request.tools)
    if tools:
        tools[-1] = {**tools[-1], "cache_control": EPHEMERAL}
    system = [{"type": "text", "text": request.system, "cache_control": EPHEMERAL}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": request.task}]}]
    usage, turns, calls, errors = Usage(), 0, 0, 0
    stop: Stop = "end_turn"
    while True:
        if turns >= settings.max_turns:
            stop = "budget:turns"
            break
        if time.monotonic() - started >= settings.wall_time_s:
            stop = "budget:time"
            break
        body = {
            "model": request.model,
            "max_tokens": settings.max_output_tokens,
            "system": system,
            "tools": tools,
            "messages": _with_rolling_breakpoint(messages),
        }
        response = provider.complete(body)
        turns += 1
        usage = usage.plus(response.get("usage") or {})
        content = list(response.get("content") or [])
        record(
            {
                "event": "response",
                "turn": turns,
                "stop_reason": response.get("stop_reason"),
                "content": content,
                "usage": response.get("usage") or {},
            }
        )
        messages.append(
            {"role": "assistant", "content": _assistant_content(content) or [{"type": "text", "text": "."}]}
        )
        reason = response.get("stop_reason")
        if usage.total >= settings.max_tokens:
            stop = "budget:tokens"
            break
        if usage.dollars(price, settings) >= settings.max_dollars:
            stop = "budget:dollars"
            break
        if reason == "tool_use":
            results = []
            for block in content:
                if block.get("type") != "tool_use":
                    continue
                calls += 1
                text, is_error = runner.run(str(block.get("name")), block.get("input"))
                errors += is_error
                results.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": block.get("id"),
                        "content": text,
                        "is_error": is_error,
                    }
                )
                record(
                    {
                        "event": "tool",
                        "turn": turns,
                        "name": block.get("name"),
                        "input": block.get("input"),
                        "is_error": is_error,
                        "output": text,
                    }
                )
            messages.append(
                {"role": "user", "content": results or [{"type": "text", "text": "No tool call found."}]}
            )
        elif reason == "pause_turn":
            continue
        elif reason == "max_tokens":
            messages.append({"role": "user", "content": [{"type": "text", "text": CONTINUE}]})
        else:
            stop = FINAL_STOPS.get(str(reason), "end_turn")
            break
    outcome = AgentOutcome(
        model=request.model,
        stop=stop,
        turns=turns,
        tool_calls=calls,
        tool_errors=errors,
        usage=usage,
        dollars=usage.dollars(price, settings),
        seconds=round(time.monotonic() - started, 3),
    )
    record({"event": "end", **outcome.model_dump()})
    return outcome
