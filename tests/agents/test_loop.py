"""The tool-use loop against scripted model replies and a recording tool runner (no Docker). Every
request goes through a real model gateway on a unix socket, as in a run: the budgets are the gateway's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.agents.gateway import Budgets, Gateway, Ledger
from harness.agents.gateway.sources import ScriptedSource
from harness.agents.loop import AgentRequest, run_agent
from harness.agents.providers import GatewayClient, ProviderError
from harness.config import Price, load_config
from harness.records.generation import AgentOutcome, Usage

PRICE = Price(input=3.0, output=15.0)


class FakeRunner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def run(self, name: str, arguments: Any) -> tuple[str, bool]:
        self.calls.append((name, arguments))
        if name == "Write" and isinstance(arguments, dict) and "content" in arguments:
            return f"Created {arguments['file_path']}", False
        return f"{name} failed: bad arguments", True


def reply(content: list[dict[str, Any]], stop: str, **usage: int) -> dict[str, Any]:
    return {
        "id": "msg_scripted",
        "type": "message",
        "role": "assistant",
        "model": REQUEST.model,
        "content": content,
        "stop_reason": stop,
        "usage": {"input_tokens": 1000, "output_tokens": 500, **usage},
    }


def write(i: int) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": f"t{i}",
        "name": "Write",
        "input": {"file_path": f"/workspace/f{i}", "content": "x"},
    }


REQUEST = AgentRequest(model="claude-sonnet-4-6", system="You build backends.", tools=None, task="Build it.")


def settings(tmp_path: Path, **overrides: Any) -> Any:
    return load_config(tmp_path).agent.model_copy(update=overrides)


class Loop:
    """The loop's conversation with a scripted model behind a gateway: what was asked, what it cost."""

    def __init__(self, source: ScriptedSource, ledger: Ledger, client: GatewayClient, agent: Any) -> None:
        self.source, self.ledger, self.client, self.settings = source, ledger, client, agent
        self.requests = source.requests

    def run(self, events: list[Any] | None = None) -> AgentOutcome:
        record = events.append if events is not None else lambda _e: None
        return run_agent(self.client, REQUEST, FakeRunner(), self.settings, PRICE, record)  # type: ignore[arg-type]


@contextmanager
def scripted(tmp_path: Path, answers: list[dict[str, Any]], **overrides: Any) -> Iterator[Loop]:
    agent = settings(tmp_path, **overrides)
    source = ScriptedSource(answers)
    ledger = Ledger(Budgets.of(agent), {REQUEST.model: PRICE}, agent)
    socket = tmp_path / "gw" / "api.sock"
    with Gateway(socket, source, ledger, frozenset({REQUEST.model}), tmp_path / "gw"):
        client = GatewayClient(socket, timeout=30)
        try:
            yield Loop(source, ledger, client, agent)
        finally:
            client.close()


