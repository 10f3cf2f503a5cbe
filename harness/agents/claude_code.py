"""The `claude-code` runtime: the real Claude Code CLI runs the variant inside the workspace container, as
the unprivileged sandbox user, with no network and no key. Its only way out is the model gateway's socket,
mounted read-only; the gateway holds the key and the budgets (the CLI's own --max-turns does not bound
sub-agents). The variant is placed under /workspace/.claude/agents/ with its model as a full id; the main
thread is told to delegate to it (`delegate`), or runs it itself (`direct`, `--agent`).

The CLI's stream-json events become transcript events; usage and dollars come from the gateway's ledger,
with the CLI's own total kept beside them."""

from __future__ import annotations

import json
import shlex
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness._util.archive import safe_extract
from harness.agents.gateway import Ledger
from harness.agents.providers import PLACEHOLDER_KEY
from harness.agents.variants import Variant
from harness.config import AgentSettings
from harness.records.generation import AgentOutcome, Stop
from harness.records.transcript import ResponseEvent, ToolEvent, TranscriptEvent
from harness.sandbox import Container

SOCKET_DIR = "/run/crucible-gateway"
SOCKET = f"{SOCKET_DIR}/api.sock"
STATE = "/tmp/crucible-claude"  # HOME, config, temporary files and the event stream of the CLI
DELEGATE_TOOLS = frozenset({"Task", "Agent"})
MAX_STATE_BYTES = 200_000_000
Recorder = Callable[[TranscriptEvent], None]


def environment(extra: dict[str, str]) -> dict[str, str]:
    """The CLI's environment: the gateway's socket, a placeholder key, non-essential traffic off,
    sub-agents synchronous, state under STATE; ``extra`` (the fixture's) first, so ours wins, and
    without proxy variables (they would take precedence over the socket)."""
    return {
        **{k: v for k, v in extra.items() if "proxy" not in k.lower()},
        "ANTHROPIC_UNIX_SOCKET": SOCKET,
        "ANTHROPIC_BASE_URL": "http://gateway.invalid",
        "ANTHROPIC_API_KEY": PLACEHOLDER_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_BACKGROUND_TASKS": "1",
        "HOME": f"{STATE}/home",
        "CLAUDE_CONFIG_DIR": f"{STATE}/home/.claude",
        "CLAUDE_CODE_TMPDIR": f"{STATE}/tmp",
        "XDG_RUNTIME_DIR": f"{STATE}/run",
        "TMPDIR": f"{STATE}/tmp",
    }


def agent_file(variant: Variant, model: str) -> bytes:
    """The variant as the CLI reads it: its front matter with the model as a full id, then its body."""
    meta: dict[str, Any] = {"name": variant.name, "description": variant.description, "model": model}
    if variant.tools is not None:
        meta["tools"] = ", ".join(variant.tools)
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=10_000)
    return f"---\n{front}---\n\n{variant.body.strip()}\n".encode()


def delegate_task(task: str, name: str) -> str:
    return f"{task}\n\nHand this whole task to the `{name}` sub-agent and let it do the work."


def command(task: str, variant: Variant, model: str, settings: AgentSettings) -> list[str]:
    """The shell command that runs the CLI headless, its events to STATE/events.jsonl."""
    mode = settings.claude_code.mode
    argv = ["claude", "-p", delegate_task(task, variant.name) if mode == "delegate" else task]
    argv += ["--output-format", "stream-json", "--verbose", "--permission-mode", "bypassPermissions"]
    argv += ["--model", model, "--max-turns", str(settings.max_turns)]
    if mode == "direct":
        argv += ["--agent", variant.name]
    dirs = f"mkdir -p {STATE}/home/.claude {STATE}/tmp {STATE}/run"
    run = f"exec {shlex.join(argv)} </dev/null >{STATE}/events.jsonl 2>{STATE}/stderr.txt"
    return ["sh", "-c", f"{dirs} && {run}"]


@dataclass
class _Reading:
    """What the event stream said, as it is read."""

    turns: int = 0
    calls: int = 0
    errors: int = 0
    delegated: bool = False
    reported_dollars: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # tool_use id -> block


def read_events(lines: list[str], record: Recorder) -> _Reading:
    """Turn the CLI's stream-json lines into transcript events (sub-agent work marked by ``parent``)."""
    seen = _Reading()
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind, parent = event.get("type"), event.get("parent_tool_use_id")
        found = event.get("message")
        message: dict[str, Any] = found if isinstance(found, dict) else {}
        if kind == "assistant":
            seen.turns += 1
            content = [b for b in message.get("content") or [] if isinstance(b, dict)]
            for block in content:
                if block.get("type") == "tool_use":
                    seen.pending[str(block.get("id"))] = block
                    seen.delegated |= block.get("name") in DELEGATE_TOOLS and parent is None
            record(
                ResponseEvent(
                    turn=seen.turns,
                    stop_reason=message.get("stop_reason"),
                    content=content,
                    usage=message.get("usage") or {},
                    parent=parent,
                )
            )
        elif kind == "user":
            _tool_results(message, parent, seen, record)
        elif kind == "result":
            seen.result = event
            cost = event.get("total_cost_usd")
            seen.reported_dollars = float(cost) if isinstance(cost, int | float) else seen.reported_dollars
    return seen


def _tool_results(message: dict[str, Any], parent: str | None, seen: _Reading, record: Recorder) -> None:
    content = message.get("content")
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict) or block.get("type") != "tool_result":
            continue
        call = seen.pending.pop(str(block.get("tool_use_id")), {})
        output = block.get("content")
        if isinstance(output, list):
            output = "\n".join(str(p.get("text", "")) for p in output if isinstance(p, dict))
        is_error = bool(block.get("is_error"))
        seen.calls += 1
        seen.errors += is_error
        record(ToolEvent.of(seen.turns, call, str(output or ""), is_error, parent))


def run_claude_code(
    container: Container,
    variant: Variant,
    task: str,
    model: str,
    ledger: Ledger,
    settings: AgentSettings,
    record: Recorder,
    artifacts: Path,
) -> AgentOutcome:
    """Run the CLI to its end, to a budget or to the wall-clock limit; its state folder (events, stderr,
    session files) is copied to ``artifacts``. The container's processes die with the pod."""
    started = time.monotonic()
    done = container.exec(command(task, variant, model, settings), timeout=settings.wall_time_s)
    safe_extract(container.get_archive(STATE, max_bytes=MAX_STATE_BYTES), artifacts, strip_components=1)
    shutil.rmtree(artifacts / "tmp", ignore_errors=True)
    events = artifacts / "events.jsonl"
    seen = read_events(events.read_text(errors="replace").splitlines() if events.is_file() else [], record)
    stop: Stop = ledger.stopped_by or ("budget:time" if done.timed_out else "end_turn")
    return AgentOutcome(
        model=model,
        stop=stop,
        turns=ledger.requests,
        tool_calls=seen.calls,
        tool_errors=seen.errors,
        usage=ledger.usage,
        dollars=ledger.dollars,
        seconds=round(time.monotonic() - started, 3),
        runtime="claude-code",
        runtime_version=settings.claude_code.version,
        delegated=seen.delegated,
        reported_dollars=seen.reported_dollars,
        exit_code=None if done.timed_out else done.exit_code,
    )
