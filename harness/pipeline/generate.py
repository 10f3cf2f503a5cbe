"""Stage `generate`: an agent variant writes a backend for a fixture inside a workspace pod (the
workspace image with the agent's toolbox, plus PostgreSQL; no network; no secrets). The transcript
and the resulting workspace land in the sample's folder of the run."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from harness._util.archive import safe_extract, tar_files
from harness.agents.claude_code import SOCKET_DIR, Recorder, agent_file, environment, run_claude_code
from harness.agents.gateway import Budgets, Gateway, Ledger, Upstream
from harness.agents.gateway.policy import DEFAULT_BETAS, Policy
from harness.agents.gateway.relay import VOLUME, start_relay
from harness.agents.gateway.sources import ModelSource
from harness.agents.loop import AgentRequest, run_agent
from harness.agents.providers import GatewayClient, ProviderError
from harness.agents.task import task_text
from harness.agents.tools import TOOLBOX_DIR, WORKSPACE, ToolRunner, toolbox_archive
from harness.agents.variants import Variant, resolve_model
from harness.config import AgentSettings
from harness.errors import SandboxError
from harness.fixtures import Fixture
from harness.pipeline.engine import Engine
from harness.records.generation import AgentOutcome
from harness.records.transcript import StartEvent, TranscriptEvent, WorkspaceEvent, event_line
from harness.sandbox import Container, ContainerSpec, Limits, Pod
from harness.sandbox.services import DATABASE_URL, start_postgres
from harness.store import RunDir
from harness.workspace import APP_UID, pack

WORKSPACE_LIMITS = Limits(memory_mb=2048, cpus=1.0, pids=512, exec_timeout_s=600, output_cap_bytes=1_000_000)
MAX_WORKSPACE_ARCHIVE = 200_000_000


def _extract_workspace(archive: bytes, dest: Path) -> list[str]:
    """Unpack the pod's /workspace (archived as `workspace/...`) into a fresh ``dest``; what was left
    out as unsafe (links out of the tree and the like), which the host never follows."""
    if dest.exists():
        shutil.rmtree(dest)
    return safe_extract(archive, dest, strip_components=1)


@dataclass(frozen=True)
class _Sample:
    """What either runtime needs to run one sample's agent in its pod."""

    engine: Engine
    pod: Pod
    spec: ContainerSpec
    variant: Variant
    fixture: Fixture
    model: str
    folder: Path
    record: Recorder


def _in_claude_code(sample: _Sample, gateway: Gateway) -> tuple[AgentOutcome, Container]:
    """The real CLI in the workspace container, the gateway's socket brought to it: its folder mounted
    (an engine on this machine), or through a relay container in the pod (an engine elsewhere)."""
    engine = sample.engine
    image = engine.images.claude_code
    if image is None:
        raise SandboxError(f"engine {engine.url or 'default'} was started without the claude-code image")
    spec = replace(sample.spec, image=image.tag, env=environment(dict(sample.spec.env)))
    if engine.gateway == "mount":
        return _run_cli(sample, gateway, replace(spec, binds={str(gateway.socket_path.parent): SOCKET_DIR}))
    with start_relay(sample.pod, engine.images.workspace.tag, SOCKET_DIR, gateway.socket_path):
        return _run_cli(sample, gateway, replace(spec, volumes={VOLUME: (SOCKET_DIR, True)}))


def _run_cli(sample: _Sample, gateway: Gateway, spec: ContainerSpec) -> tuple[AgentOutcome, Container]:
    variant = sample.variant
    container = sample.pod.add(spec)
    placed_name = f".claude/agents/{variant.name}.md"
    container.put_archive(WORKSPACE, tar_files({placed_name: agent_file(variant, sample.model)}, uid=APP_UID))
    outcome = run_claude_code(
        container,
        variant,
        task_text(sample.fixture),
        sample.model,
        gateway.ledger,
        sample.engine.config.agent,
        sample.record,
        sample.folder / "claude-code",
    )
    # the placed variant is Crucible's, not the agent's work: the workspace leaves without it
    container.exec(["sh", "-c", f"rm -f {WORKSPACE}/{placed_name} && rmdir -p {WORKSPACE}/.claude/agents"])
    return outcome, container


def _in_loop(sample: _Sample, gateway: Gateway) -> tuple[AgentOutcome, Container]:
    """The built-in loop on the host, its requests through the sample's gateway like the CLI's."""
    settings, variant = sample.engine.config.agent, sample.variant
    _, price = resolve_model(variant, settings)
    container = sample.pod.add(sample.spec)
    request = AgentRequest(
        model=sample.model, system=variant.body, tools=variant.tools, task=task_text(sample.fixture)
    )
    client = GatewayClient(gateway.socket_path, settings.request_timeout_s)
    try:
        outcome = run_agent(
            client, request, ToolRunner(container, variant.tools), settings, price, sample.record
        )
    finally:
        client.close()
    return outcome, container


