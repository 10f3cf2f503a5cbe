"""Write the bundled demo cassettes: for each bundled variant, a HAND-MADE conversation (not model
output) that writes a known backend into the workspace pod, checks its migrations round trip, and stops.
The conversation runs through the real loop, gateway, tools and sandbox, so the recorded request digests
match what `crucible run --provider replay` sends, and each cassette's metadata holds the digest of the
workspace it leaves. Run it again whenever a bundled variant's text changes:

    .venv/bin/python scripts/make_demo_cassettes.py [FIXTURE ...]   # default: every fixture

For a brownfield fixture the conversation writes only the files that differ from the starter.

Needs the Docker engine (the tools run in a workspace pod)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.agents.gateway.sources import RecordingSource, ScriptedSource
from harness.agents.providers import write_calls
from harness.agents.variants import load_variant, resolve_model
from harness.config import load_config
from harness.fixtures import find_fixture
from harness.pipeline.engine import Engine
from harness.pipeline.generate import generate
from harness.store import RunStore
from harness.workspace import pack

NOTE = (
    "hand-made demo recording: scripted by scripts/make_demo_cassettes.py to show the pipeline end to end; "
    "it is not output of any model"
)
# (variant file, fixture) -> which backend its conversation writes: "reference" or a mutant's name
DEMOS = {
    ("agents/backend-engineer-checklist.md", "jwt-auth"): "reference",
    ("agents/backend-engineer.md", "jwt-auth"): "downgrade-leaves-enum",
    ("agents/backend-engineer-terse.md", "jwt-auth"): "plaintext-passwords",
    ("agents/backend-engineer-checklist.md", "order-management"): "reference",
    ("agents/backend-engineer.md", "order-management"): "idempotency-key-ignored",
    ("agents/backend-engineer-terse.md", "order-management"): "stock-check-without-lock",
    ("agents/backend-engineer-checklist.md", "contacts-split-name"): "reference",
    ("agents/backend-engineer.md", "contacts-split-name"): "downgrade-drops-family-name",
    ("agents/backend-engineer-terse.md", "contacts-split-name"): "naive-name-split",
}
ROUNDTRIP = "alembic upgrade head && alembic downgrade base && alembic upgrade head && echo round trip ok"


def message(
    index: int, model: str, content: list[dict[str, Any]], stop: str, usage: dict[str, int]
) -> dict[str, Any]:
    return {
        "id": f"msg_demo_{index:03d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
    }


def reading(existing: list[str], model: str) -> list[dict[str, Any]]:
    """A first turn that reads the existing files about to be changed (Write refuses unread files)."""
    if not existing:
        return []
    reads = [
        {"type": "tool_use", "id": f"toolu_demo_r_{i:02d}", "name": "Read", "input": {"file_path": path}}
        for i, path in enumerate(existing)
    ]
    text = {"type": "text", "text": "First I read the existing code that this change touches."}
    usage = {"input_tokens": 1200, "output_tokens": 80, "cache_creation_input_tokens": 6400}
    return [message(0, model, [text, *reads], "tool_use", {**usage, "cache_read_input_tokens": 0})]


def conversation(backend: Path, model: str, existing: list[str]) -> list[dict[str, Any]]:
    writes = write_calls(backend, prefix="toolu_demo_w")
    written = sum(len(w["input"]["content"]) for w in writes) // 4
    replies = [
        message(
            1,
            model,
            [{"type": "text", "text": "I will lay out the project and write every module."}, *writes],
            "tool_use",
            {
                "input_tokens": 1200,
                "output_tokens": written,
                "cache_creation_input_tokens": 6400,
                "cache_read_input_tokens": 0,
            },
        ),
        message(
            2,
            model,
            [
                {"type": "text", "text": "Now I check that the migrations round trip."},
                {
                    "type": "tool_use",
                    "id": "toolu_demo_b01",
                    "name": "Bash",
                    "input": {"command": ROUNDTRIP, "description": "migration round trip"},
                },
            ],
            "tool_use",
            {
                "input_tokens": 900,
                "output_tokens": 120,
                "cache_creation_input_tokens": written,
                "cache_read_input_tokens": 6400,
            },
        ),
        message(
            3,
            model,
            [
                {
                    "type": "text",
                    "text": "Done: the service, its migrations and its configuration are in /workspace.",
                }
            ],
            "end_turn",
            {
                "input_tokens": 400,
                "output_tokens": 60,
                "cache_creation_input_tokens": 300,
                "cache_read_input_tokens": 6400 + written,
            },
        ),
    ]
    return [*reading(existing, model), *replies]


def changed_only(backend: Path, starter: Path, dest: Path) -> Path:
    """The files of ``backend`` that are new or differ from ``starter``, copied under ``dest``."""
    for path in sorted(p for p in backend.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        relative = path.relative_to(backend)
        before = starter / relative
        if not before.is_file() or before.read_bytes() != path.read_bytes():
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest / relative)
    return dest


def main() -> None:
    config = load_config()
    wanted = set(sys.argv[1:])
    engine = Engine.start(config)
    root = config.project_root
    with tempfile.TemporaryDirectory() as scratch:
        run = RunStore(Path(scratch)).start("cassettes")
        for (spec, fixture_id), backend_name in DEMOS.items():
            if wanted and fixture_id not in wanted:
                continue
            variant = load_variant(spec, root)
            fixture = find_fixture(root, fixture_id)
            backend = fixture.reference
            if backend_name != "reference":
                mutant = next(m for m in fixture.mutants() if m.name == backend_name)
                backend = mutant.materialise(fixture.reference, Path(scratch) / fixture_id / backend_name)
            existing: list[str] = []
            if fixture.starter is not None:
                diff_dir = Path(scratch) / fixture_id / f"{backend_name}.diff"
                backend = changed_only(backend, fixture.starter, diff_dir)
                changed = sorted(p.relative_to(backend) for p in backend.rglob("*") if p.is_file())
                existing = [f"/workspace/{p}" for p in changed if (fixture.starter / p).is_file()]
            model, _ = resolve_model(variant, config.agent)
            path = root / config.agent.cassettes_dir / Path(spec).stem / fixture_id / "e1.jsonl"
            meta = {
                "runtime": "loop",
                "variant": spec,
                "variant_digest": variant.digest,
                "fixture": fixture_id,
                "epoch": 1,
                "hand_made": True,
                "note": NOTE,
                "writes": backend_name,
            }
            recording = RecordingSource(ScriptedSource(conversation(backend, model, existing)), path, meta)
            outcome, workspace = generate(
                engine, variant, fixture, recording, run, f"{Path(spec).stem}.{fixture_id}"
            )
            assert recording.writer is not None
            recording.writer.annotate(workspace_digest=pack(workspace)[1])
            print(
                f"{path.relative_to(root)}: {outcome.turns} turns, stop {outcome.stop}, "
                f"{outcome.tool_calls} tool calls ({outcome.tool_errors} errors)"
            )


if __name__ == "__main__":
    main()
