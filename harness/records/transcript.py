"""The transcript of a generation (``transcript.jsonl``): one typed event a line, in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from harness.records.generation import AgentOutcome


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StartEvent(_Event):
    event: Literal["start"] = "start"
    variant: str
    variant_digest: str
    model: str
    fixture: str
    provider: str
    runtime: str = "loop"


class ResponseEvent(_Event):
    """One answer of the model, its content blocks as the API sent them."""

    event: Literal["response"] = "response"
    turn: int
    stop_reason: str | None = None
    content: list[dict[str, Any]] = Field(default_factory=list)
    usage: dict[str, Any] = Field(default_factory=dict)
    parent: str | None = Field(None, description="the sub-agent call (tool_use id) this answer belongs to")


class ToolEvent(_Event):
    """One tool call the agent made and what it got back."""

    event: Literal["tool"] = "tool"
    turn: int
    name: str | None = None
    input: Any = None
    is_error: bool = False
    output: str = ""
    parent: str | None = Field(None, description="the sub-agent call (tool_use id) this call ran under")
    call_id: str | None = Field(
        None, description="this call's tool_use id (a sub-agent call's children name it)"
    )

    @classmethod
    def of(
        cls, turn: int, call: dict[str, Any], output: str, is_error: bool, parent: str | None = None
    ) -> ToolEvent:
        """The event of the tool_use block ``call`` and what it returned."""
        name = call.get("name")
        return cls(
            turn=turn,
            name=None if name is None else str(name),
            input=call.get("input"),
            is_error=is_error,
            output=output,
            parent=parent,
            call_id=None if call.get("id") is None else str(call.get("id")),
        )


class EndEvent(AgentOutcome):
    model_config = ConfigDict(frozen=True, extra="forbid")
    event: Literal["end"] = "end"


class WorkspaceEvent(_Event):
    """What was left out when the workspace was copied out of the sandbox."""

    event: Literal["workspace"] = "workspace"
    dropped_links_outside: list[str] = Field(default_factory=list)


TranscriptEvent = Annotated[
    StartEvent | ResponseEvent | ToolEvent | EndEvent | WorkspaceEvent, Field(discriminator="event")
]
_ADAPTER: TypeAdapter[TranscriptEvent] = TypeAdapter(TranscriptEvent)


def event_line(event: _Event | EndEvent) -> str:
    """The event as one JSON line of the transcript."""
    return json.dumps(event.model_dump(mode="json"), ensure_ascii=False) + "\n"


def read_transcript(path: Path) -> list[TranscriptEvent]:
    """Every event of a transcript file, in order (none when the file is missing)."""
    if not path.is_file():
        return []
    return [_ADAPTER.validate_json(line) for line in path.read_text().splitlines() if line.strip()]