def _replay_mismatch(upstream: Upstream) -> ProviderError | None:
    mismatch = getattr(upstream, "mismatch", None)
    if mismatch is None:
        return None
    return ProviderError(
        mismatch, "re-record the cassette (the prompt, the model, the runtime or a tool result changed)"
    )


def _run_agent(sample: _Sample, source: ModelSource) -> tuple[AgentOutcome, Container]:
    """Either runtime, its model traffic through a gateway of the sample's own on the host: one
    mechanism for the key, the budgets, the allowlist, the accounting, recording and replay."""
    settings = sample.engine.config.agent
    upstream = source.upstream()
    ledger = Ledger(Budgets.of(settings), settings.prices, settings)
    policy = sample_policy(settings, sample.fixture)
    run_in = _in_claude_code if sample.variant.runtime == "claude-code" else _in_loop
    try:
        with tempfile.TemporaryDirectory(prefix="crucible-gw-") as sockets:
            os.chmod(sockets, 0o755)  # noqa: S103 - the sandbox user must reach the socket inside
            socket = Path(sockets) / "api.sock"
            models = frozenset({sample.model})
            recorder = source.recorder()
            with Gateway(socket, upstream, ledger, models, sample.folder, recorder, policy) as gateway:
                outcome, container = run_in(sample, gateway)
    except ProviderError as failed:
        raise (_replay_mismatch(upstream) or failed) from None
    finally:
        if (close := getattr(upstream, "close", None)) is not None:
            close()
    if mismatch := _replay_mismatch(upstream):
        raise mismatch
    update: dict[str, object] = {"server_tools": sorted(policy.server_tools)}
    if outcome.runtime == "claude-code":  # the gateway's accounting, with what was still in flight at its end
        update |= {"usage": ledger.usage, "dollars": ledger.dollars}
    return outcome.model_copy(update=update), container


def sample_policy(settings: AgentSettings, fixture: Fixture) -> Policy:
    """What the sample's requests may ask of the API: the run's gateway settings and the fixture's opt-ins."""
    tools = frozenset(settings.gateway.server_tools) | frozenset(fixture.spec.server_tools)
    betas = frozenset(DEFAULT_BETAS) | frozenset(settings.gateway.extra_betas)
    return Policy(tools, betas, settings.max_output_tokens)


def generate(
    engine: Engine,
    variant: Variant,
    fixture: Fixture,
    source: ModelSource,
    run: RunDir,
    sample_id: str,
) -> tuple[AgentOutcome, Path]:
    """Run the agent; its outcome and the folder holding the workspace it left. Model or sandbox
    failures raise InfraError (the caller records an infra failure)."""
    settings = engine.config.agent
    model, _ = resolve_model(variant, settings)
    folder = run.path / "samples" / sample_id
    transcript = folder / "transcript.jsonl"
    folder.mkdir(parents=True, exist_ok=True)
    transcript.write_text("")

    def record(event: TranscriptEvent) -> None:
        with transcript.open("a") as handle:
            handle.write(event_line(event))

    files = {TOOLBOX_DIR: toolbox_archive()}
    if fixture.starter is not None:
        files[WORKSPACE] = pack(fixture.starter)[0]
    pod = engine.backend.create_pod(run.run_id, f"{sample_id}.generate")
    try:
        start_postgres(pod, engine.images.postgres.tag)
        env = {**fixture.spec.env, "DATABASE_URL": DATABASE_URL, "PORT": str(fixture.spec.port)}
        spec = ContainerSpec(
            name="workspace",
            image=engine.images.workspace.tag,
            user="sandbox",
            workdir=WORKSPACE,
            env=env,
            limits=WORKSPACE_LIMITS,
            files=files,
        )
        record(
            StartEvent(
                variant=variant.source,
                variant_digest=variant.digest,
                model=model,
                fixture=fixture.id,
                provider=source.name,
                runtime=variant.runtime,
            )
        )
        sample = _Sample(engine, pod, spec, variant, fixture, model, folder, record)
        outcome, container = _run_agent(sample, source)
        outcome = outcome.model_copy(update={"provider": source.name})
        workspace = folder / "workspace"
        if not pod.intact():
            raise SandboxError(f"workspace pod {pod.pod_id} was stopped from outside (engine restart?)")
        archive = container.get_archive(WORKSPACE, max_bytes=MAX_WORKSPACE_ARCHIVE)
        if dropped := _extract_workspace(archive, workspace):
            record(WorkspaceEvent(dropped_links_outside=dropped))
    finally:
        pod.close()
    return outcome, workspace
