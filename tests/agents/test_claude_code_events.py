"""The claude-code runtime's pieces that need no Docker: the placed sub-agent file, the command line and
environment, and the reading of a stream-json event file recorded from the real CLI (2.1.197, delegate
mode, the jwt-auth reference written by the sub-agent)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from harness.agents.claude_code import agent_file, command, environment, read_events
from harness.agents.gateway.sources import ReplaySource
from harness.agents.providers import ProviderError
from harness.agents.variants import load_variant
from harness.config import AgentSettings, ClaudeCodeSettings
from harness.records.transcript import ResponseEvent, ToolEvent, TranscriptEvent
from tests.helpers import PROJECT

RECORDED = Path(__file__).parents[1] / "data" / "claude-code" / "events-delegate.jsonl"


def test_the_recorded_stream_becomes_transcript_events_with_the_sub_agent_marked() -> None:
    events: list[TranscriptEvent] = []
    seen = read_events(RECORDED.read_text().splitlines(), events.append)
    tools = [e for e in events if isinstance(e, ToolEvent)]
    assert [t.name for t in tools if t.parent is None] == ["Agent"]
    under = [t for t in tools if t.parent == "toolu_delegate"]
    assert [t.name for t in under] == ["Bash"] + ["Write"] * 19
    assert under[0].output.strip() == "lo" and not any(t.is_error for t in tools)
    assert all(t.input and t.input["file_path"].startswith("/workspace/") for t in under[1:])
    answers = [e for e in events if isinstance(e, ResponseEvent)]
    assert len(answers) == 22 and sum(a.parent is None for a in answers) == 2
    assert seen.delegated and seen.calls == 21 and seen.errors == 0
    assert seen.reported_dollars == pytest.approx(0.0135)


def test_lines_that_are_not_events_are_skipped() -> None:
    events: list[TranscriptEvent] = []
    seen = read_events(["", "not json", "[1, 2]", '{"type": "assistant", "message": null}'], events.append)
    assert seen.turns == 1 and seen.calls == 0 and not seen.delegated
    assert events == [ResponseEvent(turn=1)]


def test_the_placed_agent_file_carries_the_full_model_id_and_the_variant_body() -> None:
    variant = load_variant("agents/backend-engineer-terse.md", PROJECT)
    text = agent_file(variant, "claude-sonnet-4-6").decode()
    front, body = text.split("---\n")[1:3]
    meta = yaml.safe_load(front)
    assert meta["name"] == variant.name and meta["model"] == "claude-sonnet-4-6"
    assert meta.get("tools") == (", ".join(variant.tools) if variant.tools else None)
    assert body.strip() == variant.body.strip()


def test_the_command_runs_headless_and_the_environment_points_at_the_socket_only() -> None:
    variant = load_variant("agents/backend-engineer.md", PROJECT)
    delegate = command("Build it.", variant, "claude-sonnet-4-6", AgentSettings(max_turns=7))
    script = delegate[-1]
    assert "--max-turns 7" in script and "--model claude-sonnet-4-6" in script and "--agent" not in script
    assert "`backend-engineer` sub-agent" in shlex.split(script.split("exec ", 1)[1])[2]
    direct = AgentSettings(claude_code=ClaudeCodeSettings(mode="direct"))
    assert "--agent backend-engineer" in command("Build it.", variant, "m", direct)[-1]
    env = environment({"JWT_SECRET": "s", "HTTPS_PROXY": "x", "ANTHROPIC_API_KEY": "real"})
    assert env["ANTHROPIC_UNIX_SOCKET"] == "/run/crucible-gateway/api.sock"
    assert env["ANTHROPIC_API_KEY"] != "real" and "placeholder" in env["ANTHROPIC_API_KEY"]
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1" and env["JWT_SECRET"] == "s"
    assert not any("PROXY" in k.upper() for k in env)


def test_a_cassette_of_the_old_loop_format_is_refused_with_the_fix(tmp_path: Path) -> None:
    old = tmp_path / "e1.jsonl"
    old.write_text('{"cassette": 1, "variant": "agents/x.md"}\n{"index": 1, "request_digest": "ab"}\n')
    with pytest.raises(ProviderError, match=r"not a cassette of version 2 \(found 1\)") as raised:
        ReplaySource(old).upstream()
    assert "--record" in str(raised.value.fix)


def test_the_report_nests_the_sub_agents_events_under_its_call(tmp_path: Path) -> None:
    from harness.records import RunManifest
    from harness.records.transcript import event_line
    from harness.report.html import _transcript
    from harness.store import RunStore

    events: list[TranscriptEvent] = []
    read_events(RECORDED.read_text().splitlines(), events.append)
    run = RunStore(tmp_path).create(RunManifest(run_id="r", kind="run", crucible_version="0"))
    (run.path / "samples/s").mkdir(parents=True)
    (run.path / "samples/s/transcript.jsonl").write_text("".join(event_line(e) for e in events))
    shown = _transcript(run, "s")
    (call,) = [e for e in shown if e["kind"] == "tool"]
    assert call["call_id"] == "toolu_delegate" and call["summary"].startswith("Agent")
    children = call["children"]
    assert [c["summary"].split()[0] for c in children if c["kind"] == "tool"] == ["Bash:"] + ["Write"] * 19
    assert (
        sum(c["kind"] == "model" for c in children) == 20 and len(shown) == 3
    )  # the main thread's 2 answers
