"""The tool-use loop on the Messages API: the variant's body as system prompt, the fixture's task as the
first user message, tools run in the workspace container. The sample's gateway admits every request
against the budgets (requests, tokens, dollars, wall time), as it does for Claude Code; the loop ends when
the gateway says a budget is used up.

Prompt caching: breakpoints on the last tool definition and on the system prompt (the stable prefix
that every epoch and fixture of a variant shares) and on the newest user turn (the conversation so far).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.agents.providers import BudgetExhausted, ModelClient
from harness.agents.tools import ToolRunner, definitions
from harness.config import AgentSettings, Price
from harness.records.generation import AgentOutcome, Stop, Usage
from harness.records.transcript import EndEvent, ResponseEvent, ToolEvent, TranscriptEvent

# part of every loop sample's generation key: raise it when a change alters what the model is sent
LOOP_VERSION = 1
EPHEMERAL = {"type": "ephemeral"}
FINAL_STOPS: dict[str, Stop] = {
    "refusal": "refusal",
    "stop_sequence": "stop_sequence",
    "model_context_window_exceeded": "context_window",
}
Recorder = Callable[[TranscriptEvent], None]
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


@dataclass
class _Tally:
    usage: Usage = field(default_factory=Usage)
    turns: int = 0
    calls: int = 0
    errors: int = 0


def _run_tools(
    content: list[dict[str, Any]], runner: ToolRunner, tally: _Tally, record: Recorder
) -> list[dict[str, Any]]:
    """Run every tool call of a response in order; the tool results to send back."""
    results = []
    for block in content:
        if block.get("type") != "tool_use":
            continue
        tally.calls += 1
        text, is_error = runner.run(str(block.get("name")), block.get("input"))
        tally.errors += is_error
        results.append(
            {"type": "tool_result", "tool_use_id": block.get("id"), "content": text, "is_error": is_error}
        )
        record(ToolEvent.of(tally.turns, block, text, is_error))
    return results


def run_agent(
    client: ModelClient,
    request: AgentRequest,
    runner: ToolRunner,
    settings: AgentSettings,
    price: Price,
    record: Recorder,
) -> AgentOutcome:
    """Run the conversation to its end or to a budget. ``record`` receives every event for the
    transcript. Model failures (after the gateway's retries) propagate as ProviderError."""
    started = time.monotonic()
    tools = definitions(request.tools)
    if tools:
        tools[-1] = {**tools[-1], "cache_control": EPHEMERAL}
    system = [{"type": "text", "text": request.system, "cache_control": EPHEMERAL}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": request.task}]}]
    tally = _Tally()
    stop: Stop = "end_turn"
    while True:
        body = {
            "model": request.model,
            "max_tokens": settings.max_output_tokens,
            "system": system,
            "tools": tools,
            "messages": _with_rolling_breakpoint(messages),
        }
        try:
            response = client.complete(body)
        except BudgetExhausted as exhausted:
            stop = exhausted.stop
            break
        tally.turns += 1
        tally.usage = tally.usage.plus(response.get("usage") or {})
        content = list(response.get("content") or [])
        reason = response.get("stop_reason")
        record(
            ResponseEvent(
                turn=tally.turns,
                stop_reason=None if reason is None else str(reason),
                content=content,
                usage=response.get("usage") or {},
            )
        )
        messages.append(
            {"role": "assistant", "content": _assistant_content(content) or [{"type": "text", "text": "."}]}
        )
        if reason == "tool_use":
            results = _run_tools(content, runner, tally, record)
            messages.append(
                {"role": "user", "content": results or [{"type": "text", "text": "No tool call found."}]}
            )
        elif reason == "max_tokens":
            messages.append({"role": "user", "content": [{"type": "text", "text": CONTINUE}]})
        elif reason != "pause_turn":
            stop = FINAL_STOPS.get(str(reason), "end_turn")
            break
    outcome = AgentOutcome(
        model=request.model,
        stop=stop,
        turns=tally.turns,
        tool_calls=tally.calls,
        tool_errors=tally.errors,
        usage=tally.usage,
        dollars=tally.usage.dollars(price, settings),
        seconds=round(time.monotonic() - started, 3),
    )
    record(EndEvent(**outcome.model_dump()))
    return outcome
