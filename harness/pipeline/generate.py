"""Stage `generate`: an agent variant writes a backend for a fixture inside a workspace pod (the
workspace image with the agent's toolbox, plus PostgreSQL; no network; no secrets). The transcript
and the resulting workspace land in the sample's folder of the run."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness._util.archive import safe_extract
from harness.agents.loop import AgentRequest, run_agent
from harness.agents.providers import Provider
from harness.agents.task import task_text
from harness.agents.tools import TOOLBOX_DIR, WORKSPACE, ToolRunner, toolbox_archive
from harness.agents.variants import Variant, resolve_model
from harness.errors import SandboxError
from harness.fixtures import Fixture
from harness.pipeline.engine import Engine
from harness.records.generation import AgentOutcome
from harness.records.transcript import StartEvent, TranscriptEvent, WorkspaceEvent, event_line
from harness.sandbox import ContainerSpec, Limits
from harness.sandbox.services import DATABASE_URL, start_postgres
from harness.store import RunDir
from harness.workspace import pack

WORKSPACE_LIMITS = Limits(memory_mb=2048, cpus=1.0, pids=512, exec_timeout_s=600, output_cap_bytes=1_000_000)
MAX_WORKSPACE_ARCHIVE = 200_000_000


def _extract_workspace(archive: bytes, dest: Path) -> list[str]:
    """Unpack the pod's /workspace (archived as `workspace/...`) into a fresh ``dest``; what was left
    out as unsafe (links out of the tree and the like), which the host never follows."""
    if dest.exists():
        shutil.rmtree(dest)
    return safe_extract(archive, dest, strip_components=1)


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
        container = pod.add(
            ContainerSpec(
                name="workspace",
                image=engine.images.workspace.tag,
                user="sandbox",
                workdir=WORKSPACE,
                env=env,
                limits=WORKSPACE_LIMITS,
                files=files,
            )
        )
        record(
            StartEvent(
                variant=variant.source,
                variant_digest=variant.digest,
                model=model,
                fixture=fixture.id,
                provider=provider.name,
            )
        )
        request = AgentRequest(model=model, system=variant.body, tools=variant.tools, task=task_text(fixture))
        outcome = run_agent(provider, request, ToolRunner(container, variant.tools), settings, price, record)
        workspace = folder / "workspace"
        if not pod.intact():
            raise SandboxError(f"workspace pod {pod.pod_id} was stopped from outside (engine restart?)")
        archive = container.get_archive(WORKSPACE, max_bytes=MAX_WORKSPACE_ARCHIVE)
        if dropped := _extract_workspace(archive, workspace):
            record(WorkspaceEvent(dropped_links_outside=dropped))
    finally:
        pod.close()
    return outcome, workspace
