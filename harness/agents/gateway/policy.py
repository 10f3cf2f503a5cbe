"""The gateway's request policy: what a sandbox may ask of the Messages API, decided on the parsed request,
default closed. The API itself can reach the internet for a caller (server-side tools, the MCP connector,
URL and file sources in content blocks), so a sandbox without network could still search, fetch and run code
through its model requests. Only what is listed here passes:

- top-level fields a client-side agent uses (``FIELDS``); ``mcp_servers`` and ``container`` only with their
  server tool allowed;
- tools that the client runs itself: custom tools (no ``type``) and the client-side Anthropic-defined ones
  (bash, text editor, computer, memory); a server tool only when its family is allowed;
- content blocks of the known client types, with sources of inline data (base64, text, nested content);
- ``anthropic-beta`` values whose family is on the allowlist (dates are ignored);
- JSON without duplicate keys, NaN, lone surrogates, more than ``MAX_VALUES`` values or nesting deeper
  than ``MAX_DEPTH``.

What passes is forwarded re-serialised from the parsed value, never the bytes the sandbox sent."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.errors import CrucibleError

MAX_DEPTH = 128
MAX_VALUES = 1_000_000  # commas and brackets: a 16 MB conversation of text has a few hundred thousand
FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_k",
        "top_p",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
        "context_management",
        "output_config",
        "output_format",
    }
)
CLIENT_TOOL_TYPES = ("custom", "bash_", "text_editor_", "computer_", "memory_")
BLOCKS = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking", "search_result"}
)
SOURCES = frozenset({"base64", "text", "content"})
# Betas that change how the model answers, not what the API's servers do for the caller.
DEFAULT_BETAS = (
    "claude-code",
    "interleaved-thinking",
    "context-management",
    "effort",
    "prompt-caching-scope",
    "extended-cache-ttl",
    "fine-grained-tool-streaming",
    "token-efficient-tools",
    "structured-outputs",
    "redact-thinking",
    "thinking-token-count",
    "token-counting",
    "mid-conversation-system",
    "context-hint",
    "cache-diagnosis",
    "compact",
    "output-128k",
)


@dataclass(frozen=True)
class ServerTool:
    """A family of server-side features, allowed together: tool types (prefixes), the content blocks it
    brings into the conversation, the top-level fields, source types and betas it needs."""

    tools: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    betas: tuple[str, ...] = ()


SERVER_TOOLS: dict[str, ServerTool] = {
    "web_search": ServerTool(
        ("web_search_",), ("server_tool_use", "web_search_tool_result"), betas=("web-search",)
    ),
    "web_fetch": ServerTool(
        ("web_fetch_",), ("server_tool_use", "web_fetch_tool_result"), betas=("web-fetch",)
    ),
    "code_execution": ServerTool(
        ("code_execution_",),
        (
            "server_tool_use",
            "code_execution_tool_result",
            "bash_code_execution_tool_result",
            "text_editor_code_execution_tool_result",
        ),
        fields=("container",),
        betas=("code-execution",),
    ),
    "mcp": ServerTool(
        ("mcp_toolset",), ("mcp_tool_use", "mcp_tool_result"), ("mcp_servers",), betas=("mcp-client",)
    ),
    "tool_search": ServerTool(
        ("tool_search_tool_",),
        ("server_tool_use", "tool_search_tool_result", "tool_reference"),
        betas=("tool-search-tool", "advanced-tool-use"),
    ),
    "url_sources": ServerTool(sources=("url",)),
    "files": ServerTool(blocks=("container_upload",), sources=("file",), betas=("files-api",)),
}
_DATE = re.compile(r"-?\d{4}-?\d{2}-?\d{2}$")


class PolicyError(CrucibleError):
    """A request the policy refuses; ``status`` is the HTTP status the sandbox gets."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Policy:
    """``server_tools``: the families allowed (keys of ``SERVER_TOOLS``); ``betas``: beta families allowed;
    ``max_output_tokens``: the most any request may ask for."""

    server_tools: frozenset[str] = frozenset()
    betas: frozenset[str] = frozenset(DEFAULT_BETAS)
    max_output_tokens: int = 16_000

    def __post_init__(self) -> None:
        unknown = sorted(self.server_tools - SERVER_TOOLS.keys())
        if unknown:
            raise ValueError(f"unknown server tools {unknown}; known: {sorted(SERVER_TOOLS)}")

    def _allowed(self, part: str) -> set[str]:
        return {item for name in self.server_tools for item in getattr(SERVER_TOOLS[name], part)}

    def check_betas(self, header: str | None) -> list[str]:
        """The beta values of an ``anthropic-beta`` header, each on the allowlist, or PolicyError."""
        values = [v.strip() for v in (header or "").split(",") if v.strip()]
        allowed = self.betas | self._allowed("betas")
        for value in values:
            if _DATE.sub("", value) not in allowed:
                raise PolicyError(f"anthropic-beta {value!r} is not allowed")
        return values

    def check(self, request: Any, counting: bool) -> Checked:
        """The request if the policy lets it through (``max_tokens`` clamped), or PolicyError."""
        if not isinstance(request, dict):
            raise PolicyError("the request body is not a JSON object", 400)
        fields = FIELDS | self._allowed("fields")
        if extra := sorted(set(request) - fields):
            raise PolicyError(f"request field {extra[0]!r} is not allowed")
        model = request.get("model")
        if not isinstance(model, str):
            raise PolicyError("the request has no model name", 400)
        used = self._check_tools(request.get("tools") or []) | self._check_blocks(request)
        used |= {name for name in self.server_tools if set(SERVER_TOOLS[name].fields) & set(request)}
        clamped = dict(request)
        if not counting:
            asked = request.get("max_tokens")
            if isinstance(asked, bool) or not isinstance(asked, int) or asked < 1:
                raise PolicyError("max_tokens must be a positive integer", 400)
            clamped["max_tokens"] = min(asked, self.max_output_tokens)
        return Checked(clamped, model, sorted(used))

    def _check_tools(self, tools: Any) -> set[str]:
        if not isinstance(tools, list):
            raise PolicyError("tools must be a list", 400)
        used: set[str] = set()
        for tool in tools:
            if not isinstance(tool, dict):
                raise PolicyError("a tool is not an object", 400)
            kind = tool.get("type")
            if kind is None or (isinstance(kind, str) and kind.startswith(CLIENT_TOOL_TYPES)):
                continue
            family = _family(kind, "tools", self.server_tools) if isinstance(kind, str) else None
            if family is None:
                raise PolicyError(
                    f"tool type {str(kind)[:60]!r} runs on the API's servers and is not allowed"
                )
            used.add(family)
        return used

    def _check_blocks(self, request: dict[str, Any]) -> set[str]:
        blocks, sources = BLOCKS | self._allowed("blocks"), SOURCES | self._allowed("sources")
        used: set[str] = set()
        for block in content_blocks(request):
            kind = block.get("type")
            if not isinstance(kind, str) or kind not in blocks:
                raise PolicyError(f"content block type {str(kind)[:60]!r} is not allowed")
            if kind not in BLOCKS:
                used.add(_family(str(kind), "blocks", self.server_tools) or "")
            source = block.get("source")
            if source is None or (kind == "search_result" and isinstance(source, str)):
                continue  # a search result's source is a label the caller gives, never fetched
            source_type = source.get("type") if isinstance(source, dict) else None
            if not isinstance(source_type, str) or source_type not in sources:
                raise PolicyError(f"a {kind} block's source of type {str(source_type)[:60]!r} is not allowed")
            if source_type not in SOURCES:
                used.add(_family(str(source_type), "sources", self.server_tools) or "")
        return used - {""}


