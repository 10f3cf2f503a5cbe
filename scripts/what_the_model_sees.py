"""What the model is shown under each runtime, measured from requests, as a Markdown table for the README.

Claude Code's side is read from a claude-code sample's `exchanges.jsonl` (the gateway recorded every
request the real CLI sent); the built-in loop's side is the first request the loop really builds for the
same variant and fixture (captured from the loop itself with a client that answers once and keeps what
it was sent).

    .venv/bin/python -m scripts.what_the_model_sees reports/latest/samples/<variant[claude-code]...>
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from harness.agents.loop import AgentRequest, run_agent
from harness.agents.task import task_text
from harness.agents.variants import load_variant, resolve_model
from harness.config import load_config
from harness.fixtures import find_fixture
from harness.records.transcript import StartEvent, read_transcript

END = {"content": [{"type": "text", "text": "done"}], "stop_reason": "end_turn", "usage": {}}


class Capture:
    """A model client that ends the conversation at once and keeps the request it was sent."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(request)
        return END


def loop_request(variant_spec: str, fixture_id: str) -> dict[str, Any]:
    config = load_config()
    variant = load_variant(variant_spec, config.project_root)
    model, price = resolve_model(variant, config.agent)
    fixture = find_fixture(config.project_root, fixture_id)
    capture = Capture()
    request = AgentRequest(model=model, system=variant.body, tools=variant.tools, task=task_text(fixture))
    run_agent(capture, request, None, config.agent, price, lambda _event: None)  # type: ignore[arg-type]
    return capture.requests[0]


def texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [str(b.get("text", "")) for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]


def describe(request: dict[str, Any], body: str) -> dict[str, str]:
    system = texts(request.get("system"))
    holding = next((i for i, t in enumerate(system) if body.strip()[:200] in t), None)
    if holding is None:
        where = "not in the system text"
    else:
        around = system[holding].split(body.strip(), 1)
        before, after = (len(around[0]), len(around[1])) if len(around) == 2 else (0, 0)
        where = f"block {holding + 1}; {before} characters before it, {after} after"
    first = texts(request["messages"][0]["content"])
    return {
        "system blocks": str(len(system)),
        "where the variant's body is": where,
        "tools offered": f"{len(request.get('tools') or [])}: "
        + ", ".join(t["name"] for t in request.get("tools") or []),
        "first user message": f"{len(first)} text blocks, {sum(map(len, first))} characters; starts "
        + json.dumps(first[0][:60] if first else ""),
        "max_tokens": str(request.get("max_tokens")),
        "thinking": json.dumps(request.get("thinking", "off")),
    }


def main() -> None:
    sample = Path(sys.argv[1])
    (start,) = [e for e in read_transcript(sample / "transcript.jsonl") if isinstance(e, StartEvent)]
    exchanges = [json.loads(line) for line in (sample / "exchanges.jsonl").read_text().splitlines()]
    messages = [e for e in exchanges if e["path"] == "/v1/messages"]
    main_thread = next(e["request"] for e in messages if not e.get("agent_id"))
    sub_agent = next((e["request"] for e in messages if e.get("agent_id")), None)
    config = load_config()
    body = load_variant(start.variant, config.project_root).body
    columns = {"built-in loop": describe(loop_request(start.variant, start.fixture), body)}
    columns["Claude Code: main thread"] = describe(main_thread, body)
    if sub_agent is not None:
        columns["Claude Code: sub-agent"] = describe(sub_agent, body)
    names = list(columns)
    print("| | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for row in columns[names[0]]:
        print(f"| {row} | " + " | ".join(columns[n][row].replace("|", "/") for n in names) + " |")


if __name__ == "__main__":
    main()
