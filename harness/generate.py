"""Stage `generate`: an agent variant writes a backend for a fixture inside a workspace pod (the
workspace image with the agent's toolbox, plus PostgreSQL; no network; no secrets). The transcript
and the resulting workspace land in the sample's folder of the run."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

from harness.agents.loop import AgentRequest, run_agent
from harness.agents.outcome import AgentOutcome
from harness.agents.providers import Provider
from harness.agents.task import task_text
from harness.agents.tools import TOOLBOX_DIR, WORKSPACE, ToolRunner, toolbox_archive
from harness.agents.variants import Variant
from harness.config import AgentSettings, Price
from harness.errors import ConfigError, SandboxError
from harness.fixtures import Fixture
from harness.sandbox import ContainerSpec, Limits
from harness.sandbox.services import DATABASE_URL, start_postgres
from harness.store import RunDir
from harness.workspace import pack

WORKSPACE_LIMITS = Limits(memory_mb=2048, cpus=1.0, pids=512, exec_timeout_s=600, output_cap_bytes=1_000_000)


def resolve_model(variant: Variant, settings: AgentSettings) -> tuple[str, Price]:
    alias = settings.inherit if variant.model in ("inherit", "") else variant.model
    model = settings.models.get(alias, alias)
    price = settings.prices.get(model)
    if price is None:
        raise ConfigError(
            f"{variant.source}: model {variant.model!r} resolves to {model!r}, which has no price",
            f'add [agent.prices."{model}"] input/output to crucible.toml, or map the alias in [agent.models]',
        )
    return model, price


def _extract_workspace(archive: bytes, dest: Path) -> list[str]:
    """Unpack the pod's /workspace (archived as `workspace/...`) into ``dest``. Links that point outside
    it (absolute, or climbing out) are left out and named in the result: the host never follows them."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    dropped: list[str] = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        members = []
        for member in tar.getmembers():
            parts = member.name.split("/", 1)
            if len(parts) < 2 or not parts[1]:
                continue
            member.name = parts[1]
            if not (member.issym() or member.islnk() or member.isfile() or member.isdir()):
                continue
            try:
                members.append(tarfile.data_filter(member, str(dest)))
            except tarfile.FilterError:
                dropped.append(f"{member.name} -> {member.linkname}")
        tar.extractall(dest, members=members, filter="data")
    return dropped


def generate(
    engine: Any,
    variant: Variant,
    fixture: Fixture,
    provider: Provider,
    run: RunDir,
    sample_id: str,
) -> tuple[AgentOutcome, Path]:
    """Run the agent; its outcome and the folder holding the workspace it left. Provider or sandbox
    failures raise InfraError (the caller records an infra failure)."""
    settings: AgentSettings = engine.config.agent
    model, price = resolve_model(variant, settings)
    folder = run.path / "samples" / sample_id
    transcript = folder / "transcript.jsonl"
    folder.mkdir(parents=True, exist_ok=True)
    transcript.write_text("")
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
        runner = ToolRunner(container, variant.tools)

        def record(event: dict[str, Any]) -> None:
            with transcript.open("a") as handle:
                handle.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")

        record(
            {
                "event": "start",
                "variant": variant.source,
                "variant_digest": variant.digest,
                "model": model,
                "fixture": fixture.id,
                "provider": provider.name,
            }
        )
        request = AgentRequest(model=model, system=variant.body, tools=variant.tools, task=task_text(fixture))
        outcome = run_agent(provider, request, runner, settings, price, record)
        workspace = folder / "workspace"
        if not pod.intact():
            raise SandboxError(f"workspace pod {pod.pod_id} was stopped from outside (engine restart?)")
        dropped = _extract_workspace(container.get_archive(WORKSPACE, max_bytes=200_000_000), workspace)
        if dropped:
            record({"event": "workspace", "dropped_links_outside": dropped})
    finally:
        pod.close()
    return outcome, workspace