def test_tool_calls_answered_in_one_user_message_then_end(tmp_path: Path) -> None:
    answers = [
        reply([{"type": "text", "text": "writing"}, write(1), write(2)], "tool_use"),
        reply([{"type": "text", "text": "done"}], "end_turn"),
    ]
    events: list[Any] = []
    with scripted(tmp_path, answers) as loop:
        outcome = loop.run(events)
    assert (
        outcome.stop == "end_turn"
        and outcome.turns == 2
        and outcome.tool_calls == 2
        and outcome.tool_errors == 0
    )
    second = loop.requests[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    results = second[2]["content"]
    assert [b["type"] for b in results] == ["tool_result", "tool_result"]
    assert [b["tool_use_id"] for b in results] == ["t1", "t2"] and results[0][
        "content"
    ] == "Created /workspace/f1"
    assert [e.event for e in events] == ["response", "tool", "tool", "response", "end"]
    # the gateway's ledger accounted the same usage and price as the loop's outcome
    assert loop.ledger.requests == 2 and loop.ledger.usage == outcome.usage
    assert loop.ledger.dollars == pytest.approx(outcome.dollars)


def test_cache_breakpoints_on_tools_system_and_the_newest_user_turn(tmp_path: Path) -> None:
    answers = [
        reply([write(1)], "tool_use"),
        reply([write(2)], "tool_use"),
        reply([{"type": "text", "text": "ok"}], "end_turn"),
    ]
    with scripted(tmp_path, answers) as loop:
        loop.run()
    assert len(loop.requests) == 3
    for request in loop.requests:
        assert request["system"][-1]["cache_control"] == {"type": "ephemeral"}
        assert request["tools"][-1]["cache_control"] == {"type": "ephemeral"}
        assert all("cache_control" not in tool for tool in request["tools"][:-1])
        marked = [
            (i, j)
            for i, m in enumerate(request["messages"])
            for j, b in enumerate(m["content"])
            if "cache_control" in b
        ]
        last_user = max(i for i, m in enumerate(request["messages"]) if m["role"] == "user")
        assert marked == [(last_user, len(request["messages"][last_user]["content"]) - 1)]
    assert [t["name"] for t in loop.requests[0]["tools"]] == [
        "Read",
        "Write",
        "Edit",
        "Bash",
        "Glob",
        "Grep",
    ]


def test_malformed_tool_calls_become_tool_errors(tmp_path: Path) -> None:
    answers = [
        reply(
            [
                {"type": "tool_use", "id": "t1", "name": "Write", "input": {"file_path": "/workspace/x"}},
                {"type": "tool_use", "id": "t2", "name": "Teleport", "input": {}},
            ],
            "tool_use",
        ),
        reply([{"type": "text", "text": "giving up"}], "end_turn"),
    ]
    with scripted(tmp_path, answers) as loop:
        outcome = loop.run()
    assert outcome.stop == "end_turn" and outcome.tool_errors == 2
    assert all(b["is_error"] for b in loop.requests[1]["messages"][2]["content"])


@pytest.mark.parametrize(
    ("overrides", "stop", "turns"),
    [
        ({"max_turns": 2}, "budget:requests", 2),
        # the first request's worst case (its input estimate, and max_tokens clamped to what is left)
        # cannot fit in $0.005 with 1,024 output tokens: refused before anything is spent
        ({"max_dollars": 0.005}, "budget:dollars", 0),
        # 1500 tokens an answer; each request reserves its input estimate (half its bytes and 1,000)
        # and at least 1,024 output tokens: the seventh (about 2,100 + 1,024) no longer fits in 12,000
        ({"max_tokens": 12_000}, "budget:tokens", 6),
    ],
)
def test_the_gateway_stops_the_sample_at_its_budget(
    tmp_path: Path, overrides: dict[str, Any], stop: str, turns: int
) -> None:
    with scripted(tmp_path, [reply([write(i)], "tool_use") for i in range(10)], **overrides) as loop:
        outcome = loop.run()
    assert outcome.stop == stop and outcome.turns == turns and outcome.budget_hit
    assert loop.ledger.stopped_by == stop and len(loop.requests) == turns
    assert loop.ledger.usage.total <= loop.ledger.budgets.tokens
    assert loop.ledger.dollars <= loop.ledger.budgets.dollars


def test_max_tokens_asks_to_continue_and_pause_turn_resumes(tmp_path: Path) -> None:
    answers = [
        reply([{"type": "text", "text": "half"}], "max_tokens"),
        reply([{"type": "text", "text": "thinking"}], "pause_turn"),
        reply([{"type": "text", "text": "all"}], "end_turn"),
    ]
    with scripted(tmp_path, answers) as loop:
        outcome = loop.run()
    assert outcome.turns == 3 and outcome.stop == "end_turn"
    assert loop.requests[1]["messages"][-1]["content"][0]["text"].startswith("Your reply was cut off")
    assert loop.requests[2]["messages"][-1]["role"] == "assistant"


def test_cost_from_usage(tmp_path: Path) -> None:
    usage = Usage().plus(
        {
            "input_tokens": 1_000_000,
            "output_tokens": 100_000,
            "cache_creation_input_tokens": 200_000,
            "cache_read_input_tokens": 2_000_000,
        }
    )
    # 1M x $3 + 0.2M x $3 x 1.25 + 2M x $3 x 0.1 + 0.1M x $15
    assert usage.dollars(PRICE, settings(tmp_path)) == pytest.approx(3.0 + 0.75 + 0.6 + 1.5)
    assert usage.total == 3_300_000


def test_a_model_failure_propagates_with_the_services_message(tmp_path: Path) -> None:
    with scripted(tmp_path, []) as loop, pytest.raises(ProviderError, match="500: the script ran out"):
        loop.run()


def test_a_model_outside_the_allowlist_is_refused_by_the_gateway(tmp_path: Path) -> None:
    with (
        scripted(tmp_path, [reply([], "end_turn")]) as loop,
        pytest.raises(ProviderError, match=r"403.*not allowed"),
    ):
        loop.client.complete({"model": "claude-opus-4-1", "max_tokens": 10, "messages": []})
    assert loop.requests == []
