"""The gateway's request policy on parsed requests, without a server: every way a request can make the API's
own servers reach out (server tools, MCP servers, containers, URL and file sources, betas) is refused by
default; an allowed family lets exactly its own parts through; hostile JSON is refused."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest

from harness.agents.gateway.policy import MAX_DEPTH, SERVER_TOOLS, Policy, PolicyError, parse
from harness.config import ServerTool

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
