"""The gateway's request policy on parsed requests, without a server: every way a request can make the API's
own servers reach out (server tools, MCP servers, containers, URL and file sources, betas) is refused by
default; an allowed family lets exactly its own parts through; hostile JSON is refused."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest

from harness.agents.gateway.ledger import Budgets, Ledger, Reservation, estimate_input
from harness.agents.gateway.policy import MAX_DEPTH, MAX_VALUES, SERVER_TOOLS, Policy, PolicyError, parse
from harness.config import AgentSettings, Price, ServerTool
from harness.records.generation import Usage

MODEL = "claude-sonnet-4-6"


def ask(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], **extra}


def said(*blocks: dict[str, Any], role: str = "user") -> dict[str, Any]:
    return ask(messages=[{"role": role, "content": list(blocks)}])


URL_IMAGE = {"type": "image", "source": {"type": "url", "url": "https://example.invalid/a.png?q=secret"}}
FILE_DOC = {"type": "document", "source": {"type": "file", "file_id": "file_011"}}
EGRESS: dict[str, dict[str, Any]] = {
    "web search tool": ask(tools=[{"type": "web_search_20250305", "name": "web_search"}]),
    "web fetch tool": ask(tools=[{"type": "web_fetch_20250910", "name": "web_fetch"}]),
    "code execution tool": ask(tools=[{"type": "code_execution_20250825", "name": "code_execution"}]),
    "tool search tool": ask(tools=[{"type": "tool_search_tool_regex_20251119", "name": "s"}]),
    "mcp toolset": ask(tools=[{"type": "mcp_toolset", "mcp_server_name": "x"}]),
    "an unknown tool type": ask(tools=[{"type": "new_server_thing_20270101", "name": "n"}]),
    "mcp_servers": ask(mcp_servers=[{"type": "url", "url": "https://mcp.example.invalid", "name": "x"}]),
    "container": ask(container="container_011"),
    "an unknown field": ask(skills=[{"type": "anthropic", "skill_id": "pdf"}]),
    "a URL image": said(URL_IMAGE),
    "a file document": said(FILE_DOC),
    "a URL image inside a tool result": said(
        {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "x"}, URL_IMAGE]}
    ),
    "a file inside a document's content": said(
        {"type": "document", "source": {"type": "content", "content": [FILE_DOC]}}
    ),
    "a container upload": said({"type": "container_upload", "file_id": "file_011"}),
    "a server tool call to resume": said(
        {"type": "server_tool_use", "id": "s", "name": "web_fetch", "input": {"url": "https://x.invalid"}},
        role="assistant",
    ),
    "a URL source in the system prompt": ask(system=[URL_IMAGE]),
}


@pytest.mark.parametrize("name", sorted(EGRESS))
@pytest.mark.parametrize("counting", [False, True])
def test_every_way_out_through_the_api_is_refused_by_default(name: str, counting: bool) -> None:
    with pytest.raises(PolicyError) as refused:
        Policy().check(EGRESS[name], counting=counting)
    assert refused.value.status == 403


def test_client_side_tools_and_inline_sources_pass_and_max_tokens_is_clamped() -> None:
    request = said(
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}},
    )
    request |= {
        "max_tokens": 1_000_000,
        "tools": [
            {"name": "Write", "input_schema": {"type": "object", "properties": {"type": {"type": "url"}}}},
            {"type": "bash_20250124", "name": "bash"},
            {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
        ],
    }
    checked = Policy(max_output_tokens=16_000).check(request, counting=False)
    assert checked.request["max_tokens"] == 16_000 and checked.server_tools == []
    assert request["max_tokens"] == 1_000_000  # the caller's value is not changed in place
    with pytest.raises(PolicyError, match="max_tokens"):
        Policy().check(ask(max_tokens=True), counting=False)


def test_an_allowed_server_tool_passes_alone_and_is_named() -> None:
    policy = Policy(server_tools=frozenset({"web_search"}))
    checked = policy.check(EGRESS["web search tool"], counting=False)
    assert checked.server_tools == ["web_search"]
    history = said(
        {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {"query": "q"}},
        {"type": "web_search_tool_result", "tool_use_id": "s", "content": []},
        role="assistant",
    )
    assert policy.check(history, counting=False).server_tools == ["web_search"]
    for other in ("web fetch tool", "code execution tool", "mcp_servers", "a URL image", "container"):
        with pytest.raises(PolicyError):
            policy.check(EGRESS[other], counting=False)
    assert policy.check_betas("web-search-2025-03-05") == ["web-search-2025-03-05"]
    with pytest.raises(PolicyError, match="web-fetch"):
        policy.check_betas("web-fetch-2025-09-10")


def test_betas_pass_only_from_the_allowlist_whatever_their_date() -> None:
    header = "claude-code-20250219,interleaved-thinking-2025-05-14, context-management-2025-06-27"
    assert len(Policy().check_betas(header)) == 3
    assert Policy().check_betas("effort-2026-11-24") == ["effort-2026-11-24"]
    for value in (
        "files-api-2025-04-14",
        "mcp-client-2025-11-20",
        "code-execution-2025-08-25",
        "skills-2025-10-02",
    ):
        with pytest.raises(PolicyError, match=value):
            Policy().check_betas(f"claude-code-20250219, {value}")


def test_hostile_json_is_refused_before_the_policy_reads_it() -> None:
    with pytest.raises(ValueError, match="twice"):
        parse(b'{"model": "claude-opus-4-8", "model": "claude-sonnet-4-6", "messages": []}')
    with pytest.raises(ValueError, match="deeper"):
        parse(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ValueError, match="deeper"):
        parse(json.dumps(ask(metadata=json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)))).encode())
    lone = parse(b'{"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "\\ud800"}]}')
    with pytest.raises(ValueError, match="surrogate"):
        Policy().check(lone, counting=False).body()
    assert parse(json.dumps(ask()).encode()) == ask()


def test_the_configured_names_and_the_policy_table_agree() -> None:
    assert set(get_args(ServerTool)) == set(SERVER_TOOLS)
    with pytest.raises(ValueError, match="unknown server tools"):
        Policy(server_tools=frozenset({"teleport"}))


def test_hostile_shapes_are_refused_cleanly_and_search_results_pass() -> None:
    for block in ({"type": ["text"]}, {"type": "image", "source": {"type": {"a": 1}}}, "text"):
        with pytest.raises(PolicyError):
            Policy().check(said(block), counting=False)  # type: ignore[arg-type]
    with pytest.raises(PolicyError):
        Policy().check(ask(tools=["web_search"]), counting=False)
    found = {
        "type": "search_result",
        "source": "internal wiki",
        "title": "t",
        "content": [{"type": "text", "text": "x"}],
    }
    assert Policy().check(said(found), counting=False).server_tools == []


def test_json_that_would_cost_far_more_than_its_size_is_refused_fast() -> None:
    with pytest.raises(ValueError, match="values"):
        parse(b"[" + b"[]," * MAX_VALUES + b"[]]")
    many = {f"k{i}": i for i in range(100_000)}
    body = json.dumps(many).encode()[:-1] + b', "k99999": 0}'  # the repeat comes last: a quadratic scan hangs
    with pytest.raises(ValueError, match="k99999"):
        parse(body)
    with pytest.raises(ValueError, match="NaN"):
        parse(b'{"model": "m", "temperature": NaN}')


def test_the_input_estimate_counts_only_real_pictures_at_their_flat_rate() -> None:
    text = "word " * 20_000
    fake = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": text}}
    hidden = said(
        {"type": "tool_use", "id": "t", "name": "Write", "input": {"content": fake}}, role="assistant"
    )
    size = len(json.dumps(hidden))
    assert estimate_input(hidden, size) >= size // 2  # inside a tool's input it is text, billed as text
    shown = said(fake)
    assert estimate_input(shown, len(json.dumps(shown))) < 5_000  # a picture: about 1,600 tokens
    pdf = said(
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}}
    )
    assert estimate_input(pdf, len(json.dumps(pdf))) > 300_000  # up to 100 pages, each as text and picture


def test_a_stopped_sample_stays_stopped_and_closing_charges_what_is_in_flight() -> None:
    settings = AgentSettings()
    ledger = Ledger(Budgets(requests=10, tokens=10**7, dollars=0.03, wall_s=600), settings.prices, settings)
    first = ledger.admit(MODEL, 1_000, 1_000)
    assert isinstance(first, Reservation) and first.output_tokens == 1_000
    assert ledger.admit(MODEL, 1_000, 16_000) == "budget:dollars"  # 1,024 output tokens no longer fit
    assert ledger.admit(MODEL, 10, 10) == "budget:dollars" and ledger.admit_count() == "budget:dollars"
    ledger.close()
    assert ledger.usage.input_tokens == 1_000 and ledger.usage.output_tokens == 1_000
    assert ledger.settle(first, {"input_tokens": 5, "output_tokens": 5}) == 0.0  # charged once, at close
    assert ledger.usage.output_tokens == 1_000 and ledger.reserved_tokens == 0


def test_hour_long_cache_writes_and_server_tools_are_priced() -> None:
    settings, price = AgentSettings(), Price(input=3.0, output=15.0)
    usage = Usage().plus(
        {
            "input_tokens": 10,
            "cache_creation_input_tokens": 1_000_000,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 1_000_000},
            "server_tool_use": {"web_search_requests": 2, "made_up_requests": 1},
            "output_tokens": -5,
        }
    )
    assert usage.output_tokens == 0 and usage.cache_write_1h_tokens == 1_000_000
    assert usage.dollars(price, settings) == pytest.approx(10 * 3e-6 + 6.0 + 0.02 + 0.01)
