"""The real `anthropic` SDK, as the built-in loop uses it (through the sample's model gateway on a unix
socket), against a fake Messages API on 127.0.0.1: the gateway's retries, failures, the key added on the
host only, caching and cost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.agents.gateway import Budgets, Gateway, HttpUpstream, Ledger
from harness.agents.gateway.sources import LiveSource
from harness.agents.loop import AgentRequest, run_agent
from harness.agents.providers import PLACEHOLDER_KEY, GatewayClient, ProviderError
from harness.config import Price, load_config
from tests.agents.fake_anthropic import FakeServer, error, message
from tests.agents.test_loop import FakeRunner

REQUEST = {"model": "claude-sonnet-4-6", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
SETTINGS = load_config(Path(__file__).parents[2]).agent


@contextmanager
def client(server: FakeServer, folder: Path, retries: int) -> Iterator[GatewayClient]:
    upstream = HttpUpstream(server.url, "sk-test", retries, 30.0)
    ledger = Ledger(Budgets.of(SETTINGS), SETTINGS.prices, SETTINGS)
    socket = folder / "api.sock"
    with server.running(), Gateway(socket, upstream, ledger, frozenset({"claude-sonnet-4-6"}), folder):
        made = GatewayClient(socket, timeout=30)
        try:
            yield made
        finally:
            made.close()
            upstream.close()


def test_429_then_success_honours_retry_after_and_the_key_is_added_on_the_host(tmp_path: Path) -> None:
    server = FakeServer(
        [
            error(429, "rate_limit_error", {"retry-after": "1"}),
            message([{"type": "text", "text": "hello"}], "end_turn"),
        ]
    )
    with client(server, tmp_path, retries=2) as sdk:
        started = time.monotonic()
        reply = sdk.complete(REQUEST)
        waited = time.monotonic() - started
    assert reply["content"][0]["text"] == "hello" and len(server.requests) == 2
    assert waited >= 0.9  # the retry-after of 1 s was honoured
    for headers in server.headers:
        sent = {k.lower(): v for k, v in headers.items()}
        assert sent["x-api-key"] == "sk-test" and "authorization" not in sent
        assert PLACEHOLDER_KEY not in str(sent)


def test_529_every_time_exhausts_the_retries(tmp_path: Path) -> None:
    server = FakeServer([error(529, "overloaded_error")] * 3)
    with client(server, tmp_path, retries=2) as sdk, pytest.raises(ProviderError, match="529"):
        sdk.complete(REQUEST)
    assert len(server.requests) == 3


def test_a_bad_request_is_not_retried(tmp_path: Path) -> None:
    server = FakeServer([error(400, "invalid_request_error")])
    with client(server, tmp_path, retries=2) as sdk, pytest.raises(ProviderError, match="400: fake invalid"):
        sdk.complete(REQUEST)
    assert len(server.requests) == 1


def test_no_api_key_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.errors import UserError

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY is not set"):
        LiveSource()


def test_conversation_through_the_sdk_sends_cache_breakpoints_and_counts_cost(tmp_path: Path) -> None:
    usage = {
        "input_tokens": 2000,
        "output_tokens": 1000,
        "cache_creation_input_tokens": 4000,
        "cache_read_input_tokens": 0,
    }
    later = {
        "input_tokens": 300,
        "output_tokens": 200,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 4000,
    }
    server = FakeServer(
        [
            message(
                [
                    {
                        "type": "tool_use",
                        "id": "t1",
                        "name": "Write",
                        "input": {"file_path": "/workspace/a.py", "content": "x = 1\n"},
                    }
                ],
                "tool_use",
                usage,
            ),
            message([{"type": "text", "text": "done"}], "end_turn", later),
        ]
    )
    settings = load_config(tmp_path).agent
    request = AgentRequest(model="claude-sonnet-4-6", system="system prompt", tools=("Write",), task="task")
    with client(server, tmp_path, retries=0) as sdk:
        outcome = run_agent(sdk, request, FakeRunner(), settings, Price(input=3, output=15), lambda _e: None)  # type: ignore[arg-type]
    first = server.requests[0]
    assert first["system"] == [
        {"type": "text", "text": "system prompt", "cache_control": {"type": "ephemeral"}}
    ]
    assert first["tools"][-1]["name"] == "Write" and first["tools"][-1]["cache_control"] == {
        "type": "ephemeral"
    }
    assert server.requests[1]["messages"][1]["content"][0]["type"] == "tool_use"
    assert outcome.usage.cache_read_tokens == 4000 and outcome.usage.cache_write_tokens == 4100
    expected = (2300 * 3 + 4100 * 3 * 1.25 + 4000 * 3 * 0.1 + 1200 * 15) / 1e6
    assert outcome.dollars == pytest.approx(expected)
