"""The real Claude Code binary in a workspace container with no network, its model calls through the host's
gateway to a scripted Messages API on loopback: it delegates to the variant's sub-agent, which writes the
jwt-auth reference with the CLI's own Write tool, and the sample scores ok on every hidden test; the key
never enters the sandbox; a runaway sub-agent is stopped by the gateway's budget."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pytest

from harness.records import Check, SampleRecord, SampleStatus
from harness.records.gateway import Exchange, GatewayLogLine
from harness.records.transcript import ResponseEvent, ToolEvent, read_transcript
from tests.fake_api import FakeApi, Seen, delegating_script, fake_api, runaway_script, writes
from tests.helpers import PROJECT, records, run_crucible

pytestmark = pytest.mark.docker
KEY = "sk-ant-test-key-that-must-stay-on-the-host-7f3a"
MODEL = "claude-sonnet-4-6"
VARIANT = "agents/backend-engineer.md"
# run as root in the workspace container while the CLI works: interfaces, then every place the key could be
SEARCH = (
    'K="sk-ant-test-key-that-must"; K="$K-stay-on-the-host-7f3a"; '
    'echo "interfaces: $(ls /sys/class/net | tr "\\n" " ")"; '
    'for f in /proc/[0-9]*/environ; do grep -qsF "$K" "$f" && echo "environ: $f"; done; '
    'grep -rlsF "$K" / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev | sed "s/^/file: /"; '
    "echo searched"
)
# the same search finds what is there: the CLI's placeholder key, in its processes' environment
PLACEHOLDER = (
    'n=0; for f in /proc/[0-9]*/environ; do grep -qsF sk-ant-crucible-placeholder "$f" && n=$((n+1)); done; '
    'echo "$n"'
)


def reference_files() -> dict[str, str]:
    root = PROJECT / "fixtures" / "jwt-auth" / "reference"
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def run_in_claude_code(api: FakeApi, reports: Path, *settings: str) -> tuple[Any, SampleRecord, Path]:
    overrides = [
        "--set",
        'agent.runtime="claude-code"',
        "--set",
        f'agent.base_url="{api.url}"',
        *settings,
    ]
    grid = ("--variants", VARIANT, "--fixtures", "jwt-auth", "--epochs", "1", "--provider", "anthropic")
    result = run_crucible(
        *overrides, "run", *grid, reports=reports, env={"ANTHROPIC_API_KEY": KEY}, keep_api_key=True
    )
    sample = next((reports / "latest" / "samples").iterdir())
    return result, SampleRecord.model_validate_json((sample / "record.json").read_text()), sample


def searching_the_sandbox(
    script: Callable[[Seen], dict[str, Any]], found: dict[str, tuple[str, str]]
) -> Callable[[Seen], dict[str, Any]]:
    """``script``, but on the sub-agent's first call every container of the generating pod (holder,
    PostgreSQL, workspace) is searched first: ``found`` maps "ROLE as USER" to (output, environment)."""

    def answer(seen: Seen) -> dict[str, Any]:
        if "x-claude-code-agent-id" in seen.headers and not found:
            client = docker.from_env()
            (workspace,) = client.containers.list(filters={"label": "crucible.role=workspace"})
            pod = f"crucible.sample={workspace.labels['crucible.sample']}"
            for container in client.containers.list(filters={"label": pod}):
                role, environment = (
                    container.labels["crucible.role"],
                    "\n".join(container.attrs["Config"]["Env"]),
                )
                # root reads every file; the sandbox user reads the environ of the CLI's own processes
                for user in ("root", "sandbox") if role == "workspace" else ("root",):
                    output = container.exec_run(["sh", "-c", SEARCH], user=user).output.decode()
                    found[f"{role} as {user}"] = (output, environment)
            found["placeholder"] = (
                workspace.exec_run(["sh", "-c", PLACEHOLDER], user="sandbox").output.decode(),
                "",
            )
            client.close()
        return script(seen)

    return answer


def test_claude_code_delegates_and_its_sub_agent_writes_a_backend_that_passes(tmp_path: Path) -> None:
    found: dict[str, tuple[str, str]] = {}
    steps = [("Bash", {"command": "ls /sys/class/net"}), *writes(reference_files())]
    script = delegating_script("backend-engineer", MODEL, steps)
    with fake_api(FakeApi(then=searching_the_sandbox(script, found))) as api:
        result, record, sample = run_in_claude_code(api, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert record.status == SampleStatus.OK, (
        record.reason,
        (sample / "claude-code" / "stderr.txt").read_text()[-2000:],
    )
    assert record.tests is not None and record.tests.passed == record.tests.total > 0
    outcome = record.generation
    assert outcome is not None and outcome.runtime == "claude-code" and outcome.runtime_version == "2.1.197"
    assert outcome.delegated and outcome.exit_code == 0
    events = read_transcript(sample / "transcript.jsonl")
    written = [e for e in events if isinstance(e, ToolEvent) and e.name == "Write"]
    assert len(written) == len(reference_files()) and all(w.parent == "toolu_delegate" for w in written)
    (listing,) = [e for e in events if isinstance(e, ToolEvent) and e.name == "Bash"]
    assert listing.output.split() == ["lo"]  # as the agent sees it
    assert int(found.pop("placeholder")[0]) >= 1  # the CLI's processes were searched
    assert set(found) == {"holder as root", "postgres as root", "workspace as root", "workspace as sandbox"}
    for who, (search, environment) in found.items():
        assert search.splitlines() == ["interfaces: lo ", "searched"], (who, search)
        assert KEY not in environment, who
    assert "ANTHROPIC_UNIX_SOCKET=" in found["workspace as root"][1]
    assert any(isinstance(e, ResponseEvent) and e.parent is None for e in events)
    # the key only on the host: the fake saw it on every request; the sandbox sent only the placeholder
    assert api.seen and all(s.headers.get("x-api-key") == KEY for s in api.seen)
    log = [
        GatewayLogLine.model_validate_json(line)
        for line in (sample / "gateway.jsonl").read_text().splitlines()
    ]
    forwarded = [line for line in log if line.decision == "forwarded" and line.path.startswith("/v1/")]
    assert forwarded and all(line.key_added and "x-api-key" in line.credentials_dropped for line in forwarded)
    exchanges = [
        Exchange.model_validate_json(line) for line in (sample / "exchanges.jsonl").read_text().splitlines()
    ]
    assert any(e.agent_id for e in exchanges) and outcome.turns == sum(
        e.path == "/v1/messages" for e in exchanges
    )
    for path in sample.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_a_sub_agent_that_never_stops_is_stopped_by_the_gateway_request_budget(tmp_path: Path) -> None:
    with fake_api(FakeApi(then=runaway_script(MODEL))) as api:
        result, record, sample = run_in_claude_code(api, tmp_path, "--set", "agent.max_turns=12")
    assert result.returncode == 0, result.stderr[-3000:]
    assert record.generation is not None and record.generation.stop == "budget:requests"
    assert record.generation.turns == 12 and len(api.seen) == 12
    log = [
        GatewayLogLine.model_validate_json(line)
        for line in (sample / "gateway.jsonl").read_text().splitlines()
    ]
    assert log[-1].decision == "refused:budget" and log[-1].reason == "budget:requests"
    client = docker.from_env()
    run_id = (tmp_path / "latest").resolve().name
    assert client.containers.list(all=True, filters={"label": f"crucible.run={run_id}"}) == []


def test_replaying_both_runtimes_reproduces_the_recorded_workspace_and_pairs_them(tmp_path: Path) -> None:
    grid = (
        "--variants",
        VARIANT,
        "--runtime",
        "loop,claude-code",
        "--fixtures",
        "jwt-auth",
        "--provider",
        "replay",
    )
    result = run_crucible("run", *grid, reports=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    found = records(tmp_path / "latest")
    loop, claude = found["backend-engineer.jwt-auth.e1"], found["backend-engineer_claude-code_.jwt-auth.e1"]
    cassettes = PROJECT / "agents" / "cassettes" / "backend-engineer" / "jwt-auth"
    recorded = {
        json.loads((cassettes / name).read_text().splitlines()[0])["workspace_digest"]
        for name in ("e1.jsonl", "e1.claude-code.jsonl")
    }
    # the same hand-made backend, written by the loop's tools and by Claude Code's: the same workspace
    assert recorded == {claude.workspace_digest} == {loop.workspace_digest}
    # both runtimes' traffic went through a gateway of the sample's own: one line per exchange
    samples = tmp_path / "latest" / "samples"
    for sample in (loop, claude):
        exchanges = (samples / sample.sample_id / "exchanges.jsonl").read_text().splitlines()
        assert sample.generation is not None and len(exchanges) >= sample.generation.turns > 0
    assert claude.variant == "backend-engineer[claude-code]" and claude.generation is not None
    assert claude.generation.runtime == "claude-code" and claude.generation.delegated
    assert (claude.status, claude.failing(Check.MIGRATIONS)) == (loop.status, loop.failing(Check.MIGRATIONS))
    html = (tmp_path / "latest" / "index.html").read_text()
    assert "<td>backend-engineer[claude-code]</td><td>backend-engineer</td>" in html
