import os
from pathlib import Path

import pytest

from harness._util.fs import atomic_write_bytes
from harness.errors import StoreError
from harness.records import Grid, RunManifest, RunStatus, SmokeRecord
from harness.store import RunStore, new_run_id


def manifest(run_id: str) -> RunManifest:
    return RunManifest(run_id=run_id, kind="test", crucible_version="0")


def test_create_writes_manifest_and_points_latest(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    first = store.create(manifest("run-a"))
    second = store.create(manifest("run-b"))
    assert first.manifest.status is RunStatus.RUNNING
    assert (tmp_path / "latest").is_symlink()
    assert os.readlink(tmp_path / "latest") == "runs/run-b"
    latest = store.latest()
    assert latest is not None and latest.run_id == second.run_id
    assert store.open("latest").run_id == "run-b"
    assert store.run_ids() == ["run-a", "run-b"]


def test_record_round_trip_and_schema_version(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(manifest("r"))
    record = SmokeRecord(run_id="r", backend="docker", ok=True, seconds={"total": 1.5})
    run.write_record("samples/s1/smoke.json", record)
    again = run.read_record("samples/s1/smoke.json", SmokeRecord)
    assert again == record and again.schema_version == SmokeRecord.SCHEMA_VERSION
    text = (run.path / "samples/s1/smoke.json").read_text()
    (run.path / "old.json").write_text(text.replace('"schema_version": 1', '"schema_version": 99'))
    with pytest.raises(StoreError, match="schema_version 99"):
        run.read_record("old.json", SmokeRecord)


def test_existing_run_is_never_overwritten(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create(manifest("same"))
    with pytest.raises(StoreError, match="already exists"):
        store.create(manifest("same"))


def test_paths_cannot_escape_the_run(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(manifest("r"))
    with pytest.raises(StoreError, match="outside run"):
        run.write_text("../../escape.txt", "x")
    assert not (tmp_path / "escape.txt").exists()


def test_atomic_write_keeps_old_content_when_the_disk_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"old")

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreError, match="No space left on device"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    for i in range(5):
        atomic_write_bytes(tmp_path / "f", str(i).encode())
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
    assert (tmp_path / "f").read_text() == "4"


def test_open_unknown_run(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no run 'nope'"):
        RunStore(tmp_path).open("nope")
    with pytest.raises(StoreError, match="no runs"):
        RunStore(tmp_path).open("latest")


def test_run_ids_sort_by_time() -> None:
    from datetime import UTC, datetime

    early = new_run_id(datetime(2026, 1, 1, tzinfo=UTC))
    late = new_run_id(datetime(2026, 1, 2, tzinfo=UTC))
    assert early < late and early.startswith("20260101-000000-")


def test_partial_writes_of_a_killed_process_are_removed(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(RunManifest(run_id="r-partial", kind="test", crucible_version="0"))
    run.write_text("samples/s1/pod.json", "{}")
    (run.path / "samples" / "s1" / ".record.json.abc123.tmp").write_text('{"half": ')
    assert run.remove_partial_writes() == 1
    assert not list(run.path.rglob("*.tmp")) and (run.path / "samples" / "s1" / "pod.json").is_file()


def test_start_opens_a_running_run_with_its_grid(tmp_path: Path) -> None:
    grid = Grid(variants=["agents/a.md"], fixtures=["jwt-auth"], epochs=2, provider="replay")
    run = RunStore(tmp_path).start("run", settings={"x": 1}, grid=grid, note="n")
    manifest = run.manifest
    assert (manifest.kind, manifest.status, manifest.grid, manifest.config, manifest.note) == (
        "run",
        RunStatus.RUNNING,
        grid,
        {"x": 1},
        "n",
    )
    assert manifest.finished_at is None and manifest.crucible_version


def test_lifecycle_marks_complete_failed_and_interrupted(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    done = store.start("score")
    with done.lifecycle():
        pass
    assert done.manifest.status is RunStatus.COMPLETE and done.manifest.finished_at is not None

    failed = store.start("score")
    with failed.lifecycle() as outcome:
        outcome.failed = True
    assert failed.manifest.status is RunStatus.FAILED

    crashed = store.start("score")
    with pytest.raises(RuntimeError), crashed.lifecycle():
        raise RuntimeError("boom")
    assert crashed.manifest.status is RunStatus.FAILED

    stopped = store.start("run")
    with pytest.raises(KeyboardInterrupt), stopped.lifecycle():
        raise KeyboardInterrupt
    assert stopped.manifest.status is RunStatus.INTERRUPTED and stopped.manifest.finished_at is not None


def test_mark_running_again_clears_the_finish(tmp_path: Path) -> None:
    run = RunStore(tmp_path).start("run")
    run.mark(RunStatus.INTERRUPTED)
    assert run.mark(RunStatus.RUNNING).finished_at is None and run.manifest.status is RunStatus.RUNNING
