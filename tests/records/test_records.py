"""Typed records that travel between stages: the pod summary, the transcript, the failing checks by
kind, and records written before a field existed."""

from __future__ import annotations

import json
from pathlib import Path

from harness.records import ALL_CHECKS, Check, PodSummary, SampleRecord, SampleStatus, Stage
from harness.records.generation import AgentOutcome, Usage
from harness.records.tests import CaseResult, SuiteScore
from harness.records.transcript import (
    EndEvent,
    ResponseEvent,
    StartEvent,
    ToolEvent,
    WorkspaceEvent,
    event_line,
    read_transcript,
)
from harness.sandbox.base import ExecResult


def test_a_pod_json_written_before_the_schema_reads_back() -> None:
    legacy = json.dumps(
        {"failure": "migrations failed (alembic upgrade head): boom", "seconds": {"pod": 1.0}}
    )
    summary = PodSummary.model_validate_json(legacy)
    assert summary.failure.startswith("migrations failed") and summary.failed_stage is None
    assert PodSummary.model_validate_json(summary.model_dump_json()) == summary


def test_transcript_events_round_trip_in_order(tmp_path: Path) -> None:
    outcome = AgentOutcome(
        model="m",
        stop="end_turn",
        turns=1,
        tool_calls=1,
        tool_errors=0,
        usage=Usage(),
        dollars=0.0,
        seconds=1.0,
    )
    events = [
        StartEvent(variant="agents/a.md", variant_digest="d", model="m", fixture="f", provider="replay"),
        ResponseEvent(turn=1, stop_reason="tool_use", content=[{"type": "text", "text": "hi"}]),
        ToolEvent(turn=1, name="Write", input={"file_path": "/workspace/a.py"}, output="Created"),
        WorkspaceEvent(dropped_links_outside=["x -> /etc (outside)"]),
        EndEvent(**outcome.model_dump()),
    ]
    path = tmp_path / "transcript.jsonl"
    path.write_text("".join(event_line(e) for e in events))
    assert read_transcript(path) == events
    assert '"event": "end"' in path.read_text()  # the line format readers already grep for
    assert read_transcript(tmp_path / "missing.jsonl") == []


def test_failing_checks_by_kind() -> None:
    failed = CaseResult(nodeid="test_a.py::test_x", outcome="failed", seconds=0.1)
    tests = SuiteScore(
        total=1,
        passed=0,
        failed=1,
        errors=0,
        skipped=0,
        pass_rate=0.0,
        all_pass=False,
        seconds=0.1,
        cases=[failed],
    )
    record = SampleRecord(
        run_id="r", sample_id="s", fixture_id="f", status=SampleStatus.MODEL_FAILURE, tests=tests
    )
    assert record.failing(Check.TESTS) == ["test_a.py::test_x"]
    assert record.failing(Check.MIGRATIONS) is None and record.failing(Check.SECURITY) is None
    assert record.checks == sorted(ALL_CHECKS) and [c.value for c in Check] == [
        "tests",
        "migrations",
        "security",
    ]


def test_a_sample_record_keeps_its_failing_stage() -> None:
    record = SampleRecord(
        run_id="r",
        sample_id="s",
        fixture_id="f",
        status=SampleStatus.INFRA_FAILURE,
        failed_stage=Stage.GENERATE,
    )
    assert SampleRecord.model_validate_json(record.model_dump_json()).failed_stage is Stage.GENERATE
    assert json.loads(record.model_dump_json())["failed_stage"] == "generate"


def test_exec_gist_names_a_timeout_or_the_exception() -> None:
    timed_out = ExecResult(exit_code=137, stdout=b"", stderr=b"", seconds=5.0, timed_out=True)
    assert timed_out.gist() == "timed out"
    crash = (
        b"Traceback (most recent call last):\n  File \"/app/env.py\", line 3, in <module>\nKeyError: 'DB'\n"
    )
    failed = ExecResult(exit_code=1, stdout=b"", stderr=crash, seconds=0.2)
    assert failed.gist() == "KeyError: 'DB' (/app/env.py, line 3)"
