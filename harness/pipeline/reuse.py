"""Stage `reuse`: a sample is paid for once. Its *generation key* digests everything that decides what
the agent sees and does (the variant's text as its runtime reads it, the fixture's agent-facing content,
the runtime and its version, the resolved model, the budgets, the sandbox's images, where the answers
come from, the epoch); its *evaluation key* everything that decides its scores (the fixture's hidden
tests, probes, seed and settings, the scoring code, the images the app runs on, the checks, the
sandbox's limits). A later cell with an equal generation key copies the earlier sample (workspace,
transcript, usage) instead of calling the model, and keeps its scores when the evaluation key is equal
too; otherwise the copied workspace is evaluated again.

The cache is the run store plus an index, ``<reports>/cache/<key>.json``, naming the newest run that
holds a sample of that key; a directory that CI can restore between jobs."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import harness
from harness.agents.gateway.sources import ModelSource
from harness.agents.loop import LOOP_VERSION
from harness.agents.task import task_text
from harness.agents.tools import toolbox_archive
from harness.agents.variants import Variant, resolve_model
from harness.errors import StoreError
from harness.fixtures import Fixture
from harness.pipeline.engine import Engine
from harness.pipeline.generate import sample_policy
from harness.records import Check, Record, Reuse, SampleRecord, SampleStatus
from harness.store import RunDir
from harness.workspace import pack

# what evaluation runs, as code: a change to any of these files changes every evaluation key
SCORER_SOURCES = (
    "score",
    "pipeline/build.py",
    "pipeline/evaluate.py",
    "pipeline/pod.py",
    "pipeline/pod_steps.py",
    "workspace.py",
    "images/tester-requirements.txt",
)
# what a fixture holds that is not used to judge a sample
NOT_JUDGING = ("mutants", "reference", "coverage.toml", "spec.md", "openapi.yaml")


def _digest(parts: Iterable[str | bytes]) -> str:
    hashed = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hashed.update(len(data).to_bytes(8, "big") + data)
    return hashed.hexdigest()


def _tree(root: Path, skip: tuple[str, ...] = ()) -> list[str | bytes]:
    """Every file under ``root`` (or ``root`` itself), as relative path and content, in a stable order."""
    if root.is_file():
        return [root.name, root.read_bytes()]
    parts: list[str | bytes] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if relative.parts[0] in skip or "__pycache__" in relative.parts or path.suffix == ".pyc":
            continue
        parts += [relative.as_posix(), path.read_bytes()]
    return parts


@cache
def scorer_digest() -> str:
    """The digest of the code that evaluates a workspace (the scorer's version)."""
    package = Path(harness.__file__).parent
    return _digest(part for source in SCORER_SOURCES for part in [source, *_tree(package / source)])


def variant_text(variant: Variant) -> str:
    """What of a variant reaches the model in its runtime: Claude Code also reads the description and
    the front matter's other fields; the built-in loop only the model, tools and body."""
    seen: dict[str, object] = {"model": variant.model, "tools": variant.tools, "body": variant.body}
    if variant.runtime != "loop":
        seen |= {"description": variant.description, "extra": variant.extra}
    return json.dumps(seen, sort_keys=True, default=str)


def generation_key(
    engine: Engine, variant: Variant, fixture: Fixture, epoch: int, source: ModelSource
) -> str:
    settings = engine.config.agent
    model, _ = resolve_model(variant, settings)
    images = [engine.images.workspace.tag]
    if variant.runtime == "claude-code":
        cli = settings.claude_code
        runtime = f"claude-code {cli.version} {cli.mode}"
        images.append(engine.images.claude_code.tag if engine.images.claude_code else "")
    else:
        runtime = f"loop {LOOP_VERSION} {_digest([toolbox_archive()])}"
    budgets = settings.model_dump(
        include={"max_turns", "max_tokens", "max_dollars", "wall_time_s", "max_output_tokens"}
    )
    policy = sample_policy(settings, fixture)  # what the API may do for the agent changes what is measured
    budgets["policy"] = [sorted(policy.server_tools), sorted(policy.betas)]
    starter = pack(fixture.starter)[1] if fixture.starter is not None else ""
    agent_facing = [task_text(fixture), starter, json.dumps(fixture.spec.env, sort_keys=True)]
    return _digest(
        [
            "generation 1",
            variant_text(variant),
            *agent_facing,
            str(fixture.spec.port),
            runtime,
            model,
            json.dumps(budgets, sort_keys=True),
            *images,
            source.identity(),
            str(epoch),
        ]
    )


def evaluation_key(engine: Engine, fixture: Fixture, checks: Iterable[Check]) -> str:
    limits = engine.config.sandbox.model_dump(
        include={"memory_mb", "cpus", "pids", "exec_timeout_s", "output_cap_bytes"}
    )
    images = engine.images
    return _digest(
        [
            "evaluation 1",
            *_tree(fixture.root, NOT_JUDGING),
            scorer_digest(),
            images.runtime.tag,
            images.postgres.tag,
            ",".join(sorted(checks)),
            json.dumps(limits, sort_keys=True),
        ]
    )


class CacheEntry(Record):
    """The index's pointer from a generation key to the newest sample of that key."""

    run_id: str
    sample_id: str


@dataclass(frozen=True)
class Earlier:
    """A stored sample of the key: its run and its record."""

    run: RunDir
    record: SampleRecord

    @property
    def folder(self) -> Path:
        return self.run.path / "samples" / self.record.sample_id

    def origin(self) -> tuple[str, str]:
        """The run and sample that generated it (through any chain of reuse)."""
        if self.record.reused is not None:
            return self.record.reused.run_id, self.record.reused.sample_id
        return self.run.run_id, self.record.sample_id


class SampleCache:
    """The index under ``<reports>/cache``, over the runs in ``<reports>/runs``."""

    def __init__(self, reports_dir: Path) -> None:
        self.runs = reports_dir / "runs"
        self.index = RunDir(reports_dir / "cache")

    def find(self, key: str) -> Earlier | None:
        """The newest stored sample of ``key`` that can be reused, or None."""
        if not key or not self.index.exists(f"{key}.json"):
            return None
        try:
            entry = self.index.read_record(f"{key}.json", CacheEntry)
            run = RunDir(self.runs / entry.run_id)
            record = run.read_record(f"samples/{entry.sample_id}/record.json", SampleRecord)
        except StoreError:
            return None  # a run deleted since, or a record of another version: generate anew
        found = Earlier(run, record)
        usable = record.generation_key == key and reusable(record) and (found.folder / "workspace").is_dir()
        return found if usable else None

    def remember(self, run: RunDir, record: SampleRecord) -> None:
        if record.generation_key and reusable(record):
            entry = CacheEntry(run_id=run.run_id, sample_id=record.sample_id)
            self.index.write_record(f"{record.generation_key}.json", entry)


def reusable(record: SampleRecord) -> bool:
    """A generated sample that ended on its own merits (not on the infrastructure)."""
    return record.generation is not None and record.status is not SampleStatus.INFRA_FAILURE


def copy_sample(earlier: Earlier, run: RunDir, sample_id: str) -> Path:
    """The earlier sample's folder (workspace, transcript, recordings) copied into ``run``; the copy's
    workspace."""
    folder = run.path / "samples" / sample_id
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(earlier.folder, folder, symlinks=True, ignore=shutil.ignore_patterns("record.json"))
    return folder / "workspace"


def reused_record(earlier: Earlier, evaluated: SampleRecord | None, **fields: object) -> SampleRecord:
    """The new run's record of a reused sample: the earlier one renamed (``evaluated`` is None) or the
    new evaluation with the earlier generation."""
    run_id, sample_id = earlier.origin()
    reuse = Reuse(run_id=run_id, sample_id=sample_id, evaluation=evaluated is None)
    seconds = {"generate": earlier.record.seconds.get("generate", 0.0)}
    base = earlier.record if evaluated is None else evaluated
    update = {"generation": earlier.record.generation, "reused": reuse, **fields}
    if evaluated is not None:
        update["seconds"] = {**seconds, **evaluated.seconds}
    return base.model_copy(update=update)
