"""Re-scoring a stored sample from its artifacts alone."""

import json
from pathlib import Path

from harness.pipeline.evaluate import rescore_sample
from harness.records import RunManifest, SampleRecord, SampleStatus
from harness.store import RunStore

RECORDED = Path(__file__).parents[1] / "data" / "recorded"


def test_rescore_recomputes_from_junit_and_pod_artifacts(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(RunManifest(run_id="r1", kind="score", crucible_version="0"))
    stale = SampleRecord(run_id="r1", sample_id="s", fixture_id="jwt-auth", status=SampleStatus.OK)
    run.write_record("samples/s/record.json", stale)
    run.write_bytes("samples/s/junit.xml", (RECORDED / "junit-admin-role-unchecked.xml").read_bytes())
    run.write_text("samples/s/pod.json", json.dumps({"failure": "", "seconds": {}}))
    fresh = rescore_sample(run, "s")
    assert fresh.status is SampleStatus.MODEL_FAILURE and fresh.tests is not None and fresh.tests.failed == 3
    assert run.read_record("samples/s/record.json", SampleRecord) == fresh
    run.write_text("samples/s/pod.json", json.dumps({"failure": "migrations failed", "seconds": {}}))
    assert rescore_sample(run, "s").reason == "migrations failed"


def test_infra_failures_are_left_alone(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(RunManifest(run_id="r1", kind="score", crucible_version="0"))
    record = SampleRecord(
        run_id="r1", sample_id="s", fixture_id="f", status=SampleStatus.INFRA_FAILURE, reason="x"
    )
    run.write_record("samples/s/record.json", record)
    assert rescore_sample(run, "s") == record