@dataclass(frozen=True)
class Checked:
    """A request the policy let through: its value (to re-serialise), model, and the server tools used."""

    request: dict[str, Any]
    model: str
    server_tools: list[str]

    def body(self) -> bytes:
        """The request to forward, as UTF-8 JSON; ValueError if it holds a lone surrogate."""
        return encode(self.request)


def _family(item: str, part: str, allowed: Iterable[str]) -> str | None:
    for name in allowed:
        if any(
            item == p or (p.endswith("_") and item.startswith(p)) for p in getattr(SERVER_TOOLS[name], part)
        ):
            return name
    return None


def content_blocks(request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every content block of the system prompt and the messages, nested ones (tool results, documents,
    search results) included; PolicyError for a message or block of the wrong shape."""
    stack: list[Any] = []
    system = request.get("system")
    if isinstance(system, list):
        stack.extend(system)
    messages = request.get("messages")
    if not isinstance(messages, list):
        raise PolicyError("messages must be a list", 400)
    for message in messages:
        if not isinstance(message, dict):
            raise PolicyError("a message is not an object", 400)
        content = message.get("content")
        if isinstance(content, list):
            stack.extend(content)
    while stack:
        block = stack.pop()
        if not isinstance(block, dict):
            raise PolicyError("a content block is not an object", 400)
        yield block
        for key in ("content",):
            nested = block.get(key)
            if isinstance(nested, list) and block.get("type") in ("tool_result", "search_result"):
                stack.extend(nested)
        source = block.get("source")
        if (
            isinstance(source, dict)
            and source.get("type") == "content"
            and isinstance(source.get("content"), list)
        ):
            stack.extend(source["content"])


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"the key {key[:60]!r} appears twice in one object")
            seen.add(key)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse(body: bytes | bytearray) -> Any:
    """The request body's JSON value; ValueError for invalid JSON (NaN and Infinity included), duplicate
    keys, more than ``MAX_VALUES`` values or nesting deeper than ``MAX_DEPTH`` (a lone surrogate is found
    when the request is encoded again: ``Checked.body``)."""
    values = body.count(b",") + body.count(b"[") + body.count(b"{")
    if values > MAX_VALUES:  # parsed, each costs far more memory than its byte or two of JSON
        raise ValueError(f"the JSON holds more than {MAX_VALUES} values")
    try:
        value = json.loads(body, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"the JSON is nested deeper than {MAX_DEPTH} levels") from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"the JSON is nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return value


def encode(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        raise ValueError("the JSON holds a lone surrogate (text that is not valid Unicode)") from None
