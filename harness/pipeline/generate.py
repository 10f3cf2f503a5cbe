"""Stage `generate`: an agent variant writes a backend for a fixture inside a workspace pod (the
workspace image with the agent's toolbox, plus PostgreSQL; no network; no secrets). The transcript
and the resulting workspace land in the sample's folder of the run."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from harness._util.archive import safe_extract, tar_files
from harness.agents.claude_code import (
    SOCKET_DIR,
    Recorder,
    agent_file,
    environment,
    gateway_upstream,
    run_claude_code,
)
from harness.agents.gateway import Budgets, Gateway, Ledger
from harness.agents.loop import AgentRequest, run_agent
from harness.agents.providers import Provider, ProviderError
from harness.agents.task import task_text
from harness.agents.tools import TOOLBOX_DIR, WORKSPACE, ToolRunner, toolbox_archive
from harness.agents.variants import Variant, resolve_model
from harness.errors import SandboxError, UserError
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


def on_this_machine(url: str) -> bool:
    """Whether an engine URL reaches this machine's engine ("" is the default one), so that a folder
    of this machine can be bind-mounted into its containers (the gateway's socket)."""
    if not url or url.startswith("unix://"):
        return True
    host = urlsplit(url).hostname or ""
    return host == "localhost" or host.startswith("127.")


def _in_claude_code(
    engine: Engine,
    pod: Pod,
    spec: ContainerSpec,
    variant: Variant,
    fixture: Fixture,
    provider: Provider,
    model: str,
    folder: Path,
    record: Recorder,
) -> tuple[AgentOutcome, Container]:
    """The real CLI in the workspace container, its model traffic through a gateway of its own."""
    settings = engine.config.agent
    image = engine.images.claude_code
    if image is None:
        raise SandboxError(f"engine {engine.url or 'default'} was started without the claude-code image")
    if not on_this_machine(engine.url):
        raise UserError(
            f"the claude-code runtime needs its engine on this machine; {engine.url} is not",
            "run claude-code samples on a local engine (unix:// or a loopback tcp:// URL)",
        )
    upstream, recorder = gateway_upstream(provider)
    ledger = Ledger(Budgets.of(settings), settings.prices, settings)
    with tempfile.TemporaryDirectory(prefix="crucible-gw-") as sockets:
        os.chmod(sockets, 0o755)  # noqa: S103 - the sandbox user must reach the socket inside
        socket = Path(sockets) / "api.sock"
        with Gateway(socket, upstream, ledger, frozenset({model}), folder, on_exchange=recorder):
            cli = replace(spec, image=image.tag, binds={sockets: SOCKET_DIR}, env=environment(dict(spec.env)))
            container = pod.add(cli)
            placed_name = f".claude/agents/{variant.name}.md"
            placed = {placed_name: agent_file(variant, model)}
            container.put_archive(WORKSPACE, tar_files(placed, uid=APP_UID))
            task = task_text(fixture)
            outcome = run_claude_code(
                container, variant, task, model, ledger, settings, record, folder / "claude-code"
            )
            # the placed variant is Crucible's, not the agent's work: the workspace leaves without it
            container.exec(
                ["sh", "-c", f"rm -f {WORKSPACE}/{placed_name} && rmdir -p {WORKSPACE}/.claude/agents"]
            )
    if mismatch := getattr(upstream, "mismatch", None):
        raise ProviderError(
            mismatch, "re-record the cassette (the prompt, the model, the CLI or a tool result changed)"
        )
    return outcome, container


def generate(
    engine: Engine,
    variant: Variant,
    fixture: Fixture,
    provider: Provider,
    run: RunDir,
    sample_id: str,
) -> tuple[AgentOutcome, Path]:
    """Run the agent; its outcome and the folder holding the workspace it left. Provider or sandbox
    failures raise InfraError (the caller records an infra failure)."""
    settings = engine.config.agent
    model, price = resolve_model(variant, settings)
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
                provider=provider.name,
                runtime=variant.runtime,
            )
        )
        if variant.runtime == "claude-code":
            outcome, container = _in_claude_code(
                engine, pod, spec, variant, fixture, provider, model, folder, record
            )
        else:
            container = pod.add(spec)
            request = AgentRequest(
                model=model, system=variant.body, tools=variant.tools, task=task_text(fixture)
            )
            outcome = run_agent(
                provider, request, ToolRunner(container, variant.tools), settings, price, record
            )
        workspace = folder / "workspace"
        if not pod.intact():
            raise SandboxError(f"workspace pod {pod.pod_id} was stopped from outside (engine restart?)")
        archive = container.get_archive(WORKSPACE, max_bytes=MAX_WORKSPACE_ARCHIVE)
        if dropped := _extract_workspace(archive, workspace):
            record(WorkspaceEvent(dropped_links_outside=dropped))
    finally:
        pod.close()
    return outcome, workspace
