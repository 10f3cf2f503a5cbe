"""What the model gateway writes: one line per request it saw (``gateway.jsonl``: what it decided, never a
key) and one per exchange it forwarded (``exchanges.jsonl``: the request body and the assembled answer)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Decision = Literal[
    "forwarded",
    "refused:path",  # not an endpoint the sandbox may use
    "refused:model",  # a model outside the allowlist
    "refused:budget",  # a budget of the sample is used up
    "refused:body",  # not a readable JSON request
    "refused:policy",  # asks for something the request policy forbids (server tools, URL sources, betas)
    "refused:limit",  # beyond a limit of the connection (size, connections at once, time)
    "refused:http",  # malformed HTTP
    "failed",
]


class GatewayLogLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: str
    method: str
    path: str
    status: int
    decision: Decision
    model: str | None = None
    credentials_dropped: list[str] = []
    key_added: bool = False
    server_tools: list[str] = []  # server-side tools the request used (only when allowed)
    reason: str = ""


class Exchange(BaseModel):
    """One forwarded request and what came back: the streamed events assembled into the final message."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    index: int
    path: str
    stream: bool
    request: dict[str, Any]
    status: int
    response: dict[str, Any]
    dollars: float = 0.0
    seconds: float = 0.0
    agent_id: str | None = None
