"""Generation end to end against the real engine: an agent (the loop on the real SDK through the sample's
gateway to a scripted fake API, or replayed from the bundled cassettes) writes a backend in a workspace pod,
which is then evaluated."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.agents.gateway.sources import LiveSource
from harness.agents.providers import write_calls
from harness.agents.variants import load_variant
from harness.fixtures import find_fixture
from harness.pipeline.cell import Cell, run_cell
from harness.pipeline.engine import Engine
from harness.records import RunManifest, SampleRecord, SampleStatus
from harness.sandbox.labels import labelled_containers
from harness.store import RunStore
from tests.agents.fake_anthropic import FakeServer, message
from tests.helpers import run_crucible

pytestmark = pytest.mark.docker
PROJECT = Path(__file__).parents[2]
SECRET = "sk-ant-test-secret-5e2d9c41"
# the key is split in the command, so that only a real leak can put it together in an answer
SNOOP = (
    f"env; cat /proc/1/environ /proc/self/environ | tr '\\0' '\\n'; "
    f"grep -rsl '{SECRET[:12]}''{SECRET[12:]}' /workspace /tmp /opt /etc /home 2>/dev/null; echo snooped"
)


def scripted_backend(reference: Path) -> list[Any]:
    writes = write_calls(reference)
    return [
        message([{"type": "text", "text": "Writing the service."}, *writes], "tool_use"),
        message(
            [
                {"type": "tool_use", "id": "toolu_env", "name": "Bash", "input": {"command": SNOOP}},
                {
                    "type": "tool_use",
                    "id": "toolu_mig",
                    "name": "Bash",
                    "input": {"command": "alembic upgrade head && alembic downgrade base && echo migrated"},
                },
            ],
            "tool_use",
        ),
        message([{"type": "text", "text": "Done."}], "end_turn"),
    ]


def test_generation_through_the_sdk_writes_a_backend_that_scores(
    config: Any,
    images: Any,
    docker_backend: Any,
    docker_client: Any,
    run_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    fixture = find_fixture(PROJECT, "jwt-auth")
    variant = load_variant("agents/backend-engineer.md", PROJECT)
    engine = Engine(config, docker_client, images, docker_backend)
    run = RunStore(tmp_path).create(RunManifest(run_id=run_id, kind="test", crucible_version="0"))
    server = FakeServer(scripted_backend(fixture.reference))
    with server.running():
        record = run_cell(
            engine,
            Cell(variant, fixture, 1),
            lambda *_: LiveSource(base_url=server.url, max_retries=0),
            run,
        )
    assert record.status is SampleStatus.OK, record.reason
    assert record.tests is not None and record.tests.all_pass
    assert (
        record.generation is not None and record.generation.turns == 3 and record.generation.tool_calls >= 20
    )
    assert record.generation.server_tools == []  # the API ran nothing for the agent: no egress
    assert record.variant == "backend-engineer" and record.variant_digest == variant.digest
    # the agent's tool results went back to the model; none of them, nor the pod, holds the API key
    results = [
        block
        for req in server.requests
        for m in req["messages"]
        if m["role"] == "user"
        for block in m["content"]
        if block.get("type") == "tool_result"
    ]
    snooped = next(b for b in results if b["tool_use_id"] == "toolu_env")
    assert "snooped" in snooped["content"] and "DATABASE_URL" in snooped["content"]
    assert all(SECRET not in json.dumps(b) for b in results)
    assert "migrated" in next(b for b in results if b["tool_use_id"] == "toolu_mig")["content"]
    folder = run.path / "samples" / record.sample_id
    transcript = (folder / "transcript.jsonl").read_text()
    assert '"event": "end"' in transcript and SECRET not in transcript
    # the key reached the fake API from the gateway on the host, and only from there
    assert all({k.lower(): v for k, v in h.items()}["x-api-key"] == SECRET for h in server.headers)
    log = [json.loads(line) for line in (folder / "gateway.jsonl").read_text().splitlines()]
    assert [line["decision"] for line in log] == ["forwarded"] * 3 and all(line["key_added"] for line in log)
    assert all(SECRET not in line for line in (folder / "exchanges.jsonl").read_text().splitlines())


def crucible(*args: str, reports: Path) -> subprocess.CompletedProcess[str]:
    return run_crucible(*args, reports=reports)


def records(reports: Path) -> dict[str, SampleRecord]:
    found = (reports / "latest" / "samples").glob("*/record.json")
    return {p.parent.name: SampleRecord.model_validate_json(p.read_text()) for p in found}


def test_replayed_demo_run_shows_each_variants_backend(tmp_path: Path, images: Any) -> None:
    result = crucible("run", "--fixtures", "jwt-auth", "--epochs", "2", reports=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "replaying the bundled cassettes" in result.stderr
    for name in ("index.html", "summary.md", "junit.xml", "results.parquet"):
        assert (tmp_path / "latest" / name).is_file(), name
    page = (tmp_path / "latest" / "index.html").read_text()
    assert "backend-engineer-checklist" in page and "backend-engineer-terse" in page and "<svg" in page
    # no zero difference (replayed cost and tokens are identical) is called better or worse
    verdicts = re.findall(
        r"<td>([-+]?[0-9.]+)</td><td>[^<]*</td><td>[^<]*</td><td>[^<]*</td>\s*<td[^>]*>([^<]+)</td>", page
    )
    assert verdicts and all(v == "no clear difference" for d, v in verdicts if float(d) == 0), verdicts
    found = records(tmp_path)
    assert len(found) == 6
    for epoch in (1, 2):
        good = found[f"backend-engineer-checklist.jwt-auth.e{epoch}"]
        assert good.status is SampleStatus.OK and good.tests and good.tests.all_pass
        assert good.migrations and good.migrations.failing() == [] and good.security and good.security.secure
        enum = found[f"backend-engineer.jwt-auth.e{epoch}"]
        assert enum.migrations and "a1f3c0de0001:downgrade" in enum.migrations.failing()
        plain = found[f"backend-engineer-terse.jwt-auth.e{epoch}"]
        assert plain.status is SampleStatus.MODEL_FAILURE and plain.security and not plain.security.secure
        assert plain.tests and plain.tests.failing() == [
            "test_storage.py::test_passwords_are_stored_as_salted_slow_hashes"
        ]
        assert all(r.generation and r.generation.turns == 3 for r in (good, enum, plain))
    # replay is byte for byte: both epochs produced the same transcript
    base = tmp_path / "latest" / "samples"
    assert (base / "backend-engineer.jwt-auth.e1" / "transcript.jsonl").read_text().splitlines()[1:-1] == (
        base / "backend-engineer.jwt-auth.e2" / "transcript.jsonl"
    ).read_text().splitlines()[1:-1]
    # a variant whose cassette replays a worse backend fails the gate, naming the metric and the difference
    gate = crucible(
        "compare",
        "--baseline",
        "backend-engineer-checklist",
        "--candidate",
        "backend-engineer",
        reports=tmp_path,
    )
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "migrations: FAILS: " in gate.stdout and "difference -1.000" in gate.stdout
    same = crucible(
        "compare",
        "--baseline",
        "backend-engineer-checklist",
        "--candidate",
        "backend-engineer-checklist",
        reports=tmp_path,
    )
    # the same prompt against itself: the two replayed epochs copy one recording and count once, and one
    # sample per fixture cannot show that a candidate is no worse than 0.05 (the interval says so)
    assert same.returncode == 1
    assert "migrations: FAILS: cannot establish non-inferiority: the run is too small: difference +0.000" in (
        same.stdout
    )
    before = {name: r.finished_at for name, r in found.items()}
    run_id = (tmp_path / "latest").resolve().name
    again = crucible("run", "--resume", run_id, reports=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert {name: r.finished_at for name, r in records(tmp_path).items()} == before  # nothing redone


def test_an_edited_prompt_no_longer_matches_its_cassette(tmp_path: Path, images: Any) -> None:
    edited = tmp_path / "agents" / "backend-engineer.md"
    edited.parent.mkdir()
    edited.write_text((PROJECT / "agents" / "backend-engineer.md").read_text().replace("boring", "exciting"))
    result = crucible(
        "run",
        "--variants",
        str(edited),
        "--fixtures",
        "jwt-auth",
        "--provider",
        "replay",
        reports=tmp_path / "reports",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (record,) = records(tmp_path / "reports").values()
    assert record.status is SampleStatus.INFRA_FAILURE
    assert "request 1 (/v1/messages) differs from the recording in e1.jsonl" in record.reason


def test_an_overloaded_api_ends_the_sample_as_an_infra_failure(
    config: Any,
    images: Any,
    docker_backend: Any,
    docker_client: Any,
    run_id: str,
    tmp_path: Path,
) -> None:
    from tests.agents.fake_anthropic import error

    fixture = find_fixture(PROJECT, "jwt-auth")
    variant = load_variant("agents/backend-engineer-terse.md", PROJECT)
    engine = Engine(config, docker_client, images, docker_backend)
    run = RunStore(tmp_path).create(RunManifest(run_id=run_id, kind="test", crucible_version="0"))
    server = FakeServer([error(529, "overloaded_error")] * 6)  # two attempts, each 1 + 2 retries
    with server.running():
        record = run_cell(
            engine,
            Cell(variant, fixture, 1),
            lambda *_: LiveSource(api_key="sk-test", base_url=server.url, max_retries=2),
            run,
        )
    assert record.status is SampleStatus.INFRA_FAILURE and "529" in record.reason
    assert len(server.requests) == 6 and record.attempts == 2
    left = labelled_containers(docker_client, {"crucible.run": run_id})
    assert left == []
