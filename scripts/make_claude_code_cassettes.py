"""Write the bundled claude-code cassettes: for each bundled variant on jwt-auth, a HAND-MADE conversation
(not model output) played by a scripted Messages API on 127.0.0.1, which the REAL Claude Code binary talks
to through Crucible's gateway, in a workspace container with no network: the main thread delegates to the
variant's sub-agent, which writes the same backend as the variant's loop cassette (see DEMOS in
make_demo_cassettes.py) with the CLI's Write tool, runs the migration round trip with its Bash tool, and
ends. The gateway records every exchange into `agents/cassettes/<variant>/jwt-auth/e1.claude-code.jsonl`,
with the workspace digest it produced, so that replay can be checked against it:

    .venv/bin/python -m scripts.make_claude_code_cassettes

Needs the Docker engine; fetches the pinned CLI with npm when the image is not built yet."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from harness.agents.gateway.sources import LiveSource, RecordingSource
from harness.agents.variants import load_variant, resolve_model
from harness.config import load_config
from harness.fixtures import find_fixture
from harness.pipeline.engine import Engine
from harness.pipeline.generate import generate
from harness.store import RunStore
from harness.workspace import pack
from scripts.make_demo_cassettes import DEMOS, ROUNDTRIP
from tests.fake_api import FakeApi, delegating_script, fake_api, writes

FIXTURE = "jwt-auth"
NOTE = (
    "hand-made demo recording: the real Claude Code CLI driven by a scripted fake Messages API "
    "(scripts/make_claude_code_cassettes.py); it is not output of any model"
)


def backend_files(backend: Path) -> dict[str, str]:
    return {
        str(p.relative_to(backend)): p.read_text()
        for p in sorted(backend.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def main() -> None:
    base = load_config()
    fixture = find_fixture(base.project_root, FIXTURE)
    with tempfile.TemporaryDirectory() as scratch, fake_api(FakeApi()) as api:
        config = load_config(overrides=['agent.runtime="claude-code"', f'agent.base_url="{api.url}"'])
        engine = Engine.start(config, print)
        run = RunStore(Path(scratch)).start("cassettes")
        for (spec, fixture_id), backend_name in DEMOS.items():
            if fixture_id != FIXTURE:
                continue
            variant = replace(load_variant(spec, config.project_root), runtime="claude-code")
            backend = fixture.reference
            if backend_name != "reference":
                mutant = next(m for m in fixture.mutants() if m.name == backend_name)
                backend = mutant.materialise(fixture.reference, Path(scratch) / backend_name)
            model, _ = resolve_model(variant, config.agent)
            steps = [
                *writes(backend_files(backend)),
                ("Bash", {"command": ROUNDTRIP, "description": "round trip"}),
            ]
            api.then = delegating_script(variant.name, model, steps)
            path = (
                config.project_root
                / config.agent.cassettes_dir
                / Path(spec).stem
                / FIXTURE
                / "e1.claude-code.jsonl"
            )
            meta = {
                "runtime": "claude-code",
                "variant": spec,
                "variant_digest": variant.digest,
                "fixture": FIXTURE,
                "epoch": 1,
                "hand_made": True,
                "note": NOTE,
                "writes": backend_name,
                "claude_code": config.agent.claude_code.version,
                "mode": config.agent.claude_code.mode,
            }
            live = LiveSource(api_key="scripted-demo-not-a-key", base_url=api.url)
            recording = RecordingSource(live, path, meta)
            outcome, workspace = generate(engine, variant, fixture, recording, run, f"{variant.name}.cc")
            _, digest, _ = pack(workspace)
            assert recording.writer is not None
            recording.writer.annotate(workspace_digest=digest)
            where = path.relative_to(config.project_root)
            print(f"{where}: {outcome.turns} requests, stop {outcome.stop}, delegated {outcome.delegated}")


if __name__ == "__main__":
    main()
