"""Server-sent events of the Messages API, read incrementally: bytes go in as they arrive from upstream,
and the assembled message (content blocks, stop reason, usage) comes out, so that the gateway can pass
the stream through unbuffered and still account and record what it carried."""

from __future__ import annotations

import json
from typing import Any


class MessageAssembler:
    """Feed raw SSE bytes in any chunking; ``message`` is the message the events describe so far."""

    def __init__(self) -> None:
        self._pending = b""
        self._partial_json: dict[int, str] = {}
        self.message: dict[str, Any] = {}
        self.error: dict[str, Any] | None = None
        self.events = 0
        self.settled = False  # a message_delta (the final usage) or an error event was seen

    def feed(self, chunk: bytes) -> None:
        self._pending += chunk.replace(b"\r\n", b"\n")
        while b"\n\n" in self._pending:
            raw, self._pending = self._pending.split(b"\n\n", 1)
            data = [line[5:].strip() for line in raw.split(b"\n") if line.startswith(b"data:")]
            if data:
                self._event(b"\n".join(data))

    def _event(self, data: bytes) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        self.events += 1
        kind = event.get("type")
        if kind == "message_start":
            self.message = dict(event.get("message") or {})
            self.message["content"] = list(self.message.get("content") or [])
        elif kind == "content_block_start":
            self._blocks().append(dict(event.get("content_block") or {}))
        elif kind == "content_block_delta":
            self._delta(int(event.get("index", -1)), event.get("delta") or {})
        elif kind == "content_block_stop":
            self._close_block(int(event.get("index", -1)))
        elif kind == "message_delta":
            self.settled = True
            self.message.update(event.get("delta") or {})
            usage = dict(self.message.get("usage") or {})
            usage.update(event.get("usage") or {})  # message_delta's counts are cumulative
            self.message["usage"] = usage
        elif kind == "error":
            self.settled = True
            self.error = dict(event.get("error") or {})

    def _blocks(self) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = self.message.setdefault("content", [])
        return blocks

    def _delta(self, index: int, delta: dict[str, Any]) -> None:
        blocks = self._blocks()
        if not 0 <= index < len(blocks):
            return
        block, kind = blocks[index], delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + str(delta.get("text", ""))
        elif kind == "input_json_delta":
            self._partial_json[index] = self._partial_json.get(index, "") + str(delta.get("partial_json", ""))
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + str(delta.get("thinking", ""))
        elif kind == "signature_delta":
            block["signature"] = str(delta.get("signature", ""))
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta.get("citation"))

    def _close_block(self, index: int) -> None:
        text = self._partial_json.pop(index, None)
        blocks = self._blocks()
        if text is not None and 0 <= index < len(blocks):
            try:
                blocks[index]["input"] = json.loads(text) if text.strip() else {}
            except ValueError:
                blocks[index]["input"] = {"_unparsed": text}


def encode_events(message: dict[str, Any]) -> bytes:
    """A complete message as the SSE stream the API would have sent for it (replay serves this)."""
    head = {k: v for k, v in message.items() if k not in ("content", "stop_reason", "stop_sequence")}
    usage = dict(message.get("usage") or {})
    head["usage"] = {**usage, "output_tokens": min(1, int(usage.get("output_tokens") or 0))}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"message": {**head, "content": [], "stop_reason": None, "stop_sequence": None}})
    ]
    for index, block in enumerate(message.get("content") or []):
        events.extend(_block_events(index, block))
    delta = {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")}
    events.append(("message_delta", {"delta": delta, "usage": usage}))
    events.append(("message_stop", {}))
    return b"".join(
        f"event: {name}\ndata: {json.dumps({'type': name, **body})}\n\n".encode() for name, body in events
    )


def _block_events(index: int, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    kind = block.get("type")
    if kind == "text":
        start, delta = {**block, "text": ""}, {"type": "text_delta", "text": block.get("text", "")}
    elif kind == "tool_use":
        partial = json.dumps(block.get("input") or {})
        start, delta = {**block, "input": {}}, {"type": "input_json_delta", "partial_json": partial}
    elif kind == "thinking":
        start, delta = (
            {**block, "thinking": ""},
            {"type": "thinking_delta", "thinking": block.get("thinking", "")},
        )
    else:
        start, delta = dict(block), None
    out = [("content_block_start", {"index": index, "content_block": start})]
    if delta is not None:
        out.append(("content_block_delta", {"index": index, "delta": delta}))
    if kind == "thinking" and block.get("signature"):
        out.append(
            (
                "content_block_delta",
                {"index": index, "delta": {"type": "signature_delta", "signature": block["signature"]}},
            )
        )
    out.append(("content_block_stop", {"index": index}))
    return out
